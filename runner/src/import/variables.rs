//! Make's variables and its `$` expansion, as far as the result is knowable
//! without running make: literal text, other such variables, and values that
//! make itself would take from the environment, which become the shell's
//! `${NAME}` (or `${NAME-default}` for `?=`). Anything make computes itself
//! (functions, `$?`, its own state) is a [`Problem`], never a guess.

use std::collections::HashMap;

use super::makefile::AssignOp;
use super::report::{Place, Problem};

/// A piece of expanded text.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    /// Not set in the Makefile: make would take it from the environment.
    Env(String),
    /// Set with `?=`: the environment's value if it has one, else the default.
    EnvDefault {
        name: String,
        default: Vec<Piece>,
    },
    /// `$(CURDIR)`: the directory commands run in.
    Pwd,
}

/// The result of an expansion.
pub type Pieces = Vec<Piece>;

/// The text of pieces that are all literal, or the first piece that is not.
pub fn literal(pieces: &[Piece]) -> Result<String, Problem> {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(text) => out += text,
            Piece::Env(name) | Piece::EnvDefault { name, .. } => {
                return Err(Problem::Environment(name.clone()));
            }
            Piece::Pwd => return Err(Problem::CurDir),
        }
    }
    Ok(out)
}

#[derive(Debug, Clone)]
enum Value {
    /// `=`: the raw text, expanded at each use.
    Recursive(String),
    /// `:=`: expanded where it was set.
    Simple(Pieces),
    /// `?=`: the raw default.
    Default(String),
    /// Known to be unconvertible; reported only where it is used.
    Broken(Problem),
}

#[derive(Debug, Clone)]
struct Variable {
    value: Value,
    place: Place,
}

/// The Makefile's variables as read so far.
#[derive(Debug, Default)]
pub struct Variables {
    map: HashMap<String, Variable>,
}

/// The automatic variables of the rule whose recipe is expanded.
#[derive(Debug, Clone, Copy)]
pub struct Automatic<'a> {
    pub target: &'a str,
    pub prerequisites: &'a [String],
    pub order_only: &'a [String],
}

/// Make's functions: a reference whose first word is one of these is a call.
const FUNCTIONS: &[&str] = &[
    "abspath",
    "addprefix",
    "addsuffix",
    "and",
    "basename",
    "call",
    "dir",
    "error",
    "eval",
    "file",
    "filter",
    "filter-out",
    "findstring",
    "firstword",
    "flavor",
    "foreach",
    "guile",
    "if",
    "info",
    "intcmp",
    "join",
    "lastword",
    "let",
    "notdir",
    "or",
    "origin",
    "patsubst",
    "realpath",
    "shell",
    "sort",
    "strip",
    "subst",
    "suffix",
    "value",
    "warning",
    "wildcard",
    "word",
    "wordlist",
    "words",
];

/// Variables that are make's own state, meaningless without make.
const MAKE_STATE: &[&str] = &[
    "MAKE",
    "MAKEFLAGS",
    "MFLAGS",
    "MAKECMDGOALS",
    "MAKELEVEL",
    "MAKE_VERSION",
    "MAKE_HOST",
    "MAKEFILES",
    "MAKE_RESTARTS",
    "MAKE_TERMOUT",
    "MAKE_TERMERR",
    "MAKEOVERRIDES",
    ".VARIABLES",
    ".FEATURES",
    ".INCLUDE_DIRS",
    ".DEFAULT_GOAL",
    ".SHELLFLAGS",
    ".RECIPEPREFIX",
    ".EXTRA_PREREQS",
    "SUFFIXES",
];

/// Make's built-in defaults that the environment may override.
const BUILTIN_DEFAULTS: &[(&str, &str)] = &[("AR", "ar"), ("CC", "cc"), ("CXX", "g++")];

