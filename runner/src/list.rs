//! `run --list`: tasks grouped, descriptions aligned, aliases and plugin
//! parameters shown; and `--list --json` (schema `run.list/v1`,
//! docs/list-json.md). Parameters come from [`crate::parameters`]: cached by
//! plugin digest, so a listing describes a plugin at most once, ever.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};
use serde_json::json;

use crate::config::model::{Action, Task, TaskFile};
use crate::plugin::descriptors::{Known, ParamKind};
use crate::report::plugin_name;
use crate::ui::paint;

pub const SCHEMA: &str = "run.list/v1";

/// Widest name-and-parameters column before descriptions stop being aligned.
const MAX_ALIGN: usize = 36;

/// `greet [--name VALUE]`: the name and the plugin's parameters. When they
/// would not fit the aligned column, flags and options collapse into
/// `[OPTIONS]` (positionals stay): `run TASK --help` and completion list them.
fn synopsis(task: &Task, known: Option<&Known>) -> (String, usize) {
    let params = known.map_or(&[][..], |k| &k.parameters[..]);
    let join = |parts: Vec<String>| {
        std::iter::once(task.name.clone())
            .chain(parts)
            .collect::<Vec<_>>()
            .join(" ")
    };
    if let Action::Command { .. } = task.action
        && !task.params.is_empty()
    {
        let plain = join(crate::command_args::synopsis(task));
        let width = plain.chars().count();
        return (plain, width);
    }
    let mut plain = join(params.iter().map(|p| p.synopsis()).collect());
    if plain.chars().count() > MAX_ALIGN {
        let mut parts: Vec<String> = params
            .iter()
            .filter(|p| p.kind == ParamKind::Positional)
            .map(|p| p.synopsis())
            .collect();
        if params.iter().any(|p| p.kind != ParamKind::Positional) {
            parts.push("[OPTIONS]".to_owned());
        }
        plain = join(parts);
    }
    let width = plain.chars().count();
    (plain, width)
}

/// The text listing; `known[i]` is what `file.tasks[i]`'s plugin said about itself.
pub fn text(file: &TaskFile, known: &[Option<Known>], color: bool) -> String {
    let mut groups: Vec<Option<&str>> = vec![None];
    for task in &file.tasks {
        if let Some(group) = task.group.as_deref()
            && !groups.contains(&Some(group))
        {
            groups.push(Some(group));
        }
    }
    let synopses: Vec<(String, usize)> = file
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| synopsis(t, known.get(i).and_then(Option::as_ref)))
        .collect();
    let width = synopses
        .iter()
        .zip(&file.tasks)
        .filter(|(_, t)| !t.is_private())
        .map(|((_, w), _)| *w)
        .filter(|w| *w <= MAX_ALIGN)
        .max()
        .unwrap_or(0);
    let mut out = String::from("Available tasks:\n");
    for group in groups {
        let tasks: Vec<(usize, &Task)> = file
            .tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.group.as_deref() == group && !t.is_private())
            .collect();
        if tasks.is_empty() {
            continue;
        }
        if let Some(group) = group {
            // A blank line between groups, not under the heading.
            let separator = if out.ends_with(":\n") { "" } else { "\n" };
            let heading = paint(color, Style::new().bold(), &format!("[{group}]"));
            writeln!(out, "{separator}{heading}").unwrap();
        }
        for (index, task) in tasks {
            let (plain, plain_width) = &synopses[index];
            let name = paint(
                color,
                Style::new().fg_color(Some(AnsiColor::Cyan.into())),
                &task.name,
            );
            let params = &plain[task.name.len()..];
            let mut line = format!(
                "    {name}{}{}",
                paint(color, Style::new().dimmed(), params),
                " ".repeat(width.saturating_sub(*plain_width))
            );
            let mut notes: Vec<String> = Vec::new();
            if let Some(description) = &task.description {
                notes.push(description.clone());
            }
            if !task.aliases.is_empty() {
                let aliases: Vec<&str> = task.aliases.iter().map(|a| a.value.as_str()).collect();
                notes.push(paint(
                    color,
                    Style::new().dimmed(),
                    &format!("[aliases: {}]", aliases.join(", ")),
                ));
            }
            if !task.is_sandboxed() {
                notes.push(paint(
                    color,
                    Style::new().fg_color(Some(AnsiColor::Yellow.into())),
                    "(unsandboxed)",
                ));
            }
            if !notes.is_empty() {
                line.push_str("  ");
                line.push_str(&notes.join(" "));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    out
}

/// Every grant kind, keys sorted: lists as written, `privileged` a boolean.
fn allow_json(grants: &crate::grant::Grants) -> serde_json::Value {
    let mut allow: std::collections::BTreeMap<&str, serde_json::Value> = Default::default();
    for kind in crate::grant::GrantKind::ALL {
        let value = if kind.is_flag() {
            json!(grants.privileged)
        } else {
            json!(grants.values(kind))
        };
        allow.insert(kind.key(), value);
    }
    json!(allow)
}

/// The JSON listing; `known` as for [`text`].
pub fn json(file: &TaskFile, known: &[Option<Known>]) -> serde_json::Value {
    let tasks: Vec<_> = file
        .tasks
        .iter()
        .enumerate()
        .filter(|(_, task)| !task.is_private())
        .map(|(index, task)| {
            fn names(list: &[crate::config::model::Spanned<String>]) -> Vec<&str> {
                list.iter().map(|s| s.value.as_str()).collect()
            }
            let kind = match task.action {
                Action::Plugin { .. } => "plugin",
                Action::Command { .. } => "command",
                Action::Group => "group",
            };
            json!({
                "name": task.name,
                "description": task.description,
                "group": task.group,
                "aliases": names(&task.aliases),
                "kind": kind,
                "plugin": plugin_name(task),
                "parameters": known.get(index).and_then(Option::as_ref).map(|k| &k.parameters),
                "sandboxed": task.is_sandboxed(),
                "depends": names(&task.depends),
                "before": names(&task.before),
                "after": names(&task.after),
                "timeout_ms": task.timeout.map(|t| t.as_millis() as u64),
                "memory_bytes": task.memory,
                "allow": allow_json(&task.allow),
                "line": task.line,
                "column": task.column,
            })
        })
        .collect();
    sorted(json!({ "schema": SCHEMA, "file": file.path, "tasks": tasks }))
}

/// `value` with every object's keys in alphabetical order, as documented
/// (serde_json keeps insertion order in this workspace).
fn sorted(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}
