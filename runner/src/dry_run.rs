//! `run --dry-run TASK`: the plan, printed before anything runs: order, each
//! task's plugin and its digest, and exactly what it is granted.

use std::fmt::Write;

use crate::config::model::{Action, Grants, TaskFile};
use crate::graph::Plan;
use crate::plugin;

pub fn render(file: &TaskFile, plan: &Plan) -> String {
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
            Action::Plugin { source, config } => {
                match plugin::Source::resolve(source) {
                    Ok(resolved) => writeln!(
                        out,
                        "       plugin {} sha256:{}",
                        resolved.name, resolved.digest
                    )
                    .unwrap(),
                    Err(error) => writeln!(out, "       plugin: {error}").unwrap(),
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
