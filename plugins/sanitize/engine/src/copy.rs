//! PostgreSQL's COPY text format, as pg_dump writes table data: one row per
//! line, fields separated by tabs, `\N` for NULL, and backslash escapes for
//! the bytes that would break the framing.
//!
//! Fields that are kept are copied as raw bytes and never decoded; only the
//! masked ones go through [`decode`] and [`encode`].

/// The NULL marker of the text format.
pub const NULL: &[u8] = b"\\N";

/// The fields of one row (without its newline), as raw escaped bytes.
pub fn fields(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    // A tab inside a value is always escaped as `\t`, so a raw tab is always
    // a separator.
    line.split(|&b| b == b'\t')
}

/// The byte ranges of the fields of one row, into `out` (cleared first).
pub fn split(line: &[u8], out: &mut Vec<(usize, usize)>) {
    out.clear();
    let mut start = 0;
    for tab in memchr::memchr_iter(b'\t', line) {
        out.push((start, tab));
        start = tab + 1;
    }
    out.push((start, line.len()));
}

/// The value of one escaped field (which must not be [`NULL`]).
pub fn decode(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    decode_into(field, &mut out);
    out
}

/// Appends the value of one escaped field to `out`.
pub fn decode_into(field: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < field.len() {
        let b = field[i];
        i += 1;
        if b != b'\\' || i == field.len() {
            out.push(b);
            continue;
        }
        let c = field[i];
        i += 1;
        match c {
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                // Up to three octal digits.
                let mut value = u32::from(c - b'0');
                let mut digits = 1;
                while digits < 3 && i < field.len() && (b'0'..=b'7').contains(&field[i]) {
                    value = value * 8 + u32::from(field[i] - b'0');
                    i += 1;
                    digits += 1;
                }
                out.push(value as u8);
            }
            b'x' if i < field.len() && field[i].is_ascii_hexdigit() => {
                let mut value = 0u32;
                let mut digits = 0;
                while digits < 2 && i < field.len() && field[i].is_ascii_hexdigit() {
                    value = value * 16 + (field[i] as char).to_digit(16).unwrap_or(0);
                    i += 1;
                    digits += 1;
                }
                out.push(value as u8);
            }
            // `\\`, and any other escaped character, stands for itself.
            other => out.push(other),
        }
    }
}

/// `value` escaped for a COPY text-format field, appended to `out`.
pub fn encode(value: &[u8], out: &mut Vec<u8>) {
    // Most values need no escape: copy them whole.
    if !value
        .iter()
        .any(|&b| matches!(b, b'\\' | b'\n' | b'\r' | b'\t' | 8 | 11 | 12))
    {
        out.extend_from_slice(value);
        return;
    }
    for &b in value {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            8 => out.extend_from_slice(b"\\b"),
            12 => out.extend_from_slice(b"\\f"),
            11 => out.extend_from_slice(b"\\v"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{decode, encode, fields, split};

    #[test]
    fn split_gives_every_field_range() {
        let mut ranges = Vec::new();
        split(b"1\t\ta\\tb", &mut ranges);
        assert_eq!(ranges, [(0, 1), (2, 2), (3, 7)]);
        split(b"", &mut ranges);
        assert_eq!(ranges, [(0, 0)]);
    }

    #[test]
    fn fields_split_on_raw_tabs_only() {
        let row = b"1\ta\\tb\t\\N";
        let got: Vec<&[u8]> = fields(row).collect();
        assert_eq!(got, [&b"1"[..], b"a\\tb", b"\\N"]);
    }

    #[test]
    fn escapes_round_trip() {
        let raw = b"tab\there \\ new\nline \r \x08\x0b\x0c 'q' \xc3\xbc";
        let mut escaped = Vec::new();
        encode(raw, &mut escaped);
        assert!(!escaped.contains(&b'\t') && !escaped.contains(&b'\n'));
        assert_eq!(decode(&escaped), raw);
    }

    #[test]
    fn octal_and_hex_escapes_decode() {
        assert_eq!(decode(b"\\101\\x42\\7"), b"AB\x07");
        assert_eq!(decode(b"a\\.b"), b"a.b");
        assert_eq!(decode(b"end\\"), b"end\\");
    }
}
