//! One recipe line to one command line: make's `@`/`-`/`+` prefixes, its
//! expansion (with the shell taking over what make took from the
//! environment), `$(MAKE) target` calls, and `-` as `|| true`.
//!
//! Each line still runs in a shell of its own (`sh -c LINE`, as make runs
//! it), so the text after expansion is exactly what make would have handed
//! to the shell, except where a finding says otherwise.

use std::path::Path;

use super::makefile::RecipeLine;
use super::report::{CallProblem, Kind, Problem};
use super::variables::{Automatic, Context, Piece, Variables, literal};

/// What a recipe line became.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    Command(String),
    /// A line that was only a shell comment, kept as a TOML comment.
    Comment(String),
    /// A line that expanded to nothing: make runs nothing for it.
    Empty,
    /// `$(MAKE) TARGET…`: `convert` decides between a dependency and `run` lines.
    Call {
        call: String,
        targets: Vec<String>,
        ignore: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Converted {
    pub line: Line,
    /// Differences from make worth telling (at this line).
    pub notes: Vec<Kind>,
    /// The line had `@`.
    pub silent: bool,
}

/// What converting a rule's recipe lines needs to know.
pub struct Recipe<'a> {
    pub vars: &'a Variables,
    pub automatic: Automatic<'a>,
    /// Whether a make target exists (for `$(MAKE) target`).
    pub is_target: &'a dyn Fn(&str) -> bool,
    /// The Makefile being imported, canonical, and its directory.
    pub makefile: &'a Path,
    pub dir: &'a Path,
    pub default_goal: Option<&'a str>,
    /// tasks.toml goes beside the Makefile, so `$(CURDIR)` is where commands run.
    pub same_dir: bool,
}

impl Recipe<'_> {
    /// Converts one line, or says why it cannot be.
    pub fn line(&self, line: &RecipeLine) -> Result<Converted, Kind> {
        let (text, silent, ignore) = prefixes(&line.text);
        let mut notes = Vec::new();
        if let Some(comment) = text.strip_prefix('#').filter(|_| !text.contains('\n')) {
            return Ok(Converted {
                line: Line::Comment(format!("#{comment}")),
                notes,
                silent,
            });
        }
        if let Some(rest) = text
            .strip_prefix("$(MAKE)")
            .or_else(|| text.strip_prefix("${MAKE}"))
            .filter(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
        {
            let targets = self.call(rest).map_err(|problem| Kind::MakeCall {
                call: text.trim_end().to_owned(),
                problem,
            })?;
            return Ok(Converted {
                line: Line::Call {
                    call: text.trim_end().to_owned(),
                    targets,
                    ignore,
                },
                notes,
                silent,
            });
        }
        let expansion_error = |problem| Kind::Expansion {
            text: reference_in(text, &problem),
            problem,
        };
        let mut pieces = self
            .vars
            .expand(text, Context::Recipe, Some(self.automatic))
            .map_err(expansion_error)?;
        // A `?=` variable holding prefixes (`Q ?= @`, then `$(Q)cmd`): make
        // checks for prefixes after expanding, so its default must be written in.
        if let Some(Piece::EnvDefault { name, default }) = pieces.first()
            && literal(default).is_ok_and(|d| d.chars().all(|c| "@-+ \t".contains(c)))
        {
            notes.push(Kind::DefaultInlined { name: name.clone() });
            pieces[0] = Piece::Text(literal(default).unwrap_or_default());
        }
        let rendered = self.render(&pieces, &mut notes).map_err(expansion_error)?;
        // Prefixes that came out of a variable count too.
        let (command, more_silent, more_ignore) = prefixes(&rendered);
        let ignore = ignore || more_ignore;
        if command.trim().is_empty() {
            return Ok(Converted {
                line: Line::Empty,
                notes,
                silent,
            });
        }
        if calls_make(command) {
            notes.push(Kind::CallsMake);
        }
        let command = if ignore {
            notes.push(Kind::IgnoreErrors {
                line: shorten(command),
            });
            ignore_errors(command)
        } else {
            command.to_owned()
        };
        Ok(Converted {
            line: Line::Command(command),
            notes,
            silent: silent || more_silent,
        })
    }

    /// Pieces to shell text: see [`Shell`].
    fn render(&self, pieces: &[Piece], notes: &mut Vec<Kind>) -> Result<String, Problem> {
        let mut shell = Shell {
            same_dir: self.same_dir,
            notes,
            out: String::new(),
            quotes: Quotes::default(),
            reopen: false,
        };
        shell.pieces(pieces)?;
        Ok(shell.finish())
    }

    /// The targets of `$(MAKE) ARGS`, when it is a plain call of this
    /// Makefile: silencing options only, no variables, no other shell syntax.
    fn call(&self, args: &str) -> Result<Vec<String>, CallProblem> {
        let pieces = self
            .vars
            .expand(args, Context::Recipe, Some(self.automatic))
            .map_err(CallProblem::Expansion)?;
        let args = literal(&pieces).map_err(CallProblem::Expansion)?;
        if args.contains(|c: char| ";&|<>()'\"`\\$#\n".contains(c)) {
            return Err(CallProblem::ShellSyntax);
        }
        let mut words = args.split_whitespace();
        let mut targets = Vec::new();
        while let Some(word) = words.next() {
            match word {
                "-s"
                | "--silent"
                | "--quiet"
                | "--no-print-directory"
                | "-w"
                | "--print-directory"
                | "-sw"
                | "-ws" => {}
                "-f" | "--file" | "--makefile" => {
                    let file = words.next().unwrap_or_default();
                    self.same_makefile(file)?;
                }
                _ if word.starts_with("--file=") || word.starts_with("--makefile=") => {
                    let file = word.split_once('=').map_or("", |(_, f)| f);
                    self.same_makefile(file)?;
                }
                _ if word.starts_with("-f") && !word.starts_with("--") => {
                    self.same_makefile(&word[2..])?;
                }
                _ if word.starts_with("-C") || word.starts_with("--directory") => {
                    return Err(CallProblem::OtherDirectory);
                }
                _ if word.starts_with('-') => return Err(CallProblem::Option(word.to_owned())),
                _ if word.contains('=') => return Err(CallProblem::Assignment(word.to_owned())),
                _ if (self.is_target)(word) => targets.push(word.to_owned()),
                _ => return Err(CallProblem::UnknownTarget(word.to_owned())),
            }
        }
        if targets.is_empty() {
            match self.default_goal {
                Some(goal) => targets.push(goal.to_owned()),
                None => return Err(CallProblem::UnknownTarget("(the default goal)".into())),
            }
        }
        Ok(targets)
    }

    fn same_makefile(&self, file: &str) -> Result<(), CallProblem> {
        let same = std::fs::canonicalize(self.dir.join(file)).is_ok_and(|f| f == self.makefile);
        if same {
            Ok(())
        } else {
            Err(CallProblem::OtherMakefile(file.to_owned()))
        }
    }
}

