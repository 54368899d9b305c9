//! Compose durations: `1m30s`, `10s`, `500ms`, `1h`, or a bare number of seconds.

/// Milliseconds in `text`, or why not.
pub fn parse_ms(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(seconds * 1000);
    }
    let bad = || format!("`{text}` is not a duration (write e.g. `500ms`, `10s`, `1m30s`)");
    let mut total = 0u64;
    let mut rest = text;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => return Err(bad()),
        };
        total = total.saturating_add(number.saturating_mul(factor));
        rest = &rest[unit_len..];
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::parse_ms;

    #[test]
    fn compose_durations() {
        assert_eq!(parse_ms("10s"), Ok(10_000));
        assert_eq!(parse_ms("1m30s"), Ok(90_000));
        assert_eq!(parse_ms("500ms"), Ok(500));
        assert_eq!(parse_ms("30"), Ok(30_000));
        assert!(parse_ms("10 parsecs").is_err());
        assert!(parse_ms("").is_err());
        assert!(parse_ms("s").is_err());
    }
}
