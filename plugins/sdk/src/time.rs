//! UTC timestamps for reports, manifests and file names.
//!
//! A plugin has the host's clock (`SystemTime`, through WASI) but no time-zone
//! database, and what plugins record (backups, fault journals, reports) is
//! best kept in UTC anyway. Formatting and parsing are `humantime`'s RFC 3339.
//!
//! ```
//! use run_plugin_sdk::time::Timestamp;
//! let t = Timestamp::from_millis(1_795_379_400_250);
//! assert_eq!(t.rfc3339(), "2026-11-22T20:30:00.250Z");
//! assert_eq!(t.file_stamp(), "20261122T203000Z");
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A moment in UTC, in milliseconds since the Unix epoch (never before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    millis: u64,
}

impl Timestamp {
    /// Now, by the host's clock.
    ///
    /// ```
    /// let now = run_plugin_sdk::time::Timestamp::now();
    /// assert!(now.millis() > 0);
    /// ```
    pub fn now() -> Timestamp {
        Timestamp::from_system_time(SystemTime::now())
    }

    /// The moment `millis` milliseconds after the Unix epoch.
    ///
    /// ```
    /// use run_plugin_sdk::time::Timestamp;
    /// assert_eq!(Timestamp::from_millis(0).rfc3339(), "1970-01-01T00:00:00.000Z");
    /// ```
    pub fn from_millis(millis: u64) -> Timestamp {
        Timestamp { millis }
    }

    /// Milliseconds since the Unix epoch.
    ///
    /// ```
    /// use run_plugin_sdk::time::Timestamp;
    /// assert_eq!(Timestamp::from_millis(42).millis(), 42);
    /// ```
    pub fn millis(self) -> u64 {
        self.millis
    }

    fn from_system_time(time: SystemTime) -> Timestamp {
        let since = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        Timestamp {
            millis: u64::try_from(since.as_millis()).unwrap_or(u64::MAX),
        }
    }

    fn system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.millis)
    }

    /// `20261122T203000Z`: sortable and safe in file names on every OS.
    ///
    /// ```
    /// use run_plugin_sdk::time::Timestamp;
    /// assert_eq!(Timestamp::from_millis(951_782_400_000).file_stamp(), "20000229T000000Z");
    /// ```
    pub fn file_stamp(self) -> String {
        humantime::format_rfc3339_seconds(self.system_time())
            .to_string()
            .replace(['-', ':'], "")
    }

    /// RFC 3339 in UTC with milliseconds (`2026-11-22T20:30:00.123Z`):
    /// milliseconds order events within the same second.
    ///
    /// ```
    /// use run_plugin_sdk::time::Timestamp;
    /// assert_eq!(Timestamp::from_millis(1_000).rfc3339(), "1970-01-01T00:00:01.000Z");
    /// ```
    pub fn rfc3339(self) -> String {
        humantime::format_rfc3339_millis(self.system_time()).to_string()
    }

    /// Parses RFC 3339 in UTC (`Z`), with or without a fraction (a person may
    /// have edited a manifest by hand); other offsets are refused.
    ///
    /// ```
    /// use run_plugin_sdk::time::Timestamp;
    /// let t = Timestamp::parse_rfc3339("2026-11-22T20:30:00Z").unwrap();
    /// assert_eq!(t.rfc3339(), "2026-11-22T20:30:00.000Z");
    /// assert_eq!(Timestamp::parse_rfc3339("2026-11-22T20:30:00+01:00"), None);
    /// ```
    pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
        if !text.ends_with(['Z', 'z']) {
            return None;
        }
        humantime::parse_rfc3339_weak(text)
            .ok()
            .map(Timestamp::from_system_time)
    }

    /// How long before `now` this was, for people: `3 hours ago`.
    ///
    /// ```
    /// use run_plugin_sdk::time::Timestamp;
    /// let now = Timestamp::from_millis(10_000_000);
    /// assert_eq!(Timestamp::from_millis(10_000_000 - 7_200_000).age(now), "2 hours ago");
    /// ```
    pub fn age(self, now: Timestamp) -> String {
        let secs = now.millis.saturating_sub(self.millis) / 1000;
        let (n, unit) = match secs {
            0..60 => return "just now".into(),
            60..3600 => (secs / 60, "minute"),
            3600..86_400 => (secs / 3600, "hour"),
            _ => (secs / 86_400, "day"),
        };
        let plural = if n == 1 { "" } else { "s" };
        format!("{n} {unit}{plural} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::Timestamp;

    #[test]
    fn formats_known_moments() {
        let t = Timestamp::from_millis(1_795_379_400_250);
        assert_eq!(t.file_stamp(), "20261122T203000Z");
        assert_eq!(t.rfc3339(), "2026-11-22T20:30:00.250Z");
        let leap = Timestamp::parse_rfc3339("2024-02-29T23:59:59Z").unwrap();
        assert_eq!(leap.file_stamp(), "20240229T235959Z");
    }

    #[test]
    fn parses_what_it_writes() {
        for millis in [0, 951_782_400_000, 1_795_379_400_250, 4_102_444_800_999] {
            let t = Timestamp::from_millis(millis);
            assert_eq!(Timestamp::parse_rfc3339(&t.rfc3339()), Some(t));
        }
        assert_eq!(
            Timestamp::parse_rfc3339("2026-11-22T20:30:00.5Z").map(Timestamp::millis),
            Some(1_795_379_400_500)
        );
        assert_eq!(Timestamp::parse_rfc3339("2026-11-22T20:30:00+01:00"), None);
        assert_eq!(Timestamp::parse_rfc3339("2026-11-22T20:30:00"), None);
        assert_eq!(Timestamp::parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn ages_read_naturally() {
        let now = Timestamp::from_millis(10_000_000);
        assert_eq!(Timestamp::from_millis(9_990_000).age(now), "just now");
        assert_eq!(
            Timestamp::from_millis(10_000_000 - 3_600_000).age(now),
            "1 hour ago"
        );
        assert_eq!(
            Timestamp::from_millis(10_000_000 - 60_000).age(now),
            "1 minute ago"
        );
        assert_eq!(Timestamp::from_millis(0).age(now), "2 hours ago");
    }
}
