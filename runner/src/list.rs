//! `run --list`: tasks grouped, descriptions aligned, aliases shown; and
//! `--list --json` (schema `run.list/v1`, docs/list-json.md). Never compiles or
//! instantiates a plugin.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};
use serde_json::json;

use crate::config::model::{Action, Task, TaskFile};
use crate::report::plugin_name;
use crate::ui::paint;

pub const SCHEMA: &str = "run.list/v1";

/// The text listing.
pub fn text(file: &TaskFile, color: bool) -> String {
    let mut groups: Vec<Option<&str>> = vec![None];
    for task in &file.tasks {
        if let Some(group) = task.group.as_deref()
            && !groups.contains(&Some(group))
        {
            groups.push(Some(group));
        }
    }
    let width = file
        .tasks
        .iter()
        .map(|t| t.name.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::from("Available tasks:\n");
    for group in groups {
        let tasks: Vec<&Task> = file
            .tasks
            .iter()
            .filter(|t| t.group.as_deref() == group)
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
        for task in tasks {
            let name = paint(
                color,
                Style::new().fg_color(Some(AnsiColor::Cyan.into())),
                &task.name,
            );
            let mut line = format!(
                "    {name}{}",
                " ".repeat(width - task.name.chars().count())
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

/// The JSON listing.
pub fn json(file: &TaskFile) -> serde_json::Value {
    let tasks: Vec<_> = file
        .tasks
        .iter()
        .map(|task| {
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
                "sandboxed": task.is_sandboxed(),
                "depends": names(&task.depends),
                "before": names(&task.before),
                "after": names(&task.after),
                "timeout_ms": task.timeout.map(|t| t.as_millis() as u64),
                "memory_bytes": task.memory,
                "allow": {
                    "read": task.allow.read,
                    "write": task.allow.write,
                    "network": task.allow.network,
                    "containers": task.allow.containers,
                    "env": task.allow.env,
                },
                "line": task.line,
                "column": task.column,
            })
        })
        .collect();
    json!({ "schema": SCHEMA, "file": file.path, "tasks": tasks })
}