/// Make's prefixes: any mix of `@` (silent), `-` (ignore errors) and `+`
/// (run even under `make -n`), with whitespace around them.
fn prefixes(text: &str) -> (&str, bool, bool) {
    let (mut silent, mut ignore) = (false, false);
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches([' ', '\t']);
        match rest.chars().next() {
            Some('@') => silent = true,
            Some('-') => ignore = true,
            Some('+') => {}
            _ => return (rest, silent, ignore),
        }
        rest = &rest[1..];
    }
}

/// `LINE || true`, which keeps a failing line from failing the task, as
/// make's `-` does. A line whose end is not a plain command (a comment, a
/// trailing `&`, `exit`, …) is put in a subshell first, so `|| true` covers all of it.
fn ignore_errors(line: &str) -> String {
    let trimmed = line.trim_end();
    let words = trimmed.split(|c: char| c.is_whitespace() || ";&|()".contains(c));
    let plain = !trimmed.contains(['#', '\n'])
        && !trimmed.contains("<<")
        && !trimmed.ends_with(['&', ';', '|'])
        && !words
            .into_iter()
            .any(|w| matches!(w, "exit" | "exec" | "set" | "return"));
    if plain {
        format!("{trimmed} || true")
    } else {
        format!("( {trimmed}\n) || true")
    }
}

/// A default that reads the same inside `${NAME-…}` as written in: no
/// quoting, expansion, globbing or braces.
fn is_shell_default(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_ascii_alphanumeric() || " _./:@%+,=-~^".contains(c))
}

/// Whether a command line runs `make` itself (as a command, not an argument).
fn calls_make(command: &str) -> bool {
    let mut previous: Option<&str> = None;
    for word in command.split_whitespace() {
        if word == "make"
            && previous
                .is_none_or(|p| matches!(p, "&&" | "||" | ";" | "|" | "then" | "do" | "else"))
        {
            return true;
        }
        previous = Some(word);
    }
    false
}

