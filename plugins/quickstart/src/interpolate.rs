//! Compose variable interpolation: `$VAR`, `${VAR}`, `${VAR:-default}`,
//! `${VAR-default}`, `${VAR:?message}`, `${VAR?message}` and `$$` for a `$`.
//! Variables come from the plugin's environment (the task's `env` and
//! `allow.env`); a variable used without a default that is not set is
//! reported, all of them at once, as a missing prerequisite.

/// A variable the file needs and the environment lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub name: String,
    /// The file's own message from `${VAR:?message}`.
    pub message: Option<String>,
}

/// Substitutes variables in `text`, recording missing ones in `missing`.
pub fn interpolate(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    missing: &mut Vec<Missing>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        match chars.peek().map(|&(_, c)| c) {
            Some('$') => {
                chars.next();
                out.push('$');
            }
            Some('{') => {
                let start = i + 2;
                let end = text[start..]
                    .find('}')
                    .map(|e| start + e)
                    .ok_or_else(|| format!("unclosed `${{` in `{text}`"))?;
                let expr = &text[start..end];
                out.push_str(&braced(expr, lookup, missing)?);
                while chars.peek().is_some_and(|&(j, _)| j <= end) {
                    chars.next();
                }
            }
            Some(c) if c == '_' || c.is_ascii_alphabetic() => {
                let start = i + 1;
                let mut end = start;
                while let Some(&(j, c)) = chars.peek() {
                    if c == '_' || c.is_ascii_alphanumeric() {
                        end = j + c.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                let name = &text[start..end];
                match lookup(name) {
                    Some(value) => out.push_str(&value),
                    None => record(missing, name, None),
                }
            }
            _ => out.push('$'),
        }
    }
    Ok(out)
}

fn record(missing: &mut Vec<Missing>, name: &str, message: Option<String>) {
    if !missing.iter().any(|m| m.name == name) {
        missing.push(Missing {
            name: name.to_owned(),
            message,
        });
    }
}

fn braced(
    expr: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    missing: &mut Vec<Missing>,
) -> Result<String, String> {
    let name_end = expr
        .find(|c: char| !(c == '_' || c.is_ascii_alphanumeric()))
        .unwrap_or(expr.len());
    let (name, op) = expr.split_at(name_end);
    if name.is_empty() {
        return Err(format!("bad variable `${{{expr}}}`"));
    }
    let value = lookup(name);
    let (op, arg) = if let Some(arg) = op.strip_prefix(":-") {
        (":-", arg)
    } else if let Some(arg) = op.strip_prefix(":?") {
        (":?", arg)
    } else if let Some(arg) = op.strip_prefix('-') {
        ("-", arg)
    } else if let Some(arg) = op.strip_prefix('?') {
        ("?", arg)
    } else if op.is_empty() {
        ("", "")
    } else {
        return Err(format!("unsupported variable form `${{{expr}}}`"));
    };
    let empty = value.as_deref().is_none_or(str::is_empty);
    Ok(match op {
        ":-" if empty => arg.to_owned(),
        "-" if value.is_none() => arg.to_owned(),
        ":?" if empty => {
            record(
                missing,
                name,
                Some(arg.to_owned()).filter(|m| !m.is_empty()),
            );
            String::new()
        }
        "?" if value.is_none() => {
            record(
                missing,
                name,
                Some(arg.to_owned()).filter(|m| !m.is_empty()),
            );
            String::new()
        }
        "" if value.is_none() => {
            record(missing, name, None);
            String::new()
        }
        _ => value.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> (String, Vec<Missing>) {
        let lookup = |name: &str| match name {
            "USER" => Some("ada".to_owned()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        let mut missing = Vec::new();
        let out = interpolate(text, &lookup, &mut missing).unwrap();
        (out, missing)
    }

    #[test]
    fn forms() {
        assert_eq!(run("hi $USER!").0, "hi ada!");
        assert_eq!(run("${USER}x").0, "adax");
        assert_eq!(run("${NOPE:-dflt}").0, "dflt");
        assert_eq!(run("${EMPTY:-dflt}").0, "dflt");
        assert_eq!(run("${EMPTY-dflt}").0, "");
        assert_eq!(run("cost $$5").0, "cost $5");
        assert_eq!(run("a $ b").0, "a $ b");
    }

    #[test]
    fn missing_variables_are_collected_once() {
        let (_, missing) = run("${A} $A ${B:?set B to the password}");
        assert_eq!(
            missing,
            vec![
                Missing {
                    name: "A".into(),
                    message: None
                },
                Missing {
                    name: "B".into(),
                    message: Some("set B to the password".into())
                }
            ]
        );
    }
}
