//! `run --dry-run TASK`: the plan, printed before anything runs: order, each
//! task's plugin and its digest, and exactly what it is granted.

use std::fmt::Write;

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::model::{Action, Grants, TaskFile};
use crate::describe::{self, Described};
use crate::graph::Plan;
use crate::lock::Resolved;
use crate::task_error::TaskError;
use crate::ui::Ui;

/// Each planned plugin task's self-description, by task index.
pub type Descriptions = HashMap<usize, Result<Described, TaskError>>;

/// Asks every plugin in the plan to describe itself (compiling it if needed).
/// Plugins the lock check already read (`resolved`) are not read again.
pub async fn describe_plugins(
    file: &TaskFile,
    plan: &Plan,
    resolved: &Resolved,
    ui: Arc<Ui>,
) -> Descriptions {
    let mut described = HashMap::new();
    for node in &plan.nodes {
        if let Action::Plugin { source, .. } = &file.tasks[node.task].action {
            let result = match resolved.get(&node.task) {
                Some(read) => describe::describe_source(read.clone(), ui.clone()).await,
                None => describe::describe(source, ui.clone()).await,
            };
            described.insert(node.task, result);
        }
    }
    described
}

pub fn render(file: &TaskFile, plan: &Plan, described: &Descriptions) -> String {
    let root = &file.tasks[plan.nodes[plan.root].task].name;
    let count = plan.nodes.len();
    let mut out = format!(
        "Plan for `{root}` ({count} task{}):\n",
        if count == 1 { "" } else { "s" }
    );
    for (i, node) in plan.nodes.iter().enumerate() {
        let task = &file.tasks[node.task];
        write!(out, "{:>3}. {}", i + 1, task.name).unwrap();
        if let Some(hook) = &node.hook_for {
            write!(out, " (hook of `{hook}`)").unwrap();
        }
        out.push('\n');
        match &task.action {
            Action::Group => out.push_str("       group: runs its dependencies only\n"),
            Action::Command { lines } => {
                out.push_str("       host command (unsandboxed, not run under --dry-run):\n");
                for line in lines {
                    writeln!(out, "         {line}").unwrap();
                }
            }
            Action::Plugin { config, .. } => {
                match described.get(&node.task) {
                    Some(Ok(d)) => {
                        let desc = &d.descriptor;
                        writeln!(
                            out,
                            "       plugin {} {} (WIT {}) sha256:{}",
                            desc.name, desc.version, d.wit_version, d.source.digest
                        )
                        .unwrap();
                        if !desc.capabilities.is_empty() {
                            let wants: Vec<String> =
                                desc.capabilities.iter().map(describe::capability).collect();
                            writeln!(out, "       wants {}", wants.join(", ")).unwrap();
                        }
                        let missing = describe::missing(desc, task);
                        if !missing.is_empty() {
                            writeln!(
                                out,
                                "       MISSING GRANTS {} (the task will be denied)",
                                missing.join(", ")
                            )
                            .unwrap();
                        }
                    }
                    Some(Err(error)) => writeln!(out, "       plugin: {error}").unwrap(),
                    None => {}
                }
                if config.as_object().is_some_and(|c| !c.is_empty()) {
                    writeln!(out, "       config {config}").unwrap();
                }
                out.push_str(&grants(&task.allow));
            }
        }
        if let Some(timeout) = task.timeout {
            writeln!(
                out,
                "       timeout {}",
                humantime::format_duration(timeout)
            )
            .unwrap();
        }
        if let Some(memory) = task.memory {
            writeln!(
                out,
                "       memory {}",
                crate::task_error::human_size(memory)
            )
            .unwrap();
        }
    }
    out
}

fn grants(grants: &Grants) -> String {
    let rows = [
        ("read", &grants.read),
        ("write", &grants.write),
        ("network", &grants.network),
        ("containers", &grants.containers),
        ("env", &grants.env),
        ("images", &grants.images),
        ("networks", &grants.networks),
        ("volumes", &grants.volumes),
        ("ports", &grants.ports),
    ];
    let granted: Vec<String> = rows
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("       allow {k}: {}\n", v.join(", ")))
        .collect();
    if granted.is_empty() {
        "       allow: nothing\n".to_owned()
    } else {
        granted.concat()
    }
}
