//! From make's view of a Makefile ([`targets`]) to tasks: each target a
//! command task, or findings saying why not.
//!
//! A target that cannot be converted exactly is not converted at all: it is
//! kept in tasks.toml as a comment with its reasons, and so is every task that
//! needs it. Nothing is guessed.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::ImportError;
use super::needs;
use super::recipe::{Line, Recipe};
use super::report::{Feature, Finding, Kind, Place, Problem};
use super::targets::{self, Read, RecipeSource, Target};
use super::variables::{Automatic, Context, Piece, literal};

/// Where the Makefile is and where its tasks.toml goes.
pub struct Options<'a> {
    /// The Makefile, as given on the command line.
    pub makefile: &'a Path,
    /// The tasks.toml to write (with `--stdout`, where it would go).
    pub output: &'a Path,
}

/// The converted Makefile.
#[derive(Debug)]
pub struct Import {
    /// Tasks and not-converted targets, in the Makefile's order.
    pub entries: Vec<Entry>,
    /// Everything to report, converted targets' notes included.
    pub findings: Vec<Finding>,
    /// The Makefile as it is shown in places.
    pub makefile: Arc<str>,
}

#[derive(Debug)]
pub enum Entry {
    Task(Task),
    NotConverted {
        target: String,
        reasons: Vec<Finding>,
        /// The target's rules as written, for the comment in tasks.toml.
        source: Vec<String>,
    },
}

#[derive(Debug, Default)]
pub struct Task {
    pub name: String,
    pub description: Option<String>,
    pub group: Option<String>,
    pub aliases: Vec<String>,
    pub depends: Vec<String>,
    pub env: Vec<(String, String)>,
    pub lines: Vec<TaskLine>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TaskLine {
    Command(String),
    Comment(String),
}

impl Import {
    pub fn tasks(&self) -> impl Iterator<Item = &Task> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Task(task) => Some(task),
            Entry::NotConverted { .. } => None,
        })
    }

    pub fn not_converted(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| matches!(e, Entry::NotConverted { .. }))
            .count()
    }
}

/// Converts the Makefile at `options.makefile`.
pub fn convert(options: &Options<'_>) -> Result<Import, ImportError> {
    let mut reader = targets::read(options.makefile)?;
    let display = reader.display.clone();
    let dir = reader.dir.clone();
    let canonical = reader.makefile.clone();

    let output_dir = options
        .output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let output_dir = std::fs::canonicalize(output_dir).unwrap_or_else(|_| output_dir.to_owned());
    let output_name = options
        .output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| crate::config::FILE_NAME.to_owned());
    let file_level = Place {
        file: display.clone(),
        line: 0,
    };
    if output_dir != dir {
        reader.findings.push(Finding::new(
            file_level.clone(),
            None,
            Kind::OtherDirectory {
                output: output_dir.display().to_string(),
                makefile: dir.display().to_string(),
            },
        ));
    }
    let run = if output_name == crate::config::FILE_NAME {
        "run".to_owned()
    } else {
        format!("run --file {output_name}")
    };
    let names = task_names(&reader.targets);
    let converter = Converter {
        reader: &reader,
        task_of: reader
            .targets
            .iter()
            .zip(&names)
            .map(|(t, n)| (t.name.clone(), n.clone()))
            .collect(),
        names,
        makefile: &canonical,
        dir: &dir,
        same_dir: output_dir == dir,
        run,
    };
    converter.convert(display, file_level)
}

struct Converter<'a> {
    reader: &'a Read,
    /// The task name of each target, in the targets' order, and by target.
    names: Vec<String>,
    task_of: HashMap<String, String>,
    makefile: &'a Path,
    dir: &'a Path,
    same_dir: bool,
    /// How a command invokes the runner on the new tasks.toml.
    run: String,
}

/// A target's conversion before the tasks it needs are known to be converted.
struct Draft {
    task: Task,
    /// Make targets it needs (dependencies and `run` lines).
    needs: Vec<String>,
    /// Make targets it depends on.
    depends: Vec<String>,
    notes: Vec<Finding>,
    problems: Vec<Finding>,
    /// Whether it runs a command of its own.
    has_command: bool,
    silent: usize,
}

