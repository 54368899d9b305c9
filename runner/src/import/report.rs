//! What `run import` could not convert, and what it converted differently from
//! make: each a [`Finding`] at the Makefile's file:line, printed after every
//! import and written above the tasks they concern.

use std::fmt;
use std::sync::Arc;

use anstyle::{AnsiColor, Style};

use crate::ui::paint;

/// A line of a Makefile (or of a file it includes). Line 0 is the file as a whole.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Place {
    pub file: Arc<str>,
    pub line: usize,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file)
        } else {
            write!(f, "{}:{}", self.file, self.line)
        }
    }
}

/// Whether something was left out or only converted with a difference worth knowing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Left out: the target is commented out in tasks.toml, or the construct ignored.
    NotConverted,
    /// Converted, but not exactly as make would run it, or in a way worth checking.
    Note,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub place: Place,
    /// The make target concerned, if any.
    pub target: Option<String>,
    pub kind: Kind,
}

impl Finding {
    pub fn new(place: Place, target: Option<&str>, kind: Kind) -> Finding {
        Finding {
            place,
            target: target.map(str::to_owned),
            kind,
        }
    }

    pub fn severity(&self) -> Severity {
        self.kind.severity()
    }

    /// `Makefile:12: not converted: target `x`: …`, as printed.
    pub fn render(&self, color: bool) -> String {
        let (label, style) = match self.severity() {
            Severity::NotConverted => (
                "not converted",
                Style::new().bold().fg_color(Some(AnsiColor::Yellow.into())),
            ),
            Severity::Note => (
                "note",
                Style::new().bold().fg_color(Some(AnsiColor::Cyan.into())),
            ),
        };
        let target = match &self.target {
            Some(target) => format!("target `{target}`: "),
            None => String::new(),
        };
        format!(
            "{}: {}: {target}{}",
            self.place,
            paint(color, style, label),
            self.kind
        )
    }
}

