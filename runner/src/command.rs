//! Host command tasks: shell lines run unsandboxed, like a Makefile recipe,
//! with the task's arguments as `$1`, `$2`, ….

use std::path::Path;

use crate::config::model::Task;
use crate::task_error::TaskError;

/// Runs each line with `sh -c LINE TASK ARGS…` in the project root, stopping at
/// the first failure. Commands inherit the environment (they are unsandboxed),
/// plus the task's fixed `env` values.
pub async fn run(
    task: &Task,
    lines: &[String],
    args: &[String],
    root: &Path,
    ui: &crate::ui::Ui,
    echo: bool,
) -> Result<(), TaskError> {
    for line in lines {
        if echo {
            ui.progress
                .suspend(|| eprintln!("{}", ui.paint(anstyle::Style::new().bold(), line)));
        }
        let mut command = tokio::process::Command::new("sh");
        command
            .arg("-c")
            .arg(line)
            .arg(&task.name)
            .args(args)
            .current_dir(root)
            .envs(task.env.set.iter().map(|(k, v)| (k, v)))
            .kill_on_drop(true);
        let status = command.status().await.map_err(|source| TaskError::Spawn {
            line: line.clone(),
            source,
        })?;
        if !status.success() {
            use std::os::unix::process::ExitStatusExt;
            return Err(match (status.code(), status.signal()) {
                (Some(code), _) => TaskError::Command {
                    line: line.clone(),
                    code,
                },
                (None, Some(signal)) => TaskError::CommandSignal {
                    line: line.clone(),
                    signal,
                },
                (None, None) => TaskError::Command {
                    line: line.clone(),
                    code: 1,
                },
            });
        }
    }
    Ok(())
}
