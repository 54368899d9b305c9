//! Reads one Makefile's text into statements, the way GNU make splits it:
//! logical lines joined at backslash-newlines, comments taken off (keeping
//! `## help` and `##@ Group` ones), recipe lines attached to their rule, and
//! everything inside `ifeq`/`ifdef` … `endif` marked as conditional.
//!
//! Nothing is expanded here. Make expands names and prerequisites as it reads
//! and recipes only when they run, each with the variables known then; that
//! is `convert`'s business, which walks these statements in order.

use std::sync::Arc;

use super::report::{Feature, Place};

/// One Makefile, read.
#[derive(Debug)]
pub struct Makefile {
    pub statements: Vec<Statement>,
    /// The physical lines, for quoting a rule that was not converted.
    pub lines: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub place: Place,
    /// The outermost conditional this statement is inside, if any.
    pub conditional: Option<Place>,
    pub kind: StatementKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StatementKind {
    Assign {
        name: String,
        op: AssignOp,
        value: String,
        export: bool,
    },
    /// `export NAME…` without a value.
    Export {
        names: String,
    },
    /// `undefine NAME`.
    Undefine {
        name: String,
    },
    /// `define NAME` … `endef`.
    Define {
        name: String,
    },
    Include {
        paths: String,
        optional: bool,
    },
    Rule(Rule),
    /// `ifeq`/`ifneq`/`ifdef`/`ifndef` at this place, its `endif` at `end`.
    Conditional {
        directive: String,
        end: usize,
    },
    Unsupported {
        text: String,
        feature: Feature,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignOp {
    /// `=`: expanded each time it is used.
    Recursive,
    /// `:=`, `::=`, `:::=`: expanded once, where it is set.
    Simple,
    /// `?=`: set only if not already set (also by the environment).
    Default,
    /// `+=`.
    Append,
    /// `!=`: the output of a shell command.
    Shell,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rule {
    /// Raw (unexpanded) text left of the colon.
    pub targets: String,
    pub prerequisites: String,
    /// After `|`.
    pub order_only: String,
    pub double_colon: bool,
    /// `a b &: …`.
    pub grouped: bool,
    /// `target: VAR = value`.
    pub target_variable: Option<String>,
    /// `targets: pattern: prerequisite-patterns`.
    pub static_pattern: bool,
    /// From `target: ## help` or the `## help` lines right above it.
    pub help: Option<String>,
    /// From the latest `##@ Group` line.
    pub group: Option<String>,
    /// True when the rule has a recipe, even an empty one (`target: ;`).
    pub has_recipe: bool,
    pub recipe: Vec<RecipeLine>,
    /// The rule's last physical line (its recipe's, when it has one).
    pub last_line: usize,
}

/// A recipe line as make hands it to the shell before expansion: the leading
/// tab removed, backslash-newlines kept (the shell joins them), and the tab
/// starting each continued line removed.
#[derive(Debug, Clone, PartialEq)]
pub struct RecipeLine {
    pub place: Place,
    pub text: String,
    pub conditional: Option<Place>,
}

const CONDITIONALS: &[&str] = &["ifeq", "ifneq", "ifdef", "ifndef"];

/// Reads a Makefile's text; `file` is how its places are shown.
pub fn read(file: Arc<str>, text: &str) -> Makefile {
    let lines: Vec<String> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_owned())
        .collect();
    let mut reader = Reader {
        file: file.clone(),
        lines: &lines,
        statements: Vec::new(),
        rule: None,
        conditionals: Vec::new(),
        help: Vec::new(),
        group: None,
    };
    reader.read_all();
    let statements = reader.statements;
    Makefile { statements, lines }
}

struct Reader<'a> {
    file: Arc<str>,
    lines: &'a [String],
    statements: Vec<Statement>,
    /// Index in `statements` of the rule whose recipe lines may follow.
    rule: Option<usize>,
    /// Open conditionals: the index of each one's statement.
    conditionals: Vec<usize>,
    /// `## help` lines seen since the last statement.
    help: Vec<String>,
    group: Option<String>,
}

impl Reader<'_> {
    fn place(&self, line: usize) -> Place {
        Place {
            file: self.file.clone(),
            line,
        }
    }

    fn conditional(&self) -> Option<Place> {
        self.conditionals
            .first()
            .map(|&i| self.statements[i].place.clone())
    }

    fn push(&mut self, line: usize, kind: StatementKind) {
        let conditional = self.conditional();
        self.statements.push(Statement {
            place: self.place(line),
            conditional,
            kind,
        });
    }

    fn read_all(&mut self) {
        let mut i = 0;
        while i < self.lines.len() {
            let line = &self.lines[i];
            if let Some(rule) = self.rule
                && let Some(first) = line.strip_prefix('\t')
            {
                i = self.recipe_line(rule, i, first);
                continue;
            }
            let (logical, next) = logical_line(self.lines, i);
            i = self.logical(i + 1, &logical, next);
        }
        if let Some(&open) = self.conditionals.first() {
            let place = self.statements[open].place.clone();
            self.statements.push(Statement {
                place,
                conditional: None,
                kind: StatementKind::Unsupported {
                    text: "if…".into(),
                    feature: Feature::UnterminatedConditional,
                },
            });
        }
    }

    /// A recipe line starting at index `i`, continued while it ends in an
    /// odd number of backslashes; returns the index after it.
    fn recipe_line(&mut self, rule: usize, mut i: usize, first: &str) -> usize {
        let start = i + 1;
        let mut text = first.to_owned();
        while ends_in_continuation(&text) && i + 1 < self.lines.len() {
            i += 1;
            let next = &self.lines[i];
            text.push('\n');
            text.push_str(next.strip_prefix('\t').unwrap_or(next));
        }
        let line = RecipeLine {
            place: self.place(start),
            text,
            conditional: self.conditional(),
        };
        if let StatementKind::Rule(r) = &mut self.statements[rule].kind {
            r.recipe.push(line);
            r.has_recipe = true;
            r.last_line = i + 1;
        }
        i + 1
    }

    /// One logical (non-recipe) line, `number` being its first physical line
    /// and `next` the index of the line after it; returns where reading goes on.
    fn logical(&mut self, number: usize, logical: &str, next: usize) -> usize {
        let trimmed = logical.trim_start_matches([' ', '\t']);
        if trimmed.trim().is_empty() {
            self.help.clear();
            return next;
        }
        if let Some(comment) = trimmed.strip_prefix('#') {
            if let Some(group) = comment.strip_prefix("#@") {
                self.group = Some(group.trim().to_owned()).filter(|g| !g.is_empty());
                self.help.clear();
            } else if let Some(help) = comment.strip_prefix('#') {
                self.help.push(help.trim().to_owned());
            } else {
                self.help.clear();
            }
            return next;
        }
        let word = first_word(trimmed);
        if CONDITIONALS.contains(&word) {
            self.push(
                number,
                StatementKind::Conditional {
                    directive: strip_comment(trimmed).0.trim_end().to_owned(),
                    end: 0,
                },
            );
            self.conditionals.push(self.statements.len() - 1);
            return next;
        }
        match word {
            "else" => {
                if self.conditionals.is_empty() {
                    self.stray(number, trimmed);
                }
                return next;
            }
            "endif" => {
                match self.conditionals.pop() {
                    Some(open) => {
                        if let StatementKind::Conditional { end, .. } =
                            &mut self.statements[open].kind
                        {
                            *end = next;
                        }
                    }
                    None => self.stray(number, trimmed),
                }
                return next;
            }
            "endef" => {
                self.stray(number, trimmed);
                return next;
            }
            _ => {}
        }
        // Anything else ends the rule whose recipe lines could follow.
        self.rule = None;
        let help = std::mem::take(&mut self.help);
        let (content, comment) = strip_comment(trimmed);
        match word {
            "define" => return self.define(number, &content, next),
            "include" | "-include" | "sinclude" => self.push(
                number,
                StatementKind::Include {
                    paths: rest_after(&content, word).trim().to_owned(),
                    optional: word != "include",
                },
            ),
            "vpath" => self.unsupported(number, &content, Feature::Vpath),
            "unexport" => self.unsupported(number, &content, Feature::Unexport),
            "load" | "-load" => self.unsupported(number, &content, Feature::Load),
            "undefine" => {
                let name = rest_after(&content, word).trim();
                let name = name.strip_prefix("override ").unwrap_or(name).trim();
                self.push(
                    number,
                    StatementKind::Undefine {
                        name: name.to_owned(),
                    },
                );
            }
            _ => {
                let tab = logical.starts_with('\t');
                self.assignment_or_rule(number, trimmed, &content, comment, help, tab);
            }
        }
        next
    }

    fn stray(&mut self, number: usize, text: &str) {
        self.unsupported(number, text.trim(), Feature::StrayDirective);
    }

    fn unsupported(&mut self, number: usize, text: &str, feature: Feature) {
        self.push(
            number,
            StatementKind::Unsupported {
                text: text.trim().to_owned(),
                feature,
            },
        );
    }

    /// `define NAME` … `endef`: the body is skipped (nested defines counted);
    /// returns the index after `endef`.
    fn define(&mut self, number: usize, content: &str, next: usize) -> usize {
        let header = rest_after(content, "define").trim();
        let name = header
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        let mut depth = 1;
        let mut i = next;
        while i < self.lines.len() {
            let word = first_word(self.lines[i].trim_start());
            if word == "define" {
                depth += 1;
            } else if word == "endef" {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            i += 1;
        }
        if depth > 0 {
            self.unsupported(number, content, Feature::UnterminatedDefine);
        }
        self.push(number, StatementKind::Define { name });
        i + 1
    }

    fn assignment_or_rule(
        &mut self,
        number: usize,
        full: &str,
        content: &str,
        comment: Option<String>,
        help: Vec<String>,
        tab: bool,
    ) {
        // Modifiers in front of an assignment.
        let mut text = content;
        let mut export = false;
        loop {
            let word = first_word(text);
            match word {
                "export" => export = true,
                "override" | "private" => {}
                _ => break,
            }
            text = rest_after(text, word).trim_start();
        }
        if let Some((name, op, value)) = assignment(text) {
            self.push(
                number,
                StatementKind::Assign {
                    name,
                    op,
                    value,
                    export,
                },
            );
            return;
        }
        if export {
            let names = text.trim();
            if names.is_empty() {
                self.unsupported(number, content, Feature::ExportAll);
            } else {
                self.push(
                    number,
                    StatementKind::Export {
                        names: names.to_owned(),
                    },
                );
            }
            return;
        }
        match rule(full) {
            Some((mut rule, inline_recipe)) => {
                let inline = comment
                    .as_deref()
                    .and_then(|c| c.strip_prefix('#'))
                    .map(|h| h.trim().to_owned())
                    .filter(|h| !h.is_empty());
                let above = help.join(" ");
                rule.help = inline.or_else(|| Some(above).filter(|h| !h.is_empty()));
                rule.group = self.group.clone();
                rule.last_line = number;
                // `## help` above `.PHONY: x` belongs to the `x:` below it.
                if rule.targets.trim() == ".PHONY" {
                    self.help = help;
                }
                if let Some(text) = inline_recipe {
                    rule.has_recipe = true;
                    rule.recipe.push(RecipeLine {
                        place: self.place(number),
                        text,
                        conditional: self.conditional(),
                    });
                }
                self.push(number, StatementKind::Rule(rule));
                self.rule = Some(self.statements.len() - 1);
            }
            None => {
                let feature = if content.trim_start().starts_with('$') {
                    Feature::FunctionLine
                } else if tab
                    && !self
                        .statements
                        .iter()
                        .any(|s| matches!(s.kind, StatementKind::Rule(_)))
                {
                    Feature::RecipeBeforeTarget
                } else {
                    Feature::MissingSeparator
                };
                self.unsupported(number, content, feature);
            }
        }
    }
}

/// Joins physical lines from `i` while they end in an odd number of
/// backslashes, the way make does outside recipes: the backslash-newline and
/// the whitespace around it become one space. Returns the text and the index
/// of the next line.
fn logical_line(lines: &[String], mut i: usize) -> (String, usize) {
    let mut text = lines[i].clone();
    while ends_in_continuation(&text) && i + 1 < lines.len() {
        text.pop();
        let kept = text.trim_end_matches([' ', '\t']).len();
        text.truncate(kept);
        i += 1;
        text.push(' ');
        text.push_str(lines[i].trim_start_matches([' ', '\t']));
    }
    (text, i + 1)
}

fn ends_in_continuation(text: &str) -> bool {
    let backslashes = text.len() - text.trim_end_matches('\\').len();
    backslashes % 2 == 1
}

fn first_word(text: &str) -> &str {
    text.split([' ', '\t']).next().unwrap_or_default()
}

fn rest_after<'t>(text: &'t str, word: &str) -> &'t str {
    text.trim_start().strip_prefix(word).unwrap_or(text)
}