/// Why a `$(…)` or `$x` could not be turned into shell text.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// `$(shell …)`, `$(wildcard …)`, …: make computes these itself.
    Function(String),
    /// `$(VAR:.c=.o)`.
    SubstitutionReference,
    /// `$($(NAME))`.
    ComputedName,
    /// `$?`, `$*`, `$%`: make's view of files and stems.
    Automatic(String),
    /// An automatic variable outside a recipe (empty in make, surely a mistake).
    AutomaticOutsideRecipe(String),
    /// `$(MAKEFLAGS)`, `$(MAKECMDGOALS)`, …: make's own state.
    MakeVariable(String),
    /// `$(MAKEFILE_LIST)` outside a help target.
    MakefileList,
    /// `$(MAKE)` anywhere but at the start of a recipe line.
    MakeElsewhere,
    /// Set inside `ifeq`/`ifdef` at this place: its value depends on the branch.
    Conditional { name: String, at: Place },
    /// A multi-line `define` (a canned recipe).
    Define { name: String, at: Place },
    /// `NAME != command`: make runs the command when it reads the file.
    ShellAssignment { name: String, at: Place },
    /// `NAME ?= a` then `NAME += b`: the environment's value would be appended to.
    AppendToDefault { name: String, at: Place },
    /// A variable whose value refers to itself.
    Recursive(String),
    /// The value of `name` (set at `at`) has the problem.
    InValue {
        name: String,
        at: Place,
        problem: Box<Problem>,
    },
    /// Not set in the Makefile: it would come from the environment, which a
    /// target name, prerequisite or include path cannot be taken from.
    Environment(String),
    /// `$(CURDIR)` in a target name or include, or with tasks.toml elsewhere.
    CurDir,
    /// A name the shell could not take from the environment.
    NotAName(String),
    /// `$(` without its `)`.
    Unterminated,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Function(name) => {
                write!(f, "make function `{name}` is not converted")?;
                match name.as_str() {
                    "shell" => write!(f, " (in a command, the shell's own `$(…)` does this)"),
                    "wildcard" => write!(f, " (in a command, the shell's own globs do this)"),
                    _ => Ok(()),
                }
            }
            Problem::SubstitutionReference => {
                write!(
                    f,
                    "substitution references (`$(VAR:a=b)`) are not converted"
                )
            }
            Problem::ComputedName => write!(f, "computed variable names are not converted"),
            Problem::Automatic(name) => write!(
                f,
                "automatic variable `${name}` depends on make's file timestamps or pattern stems"
            ),
            Problem::AutomaticOutsideRecipe(name) => {
                write!(f, "automatic variable `${name}` is empty outside a recipe")
            }
            Problem::MakeVariable(name) => write!(f, "`{name}` is make's own state"),
            Problem::MakefileList => write!(
                f,
                "`$(MAKEFILE_LIST)` names the Makefiles, which tasks.toml replaces"
            ),
            Problem::MakeElsewhere => write!(
                f,
                "`$(MAKE)` is converted only at the start of a recipe line, as `$(MAKE) TARGET…`"
            ),
            Problem::Conditional { name, at } => write!(
                f,
                "`{name}` is set inside a conditional ({at}), so its value depends on the branch"
            ),
            Problem::Define { name, at } => {
                write!(f, "`{name}` is a multi-line `define` ({at})")
            }
            Problem::ShellAssignment { name, at } => write!(
                f,
                "`{name}` is set with `!=` ({at}): make runs that command when it reads the Makefile"
            ),
            Problem::AppendToDefault { name, at } => write!(
                f,
                "`{name}` is appended to ({at}) after `?=`, so its value depends on the environment"
            ),
            Problem::Recursive(name) => write!(f, "`{name}` refers to itself"),
            Problem::InValue { name, at, problem } => {
                write!(f, "the value of `{name}` ({at}): {problem}")
            }
            Problem::Environment(name) => write!(
                f,
                "`{name}` is not set in the Makefile; a name or path cannot come from the environment"
            ),
            Problem::CurDir => write!(
                f,
                "`$(CURDIR)` is converted only in commands, with tasks.toml beside the Makefile"
            ),
            Problem::NotAName(name) => write!(
                f,
                "`{name}` is not set in the Makefile and is not a name the shell could take from the environment"
            ),
            Problem::Unterminated => write!(f, "unterminated variable reference"),
        }
    }
}

/// Why a `$(MAKE) …` line is neither a dependency nor a `run` line.
#[derive(Debug, Clone, PartialEq)]
pub enum CallProblem {
    /// `-C DIR`: another directory's Makefile.
    OtherDirectory,
    /// `-f FILE` naming another Makefile.
    OtherMakefile(String),
    /// A make option with no `run` equivalent (`-k`, `-j`, `-i`, …).
    Option(String),
    /// `VAR=value`: an override the converted tasks cannot receive.
    Assignment(String),
    /// Quotes, `;`, `&&`, pipes or redirections around the call.
    ShellSyntax,
    /// A target this Makefile does not define.
    UnknownTarget(String),
    /// The call's words could not be expanded.
    Expansion(Problem),
}

impl fmt::Display for CallProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallProblem::OtherDirectory => {
                write!(f, "`-C` runs another directory's Makefile; import that one")
            }
            CallProblem::OtherMakefile(file) => {
                write!(f, "`-f {file}` runs another Makefile; import that one")
            }
            CallProblem::Option(option) => {
                write!(f, "make option `{option}` has no equivalent here")
            }
            CallProblem::Assignment(word) => write!(
                f,
                "`{word}` overrides a variable, and the converted tasks have their values written in"
            ),
            CallProblem::ShellSyntax => write!(
                f,
                "it is combined with other shell syntax (quotes, `;`, `&&`, pipes, redirections)"
            ),
            CallProblem::UnknownTarget(name) => {
                write!(f, "`{name}` is not a target of this Makefile")
            }
            CallProblem::Expansion(problem) => write!(f, "{problem}"),
        }
    }
}

/// Why an `include` was not followed.
#[derive(Debug, Clone, PartialEq)]
pub enum IncludeProblem {
    NotFound,
    Unreadable(String),
    Glob,
    Cycle,
    Expansion(Problem),
}

