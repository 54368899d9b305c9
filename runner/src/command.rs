//! Host command tasks: shell lines run unsandboxed, like a Makefile recipe,
//! with the task's arguments as `$1`, `$2`, ….

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::config::model::Task;
use crate::task_error::TaskError;

/// Runs each line with `sh -c LINE TASK ARGS…` in the task's `dir` (else the
/// project root), stopping at the first failure. Commands inherit the
/// environment (they are unsandboxed), plus the `.env` values it lacks, plus
/// the task's fixed `env` values.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    task: &Task,
    lines: &[String],
    args: &[String],
    root: &Path,
    dotenv: &[(String, String)],
    params: &[(String, String)],
    ui: &crate::ui::Ui,
    echo: bool,
    stdout: Option<std::fs::File>,
) -> Result<(), TaskError> {
    let dir = working_dir(task, root)?;
    for line in lines {
        if echo {
            ui.progress
                .suspend(|| crate::say!("{}", ui.paint(anstyle::Style::new().bold(), line)));
        }
        let mut command = std::process::Command::new("sh");
        command
            .arg("-c")
            .arg(line)
            .arg(&task.name)
            .args(args)
            .current_dir(&dir)
            .envs(
                dotenv
                    .iter()
                    .filter(|(k, _)| std::env::var_os(k).is_none())
                    .map(|(k, v)| (k, v)),
            )
            .envs(task.env.set.iter().map(|(k, v)| (k, v)))
            .envs(params.iter().map(|(k, v)| (k, v)));
        if let Some(file) = stdout.as_ref().and_then(|f| f.try_clone().ok()) {
            command.stdout(file);
        }
        let spawn_error = |source| TaskError::Spawn {
            line: line.clone(),
            source,
        };
        // `sh` forks its commands, and a backgrounded one ignores SIGINT: the
        // line runs in a process group of its own, which the group guard
        // signals as a whole on a timeout or Ctrl-C.
        let group = Group::spawn(&mut command).map_err(spawn_error)?;
        let pid = group.pid;
        // Waits for `sh` to exit without reaping it: until the guard reaps
        // it, its pid (and so the group's id) cannot be reused.
        let exited = tokio::task::spawn_blocking(move || wait_exited(pid)).await;
        if let Ok(Err(error)) | Err(error) = exited.map_err(std::io::Error::other) {
            return Err(spawn_error(error));
        }
        let (status, interrupted_at_terminal) = group.finish().map_err(spawn_error)?;
        if interrupted_at_terminal {
            // Ctrl-C went to the line's group, which had the terminal: the
            // runner did not see it, so it interrupts itself, as if it had.
            // SAFETY: kill(2) on our own pid has no memory effects.
            unsafe { libc::kill(libc::getpid(), libc::SIGINT) };
            return Err(TaskError::Interrupted);
        }
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

/// The task's `dir`, checked again now that it exists: the parser kept it
/// inside the project as written, and a symlink must not lead it out.
fn working_dir(task: &Task, root: &Path) -> Result<std::path::PathBuf, TaskError> {
    let Some(dir) = &task.dir else {
        return Ok(root.to_path_buf());
    };
    let fail = |why: String| TaskError::Host(format!("`dir` {}: {why}", dir.display()));
    let real = dir.canonicalize().map_err(|e| fail(e.to_string()))?;
    let real_root = root.canonicalize().map_err(|e| fail(e.to_string()))?;
    if !real.starts_with(&real_root) {
        return Err(fail(format!(
            "resolves to {}, outside the project {}",
            real.display(),
            real_root.display()
        )));
    }
    Ok(real)
}

/// How long a cancelled line's group has between SIGTERM and SIGKILL.
pub const GRACE: Duration = Duration::from_secs(2);

/// Whether some line's group has the terminal: one at a time.
static TERMINAL_TAKEN: AtomicBool = AtomicBool::new(false);

/// A line's process group, with `sh` as its leader. Dropped before `finish`
/// (a timeout, Ctrl-C, a stopped run), it sends SIGTERM to the group, gives
/// the leader [`GRACE`] to exit, then SIGKILLs the group and reaps the leader.
/// The leader is reaped only after the last signal, so the group id always
/// names this group: nothing already reaped is ever signalled.
struct Group {
    pid: i32,
    child: Option<std::process::Child>,
    /// The group was handed the terminal, to be taken back.
    terminal: bool,
}

impl Group {
    fn spawn(command: &mut std::process::Command) -> std::io::Result<Group> {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
        // An interactive line keeps the terminal (it may read from it, and
        // Ctrl-C goes to it), if the runner has it and no other line does.
        let terminal = owns_terminal()
            && TERMINAL_TAKEN
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_ok();
        if terminal {
            // SAFETY: only async-signal-safe calls between fork and exec.
            // The group is made here too: std may make it after this hook.
            unsafe {
                command.pre_exec(|| {
                    libc::setpgid(0, 0);
                    // Without the terminal the line still runs (as it would
                    // in the background), rather than not at all.
                    let _ = give_terminal_to(libc::getpid());
                    Ok(())
                })
            };
        }
        match command.spawn() {
            Ok(child) => Ok(Group {
                pid: child.id() as i32,
                child: Some(child),
                terminal,
            }),
            Err(error) => {
                if terminal {
                    TERMINAL_TAKEN.store(false, Ordering::Release);
                }
                Err(error)
            }
        }
    }

    /// After the leader exited: kills what it left running in its group,
    /// takes the terminal back and reaps the leader. Also says whether the
    /// leader died of a Ctrl-C typed while the group had the terminal.
    fn finish(mut self) -> std::io::Result<(std::process::ExitStatus, bool)> {
        use std::os::unix::process::ExitStatusExt;
        self.signal(libc::SIGKILL);
        let terminal = self.release_terminal();
        let status = self.child.take().expect("not finished yet").wait()?;
        Ok((status, terminal && status.signal() == Some(libc::SIGINT)))
    }

    fn signal(&self, signal: i32) {
        // SAFETY: kill(2) has no memory effects; the leader is not reaped yet.
        unsafe { libc::kill(-self.pid, signal) };
    }

    fn release_terminal(&mut self) -> bool {
        if !std::mem::take(&mut self.terminal) {
            return false;
        }
        // SAFETY: getpgrp has no preconditions.
        let _ = give_terminal_to(unsafe { libc::getpgrp() });
        TERMINAL_TAKEN.store(false, Ordering::Release);
        true
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        self.signal(libc::SIGTERM);
        let deadline = Instant::now() + GRACE;
        while Instant::now() < deadline && !matches!(exited_now(self.pid), Ok(true) | Err(_)) {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.signal(libc::SIGKILL);
        self.release_terminal();
        let _ = child.wait();
    }
}

/// Blocks until child `pid` has exited, leaving it unreaped.
fn wait_exited(pid: i32) -> std::io::Result<()> {
    loop {
        match waitid(pid, 0) {
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other.map(|_| ()),
        }
    }
}

/// Whether child `pid` has exited, leaving it unreaped.
fn exited_now(pid: i32) -> std::io::Result<bool> {
    waitid(pid, libc::WNOHANG)
}

fn waitid(pid: i32, flags: i32) -> std::io::Result<bool> {
    // SAFETY: `info` is a valid, zeroed siginfo_t that waitid fills in.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let id = pid as libc::id_t;
    let done = unsafe {
        libc::waitid(
            libc::P_PID,
            id,
            &mut info,
            libc::WEXITED | libc::WNOWAIT | flags,
        )
    };
    if done == -1 {
        return Err(std::io::Error::last_os_error());
    }
    // With WNOHANG and nothing exited yet, the pid field stays zero.
    // SAFETY: waitid filled `info` in.
    Ok(unsafe { info.si_pid() } != 0)
}

/// The runner's stdin is a terminal whose foreground group is the runner's.
fn owns_terminal() -> bool {
    // SAFETY: isatty, tcgetpgrp and getpgrp have no memory effects.
    unsafe { libc::isatty(0) == 1 && libc::tcgetpgrp(0) == libc::getpgrp() }
}

/// Makes `group` the terminal's foreground group. The caller may be in a
/// background group, which would be stopped by SIGTTOU: it is blocked meanwhile.
fn give_terminal_to(group: libc::pid_t) -> std::io::Result<()> {
    // SAFETY: sigset manipulation on local values; tcsetpgrp on fd 0.
    unsafe {
        let mut block: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut block);
        libc::sigaddset(&mut block, libc::SIGTTOU);
        libc::pthread_sigmask(libc::SIG_BLOCK, &block, &mut old);
        let result = libc::tcsetpgrp(0, group);
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        if result == -1 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
