//! Calendar arithmetic for date shifting: ISO dates as days since
//! 1970-01-01 and back (Howard Hinnant's civil-date algorithms), so no
//! date crate is needed for one addition.

/// `YYYY-MM-DD` at the start of `text` → days since 1970-01-01.
pub fn parse(text: &[u8]) -> Option<i64> {
    if text.len() < 10 || text[4] != b'-' || text[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        std::str::from_utf8(&text[r]).ok()?.parse().ok()
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// Days since 1970-01-01 → `YYYY-MM-DD` (years 0001–9999).
pub fn format(days: i64) -> Option<String> {
    let (y, m, d) = civil_from_days(days);
    (1..=9999)
        .contains(&y)
        .then(|| format!("{y:04}-{m:02}-{d:02}"))
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::{format, parse};

    #[test]
    fn round_trips_and_shifts() {
        assert_eq!(parse(b"1970-01-01"), Some(0));
        let leap = parse(b"2000-02-29 12:00:00").unwrap();
        assert_eq!(format(leap + 1).unwrap(), "2000-03-01");
        assert_eq!(
            format(parse(b"1815-12-10").unwrap() - 30).unwrap(),
            "1815-11-10"
        );
        assert_eq!(parse(b"2001-02-29"), None);
        assert_eq!(parse(b"infinity"), None);
    }
}
