//! `container.exec`: stdin streamed from a granted file, stdout into a granted
//! file (compressed and hashed on the way) or captured, the tail of stderr,
//! and the exit code read back once the output ends.
//!
//! A command that outlives its `timeout-seconds`, or whose call is dropped
//! (the task's timeout, Ctrl-C), is killed: the engine has no call to kill an
//! exec, so the host reads the command's process ID from the engine (exec
//! inspect), translates it to the container's PID namespace (a local
//! engine's `/proc/PID/status`), and runs `kill -KILL PID` in the container,
//! or `sh -c 'kill -KILL "$1"'` when the image has no `kill` program. When
//! neither exists in the image, or the engine is on another machine, the
//! command keeps running until it exits or the container stops, and the
//! timeout error says so.
//!
//! None of that runs when `run` itself is killed (SIGKILL, OOM, a lost
//! terminal): the engine keeps an exec running after the connection that
//! started it is gone. So a command fed no stdin file runs under a
//! watchdog, [`WATCHDOG`], when the container has `sh`: the command gets
//! `/dev/null` as stdin as before, while the watchdog holds the exec's
//! attached stdin, which the host keeps open until the output ends. When the
//! connection closes early, for whatever reason, the engine closes that
//! stdin and the watchdog kills the command: that works on a remote engine
//! too. Commands fed a stdin file see it end instead (psql then stops at the
//! end of what it was given).

use std::sync::Arc;
use std::time::Duration;

use bollard::models::ExecConfig;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::ContainerHandle;
use crate::capability::engine::backend::{Engine, EngineError, ExecChunk};
use crate::capability::engine::ids::{ContainerId, ExecId};
use crate::capability::engine::limits::{self, CALL_LIMIT};
use crate::capability::engine::stream::{self, FileSink, Head, Tail};
use crate::capability::engine::{HostError, HostResult, Scope};
use crate::capability::paths;
use crate::plugin::bindings::containers::{ExecRequest, ExecResult};
use crate::plugin::bindings::engine_types::Compression;

/// Captured stdout is for small outputs; large ones go to a file.
pub const CAPTURE_LIMIT: usize = 1 << 20;
pub const STDERR_TAIL: usize = 64 << 10;
pub const STDOUT_TAIL: usize = 4 << 10;

