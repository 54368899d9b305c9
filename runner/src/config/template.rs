//! `{{name}}` templating in tasks.toml strings, done once when the file is
//! loaded, so a misspelt variable is a located error before anything runs.
//!
//! `{{name}}` is a variable from the task's `vars`, then the file's `[vars]`;
//! `{{env.NAME}}` is the host environment, then `.env`. `{{{{` is a literal
//! `{{`. A `{{` not followed by a name (`{{.Names}}`, `{{ json . }}`) is left
//! as it is, so Docker and Go template strings in commands keep working.

/// What is wrong with one `{{…}}`; `at` and `len` are byte offsets into the
/// templated text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub(crate) at: usize,
    pub(crate) len: usize,
    pub(crate) kind: ProblemKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProblemKind {
    /// `{{name}}` where no variable is called `name`.
    Unknown {
        name: String,
        suggestion: Option<String>,
    },
    /// `{{env.NAME}}` with `NAME` neither in the environment nor in `.env`.
    UnsetEnv { name: String },
    /// `{{name` with no `}}`.
    Unclosed { name: String },
}

/// Where variables come from, in order of precedence.
pub(crate) struct Scope<'a> {
    /// The task's `vars`, then the file's (earlier entries win).
    pub(crate) vars: &'a [(String, String)],
    pub(crate) more_vars: &'a [(String, String)],
    /// Values loaded from `.env` files; the host environment wins over them.
    pub(crate) dotenv: &'a [(String, String)],
}

impl Scope<'_> {
    fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .chain(self.more_vars)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn env(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().or_else(|| {
            self.dotenv
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        self.vars
            .iter()
            .chain(self.more_vars)
            .map(|(k, _)| k.as_str())
    }
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// Expands every `{{name}}` in `text`.
pub(crate) fn expand(text: &str, scope: &Scope<'_>) -> Result<String, Problem> {
    if !text.contains("{{") {
        return Ok(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let at = text.len() - rest.len() + open;
        let after = &rest[open + 2..];
        if let Some(tail) = after.strip_prefix("{{") {
            out.push_str("{{");
            rest = tail;
            continue;
        }
        let inner_start = after.len() - after.trim_start().len();
        let inner = &after[inner_start..];
        let name_len = match inner.chars().next() {
            Some(c) if is_name_start(c) => inner
                .char_indices()
                .find(|&(_, c)| !is_name_char(c))
                .map_or(inner.len(), |(i, _)| i),
            // Not ours: Docker's `{{.Names}}`, Go's `{{ json . }}`.
            _ => {
                out.push_str("{{");
                rest = after;
                continue;
            }
        };
        let name = &inner[..name_len];
        let tail = inner[name_len..].trim_start();
        let Some(tail) = tail.strip_prefix("}}") else {
            // `{{ name | filter }}` and the like are another tool's.
            if tail.contains("}}") {
                out.push_str("{{");
                rest = after;
                continue;
            }
            return Err(Problem {
                at,
                len: 2 + inner_start + name_len,
                kind: ProblemKind::Unclosed {
                    name: name.to_owned(),
                },
            });
        };
        let len = text.len() - tail.len() - at;
        let value = if let Some(env) = name.strip_prefix("env.") {
            scope.env(env).ok_or_else(|| Problem {
                at,
                len,
                kind: ProblemKind::UnsetEnv {
                    name: env.to_owned(),
                },
            })?
        } else {
            scope.var(name).map(str::to_owned).ok_or_else(|| Problem {
                at,
                len,
                kind: ProblemKind::Unknown {
                    name: name.to_owned(),
                    suggestion: super::suggest::closest(name, scope.names()).map(str::to_owned),
                },
            })?
        };
        out.push_str(&value);
        rest = tail;
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vec<(String, String)> {
        vec![
            ("target".into(), "all".into()),
            ("image".into(), "app:1".into()),
        ]
    }

    fn run(text: &str) -> Result<String, Problem> {
        let vars = vars();
        let dotenv = vec![("FROM_DOTENV".to_owned(), "yes".to_owned())];
        expand(
            text,
            &Scope {
                vars: &vars,
                more_vars: &[],
                dotenv: &dotenv,
            },
        )
    }

    #[test]
    fn variables_are_replaced_with_or_without_spaces() {
        assert_eq!(
            run("make {{target}} {{ image }}").unwrap(),
            "make all app:1"
        );
    }

    #[test]
    fn four_braces_are_a_literal_pair() {
        assert_eq!(run("echo {{{{target}}").unwrap(), "echo {{target}}");
    }

    #[test]
    fn docker_and_go_templates_are_left_alone() {
        let text = "docker ps --format '{{.Names}}' {{ json . }} {{ .ID | x }}";
        assert_eq!(run(text).unwrap(), text);
    }

    #[test]
    fn env_reads_the_host_then_dotenv() {
        assert_eq!(run("{{env.FROM_DOTENV}}").unwrap(), "yes");
        // PATH is set in any test environment.
        assert_eq!(run("{{env.PATH}}").unwrap(), std::env::var("PATH").unwrap());
    }

    #[test]
    fn an_unknown_variable_is_located_with_a_suggestion() {
        let problem = run("make {{targte}}").unwrap_err();
        assert_eq!((problem.at, problem.len), (5, 10));
        assert_eq!(
            problem.kind,
            ProblemKind::Unknown {
                name: "targte".into(),
                suggestion: Some("target".into())
            }
        );
    }

    #[test]
    fn an_unset_env_variable_and_an_unclosed_brace_are_errors() {
        assert!(matches!(
            run("{{env.RUN_SURELY_UNSET_42}}").unwrap_err().kind,
            ProblemKind::UnsetEnv { .. }
        ));
        assert!(matches!(
            run("echo {{target").unwrap_err().kind,
            ProblemKind::Unclosed { .. }
        ));
    }
}
