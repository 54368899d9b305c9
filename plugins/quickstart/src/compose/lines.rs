//! Where a key is in the Compose file, for messages: the YAML parser keeps
//! no positions in its values, so a key path (`services.app.build.ssh`) is
//! found again in the text by its block-style indentation. A key it cannot
//! find that way (flow style `{a: 1}`, a list index, a key merged in from an
//! anchor or another file) has no line, and the message goes without one.

/// The 1-based line of `path` (keys joined by `.`) in `text`.
pub fn line_of(text: &str, path: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut parent_indent: Option<usize> = None;
    let mut from = 0;
    let mut line = None;
    for segment in path.split('.') {
        if segment.contains('[') {
            return None;
        }
        let mut child_indent = None;
        let mut found = None;
        for (i, raw) in lines.iter().enumerate().skip(from) {
            let trimmed = raw.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---") {
                continue;
            }
            let indent = raw.len() - trimmed.len();
            if parent_indent.is_some_and(|p| indent <= p) {
                break;
            }
            let child = *child_indent.get_or_insert(indent);
            if indent == child && is_key(trimmed, segment) {
                found = Some((i, indent));
                break;
            }
        }
        let (i, indent) = found?;
        parent_indent = Some(indent);
        from = i + 1;
        line = Some(i + 1);
    }
    line
}

/// `key:` (or `"key":`, `'key':`) starts the line.
fn is_key(line: &str, key: &str) -> bool {
    let rest = ["", "\"", "'"].iter().find_map(|q| {
        let r = line.strip_prefix(q)?.strip_prefix(key)?;
        r.strip_prefix(q)
    });
    rest.is_some_and(|r| r.trim_start().starts_with(':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
services:
  web:
    image: busybox   # a comment
    build:

      context: .
      ssh: [default]
  app:
    build:
      'ssh': [default]
    x: {runtime: runc}
networks:
  n: {}
";

    #[test]
    fn keys_are_found_by_their_indentation() {
        assert_eq!(line_of(FILE, "services.web.build.ssh"), Some(7));
        assert_eq!(line_of(FILE, "services.app.build.ssh"), Some(10));
        assert_eq!(line_of(FILE, "services.web.image"), Some(3));
        assert_eq!(line_of(FILE, "networks.n"), Some(13));
        // Not in block style, not there, or not under that parent.
        assert_eq!(line_of(FILE, "services.app.x.runtime"), None);
        assert_eq!(line_of(FILE, "services.web.build.target"), None);
        assert_eq!(line_of(FILE, "services.app.image"), None);
        assert_eq!(line_of(FILE, "services.web.ports[0]"), None);
    }
}