/// Where each top-level character is: skips `$(…)`, `${…}` and `$x`, so
/// separators inside references are not taken for make syntax.
fn top_level(text: &str) -> Vec<(usize, char)> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut k = 0;
    while k < chars.len() {
        let (at, c) = chars[k];
        if c == '$' {
            match chars.get(k + 1).map(|&(_, c)| c) {
                Some(open @ ('(' | '{')) => {
                    let close = if open == '(' { ')' } else { '}' };
                    let mut depth = 0;
                    k += 1;
                    while k < chars.len() {
                        let c = chars[k].1;
                        if c == open {
                            depth += 1;
                        } else if c == close {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        k += 1;
                    }
                    k += 1;
                }
                Some(_) => k += 2,
                None => k += 1,
            }
            continue;
        }
        out.push((at, c));
        k += 1;
    }
    out
}

/// Splits off a comment: the first top-level `#` not escaped as `\#`.
/// Returns the content (with `\#` made `#`) and the comment after the `#`.
pub(crate) fn strip_comment(text: &str) -> (String, Option<String>) {
    for (at, c) in top_level(text) {
        if c == '#' && !text[..at].ends_with('\\') {
            return (
                text[..at].replace("\\#", "#"),
                Some(text[at + 1..].to_owned()),
            );
        }
    }
    (text.replace("\\#", "#"), None)
}

