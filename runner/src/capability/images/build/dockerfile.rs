//! The base images a Dockerfile names (`FROM IMAGE [AS stage]`), with the
//! global `ARG`s before the first `FROM` and the build's arguments
//! substituted, so each can be checked against `allow.images` and found
//! locally before anything is sent to the engine.

/// A `FROM` line's image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base {
    /// The Dockerfile's line (1-based).
    pub line: usize,
    /// The image after substitution; `Err` with the text when a variable in
    /// it has no value.
    pub image: Result<String, String>,
}

/// The base images of `text`: not `scratch`, not an earlier stage.
pub fn bases(text: &str, args: &[(String, String)]) -> Vec<Base> {
    let mut globals: Vec<(String, String)> = Vec::new();
    let mut stages: Vec<String> = Vec::new();
    let mut bases = Vec::new();
    let mut seen_from = false;
    for (line, instruction) in instructions(text) {
        let mut words = instruction.split_whitespace();
        let Some(keyword) = words.next() else {
            continue;
        };
        if keyword.eq_ignore_ascii_case("ARG") && !seen_from {
            for word in words {
                let (name, default) = match word.split_once('=') {
                    Some((n, d)) => (n, Some(unquote(d))),
                    None => (word, None),
                };
                let value = args
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .or(default);
                if let Some(value) = value {
                    globals.push((name.to_owned(), value));
                }
            }
        } else if keyword.eq_ignore_ascii_case("FROM") {
            seen_from = true;
            let rest: Vec<&str> = words.filter(|w| !w.starts_with("--")).collect();
            let Some(image) = rest.first() else { continue };
            if let [_, as_, stage] = rest.as_slice()
                && as_.eq_ignore_ascii_case("AS")
            {
                stages.push(stage.to_ascii_lowercase());
            }
            let image = substitute(image, &globals);
            let skip = match &image {
                Ok(name) => {
                    name.eq_ignore_ascii_case("scratch")
                        || stages[..stages.len().saturating_sub(usize::from(rest.len() == 3))]
                            .contains(&name.to_ascii_lowercase())
                }
                Err(_) => false,
            };
            if !skip {
                bases.push(Base { line, image });
            }
        }
    }
    bases
}

/// Instructions with their first line, continuation lines joined, comments
/// and blank lines dropped.
fn instructions(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_none()) {
            continue;
        }
        let (body, continues) = match trimmed.strip_suffix('\\') {
            Some(body) => (body, true),
            None => (trimmed, false),
        };
        let entry = current.get_or_insert_with(|| (i + 1, String::new()));
        entry.1.push_str(body);
        entry.1.push(' ');
        if !continues {
            out.extend(current.take());
        }
    }
    out.extend(current);
    out
}

fn unquote(text: &str) -> String {
    text.trim_matches('"').trim_matches('\'').to_owned()
}

/// `$NAME`, `${NAME}`, `${NAME:-default}` and `${NAME:+alt}` from `vars`.
fn substitute(text: &str, vars: &[(String, String)]) -> Result<String, String> {
    let get = |name: &str| {
        vars.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, default, alternative, len) = if let Some(inner) = after.strip_prefix('{') {
            let Some(end) = inner.find('}') else {
                return Err(text.to_owned());
            };
            let body = &inner[..end];
            let (name, default, alternative) = if let Some((n, d)) = body.split_once(":-") {
                (n, Some(d), None)
            } else if let Some((n, a)) = body.split_once(":+") {
                (n, None, Some(a))
            } else {
                (body, None, None)
            };
            (name, default, alternative, end + 2)
        } else {
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..len], None, None, len)
        };
        let value = get(name).filter(|v| !v.is_empty());
        match (value, default, alternative) {
            (Some(_), _, Some(alt)) => out.push_str(alt),
            (None, _, Some(_)) => {}
            (Some(v), _, None) => out.push_str(&v),
            (None, Some(d), None) => out.push_str(d),
            (None, None, None) => return Err(text.to_owned()),
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn images(text: &str, args: &[(&str, &str)]) -> Vec<Result<String, String>> {
        let args: Vec<(String, String)> = args
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        bases(text, &args).into_iter().map(|b| b.image).collect()
    }

    #[test]
    fn stages_scratch_flags_and_arguments() {
        let text = "# syntax comment\nARG BASE=alpine\nARG TAG\nFROM --platform=$BUILDPLATFORM golang:alpine AS build\nRUN go build\nFROM ${BASE}:${TAG:-3} as final\nCOPY --from=build /x /x\nFROM build\nfrom scratch\n";
        assert_eq!(
            images(text, &[]),
            [Ok("golang:alpine".to_owned()), Ok("alpine:3".to_owned())]
        );
        assert_eq!(
            images(text, &[("BASE", "busybox"), ("TAG", "1.36")])[1],
            Ok("busybox:1.36".to_owned())
        );
        assert_eq!(images("FROM $IMAGE\n", &[]), [Err("$IMAGE".to_owned())]);
        let lines: Vec<usize> = bases("\n\nFROM \\\n  busybox\n", &[])
            .iter()
            .map(|b| b.line)
            .collect();
        assert_eq!(lines, [3]);
        assert_eq!(
            images("FROM \\\n  busybox\n", &[]),
            [Ok("busybox".to_owned())]
        );
    }
}