impl Variables {
    /// Applies an assignment read at `place`. `conditional` is the place of
    /// the conditional it sits in: the value then depends on the branch.
    pub fn assign(
        &mut self,
        name: &str,
        op: AssignOp,
        raw: &str,
        place: &Place,
        conditional: Option<&Place>,
    ) {
        let value = if let Some(at) = conditional {
            Value::Broken(Problem::Conditional {
                name: name.to_owned(),
                at: at.clone(),
            })
        } else {
            match op {
                AssignOp::Recursive => Value::Recursive(raw.to_owned()),
                AssignOp::Simple => match self.expand(raw, Context::Value, None) {
                    Ok(pieces) => Value::Simple(pieces),
                    Err(problem) => Value::Broken(problem),
                },
                AssignOp::Default => match self.map.get(name) {
                    Some(_) => return,
                    None => Value::Default(raw.to_owned()),
                },
                AssignOp::Append => match self.map.get(name).map(|v| &v.value) {
                    None => Value::Recursive(raw.to_owned()),
                    Some(Value::Recursive(old)) => Value::Recursive(join(old, raw)),
                    Some(Value::Simple(old)) => match self.expand(raw, Context::Value, None) {
                        Ok(new) => {
                            let mut pieces = old.clone();
                            if !old.is_empty() && !raw.is_empty() {
                                pieces.push(Piece::Text(" ".into()));
                            }
                            pieces.extend(new);
                            Value::Simple(merge(pieces))
                        }
                        Err(problem) => Value::Broken(problem),
                    },
                    Some(Value::Default(_)) => Value::Broken(Problem::AppendToDefault {
                        name: name.to_owned(),
                        at: place.clone(),
                    }),
                    Some(Value::Broken(problem)) => Value::Broken(problem.clone()),
                },
                AssignOp::Shell => Value::Broken(Problem::ShellAssignment {
                    name: name.to_owned(),
                    at: place.clone(),
                }),
            }
        };
        self.map.insert(
            name.to_owned(),
            Variable {
                value,
                place: place.clone(),
            },
        );
    }

    /// `define NAME` … `endef`.
    pub fn define(&mut self, name: &str, place: &Place) {
        self.map.insert(
            name.to_owned(),
            Variable {
                value: Value::Broken(Problem::Define {
                    name: name.to_owned(),
                    at: place.clone(),
                }),
                place: place.clone(),
            },
        );
    }

    pub fn undefine(&mut self, name: &str) {
        self.map.remove(name);
    }

    pub fn is_defined(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// Expands `text` as make would in `context`; `automatic` gives `$@` and
    /// friends their values in a recipe.
    pub fn expand(
        &self,
        text: &str,
        context: Context,
        automatic: Option<Automatic<'_>>,
    ) -> Result<Pieces, Problem> {
        Expander {
            vars: self,
            context,
            automatic,
            stack: Vec::new(),
        }
        .expand(text)
    }

    /// The value of `name` expanded, as `$(name)` would give it.
    pub fn value(&self, name: &str, context: Context) -> Result<Pieces, Problem> {
        Expander {
            vars: self,
            context,
            automatic: None,
            stack: Vec::new(),
        }
        .variable(name)
    }
}

/// Where an expansion happens, which decides what may remain unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// A target, prerequisite or include path: make needs the text itself.
    ReadTime,
    /// A `:=` value: environment pieces stay pieces until the value is used.
    Value,
    /// A recipe line: the shell can take the environment's values itself.
    Recipe,
}

struct Expander<'a> {
    vars: &'a Variables,
    context: Context,
    automatic: Option<Automatic<'a>>,
    /// Recursive variables being expanded, to catch self-reference.
    stack: Vec<String>,
}

