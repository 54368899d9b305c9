//! Sizes as people write them (`256m`, `1g`) and read them (`256 MiB`): the
//! memory a stress holds.

use run_plugin_sdk::Error;

/// A size in bytes: a number with an optional unit, binary like Docker's
/// `--memory` (`b`, `k`/`kb`/`kib`, `m`/`mb`/`mib`, `g`/`gb`/`gib`).
pub fn bytes(text: &str) -> Result<u64, Error> {
    let bad = || {
        Error::invalid_input(format!(
            "--memory `{text}`: give a size such as 256m, 1g or 1048576 (bytes)"
        ))
    };
    let lower = text.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(split);
    let number: f64 = number.parse().map_err(|_| bad())?;
    let scale: u64 = match unit.trim() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(bad()),
    };
    let value = number * scale as f64;
    if !(value >= 1.0 && value < u64::MAX as f64) {
        return Err(bad());
    }
    Ok(value as u64)
}

/// A size for people: `256 MiB`, `1.5 GiB`, `4096 B`.
pub fn show(n: u64) -> String {
    let units = [(1u64 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (scale, unit) in units {
        if n >= scale {
            let value = n as f64 / scale as f64;
            return if value.fract() == 0.0 {
                format!("{value} {unit}")
            } else {
                format!("{value:.1} {unit}")
            };
        }
    }
    format!("{n} B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_and_show_in_binary_units() {
        assert_eq!(bytes("1048576").unwrap(), 1 << 20);
        assert_eq!(bytes("64m").unwrap(), 64 << 20);
        assert_eq!(bytes("64MiB").unwrap(), 64 << 20);
        assert_eq!(bytes("1.5g").unwrap(), 3 << 29);
        assert_eq!(bytes(" 2 KB").unwrap(), 2048);
        assert!(bytes("-1m").is_err());
        assert!(bytes("1t").is_err());
        assert!(bytes("m").is_err());
        assert_eq!(show(256 << 20), "256 MiB");
        assert_eq!(show(3 << 29), "1.5 GiB");
        assert_eq!(show(100), "100 B");
    }
}