/// The reference a problem is about, for the report: the first `$(…)` or
/// `${…}` in `text` whose name matches, else the whole line.
fn reference_in(text: &str, problem: &Problem) -> String {
    let needle = match problem {
        Problem::Function(name) => format!("{name} "),
        Problem::InValue { name, .. }
        | Problem::Conditional { name, .. }
        | Problem::Define { name, .. }
        | Problem::ShellAssignment { name, .. }
        | Problem::AppendToDefault { name, .. }
        | Problem::Recursive(name)
        | Problem::NotAName(name)
        | Problem::MakeVariable(name) => name.clone(),
        Problem::Automatic(name) | Problem::AutomaticOutsideRecipe(name) => {
            return format!("${name}");
        }
        Problem::MakefileList => "MAKEFILE_LIST".into(),
        Problem::CurDir => "CURDIR".into(),
        _ => return shorten(text),
    };
    let mut search = 0;
    while let Some(at) = text[search..].find('$').map(|i| i + search) {
        let open = text[at + 1..].chars().next();
        if let Some(open @ ('(' | '{')) = open {
            let close = if open == '(' { ')' } else { '}' };
            let mut depth = 0;
            for (i, c) in text[at + 1..].char_indices() {
                if c == open {
                    depth += 1;
                } else if c == close {
                    depth -= 1;
                    if depth == 0 {
                        let reference = &text[at..at + 2 + i];
                        if reference[2..].starts_with(&needle)
                            || reference[2..reference.len() - 1] == needle
                        {
                            return reference.to_owned();
                        }
                        break;
                    }
                }
            }
        }
        search = at + 1;
    }
    shorten(text)
}

/// A line as quoted in a message: its first line, at most 60 characters.
fn shorten(text: &str) -> String {
    let first = text.lines().next().unwrap_or_default().trim();
    let mut short: String = first.chars().take(60).collect();
    if short.len() < first.len() || text.trim().contains('\n') {
        short.push('…');
    }
    short
}

/// Writes pieces as shell text. What make would have taken from the
/// environment becomes `${NAME}` (or `${NAME-default}`) for the shell to
/// expand. Inside single quotes, where the shell expands nothing, the quote is
/// closed around a double-quoted `"${NAME}"` and reopened: like make's
/// substitution there, the value stays one word, unsplit and unglobbed.
struct Shell<'n> {
    same_dir: bool,
    notes: &'n mut Vec<Kind>,
    out: String,
    quotes: Quotes,
    /// A single quote was closed for an expansion and is still to be reopened.
    reopen: bool,
}

impl Shell<'_> {
    fn pieces(&mut self, pieces: &[Piece]) -> Result<(), Problem> {
        for piece in pieces {
            match piece {
                Piece::Text(text) => self.text(text),
                Piece::Env(name) => {
                    self.notes
                        .push(Kind::FromEnvironment { name: name.clone() });
                    self.expansion(&format!("${{{name}}}"));
                }
                Piece::EnvDefault { name, default } => {
                    match literal(default).ok().filter(|d| is_shell_default(d)) {
                        Some(default) => {
                            let shell = format!("${{{name}-{default}}}");
                            self.notes.push(Kind::EnvironmentDefault {
                                name: name.clone(),
                                shell: shell.clone(),
                            });
                            self.expansion(&shell);
                        }
                        None => {
                            self.notes.push(Kind::DefaultInlined { name: name.clone() });
                            self.pieces(default)?;
                        }
                    }
                }
                Piece::Pwd => {
                    if !self.same_dir {
                        return Err(Problem::CurDir);
                    }
                    self.notes.push(Kind::CurDir);
                    self.expansion("${PWD}");
                }
            }
        }
        Ok(())
    }

    fn text(&mut self, mut text: &str) {
        if self.reopen {
            self.reopen = false;
            // The quote that was to be reopened closes right away: write neither.
            match text.strip_prefix('\'') {
                Some(rest) => {
                    self.quotes.single = false;
                    text = rest;
                }
                None => {
                    self.quotes.opened = self.out.len();
                    self.out.push('\'');
                }
            }
        }
        self.quotes.feed(text, self.out.len());
        self.out += text;
    }

    fn expansion(&mut self, expansion: &str) {
        if !self.quotes.single {
            self.out += expansion;
            return;
        }
        if self.reopen {
            // Two expansions in a row inside the quotes: still closed.
        } else if self.quotes.opened + 1 == self.out.len() {
            // Right after the opening quote: drop it rather than write `''`.
            self.out.pop();
        } else {
            self.out.push('\'');
        }
        self.out.push('"');
        self.out += expansion;
        self.out.push('"');
        self.reopen = true;
    }

    fn finish(mut self) -> String {
        if self.reopen {
            self.out.push('\'');
        }
        self.out
    }
}

