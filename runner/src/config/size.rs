//! Sizes as people write them: `512MiB`, `1GiB`, `64MB`, `1.5 GB`, or a bare
//! number of bytes. Units are case-insensitive; `KB` and friends are powers of
//! 1000 and `KiB` and friends powers of 1024, as their names say.

use super::error::SizeProblem;

/// Parses a size string into bytes; zero is accepted here and rejected by the
/// caller, which knows which key it was.
pub(crate) fn parse(text: &str) -> Result<u64, SizeProblem> {
    let text = text.trim();
    if text.is_empty() {
        return Err(SizeProblem::Empty);
    }
    let number_len = text.len()
        - text
            .trim_start_matches(|c: char| c.is_ascii_digit() || c == '.' || c == '_')
            .len();
    let (number, unit) = text.split_at(number_len);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let (whole, fraction) = (whole.replace('_', ""), fraction.replace('_', ""));
    if whole.is_empty() || fraction.contains('.') {
        return Err(SizeProblem::ExpectedNumber);
    }
    let unit = unit.trim_start();
    let multiplier = multiplier(unit).ok_or_else(|| SizeProblem::UnknownUnit(unit.to_owned()))?;
    // Exact integer arithmetic, so `1.1GB` is exactly 1_100_000_000 bytes.
    let whole: u128 = whole.parse().map_err(|_| SizeProblem::TooLarge)?;
    let mut bytes = whole.checked_mul(multiplier).ok_or(SizeProblem::TooLarge)?;
    if !fraction.is_empty() {
        let digits = u32::try_from(fraction.len()).map_err(|_| SizeProblem::TooLarge)?;
        let denominator = 10u128.checked_pow(digits).ok_or(SizeProblem::TooLarge)?;
        let numerator: u128 = fraction.parse().map_err(|_| SizeProblem::TooLarge)?;
        let part = numerator
            .checked_mul(multiplier)
            .ok_or(SizeProblem::TooLarge)?
            / denominator;
        bytes = bytes.checked_add(part).ok_or(SizeProblem::TooLarge)?;
    }
    u64::try_from(bytes).map_err(|_| SizeProblem::TooLarge)
}

fn multiplier(unit: &str) -> Option<u128> {
    let power = |base: u128, exp: u32| Some(base.pow(exp));
    match unit.to_ascii_lowercase().as_str() {
        "" | "b" => Some(1),
        "kb" => power(1000, 1),
        "mb" => power(1000, 2),
        "gb" => power(1000, 3),
        "tb" => power(1000, 4),
        "kib" => power(1024, 1),
        "mib" => power(1024, 2),
        "gib" => power(1024, 3),
        "tib" => power(1024, 4),
        _ => None,
    }
}
