//! The Makefile as make knows it once it has read it: the statements of the
//! Makefile and of the files it includes, walked in order with the variables
//! as they stand at each point, giving the variables, the targets with their
//! rules merged, `.PHONY`, the exports, the first goal, and what could not be
//! read (conditionals, unfollowable includes, rule shapes run cannot have).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::ImportError;
use super::makefile::{self, Rule, Statement, StatementKind};
use super::report::{Feature, Finding, IncludeProblem, Kind, Place, Problem};
use super::variables::{Context, Variables, literal};

/// Special targets: make's settings, never tasks.
const SPECIAL_TARGETS: &[&str] = &[
    ".PHONY",
    ".SUFFIXES",
    ".DEFAULT",
    ".PRECIOUS",
    ".INTERMEDIATE",
    ".NOTINTERMEDIATE",
    ".SECONDARY",
    ".SECONDEXPANSION",
    ".DELETE_ON_ERROR",
    ".IGNORE",
    ".LOW_RESOLUTION_TIME",
    ".SILENT",
    ".EXPORT_ALL_VARIABLES",
    ".NOTPARALLEL",
    ".ONESHELL",
    ".POSIX",
];

/// Includes nested deeper than this are taken for a loop.
const MAX_INCLUDE_DEPTH: usize = 32;

/// Reads the Makefile at `makefile` and every file it includes.
pub fn read(makefile: &Path) -> Result<Read, ImportError> {
    let error = |source| ImportError::Read {
        path: makefile.to_owned(),
        source,
    };
    let text = std::fs::read_to_string(makefile).map_err(error)?;
    let canonical = std::fs::canonicalize(makefile).map_err(error)?;
    let dir = canonical
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let display: Arc<str> = Arc::from(makefile.display().to_string());
    let mut read = Read {
        dir,
        display_dir: makefile.parent().map(Path::to_path_buf).unwrap_or_default(),
        including: vec![canonical.clone()],
        makefile: canonical,
        display: display.clone(),
        ..Read::default()
    };
    read.file(display, &text)?;
    Ok(read)
}

/// What reading the Makefile and its includes found.
#[derive(Default)]
pub struct Read {
    /// The Makefile, canonical, and how it is shown in places.
    pub makefile: PathBuf,
    pub display: Arc<str>,
    /// Its directory, canonical: where make runs, and includes are found.
    pub dir: PathBuf,
    /// The Makefile's directory as given, for showing included files.
    display_dir: PathBuf,
    /// Canonical paths of the files being read, outermost first.
    including: Vec<PathBuf>,
    /// The variables as they stand at the end of the file.
    pub vars: Variables,
    /// Every target with a rule, in the order make first saw them.
    pub targets: Vec<Target>,
    /// Where each target is in `targets`.
    pub index: HashMap<String, usize>,
    pub phony: HashSet<String>,
    /// `export NAME`, in order, with where each was exported.
    pub exported: Vec<(String, Place)>,
    /// The first target of the first rule: make's default goal.
    pub first_goal: Option<String>,
    /// `.ONESHELL:` was seen.
    pub one_shell: bool,
    /// Lines of each file read, for quoting rules that were not converted.
    pub sources: HashMap<Arc<str>, Vec<String>>,
    pub findings: Vec<Finding>,
}

#[derive(Debug)]
/// A target with its rules merged, as make merges them.
pub struct Target {
    pub name: String,
    /// Its first rule.
    pub place: Place,
    pub prerequisites: Vec<String>,
    pub order_only: Vec<String>,
    pub recipe: Option<RecipeSource>,
    pub help: Option<String>,
    pub group: Option<String>,
    pub problems: Vec<Finding>,
    /// (file, first line, last line) of each of its rules.
    pub rules: Vec<(Arc<str>, usize, usize)>,
}

#[derive(Debug)]
pub struct RecipeSource {
    pub place: Place,
    pub lines: Vec<makefile::RecipeLine>,
    /// The prerequisites of the rule with the recipe come first (for `$<`).
    pub prerequisites: Vec<String>,
}

impl Read {
    fn file(&mut self, display: Arc<str>, text: &str) -> Result<(), ImportError> {
        let read = makefile::read(display.clone(), text);
        self.sources.insert(display, read.lines);
        for statement in read.statements {
            self.statement(statement)?;
        }
        Ok(())
    }

    fn finding(&mut self, place: &Place, target: Option<&str>, kind: Kind) {
        self.findings
            .push(Finding::new(place.clone(), target, kind));
    }