impl Expander<'_> {
    fn expand(&mut self, text: &str) -> Result<Pieces, Problem> {
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            pieces.push(Piece::Text(rest[..at].to_owned()));
            let after = &rest[at + 1..];
            let mut chars = after.chars();
            match chars.next() {
                None => {
                    // A lone `$` at the end expands to nothing in make.
                    rest = "";
                }
                Some('$') => {
                    pieces.push(Piece::Text("$".into()));
                    rest = &after[1..];
                }
                Some(open @ ('(' | '{')) => {
                    let close = if open == '(' { ')' } else { '}' };
                    let end = matching(after, open, close).ok_or(Problem::Unterminated)?;
                    let inner = &after[1..end];
                    pieces.extend(self.reference(inner)?);
                    rest = &after[end + 1..];
                }
                Some(c) => {
                    pieces.extend(self.variable(&c.to_string())?);
                    rest = &after[c.len_utf8()..];
                }
            }
        }
        pieces.push(Piece::Text(rest.to_owned()));
        Ok(merge(pieces))
    }

    /// The inside of `$(…)`.
    fn reference(&mut self, inner: &str) -> Result<Pieces, Problem> {
        let first = inner.split([' ', '\t', ',']).next().unwrap_or_default();
        if inner.len() > first.len() && FUNCTIONS.contains(&first) {
            return Err(Problem::Function(first.to_owned()));
        }
        if inner.contains('$') {
            return Err(Problem::ComputedName);
        }
        if inner.contains(':') && inner.contains('=') {
            return Err(Problem::SubstitutionReference);
        }
        if inner.contains([' ', '\t']) || inner.is_empty() {
            return Err(Problem::NotAName(inner.to_owned()));
        }
        self.variable(inner)
    }

    fn variable(&mut self, name: &str) -> Result<Pieces, Problem> {
        if let Some(value) = self.automatic(name)? {
            return Ok(vec![Piece::Text(value)]);
        }
        if let Some(variable) = self.vars.map.get(name) {
            return self.defined(name, variable);
        }
        match name {
            "MAKEFILE_LIST" => Err(Problem::MakefileList),
            "MAKE" => Err(Problem::MakeElsewhere),
            "CURDIR" => match self.context {
                Context::ReadTime => Err(Problem::CurDir),
                _ => Ok(vec![Piece::Pwd]),
            },
            "SHELL" => Ok(vec![Piece::Text("/bin/sh".into())]),
            "RM" => Ok(vec![Piece::Text("rm -f".into())]),
            _ if MAKE_STATE.contains(&name) => Err(Problem::MakeVariable(name.to_owned())),
            _ => {
                if let Some((_, default)) = BUILTIN_DEFAULTS.iter().find(|(n, _)| *n == name) {
                    return Ok(vec![Piece::EnvDefault {
                        name: name.to_owned(),
                        default: vec![Piece::Text((*default).to_owned())],
                    }]);
                }
                if is_shell_name(name) {
                    Ok(vec![Piece::Env(name.to_owned())])
                } else {
                    Err(Problem::NotAName(name.to_owned()))
                }
            }
        }
    }

    fn defined(&mut self, name: &str, variable: &Variable) -> Result<Pieces, Problem> {
        let in_value = |problem: Problem| match problem {
            // The innermost variable is the one to fix: keep its place.
            Problem::InValue { .. }
            | Problem::Conditional { .. }
            | Problem::Define { .. }
            | Problem::ShellAssignment { .. }
            | Problem::AppendToDefault { .. }
            | Problem::Recursive(_) => problem,
            problem => Problem::InValue {
                name: name.to_owned(),
                at: variable.place.clone(),
                problem: Box::new(problem),
            },
        };
        match &variable.value {
            Value::Simple(pieces) => Ok(pieces.clone()),
            Value::Broken(problem) => Err(in_value(problem.clone())),
            Value::Recursive(raw) | Value::Default(raw) => {
                if self.stack.iter().any(|n| n == name) {
                    return Err(Problem::Recursive(name.to_owned()));
                }
                self.stack.push(name.to_owned());
                let expanded = self.expand(raw).map_err(in_value);
                self.stack.pop();
                let expanded = expanded?;
                if matches!(variable.value, Value::Default(_)) {
                    Ok(vec![Piece::EnvDefault {
                        name: name.to_owned(),
                        default: expanded,
                    }])
                } else {
                    Ok(expanded)
                }
            }
        }
    }

    /// `$@`, `$<`, `$^`, `$+`, `$|` and their `D`/`F` forms, exact in an
    /// explicit rule; `$?`, `$*`, `$%` are not.
    fn automatic(&self, name: &str) -> Result<Option<String>, Problem> {
        let mut chars = name.chars();
        let (Some(first), modifier) = (chars.next(), chars.as_str()) else {
            return Ok(None);
        };
        if !matches!(first, '@' | '<' | '^' | '+' | '|' | '?' | '*' | '%')
            || !matches!(modifier, "" | "D" | "F")
        {
            return Ok(None);
        }
        let Some(auto) = self.automatic.filter(|_| self.context == Context::Recipe) else {
            return Err(Problem::AutomaticOutsideRecipe(name.to_owned()));
        };
        let words: Vec<String> = match first {
            '@' => vec![auto.target.to_owned()],
            '<' => auto.prerequisites.first().cloned().into_iter().collect(),
            '^' => dedup(auto.prerequisites),
            '+' => auto.prerequisites.to_vec(),
            '|' => dedup(auto.order_only),
            _ => {
                let shown = if name.len() == 1 {
                    name.to_owned()
                } else {
                    format!("({name})")
                };
                return Err(Problem::Automatic(shown));
            }
        };
        let words = words.iter().map(|word| match modifier {
            "D" => match word.rsplit_once('/') {
                Some((dir, _)) if !dir.is_empty() => dir.to_owned(),
                Some(_) => "/".to_owned(),
                None => ".".to_owned(),
            },
            "F" => word.rsplit('/').next().unwrap_or(word).to_owned(),
            _ => word.clone(),
        });
        Ok(Some(words.collect::<Vec<_>>().join(" ")))
    }
}

