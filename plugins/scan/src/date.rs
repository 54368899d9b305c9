//! Calendar dates as days since 1970-01-01 (UTC): the ignore file's expiry
//! dates, and how old the advisory data is. WASI has a clock but no time
//! zones, and nothing here needs more than a day's precision.

use std::time::{SystemTime, UNIX_EPOCH};

/// Today (UTC) as days since 1970-01-01.
pub fn today() -> i64 {
    days_of(SystemTime::now())
}

/// A point in time as days since 1970-01-01 (earlier times are day 0).
pub fn days_of(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| (d.as_secs() / 86_400) as i64)
}

/// Days since 1970-01-01 → `YYYY-MM-DD` (Howard Hinnant's algorithm).
pub fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// (year, month, day) → days since 1970-01-01 (the inverse of
/// [`civil_date`]); `None` for a day the calendar does not have.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> Option<i64> {
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Why a `YYYY-MM-DD` is not a date.
pub fn check_ymd(text: &str) -> Result<i64, String> {
    let b = text.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shaped {
        return Err(format!("`{text}` is not a date like 2027-01-31"));
    }
    let (y, m, d) = (
        text[0..4].parse::<i64>().unwrap_or(0),
        text[5..7].parse::<u32>().unwrap_or(0),
        text[8..10].parse::<u32>().unwrap_or(0),
    );
    if !(1..=12).contains(&m) {
        return Err(format!("`{text}` is not a date: there is no month {m}"));
    }
    days_from_civil(y, m, d).ok_or_else(|| {
        format!(
            "`{text}` is not a date: month {m} of {y} has {} days",
            days_in_month(y, m)
        )
    })
}

/// The date at the start of an RFC 3339 timestamp (`2024-09-01T…`, OSV's
/// `modified`).
pub fn parse_timestamp(text: &str) -> Option<i64> {
    check_ymd(text.get(..10)?).ok()
}

/// `29 Mar 2023` (the DSA/DLA lists' dates).
pub fn parse_dmy(text: &str) -> Option<i64> {
    let mut words = text.split_whitespace();
    let d: u32 = words.next()?.parse().ok()?;
    let m = match words.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let y: i64 = words.next()?.parse().ok()?;
    days_from_civil(y, m, d)
}

/// `30d`, `12h`, `2w` → seconds.
pub fn parse_age(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("`{text}` is not an age like 7d, 48h or 2w"))?;
    let hours = match unit {
        "d" | "" => n * 24,
        "h" => n,
        "w" => n * 24 * 7,
        _ => return Err(format!("`{text}` is not an age like 7d, 48h or 2w")),
    };
    Ok(hours * 3600)
}

/// Seconds → whole days, a started day counting (`36h` is 2 days).
pub fn days_of_secs(secs: u64) -> i64 {
    secs.div_ceil(86_400) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_impossible_days() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(20_415), "2025-11-23");
        assert_eq!(civil_date(11_016), "2000-02-29");
        for days in [-1000, 0, 11_016, 19_449, 20_415, 40_000] {
            let text = civil_date(days);
            assert_eq!(check_ymd(&text), Ok(days), "{text}");
        }
        assert!(check_ymd("2027-13-45").unwrap_err().contains("no month 13"));
        assert!(check_ymd("2027-02-29").unwrap_err().contains("has 28 days"));
        assert!(check_ymd("2028-02-29").is_ok());
        assert!(check_ymd("1900-02-29").is_err());
        assert!(check_ymd("2027-04-31").is_err());
        assert!(check_ymd("2027-00-10").is_err());
        assert!(check_ymd("2027-01-00").is_err());
        assert!(check_ymd("soon").unwrap_err().contains("not a date like"));
        assert_eq!(parse_dmy("02 Apr 2023"), days_from_civil(2023, 4, 2));
        assert_eq!(parse_dmy("31 Feb 2023"), None);
        assert_eq!(
            parse_timestamp("2024-09-01T12:00:00Z"),
            days_from_civil(2024, 9, 1)
        );
        assert_eq!(parse_age("7d"), Ok(7 * 86_400));
        assert_eq!(parse_age("36h"), Ok(36 * 3600));
        assert_eq!(days_of_secs(36 * 3600), 2);
        assert_eq!(parse_age("2w"), Ok(14 * 86_400));
        assert!(parse_age("soon").is_err());
    }
}
