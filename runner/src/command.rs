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
    stdout: Option<std::fs::File>,
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
        if let Some(file) = stdout.as_ref().and_then(|f| f.try_clone().ok()) {
            command.stdout(file);
        }
        let spawn_error = |source| TaskError::Spawn {
            line: line.clone(),
            source,
        };
        let mut child = command.spawn().map_err(spawn_error)?;
        // `sh` forks its commands, so killing `sh` alone (kill_on_drop) would
        // leave them running after a timeout or Ctrl-C: the guard kills the tree.
        let _tree = child.id().map(ProcessTree);
        let status = child.wait().await.map_err(spawn_error)?;
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

/// Kills a process and all its descendants when dropped (a timeout, Ctrl-C, or
/// the end of the line, when the tree is normally gone already). Children stay in
/// the runner's process group so interactive commands keep the terminal.
struct ProcessTree(u32);

impl Drop for ProcessTree {
    fn drop(&mut self) {
        // Parents first: a shell killed before its child cannot react to the
        // child's death by running its next command.
        for pid in descendants(self.0) {
            // SAFETY: kill(2) has no memory effects; a stale pid yields ESRCH.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        }
    }
}

/// `root` and every process below it, parents before children, from /proc.
fn descendants(root: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // The command name may hold spaces and parentheses: the ppid follows the last `)`.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse().ok());
            if let Some(ppid) = ppid {
                parents.push((pid, ppid));
            }
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            parents
                .iter()
                .filter(|(_, ppid)| *ppid == parent)
                .map(|(pid, _)| *pid),
        );
        i += 1;
    }
    tree
}
