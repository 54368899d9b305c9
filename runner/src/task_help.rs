//! `run TASK --help`: what the task does, its parameters (from the plugin's
//! `describe`), its grants, and any capability the plugin asks for that the
//! task does not grant.

use std::fmt::Write;
use std::sync::Arc;

use crate::config::model::{Action, Task};
use crate::describe;
use crate::ui::Ui;

pub async fn render(task: &Task, ui: Arc<Ui>) -> String {
    let mut out = String::new();
    match &task.description {
        Some(description) => writeln!(out, "{}: {description}", task.name).unwrap(),
        None => writeln!(out, "{}", task.name).unwrap(),
    }
    match &task.action {
        Action::Group => {
            let depends: Vec<&str> = task.depends.iter().map(|d| d.value.as_str()).collect();
            writeln!(out, "\nRuns: {}", depends.join(", ")).unwrap();
        }
        Action::Command { lines } if !task.params.is_empty() => {
            writeln!(out, "\nUsage: {}", crate::command_args::usage(task)).unwrap();
            out.push_str(
                "\nParameters (shell variables of the same name; all but flags also $1, $2, …):\n",
            );
            for p in &task.params {
                let mut notes = Vec::new();
                if let Some(default) = &p.default {
                    notes.push(format!("default: {default}"));
                }
                if p.variadic {
                    notes.push("any number".to_owned());
                }
                if p.flag {
                    notes.push(format!(
                        "flag: `true` when given, `--no-{}` or absent: `false`",
                        p.name
                    ));
                }
                let help = p.help.as_deref().unwrap_or("");
                let notes = if notes.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", notes.join(", "))
                };
                writeln!(out, "  --{:<14} {help}{notes}", p.name).unwrap();
            }
            out.push_str("\nHost command (unsandboxed):\n");
            for line in lines {
                writeln!(out, "  {line}").unwrap();
            }
        }
        Action::Command { lines } => {
            out.push_str("\nHost command (unsandboxed); arguments become $1, $2, …:\n");
            for line in lines {
                writeln!(out, "  {line}").unwrap();
            }
        }
        Action::Plugin { source, .. } => {
            match describe::descriptor(source, ui).await {
                Err(error) => writeln!(out, "\nPlugin: {error}").unwrap(),
                Ok(descriptor) => {
                    let d = &descriptor;
                    writeln!(out, "\nPlugin {} {}: {}", d.name, d.version, d.summary).unwrap();
                    let usage: Vec<String> = d
                        .parameters
                        .iter()
                        .map(|p| {
                            let usage = describe::usage(p);
                            if p.required {
                                usage
                            } else {
                                format!("[{usage}]")
                            }
                        })
                        .collect();
                    writeln!(out, "\nUsage: run {} {}", task.name, usage.join(" ")).unwrap();
                    if !d.parameters.is_empty() {
                        out.push_str("\nParameters:\n");
                        out.push_str(&describe::parameters(&d.parameters));
                    }
                    let granted = grants(task);
                    out.push_str("\nGranted (allow):\n");
                    if granted.is_empty() {
                        out.push_str("  nothing\n");
                    }
                    for line in granted {
                        writeln!(out, "  {line}").unwrap();
                    }
                    let missing = describe::missing(d, task);
                    if !missing.is_empty() {
                        writeln!(out, "\nThe plugin asks for more than the task grants (it would be denied): {}", missing.join(", ")).unwrap();
                    }
                }
            }
        }
    }
    out
}

fn grants(task: &Task) -> Vec<String> {
    task.allow
        .rows()
        .iter()
        .map(|(kind, values)| format!("{}: {}", kind.key(), values.join(", ")))
        .collect()
}