impl Converter<'_> {
    fn convert(&self, makefile: Arc<str>, file_level: Place) -> Result<Import, ImportError> {
        let reader = self.reader;
        let names = &self.names;
        let goal = self.default_goal();
        let (env, mut findings) = self.exported_env();
        findings.extend(reader.findings.iter().cloned());
        for (target, name) in reader.targets.iter().zip(names) {
            if *name != target.name {
                findings.push(Finding::new(
                    target.place.clone(),
                    Some(&target.name),
                    Kind::Renamed { task: name.clone() },
                ));
            }
        }
        let mut drafts: Vec<Draft> = reader
            .targets
            .iter()
            .zip(names)
            .map(|(target, name)| self.draft(target, name, goal.as_deref(), &env))
            .collect();

        // Numbered links between targets, for the linear passes of `needs`.
        let numbered = |names: &[String]| -> Vec<usize> {
            names
                .iter()
                .filter_map(|n| reader.index.get(n).copied())
                .collect()
        };
        let depends: Vec<Vec<usize>> = drafts.iter().map(|d| numbered(&d.depends)).collect();
        for (i, path) in needs::cycles(&depends) {
            let target = &reader.targets[i];
            drafts[i].problems.push(Finding::new(
                target.place.clone(),
                Some(&target.name),
                Kind::Cycle {
                    path: path
                        .iter()
                        .map(|&t| reader.targets[t].name.clone())
                        .collect(),
                },
            ));
        }
        // Left out: targets with problems, then everything needing them.
        let needed: Vec<Vec<usize>> = drafts.iter().map(|d| numbered(&d.needs)).collect();
        let mut left_out: Vec<bool> = drafts.iter().map(|d| !d.problems.is_empty()).collect();
        for (i, needed) in needs::cascade(&needed, &left_out) {
            let target = &reader.targets[i];
            drafts[i].problems.push(Finding::new(
                target.place.clone(),
                Some(&target.name),
                Kind::DependsOnUnconverted {
                    prerequisite: reader.targets[needed].name.clone(),
                },
            ));
            left_out[i] = true;
        }
        let has_command: Vec<bool> = drafts.iter().map(|d| d.has_command).collect();
        let does_nothing = needs::nothing(&needed, &has_command);
        let out: HashSet<String> = reader
            .targets
            .iter()
            .zip(&left_out)
            .filter(|(_, out)| **out)
            .map(|(t, _)| t.name.clone())
            .collect();
        let nothing: HashSet<String> = reader
            .targets
            .iter()
            .zip(&does_nothing)
            .filter(|(t, nothing)| **nothing && !out.contains(&t.name))
            .map(|(t, _)| t.name.clone())
            .collect();

        let nothing_tasks: HashSet<&str> =
            nothing.iter().map(|n| self.task_of[n].as_str()).collect();
        // The `run TASK` lines calling them go too.
        let nothing_runs: HashSet<String> = nothing_tasks
            .iter()
            .flat_map(|t| [self.run_line(t, false), self.run_line(t, true)])
            .collect();
        let mut entries = Vec::new();
        let mut seen_notes: HashSet<String> = HashSet::new();
        let mut silent = 0;
        for (target, draft) in reader.targets.iter().zip(drafts) {
            if out.contains(&target.name) {
                findings.extend(draft.problems.iter().cloned());
                entries.push(Entry::NotConverted {
                    target: target.name.clone(),
                    reasons: draft.problems,
                    source: self.source(target),
                });
                continue;
            }
            if nothing.contains(&target.name) {
                findings.push(Finding::new(
                    target.place.clone(),
                    Some(&target.name),
                    Kind::NothingToDo,
                ));
                continue;
            }
            let mut task = draft.task;
            task.depends.retain(|d| !nothing_tasks.contains(d.as_str()));
            task.lines.retain(|l| match l {
                TaskLine::Command(c) => !nothing_runs.contains(c),
                TaskLine::Comment(_) => true,
            });
            if goal.as_deref() == Some(target.name.as_str())
                && !names.iter().any(|n| n == "default")
            {
                task.aliases.push("default".into());
                findings.push(Finding::new(
                    target.place.clone(),
                    Some(&target.name),
                    Kind::DefaultGoal {
                        task: task.name.clone(),
                    },
                ));
            }
            for note in draft.notes {
                // Said once per Makefile: where each variable comes from.
                let once = matches!(
                    note.kind,
                    Kind::FromEnvironment { .. }
                        | Kind::EnvironmentDefault { .. }
                        | Kind::DefaultInlined { .. }
                        | Kind::CurDir
                );
                if !once || seen_notes.insert(note.kind.to_string()) {
                    findings.push(note);
                }
            }
            silent += draft.silent;
            entries.push(Entry::Task(task));
        }
        if silent > 0 {
            findings.push(Finding::new(
                file_level,
                None,
                Kind::Silent { lines: silent },
            ));
        }
        if !entries.iter().any(|e| matches!(e, Entry::Task(_))) {
            return Err(ImportError::NothingConverted {
                makefile: PathBuf::from(makefile.as_ref()),
                findings,
            });
        }
        Ok(Import {
            entries,
            findings,
            makefile,
        })
    }

    fn default_goal(&self) -> Option<String> {
        let vars = &self.reader.vars;
        if vars.is_defined(".DEFAULT_GOAL") {
            let pieces = vars.value(".DEFAULT_GOAL", Context::ReadTime).ok()?;
            let goal = literal(&pieces).ok()?;
            return Some(goal.trim().to_owned()).filter(|g| !g.is_empty());
        }
        self.reader.first_goal.clone()
    }

    /// `export NAME`: the value every command task gets in its `env`.
    fn exported_env(&self) -> (Vec<(String, String)>, Vec<Finding>) {
        let mut env = Vec::new();
        let mut findings = Vec::new();
        for (name, place) in &self.reader.exported {
            let vars = &self.reader.vars;
            // Exporting a name the Makefile never sets passes the environment's on: run does too.
            if !vars.is_defined(name) {
                continue;
            }
            if !super::variables::is_shell_name(name) {
                findings.push(Finding::new(
                    place.clone(),
                    None,
                    Kind::ExportedValue {
                        name: name.clone(),
                        problem: Problem::NotAName(name.clone()),
                    },
                ));
                continue;
            }
            let value =
                vars.value(name, Context::Recipe)
                    .and_then(|pieces| match pieces.as_slice() {
                        [Piece::EnvDefault { default, .. }] => literal(default).map(|v| (v, true)),
                        _ => literal(&pieces).map(|v| (v, false)),
                    });
            match value {
                Ok((value, default)) => {
                    let kind = if default {
                        Kind::ExportedDefault { name: name.clone() }
                    } else {
                        Kind::Exported { name: name.clone() }
                    };
                    findings.push(Finding::new(place.clone(), None, kind));
                    env.push((name.clone(), value));
                }
                Err(problem) => findings.push(Finding::new(
                    place.clone(),
                    None,
                    Kind::ExportedValue {
                        name: name.clone(),
                        problem,
                    },
                )),
            }
        }
        (env, findings)
    }

    fn draft(
        &self,
        target: &Target,
        name: &str,
        goal: Option<&str>,
        env: &[(String, String)],
    ) -> Draft {
        let reader = self.reader;
        let at = |kind: Kind| Finding::new(target.place.clone(), Some(&target.name), kind);
        let mut draft = Draft {
            task: Task {
                name: name.to_owned(),
                description: target.help.clone(),
                group: target.group.clone(),
                ..Task::default()
            },
            needs: Vec::new(),
            depends: Vec::new(),
            notes: Vec::new(),
            problems: target.problems.clone(),
            has_command: false,
            silent: 0,
        };
        // Notes the target's rules produced (a replaced recipe) are notes.
        let (problems, notes): (Vec<Finding>, Vec<Finding>) = draft
            .problems
            .drain(..)
            .partition(|f| f.severity() == super::report::Severity::NotConverted);
        draft.problems = problems;
        draft.notes = notes;

        let mut depends = Vec::new();
        for prerequisite in dedup(&target.prerequisites) {
            if reader.index.contains_key(&prerequisite) {
                depends.push(prerequisite);
            } else {
                draft
                    .notes
                    .push(at(Kind::FilePrerequisite { name: prerequisite }));
            }
        }
        if depends.len() > 1 {
            draft.notes.push(at(Kind::InOrder {
                prerequisites: depends.clone(),
            }));
        }
        let order_only: Vec<String> = dedup(&target.order_only)
            .into_iter()
            .filter(|p| {
                let known = reader.index.contains_key(p);
                if !known {
                    draft
                        .notes
                        .push(at(Kind::FilePrerequisite { name: p.clone() }));
                }
                known && !depends.contains(p)
            })
            .collect();
        if !order_only.is_empty() {
            draft.notes.push(at(Kind::OrderOnly {
                prerequisites: order_only.clone(),
            }));
            depends.extend(order_only);
        }

        let mut lines = Vec::new();
        if let Some(recipe) = &target.recipe {
            if self.is_help(recipe) {
                let command = format!("{} --list", self.run);
                draft.notes.push(Finding::new(
                    recipe.place.clone(),
                    Some(&target.name),
                    Kind::HelpTarget {
                        command: command.clone(),
                    },
                ));
                lines.push(TaskLine::Command(command));
            } else {
                self.recipe(target, recipe, &mut depends, &mut lines, &mut draft, goal);
            }
            if !reader.phony.is_empty() && !reader.phony.contains(&target.name) {
                draft.notes.push(at(Kind::FileTarget));
            }
        }
        draft.needs.extend(depends.iter().cloned());
        draft.depends.clone_from(&depends);
        let has_command = lines.iter().any(|l| matches!(l, TaskLine::Command(_)));
        draft.has_command = has_command;
        draft.task.depends = depends.iter().map(|d| self.task_of[d].clone()).collect();
        if has_command {
            draft.task.env = env.to_vec();
            draft.task.lines = lines;
        }
        draft
    }

    /// The help target of the `grep '##' $(MAKEFILE_LIST)` kind.
    fn is_help(&self, recipe: &RecipeSource) -> bool {
        let file_name = self
            .makefile
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let reads_makefile = recipe.lines.iter().any(|l| {
            l.text.contains("MAKEFILE_LIST") || l.text.split_whitespace().any(|w| w == file_name)
        });
        reads_makefile && recipe.lines.iter().any(|l| l.text.contains("##"))
    }

    fn recipe(
        &self,
        target: &Target,
        recipe: &RecipeSource,
        depends: &mut Vec<String>,
        lines: &mut Vec<TaskLine>,
        draft: &mut Draft,
        goal: Option<&str>,
    ) {
        let reader = self.reader;
        if reader.one_shell && recipe.lines.len() > 1 {
            draft.problems.push(Finding::new(
                recipe.place.clone(),
                Some(&target.name),
                Kind::Unsupported {
                    text: ".ONESHELL".into(),
                    feature: Feature::OneShell,
                },
            ));
            return;
        }
        let is_target = |name: &str| reader.index.contains_key(name);
        let converter = Recipe {
            vars: &reader.vars,
            automatic: Automatic {
                target: &target.name,
                prerequisites: &recipe.prerequisites,
                order_only: &target.order_only,
            },
            is_target: &is_target,
            makefile: self.makefile,
            dir: self.dir,
            default_goal: goal,
            same_dir: self.same_dir,
        };
        let mut converted = Vec::new();
        for line in &recipe.lines {
            match converter.line(line) {
                Ok(c) => {
                    draft.silent += usize::from(c.silent);
                    for note in &c.notes {
                        draft.notes.push(Finding::new(
                            line.place.clone(),
                            Some(&target.name),
                            note.clone(),
                        ));
                    }
                    converted.push((line.place.clone(), c.line));
                }
                Err(kind) => {
                    draft
                        .problems
                        .push(Finding::new(line.place.clone(), Some(&target.name), kind))
                }
            }
        }
        // One leading `$(MAKE) x` (one target) with no prerequisites means
        // "x first": a dependency. Anything else keeps make's order as `run x`
        // lines, since run's dependencies may run at the same time.
        let calls: Vec<usize> = converted
            .iter()
            .enumerate()
            .filter(|(_, (_, l))| matches!(l, Line::Call { .. }))
            .map(|(i, _)| i)
            .collect();
        let leading = converted
            .iter()
            .take_while(|(_, l)| matches!(l, Line::Call { .. } | Line::Comment(_) | Line::Empty))
            .count();
        let as_depends = calls.len() == 1
            && calls[0] < leading
            && depends.is_empty()
            && matches!(&converted[calls[0]].1, Line::Call { ignore: false, targets, .. } if targets.len() == 1);
        for (place, line) in converted {
            match line {
                Line::Command(command) => lines.push(TaskLine::Command(command)),
                Line::Comment(comment) => lines.push(TaskLine::Comment(comment)),
                Line::Empty => {}
                Line::Call {
                    call,
                    targets,
                    ignore,
                } => {
                    draft.needs.extend(targets.iter().cloned());
                    if as_depends {
                        draft.notes.push(Finding::new(
                            place,
                            Some(&target.name),
                            Kind::CallAsDepends { call },
                        ));
                        depends.extend(targets);
                        continue;
                    }
                    draft.notes.push(Finding::new(
                        place,
                        Some(&target.name),
                        Kind::CallAsRun { call },
                    ));
                    for called in targets {
                        let line = self.run_line(&self.task_of[&called], ignore);
                        lines.push(TaskLine::Command(line));
                    }
                }
            }
        }
    }

    /// `run TASK`, the command a `$(MAKE) TARGET` call becomes.
    fn run_line(&self, task: &str, ignore: bool) -> String {
        if ignore {
            format!("{} {task} || true", self.run)
        } else {
            format!("{} {task}", self.run)
        }
    }

    /// The target's rules as written.
    fn source(&self, target: &Target) -> Vec<String> {
        let mut out = Vec::new();
        for (file, first, last) in &target.rules {
            if let Some(lines) = self.reader.sources.get(file) {
                let end = (*last).min(lines.len());
                out.extend(lines[first.saturating_sub(1)..end].iter().cloned());
            }
        }
        out
    }
}