/// The watchdog, run as `sh -c WATCHDOG sh COMMAND...`: the command runs in
/// the background with `/dev/null` as stdin; a background reader holds the
/// exec's stdin (saved in fd 3: a background job's own stdin is `/dev/null`)
/// and, when it ends, kills the command's processes, leaves first, each
/// reaped by its parent before that parent is killed. Nothing may be
/// orphaned: a container's PID 1 adopts orphans, and PostgreSQL as PID 1
/// takes any child it reaps that died by a signal for a crashed backend and
/// restarts. For the same reason the shell reaps the reader before it exits
/// with the command's status (quietly: the command's stderr is not the
/// place for "Terminated").
pub const WATCHDOG: &str = r#"exec 3<&0
"$@" </dev/null 3<&- &
child=$!
{
  stop() {
    local k= n i=0
    for f in /proc/[0-9]*/stat; do
      read -r l <"$f" 2>/dev/null || continue
      p=${l##*) }
      p=${p#* }
      [ "${p%% *}" = "$1" ] && k="$k ${l%% *}"
    done
    for n in $k; do stop "$n"; done
    kill -KILL "$1" 2>/dev/null
    while [ -d "/proc/$1" ] && [ "$i" -lt 100 ]; do
      sleep 0.1 2>/dev/null || sleep 1
      i=$((i + 1))
    done
  }
  while read -r _; do :; done
  stop "$child"
} <&3 >/dev/null 2>&1 &
watcher=$!
exec 3<&-
wait "$child"
status=$?
exec 2>/dev/null
kill "$watcher"
wait "$watcher"
exit "$status""#;

/// How a command on a remote engine sees the end of its stdin file, run as
/// `sh -c BOUNDED sh LENGTH COMMAND...`: `head` passes on exactly the
/// file's (decompressed) length and then closes the command's stdin. The
/// exec's own stdin is never half-closed there: a proxy or load balancer on
/// the way may take a half-close for the end of the whole connection, and
/// the engine, its output then cut off, reports exit code 126 for a command
/// that succeeded (and loses the rest of its output). The exit code is the
/// command's; a missing `head` is exit code 127 and says so, rather than
/// feeding the command nothing.
pub const BOUNDED: &str = r#"command -v head >/dev/null 2>&1 || { echo "feeding a file to a command on a remote engine needs \`head\` in the container" >&2; exit 127; }
n=$1
shift
head -c "$n" | "$@""#;

/// `sh -c BOUNDED sh LENGTH COMMAND...`
pub fn bounded_input(length: u64, command: Vec<String>) -> Vec<String> {
    let mut wrapped = vec![
        "sh".to_owned(),
        "-c".to_owned(),
        BOUNDED.to_owned(),
        "sh".to_owned(),
        length.to_string(),
    ];
    wrapped.extend(command);
    wrapped
}

/// The length of what `file` feeds a command: its size, or what it
/// decompresses to (read once through); the file is rewound.
async fn input_length(
    file: &mut tokio::fs::File,
    compression: Compression,
) -> std::io::Result<u64> {
    use tokio::io::AsyncSeekExt;
    let length = match compression {
        Compression::None => file.metadata().await?.len(),
        _ => {
            let copy = file.try_clone().await?;
            let mut reader = stream::reader(copy, compression);
            tokio::io::copy(&mut reader, &mut tokio::io::sink()).await?
        }
    };
    file.seek(std::io::SeekFrom::Start(0)).await?;
    Ok(length)
}

/// Asks whether a container has `sh` for [`WATCHDOG`].
pub const SHELL_PROBE: [&str; 3] = ["sh", "-c", "exit 0"];

/// Whether the container can run [`WATCHDOG`] (an image without a shell
/// cannot; its commands run as they are).
pub async fn has_shell(engine: &dyn Engine, container: &ContainerId) -> bool {
    let probe = SHELL_PROBE.iter().map(|s| (*s).to_owned()).collect();
    let answer = limits::within("looking for a shell", CALL_LIMIT, async {
        run_quietly(engine, container, probe, None).await
    })
    .await;
    match answer {
        Ok((0, _, _)) => true,
        Ok((code, _, _)) => {
            tracing::debug!(
                "container {} has no `sh` (exit {code}): its commands run without the watchdog",
                container.short()
            );
            false
        }
        Err(why) => {
            tracing::debug!("looking for `sh` in {}: {why}", container.short());
            false
        }
    }
}

/// `sh -c WATCHDOG sh COMMAND...`
pub fn under_watchdog(command: Vec<String>) -> Vec<String> {
    let mut wrapped = vec![
        "sh".to_owned(),
        "-c".to_owned(),
        WATCHDOG.to_owned(),
        "sh".to_owned(),
    ];
    wrapped.extend(command);
    wrapped
}

/// Kills the command if the exec call ends before the command did (dropped
/// by a timeout or Ctrl-C, or failed half-way).
struct KillOnDrop {
    engine: Arc<dyn Engine>,
    container: ContainerId,
    exec: Option<ExecId>,
}

impl KillOnDrop {
    fn disarm(&mut self) {
        self.exec = None;
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let Some(exec) = self.exec.take() else {
            return;
        };
        let (engine, container) = (self.engine.clone(), self.container.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(why) = kill_exec(engine.as_ref(), &container, &exec).await {
                    tracing::warn!(
                        "an abandoned exec in container {}: {why}",
                        container.short()
                    );
                }
            });
        }
    }
}

/// Kills an exec's process (see the module doc); Err says why it could not.
pub async fn kill_exec(
    engine: &dyn Engine,
    container: &ContainerId,
    exec: &ExecId,
) -> Result<(), String> {
    let pid = match engine.exec_pid_in_container(exec).await {
        Ok(Some(pid)) => pid,
        Ok(None) => {
            let running = engine
                .inspect_exec(exec)
                .await
                .map(|i| i.running == Some(true))
                .unwrap_or(true);
            return if running {
                Err(format!(
                    "the host cannot see the command's process (the engine at {} is not on this machine, or runs in another PID namespace): it is left running until it exits or the container stops",
                    engine.address()
                ))
            } else {
                Ok(())
            };
        }
        Err(e) => return Err(e.to_string()),
    };
    let pid = pid.to_string();
    let attempts = [
        vec!["kill".to_owned(), "-KILL".to_owned(), pid.clone()],
        vec![
            "sh".to_owned(),
            "-c".to_owned(),
            "kill -KILL \"$1\"".to_owned(),
            "kill".to_owned(),
            pid.clone(),
        ],
    ];
    for command in attempts {
        let killed = limits::within("killing a command", CALL_LIMIT, async {
            let (code, _, _) = run_quietly(engine, container, command, Some("0".into())).await?;
            Ok(code == 0)
        })
        .await;
        if let Ok(true) = killed {
            return Ok(());
        }
    }
    Err(format!(
        "the image has no `kill` program and no shell with one: process {pid} is left running until it exits or the container stops"
    ))
}

