//! Which names `run plugin new NAME` accepts: a name that is at once a Cargo
//! package name, a Rust crate name (after `-` becomes `_`) and a task name.

/// Why a name was refused; completes "`NAME` is not a valid plugin name: …".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    Empty,
    LeadingDigit,
    BadChar(char),
    Keyword,
    /// A first word `run` answers to itself (`config::RESERVED`).
    Reserved,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Empty => f.write_str("it is empty"),
            Problem::LeadingDigit => f.write_str("it starts with a digit"),
            Problem::BadChar(c) => write!(
                f,
                "it contains {c:?}; use only ASCII letters, digits, `-` and `_`"
            ),
            Problem::Keyword => f.write_str("it is a Rust keyword"),
            Problem::Reserved => {
                f.write_str("`run` itself answers to it, so the task could never be run")
            }
        }
    }
}

/// Rust keywords, which Cargo refuses as crate names.
const KEYWORDS: &[&str] = &[
    "Self", "abstract", "as", "async", "await", "become", "box", "break", "const", "continue",
    "crate", "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if",
    "impl", "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub",
    "ref", "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Checks `name`: ASCII letters, digits, `-` and `_`, not starting with a digit.
pub fn check(name: &str) -> Result<(), Problem> {
    let Some(first) = name.chars().next() else {
        return Err(Problem::Empty);
    };
    if let Some(c) = name
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    {
        return Err(Problem::BadChar(c));
    }
    if first.is_ascii_digit() {
        return Err(Problem::LeadingDigit);
    }
    if KEYWORDS.contains(&name) {
        return Err(Problem::Keyword);
    }
    if crate::config::RESERVED
        .iter()
        .any(|(word, _)| *word == name)
    {
        return Err(Problem::Reserved);
    }
    Ok(())
}

/// The file stem Cargo gives the built component: `-` becomes `_`.
pub fn artifact(name: &str) -> String {
    name.replace('-', "_")
}

/// The Rust type that implements `Plugin`: `word-count` → `WordCountPlugin`.
/// The suffix keeps it clear of names in scope (`Context`, `Error`, `Result`).
pub fn type_name(name: &str) -> String {
    let camel: String = name
        .split(['-', '_'])
        .flat_map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase())
                .into_iter()
                .chain(chars)
        })
        .collect();
    if camel.is_empty() || camel == "Plugin" {
        // `_`, `__` or `_plugin`: nothing but the trait's own name.
        "MainPlugin".to_owned()
    } else if camel.ends_with("Plugin") {
        camel
    } else {
        format!("{camel}Plugin")
    }
}

#[cfg(test)]
mod tests {
    use super::{Problem, artifact, check, type_name};

    #[test]
    fn accepts_cargo_package_names() {
        for name in ["hello", "word-count", "word_count", "_private", "a1", "X"] {
            assert_eq!(check(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn refuses_what_cargo_or_run_would_refuse() {
        assert_eq!(check(""), Err(Problem::Empty));
        assert_eq!(check("1up"), Err(Problem::LeadingDigit));
        assert_eq!(check("a.b"), Err(Problem::BadChar('.')));
        assert_eq!(check("../x"), Err(Problem::BadChar('.')));
        assert_eq!(check("a/b"), Err(Problem::BadChar('/')));
        assert_eq!(check("héllo"), Err(Problem::BadChar('é')));
        assert_eq!(check("fn"), Err(Problem::Keyword));
        assert_eq!(check("plugin"), Err(Problem::Reserved));
    }

    #[test]
    fn artifacts_use_underscores() {
        assert_eq!(artifact("word-count"), "word_count");
    }

    #[test]
    fn type_names_are_camel_case_identifiers() {
        assert_eq!(type_name("hello"), "HelloPlugin");
        assert_eq!(type_name("word-count_v2"), "WordCountV2Plugin");
        assert_eq!(type_name("_private"), "PrivatePlugin");
        assert_eq!(type_name("context"), "ContextPlugin");
        assert_eq!(type_name("self_"), "SelfPlugin");
        assert_eq!(type_name("my-plugin"), "MyPlugin");
        assert_eq!(type_name("__"), "MainPlugin");
        assert_eq!(type_name("_plugin"), "MainPlugin");
    }
}
