//! UTC timestamps without a time-zone database (as in the backup plugin):
//! wasm32-wasip2 has a clock (`SystemTime`) but no tz data.
#![allow(dead_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A moment in UTC, in milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp {
    millis: i64,
}

impl Timestamp {
    pub fn now() -> Timestamp {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Timestamp {
            millis: i64::try_from(since.as_millis()).unwrap_or(i64::MAX),
        }
    }

    pub fn from_millis(millis: i64) -> Timestamp {
        Timestamp { millis }
    }

    pub fn millis(self) -> i64 {
        self.millis
    }

    /// `20261122T203000Z`: sortable and safe in file names on every OS.
    pub fn file_stamp(self) -> String {
        let (y, mo, d, h, mi, s) = self.civil();
        format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
    }

    /// RFC 3339 in UTC with milliseconds (`2026-11-22T20:30:00.123Z`):
    /// milliseconds order backups taken within the same second.
    pub fn rfc3339(self) -> String {
        let (y, mo, d, h, mi, s) = self.civil();
        let ms = self.millis.rem_euclid(1000);
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
    }

    /// Parses what [`rfc3339`](Self::rfc3339) writes, with or without the
    /// fraction (a person may have edited a manifest by hand). Only UTC (`Z`).
    pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
        let text = text.strip_suffix('Z').or_else(|| text.strip_suffix('z'))?;
        let (date, time) = text.split_once(['T', 't', ' '])?;
        let mut date = date.splitn(3, '-');
        let y: i64 = date.next()?.parse().ok()?;
        let mo: u32 = date.next()?.parse().ok()?;
        let d: u32 = date.next()?.parse().ok()?;
        let (hms, fraction) = time.split_once('.').unwrap_or((time, ""));
        let mut hms = hms.splitn(3, ':');
        let h: i64 = hms.next()?.parse().ok()?;
        let mi: i64 = hms.next()?.parse().ok()?;
        let s: i64 = hms.next()?.parse().ok()?;
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
            return None;
        }
        let ms = if fraction.is_empty() {
            0
        } else {
            // Milliseconds: the first three digits, right-padded.
            let digits: String = fraction.chars().chain("000".chars()).take(3).collect();
            digits.parse::<i64>().ok()?
        };
        let days = days_from_civil(y, mo, d);
        let secs = days * 86_400 + h * 3600 + mi * 60 + s;
        Some(Timestamp {
            millis: secs * 1000 + ms,
        })
    }

    /// "3 hours ago", for choosing a backup at a prompt.
    pub fn age(self, now: Timestamp) -> String {
        let secs = (now.millis - self.millis).max(0) / 1000;
        let (n, unit) = match secs {
            0..60 => return "just now".into(),
            60..3600 => (secs / 60, "minute"),
            3600..86_400 => (secs / 3600, "hour"),
            _ => (secs / 86_400, "day"),
        };
        let plural = if n == 1 { "" } else { "s" };
        format!("{n} {unit}{plural} ago")
    }

    fn civil(self) -> (i64, u32, u32, i64, i64, i64) {
        let secs = self.millis.div_euclid(1000);
        let days = secs.div_euclid(86_400);
        let rest = secs.rem_euclid(86_400);
        let (y, mo, d) = civil_from_days(days);
        (y, mo, d, rest / 3600, rest % 3600 / 60, rest % 60)
    }
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (y, m, d) in
/// the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The inverse of [`civil_from_days`].
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::Timestamp;

    #[test]
    fn formats_known_moments() {
        // 2026-11-22T20:30:00.250Z
        let t = Timestamp::from_millis(1_795_379_400_250);
        assert_eq!(t.file_stamp(), "20261122T203000Z");
        assert_eq!(t.rfc3339(), "2026-11-22T20:30:00.250Z");
        assert_eq!(
            Timestamp::from_millis(0).rfc3339(),
            "1970-01-01T00:00:00.000Z"
        );
        // A leap day.
        let leap = Timestamp::parse_rfc3339("2024-02-29T23:59:59Z").unwrap();
        assert_eq!(leap.file_stamp(), "20240229T235959Z");
    }

    #[test]
    fn parses_what_it_writes() {
        for millis in [0, 951_782_400_000, 1_795_379_400_250, 4_102_444_800_999] {
            let t = Timestamp::from_millis(millis);
            assert_eq!(Timestamp::parse_rfc3339(&t.rfc3339()), Some(t));
        }
        assert_eq!(Timestamp::parse_rfc3339("2026-11-22T20:30:00+01:00"), None);
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
            Timestamp::from_millis(10_000_000 - 7_200_000).age(now),
            "2 hours ago"
        );
    }
}
