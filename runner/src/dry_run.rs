//! `run --dry-run TASK`: the plan, and nothing run. Order, each task's plugin
//! and its digest, what the plugin needs (`describe` and `needs`) against what
//! the task grants, config and limits, and whether each task with `sources`
//! is up to date (`would skip: up to date`, `would run: sources changed (…)`).
//!
//! No plugin code runs with any grant: `describe` and `needs` are called in a
//! sandbox with nothing granted (no files, network, environment, containers,
//! locks, stdout or prompts), whatever the task grants, so `-n` is a safe
//! preview of an untrusted plugin. Commands are shown, never run. The exit
//! code says whether the run would start: 1 when a planned task would be
//! denied (or its `needs` fails), 2 when a plugin cannot be loaded.

use std::fmt::Write;

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::model::{Action, Grants, Task, TaskFile};
use crate::describe::{self, Described};
use crate::grant::Grant;
use crate::graph::Plan;
use crate::lock::Resolved;
use crate::plugin::bindings::types::{RunMode, TaskContext};
use crate::task_error::TaskError;
use crate::ui::Ui;
use crate::up_to_date::{self, Status};

/// What a planned plugin task's plugin said in the empty sandbox.
pub struct Previewed {
    pub described: Described,
    /// What the task needs: `describe`'s needs and `needs`' answer.
    pub needs: Result<Vec<Grant>, TaskError>,
    /// The needs the task does not grant.
    pub missing: Vec<Grant>,
}

/// Each planned plugin task's preview, by task index.
pub type Previews = HashMap<usize, Result<Previewed, TaskError>>;

/// Loads every plugin in the plan (compiling it if needed) and asks it, in the
/// empty sandbox, what it is and what its task needs. Plugins the lock check
/// already read (`resolved`) are not read again. `args` are the root task's.
pub async fn preview_plugins(
    file: &TaskFile,
    plan: &Plan,
    resolved: &Resolved,
    args: &[String],
    ui: Arc<Ui>,
) -> Previews {
    let mut previews = HashMap::new();
    for (i, node) in plan.nodes.iter().enumerate() {
        let task = &file.tasks[node.task];
        let Action::Plugin { source, config } = &task.action else {
            continue;
        };
        let context = TaskContext {
            task: task.name.clone(),
            args: if i == plan.root {
                args.to_vec()
            } else {
                Vec::new()
            },
            config: config.to_string(),
            mode: RunMode::Plan,
            interactive: false,
            hook_for: node.hook_for.clone(),
        };
        let source = match resolved.get(&node.task) {
            Some(read) => Ok(read.clone()),
            None => crate::plugin::Source::resolve(source).map_err(TaskError::from),
        };
        let result = match source {
            Ok(source) => describe::preview_source(source, ui.clone(), Some(context))
                .await
                .map(|(described, needs)| previewed(task, described, needs)),
            Err(error) => Err(error),
        };
        previews.insert(node.task, result);
    }
    previews
}

fn previewed(
    task: &Task,
    described: Described,
    needs: Option<Result<Vec<Grant>, TaskError>>,
) -> Previewed {
    let needs = needs.unwrap_or_else(|| Ok(Vec::new())).map(|more| {
        let mut all = describe::needs(&described.descriptor);
        for need in more {
            if !all.contains(&need) {
                all.push(need);
            }
        }
        all
    });
    let missing = match &needs {
        Ok(needs) => describe::missing_grants(task, needs),
        Err(_) => Vec::new(),
    };
    Previewed {
        described,
        needs,
        missing,
    }
}

/// Why the planned run would not go through, task by task in plan order:
/// each failure as the run would report it (render the plan first).
pub fn problems<'a>(
    file: &'a TaskFile,
    plan: &Plan,
    mut previews: Previews,
) -> Vec<(&'a Task, TaskError)> {
    let mut problems = Vec::new();
    for node in &plan.nodes {
        let task = &file.tasks[node.task];
        let error = match previews.remove(&node.task) {
            Some(Err(error)) => Some(error),
            Some(Ok(previewed)) => match previewed.needs {
                Err(error) => Some(error),
                Ok(_) if !previewed.missing.is_empty() => Some(TaskError::Ungranted {
                    missing: previewed.missing,
                }),
                Ok(_) => None,
            },
            None => None,
        };
        if let Some(error) = error {
            problems.push((task, error));
        }
    }
    problems
}