/// The task name of each target, in order: valid as a task name, not a
/// reserved word, and unique.
fn task_names(targets: &[Target]) -> Vec<String> {
    let mut used: HashSet<String> = HashSet::new();
    let mut names = Vec::new();
    // Valid names keep theirs; mapped ones must not take a valid one's.
    for target in targets {
        if crate::config::check_task_name(&target.name).is_ok() {
            used.insert(target.name.clone());
        }
    }
    for target in targets {
        if crate::config::check_task_name(&target.name).is_ok() {
            names.push(target.name.clone());
            continue;
        }
        let base = mapped_name(&target.name);
        let mut name = base.clone();
        let mut n = 2;
        while used.contains(&name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        used.insert(name.clone());
        names.push(name);
    }
    names
}

/// A target name made a task name: other characters become `_`, a leading
/// `-` too, and a reserved word gets `-task`.
fn mapped_name(target: &str) -> String {
    let mut name: String = target
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.:-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.starts_with('-') {
        name.replace_range(0..1, "_");
    }
    if name.is_empty() {
        name.push('_');
    }
    if crate::config::check_task_name(&name).is_err() {
        name.push_str("-task");
    }
    name
}

fn dedup(words: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in words {
        if !out.contains(word) {
            out.push(word.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::report::IncludeProblem;
    use super::*;

    /// Converts `makefile` (with `files` beside it) written as `Makefile` in a temp dir.
    fn import_with(makefile: &str, files: &[(&str, &str)], output: &str) -> Import {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Makefile"), makefile).unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        convert(&Options {
            makefile: &dir.path().join("Makefile"),
            output: &dir.path().join(output),
        })
        .unwrap()
    }

    fn import(makefile: &str) -> Import {
        import_with(makefile, &[], "tasks.toml")
    }

    fn task<'i>(import: &'i Import, name: &str) -> &'i Task {
        import
            .tasks()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("no task {name}: {:#?}", import.entries))
    }

    fn commands(task: &Task) -> Vec<&str> {
        task.lines
            .iter()
            .filter_map(|l| match l {
                TaskLine::Command(c) => Some(c.as_str()),
                TaskLine::Comment(_) => None,
            })
            .collect()
    }

    fn kinds(import: &Import) -> Vec<&Kind> {
        import.findings.iter().map(|f| &f.kind).collect()
    }

    fn not_converted(import: &Import) -> Vec<&str> {
        import
            .entries
            .iter()
            .filter_map(|e| match e {
                Entry::NotConverted { target, .. } => Some(target.as_str()),
                Entry::Task(_) => None,
            })
            .collect()
    }

    #[test]
    fn targets_prerequisites_help_and_variables() {
        let import = import(
            "COMPOSE = docker compose -f $(FILE)\nFILE := dev.yml\n.PHONY: up down\n\nup: check ## Start\n\t@$(COMPOSE) up -d\n\n## Stop it\ndown:\n\t$(COMPOSE) down\n\ncheck:\n\tdocker info\n",
        );
        let up = task(&import, "up");
        assert_eq!(up.description.as_deref(), Some("Start"));
        assert_eq!(up.depends, ["check"]);
        assert_eq!(commands(up), ["docker compose -f dev.yml up -d"]);
        // make's default goal is the first target.
        assert_eq!(up.aliases, ["default"]);
        assert_eq!(
            task(&import, "down").description.as_deref(),
            Some("Stop it")
        );
        assert!(import.not_converted() == 0, "{:#?}", import.findings);
    }

    #[test]
    fn a_leading_make_call_is_a_dependency_and_others_keep_their_order() {
        let import = import(
            "a:\n\ttrue\nb:\n\ttrue\nfirst:\n\t$(MAKE) a\n\techo then\nboth:\n\t$(MAKE) -s a b\nlater:\n\techo x\n\t$(MAKE) b\n",
        );
        let first = task(&import, "first");
        assert_eq!(first.depends, ["a"]);
        assert_eq!(commands(first), ["echo then"]);
        assert_eq!(commands(task(&import, "both")), ["run a", "run b"]);
        assert!(task(&import, "both").depends.is_empty());
        assert_eq!(commands(task(&import, "later")), ["echo x", "run b"]);
    }

    #[test]
    fn run_lines_name_a_tasks_file_that_is_not_tasks_toml() {
        let import = import_with("a:\n\ttrue\nb:\n\techo\n\t$(MAKE) a\n", &[], "dev.toml");
        assert_eq!(
            commands(task(&import, "b")),
            ["echo", "run --file dev.toml a"]
        );
    }

    #[test]
    fn what_needs_an_unconverted_target_is_not_converted_either() {
        let import = import(
            "STAMP := $(shell date)\nall: backup report\nbackup:\n\tpg_dump > b_$(STAMP).sql\nreport: ; echo ok\nfailover: all\n\ttrue\n",
        );
        assert_eq!(not_converted(&import), ["all", "backup", "failover"]);
        assert!(kinds(&import).contains(&&Kind::DependsOnUnconverted {
            prerequisite: "backup".into()
        }));
        assert_eq!(commands(task(&import, "report")), ["echo ok"]);
    }

    #[test]
    fn includes_are_followed_relative_to_the_makefile() {
        let import = import_with(
            "include mk/vars.mk\n-include missing.mk\ninclude $(DIR)/x.mk\nshow:\n\techo $(PORT)\n",
            &[(
                "mk/vars.mk",
                "PORT := 5432\nincluded: ; echo in\ninclude mk/vars.mk\n",
            )],
            "tasks.toml",
        );
        assert_eq!(commands(task(&import, "show")), ["echo 5432"]);
        assert_eq!(commands(task(&import, "included")), ["echo in"]);
        let kinds = kinds(&import);
        assert!(kinds.contains(&&Kind::OptionalIncludeMissing {
            path: "missing.mk".into()
        }));
        assert!(kinds.contains(&&Kind::Include {
            path: "mk/vars.mk".into(),
            problem: IncludeProblem::Cycle
        }));
        assert!(kinds.contains(&&Kind::Include {
            path: "$(DIR)/x.mk".into(),
            problem: IncludeProblem::Expansion(Problem::Environment("DIR".into()))
        }));
        // A file included is named as such in places.
        let included = import
            .findings
            .iter()
            .find(|f| {
                matches!(
                    f.kind,
                    Kind::Include {
                        problem: IncludeProblem::Cycle,
                        ..
                    }
                )
            })
            .unwrap();
        assert!(included.place.file.ends_with("mk/vars.mk"), "{included:?}");
    }

    #[test]
    fn names_that_are_not_task_names_are_mapped_and_reported() {
        let import = import(
            "bin/app: src/main.c\n\tcc -o $@ $<\nbin_app:\n\ttrue\nimport:\n\ttrue\nall: bin/app import\n",
        );
        assert_eq!(
            commands(task(&import, "bin_app-2")),
            ["cc -o bin/app src/main.c"]
        );
        assert_eq!(commands(task(&import, "import-task")), ["true"]);
        assert_eq!(task(&import, "all").depends, ["bin_app-2", "import-task"]);
        let kinds = kinds(&import);
        assert!(kinds.contains(&&Kind::Renamed {
            task: "bin_app-2".into()
        }));
        assert!(kinds.contains(&&Kind::FilePrerequisite {
            name: "src/main.c".into()
        }));
    }

    #[test]
    fn the_help_target_lists_the_tasks() {
        let import = import(
            ".DEFAULT_GOAL := help\nhelp: ## Show this help\n\t@grep -E '^[a-zA-Z_-]+:.*?## .*$$' $(MAKEFILE_LIST) | sort\nup: ## Up\n\ttrue\n",
        );
        let help = task(&import, "help");
        assert_eq!(commands(help), ["run --list"]);
        assert_eq!(help.aliases, ["default"]);
        assert!(task(&import, "up").aliases.is_empty());
    }

    #[test]
    fn exported_variables_are_every_command_tasks_env() {
        let import = import(
            "export PROJECT := dev\nexport LEVEL ?= info\nexport PATH := $(CURDIR)/bin:$(PATH)\nNAME = n\nexport NAME\na:\n\ttrue\ng: a\n",
        );
        let a = task(&import, "a");
        assert_eq!(
            a.env,
            [
                ("PROJECT".to_owned(), "dev".to_owned()),
                ("LEVEL".to_owned(), "info".to_owned()),
                ("NAME".to_owned(), "n".to_owned())
            ]
        );
        // A task with nothing of its own to run can have no `env`.
        assert!(task(&import, "g").env.is_empty());
        assert!(kinds(&import).iter().any(|k| matches!(
            k,
            Kind::ExportedValue { name, .. } if name == "PATH"
        )));
    }

    #[test]
    fn refused_make_features() {
        let import = import(
            "%.o: %.c\n\tcc -c $<\nobjs: a.o\n\tar rc $@ $^\nclean::\n\trm a\nclean::\n\trm b\nt: X = 1\nt:\n\techo $(X)\na b &: c\n\ttouch a b\nifdef CI\nci:\n\ttrue\nendif\nlater: a.o\n\techo $? $*\n",
        );
        assert_eq!(
            not_converted(&import),
            ["clean", "t", "a", "b", "ci", "later"]
        );
        let kinds = kinds(&import);
        assert!(kinds.contains(&&Kind::PatternRule {
            rule: "%.o: %.c".into()
        }));
        assert!(kinds.contains(&&Kind::DoubleColon));
        assert!(
            kinds
                .iter()
                .any(|k| matches!(k, Kind::TargetVariable { .. }))
        );
        assert!(
            kinds
                .iter()
                .any(|k| matches!(k, Kind::GroupedTargets { .. }))
        );
        assert!(kinds.iter().any(|k| matches!(k, Kind::Conditional { .. })));
        assert!(
            kinds
                .iter()
                .any(|k| matches!(k, Kind::InConditional { .. }))
        );
        // `objs` is fine: `a.o` is a file (the pattern rule would make it).
        assert_eq!(commands(task(&import, "objs")), ["ar rc objs a.o"]);
    }

    #[test]
    fn one_shell_recipes_of_several_lines_are_refused() {
        let import = import(".ONESHELL:\na:\n\tcd x\n\tpwd\nb:\n\tpwd\n");
        assert_eq!(not_converted(&import), ["a"]);
        assert_eq!(commands(task(&import, "b")), ["pwd"]);
    }

    #[test]
    fn order_only_prerequisites_and_targets_with_nothing_to_do() {
        let import = import(
            ".PHONY: all dirs nothing\nall: nothing | dirs\n\techo all\ndirs:\n\tmkdir -p out\nnothing:\n",
        );
        let all = task(&import, "all");
        assert_eq!(all.depends, ["dirs"]);
        assert!(import.tasks().all(|t| t.name != "nothing"));
        let kinds = kinds(&import);
        assert!(kinds.contains(&&Kind::NothingToDo));
        assert!(kinds.contains(&&Kind::OrderOnly {
            prerequisites: vec!["dirs".into()]
        }));
        // A `$(MAKE)` call of a target that does nothing goes with it.
        let called = import_with(
            "noop:\nx:\n\techo a\n\t$(MAKE) noop\n\t-$(MAKE) noop\n",
            &[],
            "tasks.toml",
        );
        assert_eq!(commands(task(&called, "x")), ["echo a"]);
        // Needing only targets that do nothing is doing nothing, too.
        let import = import_with(
            "all: all-@NLS@\ninstall: all\ncheck: all\n\ttrue\n",
            &[],
            "tasks.toml",
        );
        assert_eq!(
            import.tasks().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            ["check"]
        );
        assert!(task(&import, "check").depends.is_empty());
    }

    #[test]
    fn circular_dependencies_are_refused() {
        let import =
            import("a: b\n\ttrue\nb: c\nc: a\nself: self\n\ttrue\nok:\n\ttrue\nneeds: a ok\n");
        assert_eq!(not_converted(&import), ["a", "b", "c", "self", "needs"]);
        assert!(kinds(&import).contains(&&Kind::Cycle {
            path: vec!["a".into(), "b".into(), "c".into(), "a".into()]
        }));
        assert!(kinds(&import).contains(&&Kind::Cycle {
            path: vec!["self".into(), "self".into()]
        }));
        // A `$(MAKE)` call made a dependency closes a cycle too.
        let called = import_with(
            "x:\n\t$(MAKE) y\ny: x\n\ttrue\nz:\n\ttrue\n",
            &[],
            "tasks.toml",
        );
        assert_eq!(not_converted(&called), ["x", "y"]);
    }

    #[test]
    fn a_later_recipe_replaces_an_earlier_one_as_in_make() {
        let import = import("a: x\n\techo one\na: y\n\techo two\nx: ; true\ny: ; true\n");
        let a = task(&import, "a");
        assert_eq!(commands(a), ["echo two"]);
        assert_eq!(a.depends, ["x", "y"]);
        assert!(
            kinds(&import)
                .iter()
                .any(|k| matches!(k, Kind::OverriddenRecipe { .. }))
        );
    }

    #[test]
    fn a_makefile_with_nothing_to_convert_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Makefile"), "%.o: %.c\n\tcc -c $<\n").unwrap();
        let error = convert(&Options {
            makefile: &dir.path().join("Makefile"),
            output: &dir.path().join("tasks.toml"),
        })
        .unwrap_err();
        assert!(
            matches!(error, ImportError::NothingConverted { .. }),
            "{error}"
        );
    }
}
