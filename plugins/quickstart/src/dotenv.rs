//! `.env` and `env_file` files as Compose reads them: `KEY=value` lines,
//! `#` comments, an optional `export `, single quotes literal, double quotes
//! with `\n`, `\t`, `\"` and `\\` escapes, and `KEY` alone to pass the
//! variable through from the environment.

/// One line's variable: its value, or `None` to take it from the
/// environment; the value is literal (single-quoted) or to be interpolated.
pub type Entry = (String, Option<Value>);

/// A value as written, and whether `${VAR}` in it stays as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub text: String,
    pub literal: bool,
}

/// The entries of an env file, or the first bad line (1-based) and why.
pub fn parse(text: &str) -> Result<Vec<Entry>, (usize, String)> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v)),
            None => (line, None),
        };
        let valid_key = !key.is_empty()
            && !key.contains(char::is_whitespace)
            && !key.starts_with(|c: char| c.is_ascii_digit());
        if !valid_key {
            return Err((i + 1, format!("`{key}` is not a variable name")));
        }
        let value = value
            .map(|v| unquote(v.trim_start()).map_err(|why| (i + 1, why)))
            .transpose()?;
        out.push((key.to_owned(), value));
    }
    Ok(out)
}

fn unquote(value: &str) -> Result<Value, String> {
    let interpolated = |text: String| Value {
        text,
        literal: false,
    };
    if let Some(rest) = value.strip_prefix('\'') {
        let end = rest
            .find('\'')
            .ok_or_else(|| format!("unclosed `'` in `{value}`"))?;
        return Ok(Value {
            text: rest[..end].to_owned(),
            literal: true,
        });
    }
    if let Some(rest) = value.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => return Ok(interpolated(out)),
                '\\' => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('r') => out.push('\r'),
                    Some(other) => out.push(other),
                    None => break,
                },
                c => out.push(c),
            }
        }
        return Err(format!("unclosed `\"` in `{value}`"));
    }
    // An unquoted value ends at ` #` (a comment).
    let value = match value.find(" #") {
        Some(i) => &value[..i],
        None => value,
    };
    Ok(interpolated(value.trim_end().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_quotes_and_comments() {
        let text = "# comment\nA=1\nexport B = two words # note\nC='x #y'\nD=\"a\\nb\"\nE\n\nF=\n";
        let plain = |t: &str| {
            Some(Value {
                text: t.into(),
                literal: false,
            })
        };
        let literal = Some(Value {
            text: "x #y".into(),
            literal: true,
        });
        assert_eq!(
            parse(text).unwrap(),
            vec![
                ("A".into(), plain("1")),
                ("B".into(), plain("two words")),
                ("C".into(), literal),
                ("D".into(), plain("a\nb")),
                ("E".into(), None),
                ("F".into(), plain("")),
            ]
        );
        assert_eq!(parse("A=1\n2B=x\n").unwrap_err().0, 2);
        assert_eq!(parse("A=\"open\n").unwrap_err().0, 1);
    }
}