/// Tracks the shell's quoting through the text written so far.
#[derive(Default)]
struct Quotes {
    single: bool,
    double: bool,
    escaped: bool,
    /// Where in the output the current single quote opened.
    opened: usize,
}

impl Quotes {
    /// `text` is written at byte `at` of the output.
    fn feed(&mut self, text: &str, at: usize) {
        for (i, c) in text.char_indices() {
            if self.escaped {
                self.escaped = false;
                continue;
            }
            match c {
                '\\' if !self.single => self.escaped = true,
                '\'' if !self.double => {
                    self.single = !self.single;
                    if self.single {
                        self.opened = at + i;
                    }
                }
                '"' if !self.single => self.double = !self.double,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;

    use super::super::makefile::AssignOp;
    use super::super::report::Place;
    use super::*;

    fn place() -> Place {
        Place {
            file: Arc::from("Makefile"),
            line: 7,
        }
    }

    struct Fixture {
        vars: Variables,
        dir: PathBuf,
        makefile: PathBuf,
        prerequisites: Vec<String>,
    }

    impl Fixture {
        fn new(assignments: &[(&str, AssignOp, &str)]) -> Fixture {
            let mut vars = Variables::default();
            for (name, op, value) in assignments {
                vars.assign(name, *op, value, &place(), None);
            }
            Fixture {
                vars,
                dir: PathBuf::from("/nonexistent"),
                makefile: PathBuf::from("/nonexistent/Makefile"),
                prerequisites: vec!["dep".into()],
            }
        }

        fn convert(&self, text: &str) -> Result<Converted, Kind> {
            let is_target = |name: &str| matches!(name, "dev-up" | "dev-down" | "help");
            let recipe = Recipe {
                vars: &self.vars,
                automatic: Automatic {
                    target: "dev-reset",
                    prerequisites: &self.prerequisites,
                    order_only: &[],
                },
                is_target: &is_target,
                makefile: &self.makefile,
                dir: &self.dir,
                default_goal: Some("help"),
                same_dir: true,
            };
            recipe.line(&RecipeLine {
                place: place(),
                text: text.into(),
                conditional: None,
            })
        }

        fn command(&self, text: &str) -> String {
            match self.convert(text).unwrap().line {
                Line::Command(command) => command,
                other => panic!("{other:?}"),
            }
        }
    }

    use AssignOp::*;

    #[test]
    fn prefixes_escapes_and_variables() {
        let f = Fixture::new(&[("COMPOSE", Simple, "docker compose -f dev.yml")]);
        let converted = f.convert("@$(COMPOSE) up -d $@ && echo $$USER").unwrap();
        assert_eq!(
            converted.line,
            Line::Command("docker compose -f dev.yml up -d dev-reset && echo $USER".into())
        );
        assert!(converted.silent);
        assert!(converted.notes.is_empty());
    }

    #[test]
    fn ignore_errors_becomes_or_true() {
        let f = Fixture::new(&[]);
        assert_eq!(
            f.command("-docker compose down"),
            "docker compose down || true"
        );
        assert_eq!(
            f.command("@- rm -f x | tee log"),
            "rm -f x | tee log || true"
        );
        // Where `|| true` would not cover the whole line, a subshell does.
        assert_eq!(f.command("-cd x; exit 3"), "( cd x; exit 3\n) || true");
        assert_eq!(
            f.command("-pkill x # best effort"),
            "( pkill x # best effort\n) || true"
        );
        assert_eq!(f.command("-sleep 1 &"), "( sleep 1 &\n) || true");
        let notes = f.convert("-false").unwrap().notes;
        assert_eq!(
            notes,
            [Kind::IgnoreErrors {
                line: "false".into()
            }]
        );
    }

    #[test]
    fn continuations_go_to_the_shell_unchanged() {
        let f = Fixture::new(&[]);
        assert_eq!(
            f.command("docker run \\\n  --rm x"),
            "docker run \\\n  --rm x"
        );
    }

    #[test]
    fn the_environment_is_the_shells_even_in_single_quotes() {
        let f = Fixture::new(&[("DIR", Default, "backups"), ("ODD", Default, "a'b")]);
        let converted = f.convert("echo \"$(HOME)\" $(DIR) $(ODD)").unwrap();
        assert_eq!(
            converted.line,
            Line::Command("echo \"${HOME}\" ${DIR-backups} a'b".into())
        );
        assert_eq!(
            converted.notes,
            [
                Kind::FromEnvironment {
                    name: "HOME".into()
                },
                Kind::EnvironmentDefault {
                    name: "DIR".into(),
                    shell: "${DIR-backups}".into()
                },
                Kind::DefaultInlined { name: "ODD".into() },
            ]
        );
        // Inside single quotes, the quote is closed around the expansion.
        assert_eq!(f.command("echo '$(HOME)'"), "echo \"${HOME}\"");
        assert_eq!(
            f.command("echo 'at $(DIR)/x $(HOME)' 'y'"),
            "echo 'at '\"${DIR-backups}\"'/x '\"${HOME}\" 'y'"
        );
        assert_eq!(f.command("echo 'a'$(HOME)'b'"), "echo 'a'${HOME}'b'");
        // Defined variables are written in, quotes or not.
        let f = Fixture::new(&[("X", Simple, "x")]);
        assert_eq!(f.command("echo '$(X)'"), "echo 'x'");
    }

    #[test]
    fn prefixes_from_a_variable_count() {
        let f = Fixture::new(&[("Q", Recursive, "@"), ("I", Default, "-")]);
        let converted = f.convert("$(Q)echo hi").unwrap();
        assert_eq!(converted.line, Line::Command("echo hi".into()));
        assert!(converted.silent);
        assert_eq!(f.command("$(I)false"), "false || true");
    }

    #[test]
    fn functions_are_reported_with_their_text() {
        let f = Fixture::new(&[]);
        assert_eq!(
            f.convert("pg_dumpall > backups/backup_$(shell date +%Y%m%d_%H%M%S).sql"),
            Err(Kind::Expansion {
                text: "$(shell date +%Y%m%d_%H%M%S)".into(),
                problem: Problem::Function("shell".into())
            })
        );
        assert_eq!(
            f.convert("ls $?"),
            Err(Kind::Expansion {
                text: "$?".into(),
                problem: Problem::Automatic("?".into())
            })
        );
    }

    #[test]
    fn make_calls() {
        let f = Fixture::new(&[]);
        assert_eq!(
            f.convert("@$(MAKE) --no-print-directory dev-down dev-up")
                .unwrap()
                .line,
            Line::Call {
                call: "$(MAKE) --no-print-directory dev-down dev-up".into(),
                targets: vec!["dev-down".into(), "dev-up".into()],
                ignore: false
            }
        );
        assert_eq!(
            f.convert("-${MAKE}").unwrap().line,
            Line::Call {
                call: "${MAKE}".into(),
                targets: vec!["help".into()],
                ignore: true
            }
        );
        for (text, problem) in [
            ("$(MAKE) -C sub all", CallProblem::OtherDirectory),
            (
                "$(MAKE) -f other.mk x",
                CallProblem::OtherMakefile("other.mk".into()),
            ),
            ("$(MAKE) -k dev-up", CallProblem::Option("-k".into())),
            (
                "$(MAKE) dev-up ENV=ci",
                CallProblem::Assignment("ENV=ci".into()),
            ),
            ("$(MAKE) dev-up && echo ok", CallProblem::ShellSyntax),
            ("$(MAKE) nope", CallProblem::UnknownTarget("nope".into())),
        ] {
            match f.convert(text) {
                Err(Kind::MakeCall { problem: got, .. }) => assert_eq!(got, problem, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        // `$(MAKE)` elsewhere in a line is not a call this converts.
        assert!(matches!(
            f.convert("cd sub && $(MAKE) all"),
            Err(Kind::Expansion {
                problem: Problem::MakeElsewhere,
                ..
            })
        ));
    }

    #[test]
    fn comments_and_direct_make() {
        let f = Fixture::new(&[]);
        assert_eq!(
            f.convert("@# wait for health").unwrap().line,
            Line::Comment("# wait for health".into())
        );
        assert_eq!(
            f.convert("cd sub && make all").unwrap().notes,
            [Kind::CallsMake]
        );
        assert!(f.convert("echo make it so").unwrap().notes.is_empty());
    }
}
