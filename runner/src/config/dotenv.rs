//! `.env` files: `NAME=value` lines, as docker compose and just read them.
//!
//! Blank lines and `#` comments are skipped, `export ` is allowed before a
//! name, `"…"` values understand `\n`, `\t`, `\"` and `\\`, `'…'` values are
//! literal, and an unquoted value ends at ` #`. Nothing is interpolated.

/// What is wrong with one line of a `.env` file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DotEnvProblem {
    #[error("expected `NAME=value`")]
    NoEquals,
    #[error("`{0}` is not a variable name (letters, digits and `_`, not starting with a digit)")]
    BadName(String),
    #[error("the quoted value has no closing {0}")]
    Unclosed(char),
}

/// The variables of a `.env` file in order, or the 1-based line that is wrong.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, (usize, DotEnvProblem)> {
    let mut vars = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let fail = |problem| (index + 1, problem);
        let (name, value) = line
            .split_once('=')
            .ok_or_else(|| fail(DotEnvProblem::NoEquals))?;
        let name = name.trim();
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'));
        if !valid {
            return Err(fail(DotEnvProblem::BadName(name.to_owned())));
        }
        let value = value.trim_start();
        let value = if let Some(quoted) = value.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = quoted.chars();
            loop {
                match chars.next() {
                    None => return Err(fail(DotEnvProblem::Unclosed('"'))),
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some('n') => out.push('\n'),
                        Some('t') => out.push('\t'),
                        Some(c) => out.push(c),
                        None => return Err(fail(DotEnvProblem::Unclosed('"'))),
                    },
                    Some(c) => out.push(c),
                }
            }
            out
        } else if let Some(quoted) = value.strip_prefix('\'') {
            let end = quoted
                .find('\'')
                .ok_or_else(|| fail(DotEnvProblem::Unclosed('\'')))?;
            quoted[..end].to_owned()
        } else {
            let end = value.find(" #").unwrap_or(value.len());
            value[..end].trim_end().to_owned()
        };
        vars.push((name.to_owned(), value));
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_values_quotes_and_comments() {
        let text = "# a comment\n\nexport A=1\nB = two words # note\nC=\"x\\ny \\\"q\\\"\"\nD='$HOME #'\nE=\n";
        assert_eq!(
            parse(text).unwrap(),
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "two words".into()),
                ("C".into(), "x\ny \"q\"".into()),
                ("D".into(), "$HOME #".into()),
                ("E".into(), String::new()),
            ]
        );
    }

    #[test]
    fn bad_lines_are_named_by_number() {
        assert_eq!(parse("A=1\nnonsense\n"), Err((2, DotEnvProblem::NoEquals)));
        assert_eq!(parse("1A=x"), Err((1, DotEnvProblem::BadName("1A".into()))));
        assert_eq!(parse("A=\"open"), Err((1, DotEnvProblem::Unclosed('"'))));
    }
}
