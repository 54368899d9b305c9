//! What a container, volume or network name may look like, checked before a
//! name is looked up or matched against a grant: the engine's own grammar
//! (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`), so `/`, `..` as a path, `?`, `#`, `%`,
//! spaces, control characters and look-alike letters from other scripts never
//! reach an engine API path or a glob.

use std::fmt;

/// The longest name accepted. Docker sets no limit, but a name is also a
/// hostname label in places, and nothing real comes near this.
pub const MAX_NAME: usize = 253;

/// What is wrong with a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameProblem {
    Empty,
    TooLong(usize),
    /// The first character must be a letter or digit.
    BadFirst(char),
    BadChar(char),
    /// At least two characters, as the engine requires.
    TooShort,
    /// `host` and `none` are network modes, not network names.
    NetworkMode(&'static str),
    /// `bridge` is the engine's default network, shared by every container
    /// started without one: never a network a grant can name.
    DefaultBridge,
}

impl fmt::Display for NameProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameProblem::Empty => f.write_str("it is empty"),
            NameProblem::TooLong(n) => write!(f, "it is {n} characters long (at most {MAX_NAME})"),
            NameProblem::BadFirst(c) => {
                write!(f, "it starts with {}, not a letter or digit", show(*c))
            }
            NameProblem::BadChar(c) => write!(
                f,
                "it contains {}; names use only ASCII letters, digits, `_`, `.` and `-`",
                show(*c)
            ),
            NameProblem::TooShort => f.write_str("it is one character long (at least two)"),
            NameProblem::NetworkMode(mode) => write!(
                f,
                "`{mode}` is a network mode, not a network: it is granted by allow.namespaces"
            ),
            NameProblem::DefaultBridge => f.write_str(
                "`bridge` is the engine's default network, shared with every other container: leave the network list empty to use it"
            ),
        }
    }
}

/// A character as a person can read it in a message, even when it is
/// invisible or looks like another.
fn show(c: char) -> String {
    if c.is_ascii_graphic() {
        format!("`{c}`")
    } else {
        format!("U+{:04X}", c as u32)
    }
}

/// A container, volume or network name as the engine accepts it.
pub fn check_name(name: &str) -> Result<(), NameProblem> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Err(NameProblem::Empty);
    };
    if !first.is_ascii_alphanumeric() {
        return Err(NameProblem::BadFirst(first));
    }
    if let Some(bad) = chars.find(|&c| !is_name_char(c)) {
        return Err(NameProblem::BadChar(bad));
    }
    if name.len() > MAX_NAME {
        return Err(NameProblem::TooLong(name.len()));
    }
    if name.len() < 2 {
        return Err(NameProblem::TooShort);
    }
    Ok(())
}

/// A network name: a name, and not one of the modes that only look like one.
pub fn check_network_name(name: &str) -> Result<(), NameProblem> {
    check_name(name)?;
    match name {
        "host" => Err(NameProblem::NetworkMode("host")),
        "none" => Err(NameProblem::NetworkMode("none")),
        "bridge" => Err(NameProblem::DefaultBridge),
        _ => Ok(()),
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// A grant pattern for names: name characters plus glob syntax (`*`, `?`,
/// `[...]`, `{a,b}`, `!` and `^` in classes). It can only ever match names that
/// pass `check_name`, because those are checked first.
pub fn check_name_pattern(pattern: &str) -> Result<(), NameProblem> {
    if pattern.is_empty() {
        return Err(NameProblem::Empty);
    }
    if let Some(bad) = pattern.chars().find(|&c| {
        !(is_name_char(c) || matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | ',' | '!' | '^'))
    }) {
        return Err(NameProblem::BadChar(bad));
    }
    if pattern.len() > MAX_NAME {
        return Err(NameProblem::TooLong(pattern.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_names_pass() {
        for name in ["db", "pg-demo", "shop_web_1", "a.b", "0x", "app-1.2_3"] {
            assert_eq!(check_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn hostile_names_fail() {
        let cases: &[(&str, NameProblem)] = &[
            ("", NameProblem::Empty),
            ("a", NameProblem::TooShort),
            ("app-/../other", NameProblem::BadChar('/')),
            ("/app", NameProblem::BadFirst('/')),
            ("..", NameProblem::BadFirst('.')),
            ("app?x=1", NameProblem::BadChar('?')),
            ("app#x", NameProblem::BadChar('#')),
            ("app%2F..%2Fother", NameProblem::BadChar('%')),
            ("app x", NameProblem::BadChar(' ')),
            ("app\nx", NameProblem::BadChar('\n')),
            ("app\0", NameProblem::BadChar('\0')),
            // Cyrillic а (U+0430) looks like a Latin a.
            ("\u{430}pp-1", NameProblem::BadFirst('\u{430}')),
            ("app-\u{430}", NameProblem::BadChar('\u{430}')),
            ("GRANTED/db", NameProblem::BadChar('/')),
            ("-app", NameProblem::BadFirst('-')),
            ("app:latest", NameProblem::BadChar(':')),
        ];
        for (name, problem) in cases {
            assert_eq!(check_name(name).as_ref(), Err(problem), "{name:?}");
        }
        assert_eq!(
            check_name(&"a".repeat(MAX_NAME + 1)),
            Err(NameProblem::TooLong(MAX_NAME + 1))
        );
    }

    #[test]
    fn network_modes_are_not_network_names() {
        assert_eq!(
            check_network_name("host"),
            Err(NameProblem::NetworkMode("host"))
        );
        assert_eq!(
            check_network_name("none"),
            Err(NameProblem::NetworkMode("none"))
        );
        assert!(check_network_name("container:db").is_err());
        assert_eq!(
            check_network_name("bridge"),
            Err(NameProblem::DefaultBridge)
        );
        assert_eq!(check_network_name("demo_default"), Ok(()));
    }

    #[test]
    fn patterns_allow_glob_syntax_only() {
        for pattern in ["app-*", "*", "pg-[0-9]", "{a,b}-db", "db?"] {
            assert_eq!(check_name_pattern(pattern), Ok(()), "{pattern}");
        }
        assert_eq!(check_name_pattern("app/*"), Err(NameProblem::BadChar('/')));
        assert_eq!(check_name_pattern("app *"), Err(NameProblem::BadChar(' ')));
        assert_eq!(check_name_pattern("%2F*"), Err(NameProblem::BadChar('%')));
    }
}