/// `NAME op value`, if `text` (comment removed) is an assignment: a top-level
/// `=` comes before any top-level `:` that is not part of the operator.
fn assignment(text: &str) -> Option<(String, AssignOp, String)> {
    let top = top_level(text);
    for (index, &(at, c)) in top.iter().enumerate() {
        match c {
            '=' => {
                let before = &text[..at];
                let (name, op) = if let Some(name) = before.strip_suffix(":::") {
                    (name, AssignOp::Simple)
                } else if let Some(name) = before.strip_suffix("::") {
                    (name, AssignOp::Simple)
                } else if let Some(name) = before.strip_suffix(':') {
                    (name, AssignOp::Simple)
                } else if let Some(name) = before.strip_suffix('?') {
                    (name, AssignOp::Default)
                } else if let Some(name) = before.strip_suffix('+') {
                    (name, AssignOp::Append)
                } else if let Some(name) = before.strip_suffix('!') {
                    (name, AssignOp::Shell)
                } else {
                    (before, AssignOp::Recursive)
                };
                let name = name.trim();
                if name.is_empty() {
                    return None;
                }
                // Make drops the whitespace after the operator, not before a comment.
                let value = text[at + 1..].trim_start_matches([' ', '\t']);
                return Some((name.to_owned(), op, value.to_owned()));
            }
            ':' => {
                // `:=`, `::=`, `:::=` are operators; any other colon makes a rule.
                let rest: String = top[index..].iter().map(|&(_, c)| c).take(4).collect();
                if rest.starts_with(":=") || rest.starts_with("::=") || rest.starts_with(":::=") {
                    continue;
                }
                return None;
            }
            _ => {}
        }
    }
    None
}