impl fmt::Display for IncludeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IncludeProblem::NotFound => write!(
                f,
                "no such file (make would try to build it with a rule, which is not imitated)"
            ),
            IncludeProblem::Unreadable(error) => write!(f, "cannot be read: {error}"),
            IncludeProblem::Glob => write!(f, "wildcards in include paths are not expanded"),
            IncludeProblem::Cycle => write!(f, "it includes itself"),
            IncludeProblem::Expansion(problem) => write!(f, "{problem}"),
        }
    }
}

/// Make features ignored as a whole, with why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    Vpath,
    Unexport,
    ExportAll,
    Load,
    SecondExpansion,
    IgnoreAll,
    OneShell,
    FunctionLine,
    MissingSeparator,
    RecipeBeforeTarget,
    UnterminatedConditional,
    UnterminatedDefine,
    StrayDirective,
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Feature::Vpath => {
                "`vpath`/`VPATH` search directories for prerequisites; run does not track files"
            }
            Feature::Unexport => "`unexport` is not converted",
            Feature::ExportAll => {
                "exporting every variable is not converted; name them: `export NAME`"
            }
            Feature::Load => "`load` extends make itself",
            Feature::SecondExpansion => "`.SECONDEXPANSION` is not converted",
            Feature::IgnoreAll => {
                "`.IGNORE` is not converted; mark the lines that may fail with `-`"
            }
            Feature::OneShell => {
                "`.ONESHELL` runs a whole recipe in one shell; multi-line recipes are not converted"
            }
            Feature::FunctionLine => "a make function evaluated when make reads the file",
            Feature::MissingSeparator => {
                "not a rule, assignment or directive (make: missing separator)"
            }
            Feature::RecipeBeforeTarget => "a recipe line before any target",
            Feature::UnterminatedConditional => "conditional without `endif`",
            Feature::UnterminatedDefine => "`define` without `endef`",
            Feature::StrayDirective => "`else`, `endif` or `endef` without its opening directive",
        })
    }
}

/// One thing to tell the user, with the data to say it.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    // ---- not converted ----
    PatternRule {
        rule: String,
    },
    StaticPatternRule {
        rule: String,
    },
    DoubleColon,
    GroupedTargets {
        rule: String,
    },
    TargetVariable {
        assignment: String,
    },
    /// `ifeq`/`ifdef` … `endif`, from this place to `end`.
    Conditional {
        directive: String,
        end: usize,
    },
    InConditional {
        at: Place,
    },
    Expansion {
        text: String,
        problem: Problem,
    },
    MakeCall {
        call: String,
        problem: CallProblem,
    },
    DependsOnUnconverted {
        prerequisite: String,
    },
    /// `a` needs `b` … needs `a`.
    Cycle {
        path: Vec<String>,
    },
    Include {
        path: String,
        problem: IncludeProblem,
    },
    Unsupported {
        text: String,
        feature: Feature,
    },
    ExportedValue {
        name: String,
        problem: Problem,
    },

    // ---- converted, with a difference ----
    IgnoreErrors {
        line: String,
    },
    Silent {
        lines: usize,
    },
    CallAsDepends {
        call: String,
    },
    CallAsRun {
        call: String,
    },
    HelpTarget {
        command: String,
    },
    FromEnvironment {
        name: String,
    },
    EnvironmentDefault {
        name: String,
        shell: String,
    },
    DefaultInlined {
        name: String,
    },
    OrderOnly {
        prerequisites: Vec<String>,
    },
    InOrder {
        prerequisites: Vec<String>,
    },
    FilePrerequisite {
        name: String,
    },
    FileTarget,
    Renamed {
        task: String,
    },
    OverriddenRecipe {
        earlier: Place,
    },
    DefaultGoal {
        task: String,
    },
    NothingToDo,
    Shell {
        value: String,
    },
    Posix,
    SilentAll,
    NotParallel,
    CallsMake,
    OptionalIncludeMissing {
        path: String,
    },
    CurDir,
    Exported {
        name: String,
    },
    ExportedDefault {
        name: String,
    },
    OtherDirectory {
        output: String,
        makefile: String,
    },
}