    fn statement(&mut self, statement: Statement) -> Result<(), ImportError> {
        let Statement {
            place,
            conditional,
            kind,
        } = statement;
        match kind {
            StatementKind::Assign {
                name,
                op,
                value,
                export,
            } => {
                if name == ".RECIPEPREFIX" {
                    return Err(ImportError::RecipePrefix { place });
                }
                if name.contains('$') {
                    if conditional.is_none() {
                        self.finding(
                            &place,
                            None,
                            Kind::Expansion {
                                text: name,
                                problem: Problem::ComputedName,
                            },
                        );
                    }
                    return Ok(());
                }
                match name.as_str() {
                    "SHELL" if conditional.is_none() && value.trim() != "/bin/sh" => self.finding(
                        &place,
                        None,
                        Kind::Shell {
                            value: value.trim().to_owned(),
                        },
                    ),
                    "VPATH" if conditional.is_none() => self.finding(
                        &place,
                        None,
                        Kind::Unsupported {
                            text: format!("VPATH = {}", value.trim()),
                            feature: Feature::Vpath,
                        },
                    ),
                    _ => {}
                }
                self.vars
                    .assign(&name, op, &value, &place, conditional.as_ref());
                if export && conditional.is_none() {
                    self.export(name, &place);
                }
            }
            StatementKind::Export { names } => {
                if conditional.is_none() {
                    match self.read_time(&names) {
                        Ok(names) => {
                            for name in names.split_whitespace() {
                                self.export(name.to_owned(), &place);
                            }
                        }
                        Err(problem) => self.finding(
                            &place,
                            None,
                            Kind::Expansion {
                                text: names,
                                problem,
                            },
                        ),
                    }
                }
            }
            StatementKind::Undefine { name } => self.vars.undefine(&name),
            StatementKind::Define { name } => self.vars.define(&name, &place),
            StatementKind::Include { paths, optional } => {
                // The conditional itself is reported; what it includes is not read.
                if conditional.is_none() {
                    self.include(&place, &paths, optional)?;
                }
            }
            StatementKind::Rule(rule) => self.rule(&place, conditional.as_ref(), rule),
            StatementKind::Conditional { directive, end } => {
                if conditional.is_none() {
                    self.finding(&place, None, Kind::Conditional { directive, end });
                }
            }
            StatementKind::Unsupported { text, feature } => {
                if conditional.is_none() {
                    self.finding(&place, None, Kind::Unsupported { text, feature });
                }
            }
        }
        Ok(())
    }

    fn export(&mut self, name: String, place: &Place) {
        if !self.exported.iter().any(|(n, _)| *n == name) {
            self.exported.push((name, place.clone()));
        }
    }

    /// Text make needs when it reads the line (names, paths): all literal.
    fn read_time(&self, text: &str) -> Result<String, Problem> {
        literal(&self.vars.expand(text, Context::ReadTime, None)?)
    }

    fn include(&mut self, place: &Place, paths: &str, optional: bool) -> Result<(), ImportError> {
        let expanded = match self.read_time(paths) {
            Ok(expanded) => expanded,
            Err(problem) => {
                self.finding(
                    place,
                    None,
                    Kind::Include {
                        path: paths.to_owned(),
                        problem: IncludeProblem::Expansion(problem),
                    },
                );
                return Ok(());
            }
        };
        for path in expanded.split_whitespace() {
            let problem = |problem| Kind::Include {
                path: path.to_owned(),
                problem,
            };
            if path.contains(['*', '?', '[']) {
                self.finding(place, None, problem(IncludeProblem::Glob));
                continue;
            }
            // Relative to the Makefile's directory, where make would run.
            let full = self.dir.join(path);
            let Ok(canonical) = std::fs::canonicalize(&full) else {
                if optional {
                    self.finding(
                        place,
                        None,
                        Kind::OptionalIncludeMissing {
                            path: path.to_owned(),
                        },
                    );
                } else {
                    self.finding(place, None, problem(IncludeProblem::NotFound));
                }
                continue;
            };
            if self.including.contains(&canonical) || self.including.len() > MAX_INCLUDE_DEPTH {
                self.finding(place, None, problem(IncludeProblem::Cycle));
                continue;
            }
            let text = match std::fs::read_to_string(&canonical) {
                Ok(text) => text,
                Err(error) => {
                    self.finding(
                        place,
                        None,
                        problem(IncludeProblem::Unreadable(error.to_string())),
                    );
                    continue;
                }
            };
            let shown = if Path::new(path).is_absolute() {
                PathBuf::from(path)
            } else {
                self.display_dir.join(path)
            };
            self.including.push(canonical);
            let result = self.file(Arc::from(shown.display().to_string()), &text);
            self.including.pop();
            result?;
        }
        Ok(())
    }