/// A rule line (comments not yet removed: after `;` the text is recipe,
/// where `#` belongs to the shell), and the recipe after its `;`.
fn rule(text: &str) -> Option<(Rule, Option<String>)> {
    let top = top_level(text);
    let (colon_index, colon) = top
        .iter()
        .enumerate()
        .find(|(_, (at, c))| *c == ':' || (*c == '#' && !text[..*at].ends_with('\\')))
        .map(|(i, &(at, c))| (i, (at, c)))?;
    if colon.1 != ':' {
        return None;
    }
    let double_colon = top.get(colon_index + 1).map(|&(_, c)| c) == Some(':')
        && top[colon_index + 1].0 == colon.0 + 1;
    let mut targets = text[..colon.0].to_owned();
    let grouped = targets.ends_with('&');
    if grouped {
        targets.pop();
    }
    let after = colon.0 + if double_colon { 2 } else { 1 };
    let mut rule = Rule {
        targets: targets.trim().to_owned(),
        double_colon,
        grouped,
        ..Rule::default()
    };
    // Prerequisites run to a top-level `;` (then the recipe) or `#` (a comment).
    let mut end = text.len();
    let mut inline = None;
    for &(at, c) in top.iter().filter(|(at, _)| *at >= after) {
        if c == ';' {
            inline = Some(text[at + 1..].trim_start().to_owned());
            end = at;
            break;
        }
        if c == '#' && !text[..at].ends_with('\\') {
            end = at;
            break;
        }
    }
    let prerequisites = text[after..end].replace("\\#", "#");
    if assignment(prerequisites.trim_start()).is_some() {
        rule.target_variable = Some(prerequisites.trim().to_owned());
        return Some((rule, None));
    }
    let separators = top_level(&prerequisites);
    if separators.iter().any(|&(_, c)| c == ':') {
        rule.static_pattern = true;
    }
    match separators.iter().find(|&&(_, c)| c == '|') {
        Some(&(bar, _)) => {
            rule.prerequisites = prerequisites[..bar].trim().to_owned();
            rule.order_only = prerequisites[bar + 1..].trim().to_owned();
        }
        None => rule.prerequisites = prerequisites.trim().to_owned(),
    }
    Some((rule, inline))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statements(text: &str) -> Vec<StatementKind> {
        read(Arc::from("Makefile"), text)
            .statements
            .into_iter()
            .map(|s| s.kind)
            .collect()
    }

    fn rules(text: &str) -> Vec<Rule> {
        statements(text)
            .into_iter()
            .filter_map(|s| match s {
                StatementKind::Rule(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn assignments_of_every_flavour() {
        let got = statements(
            "A = one\nB := two # note\nC ?= three\nD += four\nE != date\nF ::= six\nexport G = seven\noverride H=eight\n",
        );
        let ops: Vec<(String, AssignOp, String, bool)> = got
            .into_iter()
            .filter_map(|s| match s {
                StatementKind::Assign {
                    name,
                    op,
                    value,
                    export,
                } => Some((name, op, value, export)),
                _ => None,
            })
            .collect();
        use AssignOp::*;
        assert_eq!(
            ops,
            [
                ("A".into(), Recursive, "one".into(), false),
                // Make keeps the space before a comment in the value.
                ("B".into(), Simple, "two ".into(), false),
                ("C".into(), Default, "three".into(), false),
                ("D".into(), Append, "four".into(), false),
                ("E".into(), Shell, "date".into(), false),
                ("F".into(), Simple, "six".into(), false),
                ("G".into(), Recursive, "seven".into(), true),
                ("H".into(), Recursive, "eight".into(), false),
            ]
        );
    }

    #[test]
    fn a_rule_with_prerequisites_help_and_recipe() {
        let got = rules(
            "dev-up: dev-check network ## Start the stack\n\t@docker compose up -d\n\t-echo done\n",
        );
        assert_eq!(got.len(), 1);
        let rule = &got[0];
        assert_eq!(rule.targets, "dev-up");
        assert_eq!(rule.prerequisites, "dev-check network");
        assert_eq!(rule.help.as_deref(), Some("Start the stack"));
        let texts: Vec<&str> = rule.recipe.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["@docker compose up -d", "-echo done"]);
        assert_eq!(rule.recipe[1].place.line, 3);
        assert_eq!(rule.last_line, 3);
    }

    #[test]
    fn help_from_the_lines_above_and_a_group() {
        let got = rules(
            "##@ Database\n\n## Back up\n## every database\nbackup:\n\ttrue\n\n## orphan\n\nother:\n\ttrue\n",
        );
        assert_eq!(got[0].help.as_deref(), Some("Back up every database"));
        assert_eq!(got[0].group.as_deref(), Some("Database"));
        // A blank line separates a comment from the target below.
        assert_eq!(got[1].help, None);
        assert_eq!(got[1].group.as_deref(), Some("Database"));
    }

    #[test]
    fn help_above_phony_belongs_to_the_target_below() {
        let got = rules("## Start\n.PHONY: up\nup:\n\ttrue\n");
        assert_eq!(got[1].targets, "up");
        assert_eq!(got[1].help.as_deref(), Some("Start"));
    }

    #[test]
    fn recipe_continuations_are_kept_for_the_shell() {
        let got = rules("t:\n\tdocker run \\\n\t  --rm x\n\techo after\n");
        let texts: Vec<&str> = got[0].recipe.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["docker run \\\n  --rm x", "echo after"]);
        assert_eq!(got[0].recipe[1].place.line, 4);
    }

    #[test]
    fn continuations_outside_recipes_become_one_space() {
        let got = statements("FILES = a \\\n    b\\\n\tc\nt: x \\\n  y\n");
        assert_eq!(
            got[0],
            StatementKind::Assign {
                name: "FILES".into(),
                op: AssignOp::Recursive,
                value: "a b c".into(),
                export: false
            }
        );
        let StatementKind::Rule(rule) = &got[1] else {
            panic!("{got:?}")
        };
        assert_eq!(rule.prerequisites, "x y");
    }

    #[test]
    fn inline_recipes_keep_their_hash_for_the_shell() {
        let got = rules("t: a ; echo hi # not make's\n\techo two\n");
        let texts: Vec<&str> = got[0].recipe.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["echo hi # not make's", "echo two"]);
        assert_eq!(got[0].recipe[0].place.line, 1);
        assert_eq!(got[0].prerequisites, "a");
    }

    #[test]
    fn rule_shapes_make_has() {
        let got = rules(
            "%.o: %.c\n\tcc\na:: b\nc d &: e\nf: X = 1\n$(OBJS): %.o: %.c\ng: h | i j\nk: $(call x,a:b)\n",
        );
        assert_eq!(got[0].targets, "%.o");
        assert!(got[1].double_colon);
        assert_eq!(got[1].prerequisites, "b");
        assert!(got[2].grouped);
        assert_eq!(got[2].targets, "c d");
        assert_eq!(got[3].target_variable.as_deref(), Some("X = 1"));
        assert!(got[4].static_pattern);
        assert_eq!(
            (got[5].prerequisites.as_str(), got[5].order_only.as_str()),
            ("h", "i j")
        );
        // A colon inside a reference is not make syntax.
        assert!(!got[6].static_pattern);
        assert_eq!(got[6].prerequisites, "$(call x,a:b)");
    }

    #[test]
    fn conditionals_mark_what_they_contain() {
        let made = read(
            Arc::from("Makefile"),
            "A = 1\nifdef CI\nB = 2\nt:\n\techo\nelse\nB = 3\nendif\nC = 4\n",
        );
        let conditional: Vec<(usize, bool)> = made
            .statements
            .iter()
            .map(|s| (s.place.line, s.conditional.is_some()))
            .collect();
        assert_eq!(
            conditional,
            [
                (1, false),
                (2, false),
                (3, true),
                (4, true),
                (7, true),
                (9, false)
            ]
        );
        assert_eq!(
            made.statements[1].kind,
            StatementKind::Conditional {
                directive: "ifdef CI".into(),
                end: 8
            }
        );
        let StatementKind::Rule(rule) = &made.statements[3].kind else {
            panic!()
        };
        assert!(rule.recipe[0].conditional.is_some());
    }

    #[test]
    fn a_conditional_inside_a_recipe_keeps_the_rule_open() {
        let got = rules("t:\n\techo a\nifdef X\n\techo b\nendif\n\techo c\n");
        let texts: Vec<(&str, bool)> = got[0]
            .recipe
            .iter()
            .map(|l| (l.text.as_str(), l.conditional.is_some()))
            .collect();
        assert_eq!(
            texts,
            [("echo a", false), ("echo b", true), ("echo c", false)]
        );
    }

    #[test]
    fn defines_includes_and_what_is_not_make() {
        let got = statements(
            "define BANNER\necho a\nendef\ninclude a.mk b.mk\n-include .env\nvpath %.c src\n$(info hi)\nnonsense here\nexport A B\nexport\n",
        );
        assert_eq!(
            got[0],
            StatementKind::Define {
                name: "BANNER".into()
            }
        );
        assert_eq!(
            got[1],
            StatementKind::Include {
                paths: "a.mk b.mk".into(),
                optional: false
            }
        );
        assert_eq!(
            got[2],
            StatementKind::Include {
                paths: ".env".into(),
                optional: true
            }
        );
        let features: Vec<Feature> = got
            .iter()
            .filter_map(|s| match s {
                StatementKind::Unsupported { feature, .. } => Some(*feature),
                _ => None,
            })
            .collect();
        assert_eq!(
            features,
            [
                Feature::Vpath,
                Feature::FunctionLine,
                Feature::MissingSeparator,
                Feature::ExportAll
            ]
        );
        assert!(got.contains(&StatementKind::Export {
            names: "A B".into()
        }));
    }

    #[test]
    fn a_tab_line_outside_a_rule_is_a_make_line() {
        let got = statements("ifdef X\n\tinclude .env\nendif\n");
        assert!(matches!(got[1], StatementKind::Include { .. }), "{got:?}");
    }
}