impl Kind {
    pub fn severity(&self) -> Severity {
        use Kind::*;
        match self {
            PatternRule { .. }
            | StaticPatternRule { .. }
            | DoubleColon
            | GroupedTargets { .. }
            | TargetVariable { .. }
            | Conditional { .. }
            | InConditional { .. }
            | Expansion { .. }
            | MakeCall { .. }
            | DependsOnUnconverted { .. }
            | Cycle { .. }
            | Include { .. }
            | Unsupported { .. }
            | ExportedValue { .. } => Severity::NotConverted,
            _ => Severity::Note,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Kind::*;
        match self {
            PatternRule { rule } => write!(
                f,
                "pattern rule `{rule}`: run has no pattern rules; write a task per output, or a script"
            ),
            StaticPatternRule { rule } => write!(
                f,
                "static pattern rule `{rule}`: run has no pattern rules; write a task per output"
            ),
            DoubleColon => write!(
                f,
                "double-colon rule: each `::` rule is its own recipe, and a task has one command list"
            ),
            GroupedTargets { rule } => write!(
                f,
                "grouped targets `{rule}` (one recipe making several files) are not converted"
            ),
            TargetVariable { assignment } => write!(
                f,
                "target-specific variable `{assignment}` (which make also applies to the target's prerequisites) is not converted"
            ),
            Conditional { directive, end } => write!(
                f,
                "`{directive}` … `endif` (to line {end}): conditionals are not evaluated; what they contain is not converted"
            ),
            InConditional { at } => write!(f, "defined inside the conditional at {at}"),
            Expansion { text, problem } => write!(f, "`{text}`: {problem}"),
            MakeCall { call, problem } => write!(f, "`{call}`: {problem}"),
            DependsOnUnconverted { prerequisite } => {
                write!(f, "needs `{prerequisite}`, which was not converted")
            }
            Cycle { path } => write!(
                f,
                "circular dependency {}: make drops one of its links with a warning, which one depending on the goal",
                quoted(path).replace(", ", " → ")
            ),
            Include { path, problem } => write!(f, "`include {path}` not followed: {problem}"),
            Unsupported { text, feature } => write!(f, "`{text}`: {feature}"),
            ExportedValue { name, problem } => write!(
                f,
                "exported variable `{name}` is not set for the tasks: {problem}"
            ),
            IgnoreErrors { line } => write!(f, "`-` (ignore errors) became `|| true` in `{line}`"),
            Silent { lines } => write!(
                f,
                "`@` (do not echo) on {lines} line(s) has no per-line equivalent: run prints each command line (`run -q` does not)"
            ),
            CallAsDepends { call } => write!(f, "`{call}` became a dependency"),
            CallAsRun { call } => write!(
                f,
                "`{call}` became `run …` lines, so the order is kept (`run` must be on PATH)"
            ),
            HelpTarget { command } => write!(
                f,
                "printed the Makefile's `##` comments; it now runs `{command}`"
            ),
            FromEnvironment { name } => write!(
                f,
                "`$({name})` is not set in the Makefile: the shell takes it from the environment as `${{{name}}}`"
            ),
            EnvironmentDefault { name, shell } => write!(
                f,
                "`{name} ?= …` stays overridable from the environment, as `{shell}`"
            ),
            DefaultInlined { name } => write!(
                f,
                "`{name} ?= …` was written in as its default (it cannot be a shell default); the environment no longer overrides it"
            ),
            OrderOnly { prerequisites } => write!(
                f,
                "order-only prerequisites {} became dependencies (run has no file timestamps)",
                quoted(prerequisites)
            ),
            InOrder { prerequisites } => write!(
                f,
                "make runs {} one after another; run may run them at the same time (`run -j1` runs one task at a time)",
                quoted(prerequisites)
            ),
            FilePrerequisite { name } => write!(
                f,
                "`{name}` is a file, not a target: run does not track files, so it is not a dependency"
            ),
            FileTarget => write!(
                f,
                "not in `.PHONY`: make runs it only when the file is out of date; run runs it every time"
            ),
            Renamed { task } => write!(
                f,
                "is task `{task}` (task names are letters, digits and `_.:-`, not starting with `-`, and not a reserved word)"
            ),
            OverriddenRecipe { earlier } => {
                write!(f, "this recipe replaces the one at {earlier}, as in make")
            }
            DefaultGoal { task } => write!(
                f,
                "make's default goal: task `{task}` has the alias `default`, so `run` alone runs it"
            ),
            NothingToDo => write!(
                f,
                "has no recipe and nothing to depend on: not a task, and left out of the dependencies"
            ),
            Shell { value } => write!(
                f,
                "`SHELL = {value}`: run runs each line with `sh -c`; check lines written for `{value}`"
            ),
            Posix => write!(
                f,
                "`.POSIX`: make ran lines with `sh -e`; run uses `sh -c` (a failure inside a `;` list no longer stops the line)"
            ),
            SilentAll => write!(
                f,
                "`.SILENT`: run prints each command line (`run -q` does not)"
            ),
            NotParallel => write!(
                f,
                "`.NOTPARALLEL`: run runs independent tasks at the same time; use `run -j1`"
            ),
            CallsMake => write!(
                f,
                "calls `make` itself, so this task still needs the Makefile"
            ),
            OptionalIncludeMissing { path } => {
                write!(f, "`-include {path}`: no such file, skipped as make does")
            }
            CurDir => write!(
                f,
                "`$(CURDIR)` became `${{PWD}}` (commands run in tasks.toml's directory)"
            ),
            Exported { name } => write!(f, "`export {name}`: set in every command task's `env`"),
            ExportedDefault { name } => write!(
                f,
                "`export {name} ?= …`: set in every command task's `env`, which the environment no longer overrides"
            ),
            OtherDirectory { output, makefile } => write!(
                f,
                "commands run in tasks.toml's directory `{output}`, but make ran them in `{makefile}`: relative paths in them may be wrong"
            ),
        }
    }
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The report as printed on stderr: not-converted items first, then notes,
/// each group in file order, then one summary line.
pub fn render(findings: &[Finding], summary: &str, color: bool) -> String {
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by(|a, b| {
        (a.severity(), &a.place.file, a.place.line).cmp(&(
            b.severity(),
            &b.place.file,
            b.place.line,
        ))
    });
    let mut out = String::new();
    for finding in sorted {
        out += &finding.render(color);
        out.push('\n');
    }
    out += summary;
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(line: usize) -> Place {
        Place {
            file: Arc::from("Makefile"),
            line,
        }
    }

    #[test]
    fn findings_name_file_line_and_target() {
        let finding = Finding::new(
            place(12),
            Some("dev-backup"),
            Kind::Expansion {
                text: "$(shell date +%F)".into(),
                problem: Problem::Function("shell".into()),
            },
        );
        assert_eq!(
            finding.render(false),
            "Makefile:12: not converted: target `dev-backup`: `$(shell date +%F)`: make function `shell` is not converted (in a command, the shell's own `$(…)` does this)"
        );
        assert_eq!(
            Finding::new(place(0), None, Kind::SilentAll).render(false),
            "Makefile: note: `.SILENT`: run prints each command line (`run -q` does not)"
        );
    }

    #[test]
    fn the_report_lists_what_was_left_out_before_the_notes() {
        let findings = [
            Finding::new(place(3), None, Kind::CurDir),
            Finding::new(place(9), Some("x"), Kind::DoubleColon),
            Finding::new(place(1), Some("y"), Kind::FileTarget),
        ];
        let report = render(&findings, "done", false);
        let lines: Vec<&str> = report.lines().collect();
        assert!(
            lines[0].starts_with("Makefile:9: not converted"),
            "{report}"
        );
        assert!(lines[1].starts_with("Makefile:1: note"), "{report}");
        assert!(lines[2].starts_with("Makefile:3: note"), "{report}");
        assert_eq!(lines[3], "done");
    }
}