    fn rule(&mut self, place: &Place, conditional: Option<&Place>, rule: Rule) {
        let raw = rule.targets.clone();
        let names = match self.read_time(&rule.targets) {
            Ok(names) => names,
            Err(problem) => {
                if conditional.is_none() {
                    self.finding(place, None, Kind::Expansion { text: raw, problem });
                }
                return;
            }
        };
        let names: Vec<String> = names.split_whitespace().map(str::to_owned).collect();
        if names.is_empty() {
            return;
        }
        if names.iter().any(|n| SPECIAL_TARGETS.contains(&n.as_str())) {
            if conditional.is_none() {
                self.special(place, &names, &rule);
            }
            return;
        }
        let shown = || {
            let mut text = format!("{}:", rule.targets);
            if !rule.prerequisites.is_empty() {
                text = format!("{text} {}", rule.prerequisites);
            }
            text
        };
        if names.iter().any(|n| n.contains('%')) {
            if conditional.is_none() {
                self.finding(place, None, Kind::PatternRule { rule: shown() });
            }
            return;
        }
        let mut problems = Vec::new();
        if let Some(at) = conditional {
            problems.push(Kind::InConditional { at: at.clone() });
        } else if let Some(at) = rule.recipe.iter().find_map(|l| l.conditional.as_ref()) {
            problems.push(Kind::InConditional { at: at.clone() });
        }
        if rule.double_colon {
            problems.push(Kind::DoubleColon);
        }
        if rule.grouped {
            problems.push(Kind::GroupedTargets { rule: shown() });
        }
        if rule.static_pattern {
            problems.push(Kind::StaticPatternRule { rule: shown() });
        }
        if let Some(assignment) = &rule.target_variable {
            problems.push(Kind::TargetVariable {
                assignment: assignment.clone(),
            });
        }
        let words = |text: &str, problems: &mut Vec<Kind>| match self.read_time(text) {
            Ok(text) => text
                .split_whitespace()
                .filter(|w| *w != ".WAIT")
                .map(str::to_owned)
                .collect(),
            Err(problem) => {
                problems.push(Kind::Expansion {
                    text: text.to_owned(),
                    problem,
                });
                Vec::new()
            }
        };
        let prerequisites: Vec<String> = words(&rule.prerequisites, &mut problems);
        let order_only: Vec<String> = words(&rule.order_only, &mut problems);

        if self.first_goal.is_none() && !names[0].starts_with('.') {
            self.first_goal = Some(names[0].clone());
        }
        for name in names {
            let index = match self.index.get(&name) {
                Some(&index) => index,
                None => {
                    self.targets.push(Target {
                        name: name.clone(),
                        place: place.clone(),
                        prerequisites: Vec::new(),
                        order_only: Vec::new(),
                        recipe: None,
                        help: None,
                        group: None,
                        problems: Vec::new(),
                        rules: Vec::new(),
                    });
                    self.index.insert(name.clone(), self.targets.len() - 1);
                    self.targets.len() - 1
                }
            };
            let target = &mut self.targets[index];
            target
                .rules
                .push((place.file.clone(), place.line, rule.last_line));
            for kind in &problems {
                target
                    .problems
                    .push(Finding::new(place.clone(), Some(&name), kind.clone()));
            }
            target.prerequisites.extend(prerequisites.iter().cloned());
            target.order_only.extend(order_only.iter().cloned());
            if target.help.is_none() {
                target.help.clone_from(&rule.help);
                target.group.clone_from(&rule.group);
            }
            if rule.has_recipe {
                if let Some(earlier) = &target.recipe {
                    let earlier = earlier.place.clone();
                    target.problems.push(Finding::new(
                        place.clone(),
                        Some(&name),
                        Kind::OverriddenRecipe { earlier },
                    ));
                }
                let mut first = prerequisites.clone();
                first.extend(
                    target
                        .prerequisites
                        .iter()
                        .filter(|p| !prerequisites.contains(p))
                        .cloned(),
                );
                target.recipe = Some(RecipeSource {
                    place: place.clone(),
                    lines: rule.recipe.clone(),
                    prerequisites: first,
                });
            }
        }
    }

    /// `.PHONY: …` and the other special targets.
    fn special(&mut self, place: &Place, names: &[String], rule: &Rule) {
        let prerequisites = self.read_time(&rule.prerequisites).unwrap_or_default();
        for name in names {
            match name.as_str() {
                ".PHONY" => self
                    .phony
                    .extend(prerequisites.split_whitespace().map(str::to_owned)),
                ".ONESHELL" => self.one_shell = true,
                ".POSIX" => self.finding(place, None, Kind::Posix),
                ".SILENT" => self.finding(place, None, Kind::SilentAll),
                ".NOTPARALLEL" => self.finding(place, None, Kind::NotParallel),
                ".IGNORE" => self.unsupported(place, name, Feature::IgnoreAll),
                ".SECONDEXPANSION" => self.unsupported(place, name, Feature::SecondExpansion),
                ".EXPORT_ALL_VARIABLES" => self.unsupported(place, name, Feature::ExportAll),
                ".DEFAULT" => self.finding(
                    place,
                    None,
                    Kind::PatternRule {
                        rule: ".DEFAULT:".into(),
                    },
                ),
                // The rest concern files make builds; run builds none.
                _ => {}
            }
        }
    }

    fn unsupported(&mut self, place: &Place, text: &str, feature: Feature) {
        self.finding(
            place,
            None,
            Kind::Unsupported {
                text: text.to_owned(),
                feature,
            },
        );
    }
}
