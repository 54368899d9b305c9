//! os-release(5): `KEY=VALUE` lines, values optionally quoted.

use super::Os;

/// Parses an os-release file; `None` without an `ID`.
pub fn parse(text: &str) -> Option<Os> {
    let mut os = Os::default();
    for line in text.lines() {
        let Some((key, value)) = line.trim().split_once('=') else {
            continue;
        };
        let value = unquote(value.trim());
        match key.trim() {
            "ID" => os.id = value.to_ascii_lowercase(),
            "VERSION_ID" => os.version_id = value,
            "VERSION_CODENAME" => os.codename = value,
            "PRETTY_NAME" => os.pretty_name = value,
            _ => {}
        }
    }
    (!os.id.is_empty()).then_some(os)
}

fn unquote(value: &str) -> String {
    let inner = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
        .unwrap_or(value);
    inner
        .replace("\\\"", "\"")
        .replace("\\$", "$")
        .replace("\\\\", "\\")
}

#[cfg(test)]
mod tests {
    #[test]
    fn debian_and_alpine() {
        let os = super::parse(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n",
        )
        .unwrap();
        assert_eq!(
            (os.id.as_str(), os.version_id.as_str(), os.codename.as_str()),
            ("debian", "12", "bookworm")
        );
        assert_eq!(os.pretty_name, "Debian GNU/Linux 12 (bookworm)");
        let os = super::parse("NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.11.6\n").unwrap();
        assert_eq!(
            (os.id.as_str(), os.version_id.as_str()),
            ("alpine", "3.11.6")
        );
        assert!(super::parse("NAME=x\n").is_none());
    }
}