/// The plan as text. `args` are the root task's; `force` is `--force`.
pub fn render(
    file: &TaskFile,
    plan: &Plan,
    previews: &Previews,
    args: &[String],
    force: bool,
) -> String {
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
                out.push_str(
                    "       host command (unsandboxed, not run under --dry-run or --plan):\n",
                );
                for line in lines {
                    writeln!(out, "         {line}").unwrap();
                }
            }
            Action::Plugin { config, .. } => {
                match previews.get(&node.task) {
                    Some(Ok(p)) => render_preview(&mut out, p),
                    Some(Err(error)) => writeln!(out, "       plugin: {error}").unwrap(),
                    None => {}
                }
                if config.as_object().is_some_and(|c| !c.is_empty()) {
                    writeln!(out, "       config {config}").unwrap();
                }
                out.push_str(&grants(&task.allow));
                if uses_engine(&task.allow) {
                    out.push_str(&engine_line());
                }
            }
        }
        let digest = match previews.get(&node.task) {
            Some(Ok(p)) => Some(p.described.source.digest.as_str()),
            _ => None,
        };
        let args = if i == plan.root { args } else { &[] };
        if let Some(line) = freshness(file, task, digest, args, force) {
            writeln!(out, "       {line}").unwrap();
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

/// `would skip: up to date` or `would run: sources changed (src/a.rs)`, for a
/// task with `sources`: the check a run makes before the task, taken now.
fn freshness(
    file: &TaskFile,
    task: &Task,
    plugin_digest: Option<&str>,
    args: &[String],
    force: bool,
) -> Option<String> {
    if task.sources.is_empty() {
        return None;
    }
    if let Action::Plugin { .. } = task.action
        && plugin_digest.is_none()
    {
        return Some("would run: its plugin cannot be loaded".to_owned());
    }
    if force {
        return Some("would run: --force".to_owned());
    }
    Some(
        match up_to_date::fingerprint(file, task, plugin_digest, args) {
            Err(error) => format!("would run: cannot take its fingerprint ({error})"),
            Ok(now) => match up_to_date::status(file, task, &now) {
                Status::Fresh => "would skip: up to date".to_owned(),
                other => format!("would run: {other}"),
            },
        },
    )
}

fn render_preview(out: &mut String, p: &Previewed) {
    let desc = &p.described.descriptor;
    writeln!(
        out,
        "       plugin {} {} (WIT {}) sha256:{}",
        desc.name, desc.version, p.described.wit_version, p.described.source.digest
    )
    .unwrap();
    match &p.needs {
        Ok(needs) if needs.is_empty() => out.push_str("       needs nothing\n"),
        Ok(needs) => {
            let needs: Vec<String> = needs.iter().map(describe::grant).collect();
            writeln!(out, "       needs {}", needs.join(", ")).unwrap();
        }
        Err(error) => writeln!(out, "       needs: {error}").unwrap(),
    }
    if !p.missing.is_empty() {
        let missing: Vec<String> = p.missing.iter().map(describe::grant).collect();
        writeln!(
            out,
            "       MISSING GRANTS {} (the task would be denied)",
            missing.join(", ")
        )
        .unwrap();
    }
}

/// Whether a task's grants reach the container engine.
fn uses_engine(grants: &Grants) -> bool {
    [
        &grants.containers,
        &grants.images,
        &grants.networks,
        &grants.volumes,
    ]
    .iter()
    .any(|p| !p.as_written().is_empty())
}

/// The engine such a task would use, chosen from the settings (nothing is
/// connected): `engine tcp://build-box:2376 (TLS, from DOCKER_HOST)`.
fn engine_line() -> String {
    match crate::capability::engine::docker::endpoint() {
        Ok(endpoint) => format!("       engine {endpoint}\n"),
        Err(error) => format!("       engine: cannot be chosen: {error}\n"),
    }
}

fn grants(grants: &Grants) -> String {
    let rows = grants.rows();
    if rows.is_empty() {
        return "       allow: nothing\n".to_owned();
    }
    rows.iter()
        .map(|(kind, values)| format!("       allow {}: {}\n", kind.key(), values.join(", ")))
        .collect()
}