/// Where the `close` matching `text`'s first character `open` is (make counts
/// only parentheses of the kind that opened the reference).
fn matching(text: &str, open: char, close: char) -> Option<usize> {
    let mut depth = 0;
    for (at, c) in text.char_indices() {
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return Some(at);
            }
        }
    }
    None
}

fn dedup(words: &[String]) -> Vec<String> {
    let mut seen = Vec::new();
    for word in words {
        if !seen.contains(word) {
            seen.push(word.clone());
        }
    }
    seen
}

fn join(old: &str, new: &str) -> String {
    match (old.is_empty(), new.is_empty()) {
        (true, _) => new.to_owned(),
        (_, true) => old.to_owned(),
        _ => format!("{old} {new}"),
    }
}

/// Joins adjacent text and drops empty text.
fn merge(pieces: Pieces) -> Pieces {
    let mut out: Pieces = Vec::new();
    for piece in pieces {
        match (out.last_mut(), piece) {
            (_, Piece::Text(text)) if text.is_empty() => {}
            (Some(Piece::Text(last)), Piece::Text(text)) => last.push_str(&text),
            (_, piece) => out.push(piece),
        }
    }
    out
}

/// A name the shell can expand: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_shell_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn place(line: usize) -> Place {
        Place {
            file: Arc::from("Makefile"),
            line,
        }
    }

    fn vars(assignments: &[(&str, AssignOp, &str)]) -> Variables {
        let mut vars = Variables::default();
        for (line, (name, op, value)) in assignments.iter().enumerate() {
            vars.assign(name, *op, value, &place(line + 1), None);
        }
        vars
    }

    fn text(s: &str) -> Piece {
        Piece::Text(s.into())
    }

    use AssignOp::*;

    #[test]
    fn recursive_variables_see_later_values_and_simple_ones_do_not() {
        let vars = vars(&[
            ("A", Recursive, "$(B)/x"),
            ("S", Simple, "[$(B)]"),
            ("B", Recursive, "late"),
        ]);
        assert_eq!(vars.value("A", Context::Recipe), Ok(vec![text("late/x")]));
        // `B` was not set when `S` was: make would have taken it from the environment.
        assert_eq!(
            vars.value("S", Context::Recipe),
            Ok(vec![text("["), Piece::Env("B".into()), text("]")])
        );
    }

    #[test]
    fn dollar_dollar_braces_and_single_letters() {
        let vars = vars(&[("X", Recursive, "x"), ("Y", Simple, "${X}$X")]);
        assert_eq!(
            vars.expand("echo $$HOME $(X)${Y}", Context::Recipe, None),
            Ok(vec![text("echo $HOME xxx")])
        );
    }

    #[test]
    fn appending_keeps_the_flavour() {
        let vars = vars(&[
            ("R", Recursive, "a"),
            ("R", Append, "$(L)"),
            ("S", Simple, "a"),
            ("S", Append, "$(L)"),
            ("L", Recursive, "late"),
            ("N", Append, "new"),
        ]);
        assert_eq!(vars.value("R", Context::Recipe), Ok(vec![text("a late")]));
        assert_eq!(
            vars.value("S", Context::Recipe),
            Ok(vec![text("a "), Piece::Env("L".into())])
        );
        assert_eq!(vars.value("N", Context::Recipe), Ok(vec![text("new")]));
    }

    #[test]
    fn defaults_stay_overridable_and_are_set_only_once() {
        let vars = vars(&[
            ("A", Recursive, "file"),
            ("A", Default, "ignored"),
            ("B", Default, "dev"),
        ]);
        assert_eq!(vars.value("A", Context::Recipe), Ok(vec![text("file")]));
        assert_eq!(
            vars.value("B", Context::Recipe),
            Ok(vec![Piece::EnvDefault {
                name: "B".into(),
                default: vec![text("dev")]
            }])
        );
    }

    #[test]
    fn functions_and_make_state_are_problems_where_used() {
        let vars = vars(&[
            ("TS", Simple, "$(shell date +%s)"),
            ("OUT", Recursive, "backup_$(TS).sql"),
        ]);
        assert_eq!(
            vars.expand("cp x $(OUT)", Context::Recipe, None),
            Err(Problem::InValue {
                name: "TS".into(),
                at: place(1),
                problem: Box::new(Problem::Function("shell".into()))
            })
        );
        for (text, problem) in [
            ("$(wildcard *.c)", Problem::Function("wildcard".into())),
            (
                "$(patsubst %.c,%.o,x)",
                Problem::Function("patsubst".into()),
            ),
            ("$(SRC:.c=.o)", Problem::SubstitutionReference),
            ("$($(X))", Problem::ComputedName),
            (
                "$(MAKECMDGOALS)",
                Problem::MakeVariable("MAKECMDGOALS".into()),
            ),
            ("$(MAKEFILE_LIST)", Problem::MakefileList),
            ("$(shell", Problem::Unterminated),
        ] {
            assert_eq!(
                vars.expand(text, Context::Recipe, None),
                Err(problem),
                "{text}"
            );
        }
    }

    #[test]
    fn conditional_shell_and_self_referencing_values() {
        let mut vars = vars(&[("E", Shell, "date"), ("R", Recursive, "$(R) x")]);
        vars.assign("C", Recursive, "1", &place(9), Some(&place(8)));
        assert_eq!(
            vars.value("C", Context::Recipe),
            Err(Problem::Conditional {
                name: "C".into(),
                at: place(8)
            })
        );
        assert!(matches!(
            vars.value("E", Context::Recipe),
            Err(Problem::ShellAssignment { .. })
        ));
        assert_eq!(
            vars.value("R", Context::Recipe),
            Err(Problem::Recursive("R".into()))
        );
    }

    #[test]
    fn automatic_variables_in_a_recipe() {
        let vars = Variables::default();
        let prerequisites = ["src/a.c".to_owned(), "b.h".to_owned(), "b.h".to_owned()];
        let auto = Automatic {
            target: "build/app",
            prerequisites: &prerequisites,
            order_only: &[],
        };
        let expand = |t: &str| vars.expand(t, Context::Recipe, Some(auto));
        assert_eq!(
            expand("$@ $< $^ $+ $(@D) $(@F) $(<D)"),
            Ok(vec![text(
                "build/app src/a.c src/a.c b.h src/a.c b.h b.h build app src"
            )])
        );
        assert_eq!(expand("$?"), Err(Problem::Automatic("?".into())));
        assert_eq!(expand("$(*F)"), Err(Problem::Automatic("(*F)".into())));
        assert_eq!(
            vars.expand("$@", Context::ReadTime, None),
            Err(Problem::AutomaticOutsideRecipe("@".into()))
        );
    }

    #[test]
    fn unset_names_come_from_the_environment() {
        let vars = Variables::default();
        assert_eq!(
            vars.expand("$(HOME)/x $(CURDIR) $(RM) $(CC)", Context::Recipe, None),
            Ok(vec![
                Piece::Env("HOME".into()),
                text("/x "),
                Piece::Pwd,
                text(" rm -f "),
                Piece::EnvDefault {
                    name: "CC".into(),
                    default: vec![text("cc")]
                }
            ])
        );
        assert_eq!(
            literal(&vars.expand("$(HOME)", Context::ReadTime, None).unwrap()),
            Err(Problem::Environment("HOME".into()))
        );
        assert_eq!(
            vars.expand("$(a-b)", Context::Recipe, None),
            Err(Problem::NotAName("a-b".into()))
        );
    }
}
