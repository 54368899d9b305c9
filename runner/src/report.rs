//! What the runner itself says about tasks on stderr: failures (naming task,
//! plugin and reason), GitHub Actions groups, and the end-of-run summary.

use anstyle::{AnsiColor, Style};

use crate::config::model::{Action, Task, TaskFile};
use crate::graph::Plan;
use crate::scheduler::{State, Summary};
use crate::task_error::TaskError;
use crate::ui::Ui;

/// The plugin's name as users know it: the built-in's name or the file's.
pub fn plugin_name(task: &Task) -> Option<String> {
    match &task.action {
        Action::Plugin { source, .. } => Some(source.display_name()),
        _ => None,
    }
}

fn error_label(ui: &Ui) -> String {
    ui.paint(
        Style::new().bold().fg_color(Some(AnsiColor::Red.into())),
        "error",
    )
}

/// `task `greet` (plugin `hello`)`.
fn subject(task: &Task) -> String {
    match plugin_name(task) {
        Some(plugin) => format!("task `{}` (plugin `{plugin}`)", task.name),
        None => format!("task `{}`", task.name),
    }
}

/// Opens the task's GitHub Actions group, unless its output is captured
/// (then the whole group is printed when it ends).
pub fn task_started(ui: &Ui, task: &Task, captured: bool) {
    if ui.github_actions && !captured {
        let _ = crate::ui::print(&format!("::group::{}\n", escape_data(&task.name)));
    }
}

/// Closes the group, first printing the captured output inside it, in one piece.
pub fn task_finished(ui: &Ui, task: &Task, captured: Option<std::fs::File>) {
    if !ui.github_actions {
        return;
    }
    use std::io::{Seek, Write};
    let mut stdout = std::io::stdout().lock();
    if let Some(mut file) = captured {
        let _ = writeln!(stdout, "::group::{}", escape_data(&task.name));
        if file.rewind().is_ok() {
            let _ = std::io::copy(&mut file, &mut stdout);
        }
    }
    let _ = writeln!(stdout, "::endgroup::");
}

pub fn task_failed(ui: &Ui, task: &Task, error: &TaskError) {
    let message = format!("{}: {error}", subject(task));
    ui.progress
        .suspend(|| crate::say!("{}: {message}", error_label(ui)));
    if ui.github_actions {
        let _ = crate::ui::print(&format!(
            "::error title={}::{}\n",
            escape_property(&format!("run {}", task.name)),
            escape_data(&message)
        ));
    }
}

/// A workflow command's message, escaped as the runner expects
/// (`%`, CR and LF), so a task's text cannot end the command or start another.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value (`title=…`): the data escapes, plus
/// `:` and `,`, which would end the property (`ci::lint`).
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Printed after every run that failed or was interrupted, and at -v otherwise.
pub fn summary(file: &TaskFile, plan: &Plan, summary: &Summary, verbose: bool) {
    let name = |i: usize| &file.tasks[plan.nodes[i].task].name;
    let count = |f: fn(&State) -> bool| summary.states.iter().filter(|s| f(s)).count();
    let done = count(|s| matches!(s, State::Done));
    let failed = count(|s| matches!(s, State::Failed(_)));
    let skipped = count(|s| matches!(s, State::Skipped));
    let elapsed = format!("{:.2}s", summary.elapsed.as_secs_f64());
    if summary.interrupted {
        crate::say!(
            "run: interrupted after {elapsed}: {done} done, {failed} stopped, {skipped} not started"
        );
    } else if let Some(first) = summary.first_failure {
        let mut line = format!(
            "run: {failed} of {} tasks failed, first `{}` (exit {}); {done} done",
            summary.states.len(),
            name(first),
            summary.exit_code()
        );
        if skipped > 0 {
            line += &format!(", {skipped} not run");
        }
        crate::say!("{line} in {elapsed}");
    } else if verbose {
        crate::say!("run: {done} tasks done in {elapsed}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_commands_are_escaped_per_the_spec() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(escape_data("ci::lint"), "ci::lint");
        assert_eq!(
            escape_property("run ci::lint, 100%\n"),
            "run ci%3A%3Alint%2C 100%25%0A"
        );
        // `%` first, so an escape is never escaped twice.
        assert_eq!(escape_data("%0A"), "%250A");
    }
}
