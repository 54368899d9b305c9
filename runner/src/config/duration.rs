//! Durations as people write them: `500ms`, `30s`, `5m`, `1h30m`, `1h 30m`.
//! The same grammar as humantime (integers with units, summed), written out
//! here so that failures come back as data the diagnostic can explain.

use std::time::Duration;

use super::error::DurationProblem;

/// Parses a duration; zero is accepted here and rejected by the caller, which
/// knows which key it was.
pub(crate) fn parse(text: &str) -> Result<Duration, DurationProblem> {
    let mut rest = text.trim_start();
    if rest.is_empty() {
        return Err(DurationProblem::Empty);
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            let c = rest.chars().next().unwrap_or_default();
            return Err(DurationProblem::ExpectedNumber(c));
        }
        let (number, after) = rest.split_at(digits);
        let number: u64 = number.parse().map_err(|_| DurationProblem::TooLarge)?;
        let after = after.trim_start();
        let unit_len = after.len() - after.trim_start_matches(char::is_alphabetic).len();
        let (unit, after) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(match after.chars().next() {
                None => DurationProblem::MissingUnit,
                Some('.') => DurationProblem::Fraction,
                Some(c) => DurationProblem::UnknownUnit(c.to_string()),
            });
        }
        let part = scale(number, unit)?;
        total = total.checked_add(part).ok_or(DurationProblem::TooLarge)?;
        rest = after.trim_start();
    }
    Ok(total)
}

fn scale(number: u64, unit: &str) -> Result<Duration, DurationProblem> {
    let seconds = |per: u64| {
        number
            .checked_mul(per)
            .map(Duration::from_secs)
            .ok_or(DurationProblem::TooLarge)
    };
    match unit {
        "ns" | "nsec" => Ok(Duration::from_nanos(number)),
        "us" | "µs" | "usec" => Ok(Duration::from_micros(number)),
        "ms" | "msec" | "millis" => Ok(Duration::from_millis(number)),
        "s" | "sec" | "secs" | "second" | "seconds" => seconds(1),
        "m" | "min" | "mins" | "minute" | "minutes" => seconds(60),
        "h" | "hr" | "hrs" | "hour" | "hours" => seconds(3600),
        "d" | "day" | "days" => seconds(86_400),
        _ => Err(DurationProblem::UnknownUnit(unit.to_owned())),
    }
}