/// Runs a short command of the host's own (no stdin), returning its exit
/// code, the start of its stdout and the tail of its stderr.
pub async fn run_quietly(
    engine: &dyn Engine,
    container: &ContainerId,
    command: Vec<String>,
    user: Option<String>,
) -> Result<(i64, Vec<u8>, Vec<u8>), EngineError> {
    let config = ExecConfig {
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(false),
        cmd: Some(command),
        user,
        ..Default::default()
    };
    let exec = engine.create_exec(container, config).await?;
    let mut session = engine.start_exec(&exec).await?;
    // No stdin is attached; the write half stays open until the output
    // ends, as a half-close may end the whole connection on its way.
    let _input = session.input;
    let (mut out, mut err) = (Head::new(STDOUT_TAIL), Tail::new(STDOUT_TAIL));
    while let Some(chunk) = session.output.next().await {
        match chunk? {
            ExecChunk::Stdout(bytes) => out.push(&bytes),
            ExecChunk::Stderr(bytes) => err.push(&bytes),
        }
    }
    let code = exit_code(engine, &exec).await?;
    Ok((code, out.bytes, err.into_bytes()))
}

/// The exit code, which can lag the end of the output by a moment.
async fn exit_code(engine: &dyn Engine, exec: &ExecId) -> Result<i64, EngineError> {
    limits::within("reading a command's exit code", CALL_LIMIT, async {
        loop {
            let inspect = engine.inspect_exec(exec).await?;
            if inspect.running != Some(true) {
                return Ok(inspect.exit_code.unwrap_or(-1));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

/// A stdin file's reader, and its length when the end travels in-band
/// ([`BOUNDED`]).
type StdinFile = (
    std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>>,
    Option<u64>,
);

/// Where stdout goes.
enum Stdout {
    Captured { head: Head, bytes: u64, tail: Tail },
    File { sink: Box<FileSink>, guest: String },
}

impl Scope {
    pub(super) async fn run_exec(
        &self,
        engine: Arc<dyn Engine>,
        target: &ContainerHandle,
        request: ExecRequest,
    ) -> HostResult<ExecResult> {
        if request.command.is_empty() {
            return Err(HostError::Unsupported(
                "container.exec needs a command".into(),
            ));
        }
        let stdin = match &request.stdin_file {
            Some(guest) => {
                let mut file = paths::open_read(&self.preopens, guest)
                    .await
                    .map_err(|e| self.path_error(e))?;
                // On a remote engine the end of the input travels in-band
                // (see BOUNDED), when the container has `sh`.
                let length = if !engine.is_local() && self.has_shell(engine.as_ref(), target).await
                {
                    Some(
                        input_length(&mut file, request.stdin_compression)
                            .await
                            .map_err(|e| HostError::io(guest, e))?,
                    )
                } else {
                    None
                };
                Some((stream::reader(file, request.stdin_compression), length))
            }
            None => None,
        };
        let stdout = match &request.stdout_file {
            Some(guest) => {
                let (file, new) = paths::create_write(&self.preopens, guest)
                    .await
                    .map_err(|e| self.path_error(e))?;
                Stdout::File {
                    sink: Box::new(FileSink::new(file, new, request.stdout_compression)),
                    guest: guest.clone(),
                }
            }
            None => Stdout::Captured {
                head: Head::new(CAPTURE_LIMIT),
                bytes: 0,
                tail: Tail::new(STDOUT_TAIL),
            },
        };
        // On an error the file sink is dropped, which removes its temporary file.
        // A command fed no stdin runs under the watchdog when it can, so it
        // stops when this run stops or dies; asked once the files are
        // checked, so a refused call reaches nothing.
        let watchdog = stdin.is_none() && self.has_shell(engine.as_ref(), target).await;
        self.exec_streams(engine, target, request, stdin, stdout, watchdog)
            .await
    }

    /// Whether `target` has `sh`, asked once per container and run.
    async fn has_shell(&self, engine: &dyn Engine, target: &ContainerHandle) -> bool {
        let known = self
            .shells
            .lock()
            .expect("not poisoned")
            .get(&target.id)
            .copied();
        if let Some(known) = known {
            return known;
        }
        let has = has_shell(engine, &target.id).await;
        self.shells
            .lock()
            .expect("not poisoned")
            .insert(target.id.clone(), has);
        has
    }

    async fn exec_streams(
        &self,
        engine: Arc<dyn Engine>,
        target: &ContainerHandle,
        request: ExecRequest,
        stdin: Option<StdinFile>,
        mut stdout: Stdout,
        watchdog: bool,
    ) -> HostResult<ExecResult> {
        let program = request.command[0].clone();
        let bounded = stdin.as_ref().and_then(|(_, length)| *length);
        let command = match bounded {
            _ if watchdog => under_watchdog(request.command),
            Some(length) => bounded_input(length, request.command),
            None => request.command,
        };
        let config = ExecConfig {
            attach_stdin: Some(stdin.is_some() || watchdog),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(false),
            cmd: Some(command),
            env: Some(
                request
                    .env
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect(),
            ),
            user: request.user,
            working_dir: request.workdir,
            ..Default::default()
        };
        let exec = engine
            .create_exec(&target.id, config)
            .await
            .map_err(|e| e.on(crate::grant::Object::Container, &target.name))?;
        // Under the watchdog the command is stopped by closing the exec's
        // connection, never by killing the shell: the shell must outlive
        // and reap what it started (see WATCHDOG).
        let mut guard = KillOnDrop {
            engine: engine.clone(),
            container: target.id.clone(),
            exec: (!watchdog).then(|| exec.clone()),
        };
        let session = engine.start_exec(&exec).await?;
        let (mut output, mut input) = (session.output, session.input);
        let mut stderr = Tail::new(STDERR_TAIL);
        let feed = async move {
            if watchdog {
                // The watchdog's lifeline: open until the output ends.
                let _lifeline = input;
                return std::future::pending::<()>().await;
            }
            if let Some((mut stdin, length)) = stdin {
                // A command that exits without reading all its input breaks the
                // pipe; its exit code is what reports that, not this copy.
                let _ = tokio::io::copy(&mut stdin, &mut input).await;
                if length.is_none() {
                    // The end of the input as a half-close: a unix socket
                    // passes it on to the command.
                    let _ = input.shutdown().await;
                }
            }
            // Keep the connection's write half until the output ends.
            std::future::pending::<()>().await;
        };
        let drain = async {
            while let Some(chunk) = output.next().await {
                match chunk? {
                    ExecChunk::Stdout(bytes) => match &mut stdout {
                        Stdout::File { sink, guest, .. } => sink
                            .write(&bytes)
                            .await
                            .map_err(|e| HostError::io(guest, e))?,
                        Stdout::Captured {
                            head,
                            bytes: n,
                            tail,
                        } => {
                            *n += bytes.len() as u64;
                            head.push(&bytes);
                            tail.push(&bytes);
                        }
                    },
                    ExecChunk::Stderr(bytes) => stderr.push(&bytes),
                }
            }
            Ok::<(), HostError>(())
        };
        let streams = async {
            tokio::select! {
                drained = drain => drained,
                () = feed => unreachable!("feeding stdin never ends on its own"),
            }
        };
        match request.timeout_seconds {
            Some(seconds) => {
                let limit = Duration::from_secs(seconds.into());
                let Ok(drained) = tokio::time::timeout(limit, streams).await else {
                    guard.disarm();
                    let outcome = if watchdog {
                        // Returning drops the connection; the watchdog kills it.
                        "it was killed".to_owned()
                    } else {
                        match kill_exec(engine.as_ref(), &target.id, &exec).await {
                            Ok(()) => "it was killed".to_owned(),
                            Err(why) => format!("it could not be killed: {why}"),
                        }
                    };
                    return Err(HostError::Timeout {
                        operation: format!(
                            "`{program}` in container `{}` ({outcome})",
                            target.name
                        ),
                        limit,
                    });
                };
                drained?;
            }
            None => streams.await?,
        }
        let code = exit_code(engine.as_ref(), &exec).await?;
        guard.disarm();
        let (stdout, stdout_bytes, stdout_tail, file) = match stdout {
            Stdout::Captured { head, bytes, tail } => (head.bytes, bytes, tail.into_bytes(), None),
            Stdout::File { sink, guest, .. } => {
                let written = sink.finish().await.map_err(|e| HostError::io(&guest, e))?;
                (
                    Vec::new(),
                    written.raw_bytes,
                    written.tail,
                    Some(written.info),
                )
            }
        };
        Ok(ExecResult {
            exit_code: code,
            stdout,
            stderr: stderr.into_bytes(),
            stdout_bytes,
            stdout_tail,
            file,
        })
    }
}
