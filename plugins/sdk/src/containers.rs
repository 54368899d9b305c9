//! The containers a task's `allow.containers` grants, as handles.
//!
//! [`open`] is the one checked lookup: the host checks the name against the
//! engine's grammar, resolves it to the container's ID and canonical name
//! (link aliases never count) and checks the grant against that name. A
//! [`Container`]'s methods then act on that ID. A refusal is an [`Error`]
//! naming what was refused and carrying the grant that would allow it.
//!
//! Large data never passes through plugin memory: exec output, archives and
//! copies stream between the engine and files in the task's granted
//! directories, compressed and hashed by the host.
//!
//! ```no_run
//! use run_plugin_sdk::containers::{self, ExecRequest, Filter};
//! # fn main() -> Result<(), run_plugin_sdk::Error> {
//! for c in containers::list(Filter::ComposeProject("shop".into()))? {
//!     println!("{} is {}", c.name, c.state);
//! }
//! let db = containers::open("db")?;
//! let out = db.exec(&ExecRequest::new(["pg_isready"]))?;
//! println!("{} answered {}", db.name(), out.exit_code);
//! # Ok(()) }
//! ```

use std::fmt;

use crate::__private::bindings::runner::plugin::containers as wit;
pub use crate::__private::bindings::runner::plugin::containers::{
    ContainerDetails, ContainerState, ContainerSummary, Endpoint, ExecRequest, ExecResult, Filter,
    Health, HealthCheck, HealthStatus, Mount, MountedBind, MountedVolume,
};
use crate::Error;
pub use crate::engine::{Compression, FileInfo, PortBinding, Protocol, Signal};

/// A granted container, opened by [`open`] (or made by
/// [`stacks::create_container`](crate::stacks::create_container)). Every
/// method acts on the container's ID: one removed and recreated under the
/// same name is not this one.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let web = run_plugin_sdk::containers::open("web")?;
/// web.restart(Some(10))?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Container {
    handle: wit::Container,
    name: String,
}

/// Opens a granted container by its name or ID (a unique ID prefix of at
/// least 12 hex digits also works).
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let db = run_plugin_sdk::containers::open("db")?;
/// assert_eq!(db.name(), "db");
/// # Ok(()) }
/// ```
pub fn open(name_or_id: &str) -> Result<Container, Error> {
    Ok(Container::from(wit::open(name_or_id)?))
}

/// The granted containers matching `filter`, sorted by name. A `&str` is read
/// as a person writes a filter (see [`Filter::parse`]).
///
/// ```no_run
/// use run_plugin_sdk::containers::{self, Filter};
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let all = containers::list(Filter::All)?;
/// let pg = containers::list("pg-*")?;
/// let db = containers::list("label=role=db")?;
/// # Ok(()) }
/// ```
pub fn list(filter: impl Into<Filter>) -> Result<Vec<ContainerSummary>, Error> {
    Ok(wit::list(&filter.into())?)
}

impl From<wit::Container> for Container {
    fn from(handle: wit::Container) -> Self {
        let name = handle.name();
        Self { handle, name }
    }
}

impl Container {
    /// The handle the host interfaces take (e.g. `network-faults`).
    pub(crate) fn handle(&self) -> &wit::Container {
        &self.handle
    }

    /// Its canonical name, without the engine's leading `/`.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// let db = run_plugin_sdk::containers::open("db")?;
    /// println!("opened {}", db.name());
    /// # Ok(()) }
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The engine's ID (64 hex digits).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// let id = run_plugin_sdk::containers::open("db")?.id();
    /// assert_eq!(id.len(), 64);
    /// # Ok(()) }
    /// ```
    pub fn id(&self) -> String {
        self.handle.id()
    }

    /// The container in detail.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// let db = run_plugin_sdk::containers::open("db")?.inspect()?;
    /// println!("{} runs {} ({})", db.name, db.image, db.state);
    /// # Ok(()) }
    /// ```
    pub fn inspect(&self) -> Result<ContainerDetails, Error> {
        Ok(self.handle.inspect()?)
    }

    /// Runs a command in the running container (no TTY). A non-zero exit is
    /// not an error: check [`ExecResult::exit_code`], or use
    /// [`exec_ok`](Self::exec_ok).
    ///
    /// ```no_run
    /// use run_plugin_sdk::containers::{self, Compression, ExecRequest};
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// let dump = ExecRequest::new(["pg_dumpall", "-U", "postgres"])
    ///     .stdout_file("backups/all.sql.zst")
    ///     .stdout_compression(Compression::Zstd);
    /// let out = containers::open("db")?.exec(&dump)?;
    /// println!("{} bytes dumped", out.stdout_bytes);
    /// # Ok(()) }
    /// ```
    pub fn exec(&self, request: &ExecRequest) -> Result<ExecResult, Error> {
        Ok(self.handle.exec(request)?)
    }

    /// Runs a command like [`exec`](Self::exec), but a non-zero exit is an
    /// error too. `what` names the step for people (``restoring all.sql.zst
    /// into container `db` ``); both failures read `WHAT failed: …`, an exit
    /// with the program, its code and its stderr.
    ///
    /// ```no_run
    /// use run_plugin_sdk::containers::{self, ExecRequest};
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// let check = ExecRequest::new(["psql", "-U", "postgres", "-c", "SELECT 1"]);
    /// containers::open("db")?.exec_ok(&check, "checking the server in container `db`")?;
    /// # Ok(()) }
    /// ```
    pub fn exec_ok(&self, request: &ExecRequest, what: &str) -> Result<ExecResult, Error> {
        let result = self
            .exec(request)
            .map_err(|e| e.context(format!("{what} failed")))?;
        if !result.success() {
            let program = request
                .command
                .first()
                .map_or("the command", String::as_str);
            let stderr = result.stderr_text();
            return Err(Error::failed(format!(
                "{what} failed: {program} exited with {}: {}",
                result.exit_code,
                if stderr.is_empty() {
                    "no message"
                } else {
                    &stderr
                }
            )));
        }
        Ok(result)
    }

    /// Starts it.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// run_plugin_sdk::containers::open("db")?.start()?;
    /// # Ok(()) }
    /// ```
    pub fn start(&self) -> Result<(), Error> {
        Ok(self.handle.start()?)
    }

    /// Stops it with its stop signal, then SIGKILL after `timeout_seconds`
    /// (the container's own when absent, else 10).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// run_plugin_sdk::containers::open("db")?.stop(Some(30))?;
    /// # Ok(()) }
    /// ```
    pub fn stop(&self, timeout_seconds: Option<u32>) -> Result<(), Error> {
        Ok(self.handle.stop(timeout_seconds)?)
    }

    /// Restarts it, killing it after `timeout_seconds` if it does not stop.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// run_plugin_sdk::containers::open("web")?.restart(None)?;
    /// # Ok(()) }
    /// ```
    pub fn restart(&self, timeout_seconds: Option<u32>) -> Result<(), Error> {
        Ok(self.handle.restart(timeout_seconds)?)
    }

    /// Sends `signal`.
    ///
    /// ```no_run
    /// use run_plugin_sdk::containers::{self, Signal};
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// containers::open("web")?.kill(Signal::Sighup)?;
    /// # Ok(()) }
    /// ```
    pub fn kill(&self, signal: Signal) -> Result<(), Error> {
        Ok(self.handle.kill(signal)?)
    }

    /// Pauses (freezes) it.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// run_plugin_sdk::containers::open("worker")?.pause()?;
    /// # Ok(()) }
    /// ```
    pub fn pause(&self) -> Result<(), Error> {
        Ok(self.handle.pause()?)
    }

    /// Unpauses it.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// run_plugin_sdk::containers::open("worker")?.unpause()?;
    /// # Ok(()) }
    /// ```
    pub fn unpause(&self) -> Result<(), Error> {
        Ok(self.handle.unpause()?)
    }

    /// Waits until it is healthy (or running, without a health check); fails
    /// with its last health-check output when it turns unhealthy, when it
    /// exits, or after `timeout_seconds`.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// let health = run_plugin_sdk::containers::open("db")?.wait_healthy(60)?;
    /// println!("db is {}", health.status);
    /// # Ok(()) }
    /// ```
    pub fn wait_healthy(&self, timeout_seconds: u32) -> Result<Health, Error> {
        Ok(self.handle.wait_healthy(timeout_seconds)?)
    }

    /// Its health now, as one look of [`wait_healthy`](Self::wait_healthy)
    /// takes it: where the engine leaves health checks to the runner
    /// (Podman without systemd), a check that is due by the container's own
    /// interval runs first. For a plugin that watches several containers
    /// at once; a container still starting, unhealthy or stopped is an
    /// answer here, not an error.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// use run_plugin_sdk::containers::HealthStatus;
    /// let db = run_plugin_sdk::containers::open("db")?;
    /// if db.poll_health()?.status == HealthStatus::Healthy {
    ///     println!("db is ready");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn poll_health(&self) -> Result<Health, Error> {
        use crate::__private::bindings::runner::plugin::engine_types::Error as EngineError;
        match self.handle.wait_healthy(0) {
            Ok(health) => Ok(health),
            // Not healthy yet, unhealthy or stopped: the state says which.
            Err(EngineError::Timeout(_) | EngineError::Conflict(_)) => Ok(self.inspect()?.health),
            Err(other) => Err(other.into()),
        }
    }

    /// The last `tail` lines of its stdout and stderr (at most 1 MiB).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// print!("{}", run_plugin_sdk::containers::open("web")?.logs(50)?);
    /// # Ok(()) }
    /// ```
    pub fn logs(&self, tail: u32) -> Result<String, Error> {
        Ok(self.handle.logs(tail)?)
    }

    /// Writes `path` from the container as a tar stream into the granted `file`.
    ///
    /// ```no_run
    /// use run_plugin_sdk::containers::{self, Compression};
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// let web = containers::open("web")?;
    /// let info = web.copy_out("/etc/nginx", "out/nginx.tar.zst", Compression::Zstd)?;
    /// # Ok(()) }
    /// ```
    pub fn copy_out(
        &self,
        path: &str,
        file: &str,
        compression: Compression,
    ) -> Result<FileInfo, Error> {
        Ok(self.handle.copy_out(path, file, compression)?)
    }

    /// Extracts a tar stream from the granted `file` into `path` in the container.
    ///
    /// ```no_run
    /// use run_plugin_sdk::containers::{self, Compression};
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// containers::open("web")?.copy_in("/etc", "out/nginx.tar.zst", Compression::Zstd)?;
    /// # Ok(()) }
    /// ```
    pub fn copy_in(&self, path: &str, file: &str, compression: Compression) -> Result<(), Error> {
        Ok(self.handle.copy_in(path, file, compression)?)
    }

    /// Removes it and its anonymous volumes, stopping it first.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// run_plugin_sdk::containers::open("db-verify-1")?.remove()?;
    /// # Ok(()) }
    /// ```
    pub fn remove(&self) -> Result<(), Error> {
        Ok(self.handle.remove()?)
    }
}

impl Filter {
    /// A filter as a person writes one (`--target` of `run chaos`): `*` is
    /// every granted container, `label=KEY=VALUE` a label, `project=NAME` a
    /// Compose project, anything else a name or glob.
    ///
    /// ```
    /// use run_plugin_sdk::containers::Filter;
    /// assert_eq!(Filter::parse("*"), Filter::All);
    /// assert_eq!(Filter::parse("pg-*"), Filter::Name("pg-*".into()));
    /// assert_eq!(Filter::parse("label=role=db"), Filter::Label(("role".into(), "db".into())));
    /// assert_eq!(Filter::parse("project=shop"), Filter::ComposeProject("shop".into()));
    /// ```
    pub fn parse(text: &str) -> Filter {
        if text == "*" {
            return Filter::All;
        }
        if let Some((key, value)) = text
            .strip_prefix("label=")
            .and_then(|label| label.split_once('='))
        {
            return Filter::Label((key.to_owned(), value.to_owned()));
        }
        match text.strip_prefix("project=") {
            Some(project) => Filter::ComposeProject(project.to_owned()),
            None => Filter::Name(text.to_owned()),
        }
    }
}

/// [`Filter::parse`].
///
/// ```
/// use run_plugin_sdk::containers::Filter;
/// assert_eq!(Filter::from("db"), Filter::Name("db".into()));
/// ```
impl From<&str> for Filter {
    fn from(text: &str) -> Self {
        Filter::parse(text)
    }
}

impl ContainerState {
    /// The engine's word for it: `running`, `exited`, ...
    ///
    /// ```
    /// use run_plugin_sdk::containers::ContainerState;
    /// assert_eq!(ContainerState::Exited.to_string(), "exited");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Restarting => "restarting",
            Self::Removing => "removing",
            Self::Exited => "exited",
            Self::Dead => "dead",
        }
    }

    /// Whether its processes exist: running, paused or restarting (the
    /// engine's `State.Running`). Only [`Running`](Self::Running) can exec.
    ///
    /// ```
    /// use run_plugin_sdk::containers::ContainerState;
    /// assert!(ContainerState::Paused.is_running());
    /// assert!(!ContainerState::Exited.is_running());
    /// ```
    pub fn is_running(self) -> bool {
        matches!(self, Self::Running | Self::Paused | Self::Restarting)
    }
}

impl fmt::Display for ContainerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl HealthStatus {
    /// `none` (no health check), `starting`, `healthy` or `unhealthy`.
    ///
    /// ```
    /// use run_plugin_sdk::containers::HealthStatus;
    /// assert_eq!(HealthStatus::Healthy.to_string(), "healthy");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Starting => "starting",
            Self::Healthy => "healthy",
            Self::Unhealthy => "unhealthy",
        }
    }
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ContainerDetails {
    /// The engine's whole inspect document, for anything the fields lack.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// let doc = run_plugin_sdk::containers::open("db")?.inspect()?.raw_json()?;
    /// println!("{}", doc["Config"]["Hostname"]);
    /// # Ok(()) }
    /// ```
    pub fn raw_json(&self) -> Result<serde_json::Value, Error> {
        serde_json::from_str(&self.raw).map_err(|e| {
            Error::failed(format!(
                "the engine's inspect document for container `{}` is not JSON: {e}",
                self.name
            ))
        })
    }
}

impl ExecRequest {
    /// Runs `command` (program first) with the container's defaults.
    ///
    /// ```
    /// let req = run_plugin_sdk::containers::ExecRequest::new(["ls", "-l"]);
    /// assert_eq!(req.command, ["ls", "-l"]);
    /// ```
    pub fn new(command: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            command: command.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// Runs as `user`.
    ///
    /// ```
    /// let req = run_plugin_sdk::containers::ExecRequest::new(["id"]).user("root");
    /// assert_eq!(req.user.as_deref(), Some("root"));
    /// ```
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Adds an environment variable.
    ///
    /// ```
    /// let req = run_plugin_sdk::containers::ExecRequest::new(["env"]).env("A", "1");
    /// assert_eq!(req.env, [("A".to_string(), "1".to_string())]);
    /// ```
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Runs in `dir` inside the container.
    ///
    /// ```
    /// let req = run_plugin_sdk::containers::ExecRequest::new(["ls"]).workdir("/app");
    /// assert_eq!(req.workdir.as_deref(), Some("/app"));
    /// ```
    pub fn workdir(mut self, dir: impl Into<String>) -> Self {
        self.workdir = Some(dir.into());
        self
    }

    /// Streams the granted file at `path` to the command's stdin.
    ///
    /// ```
    /// let req = run_plugin_sdk::containers::ExecRequest::new(["psql"]).stdin_file("db/seed.sql");
    /// assert_eq!(req.stdin_file.as_deref(), Some("db/seed.sql"));
    /// ```
    pub fn stdin_file(mut self, path: impl Into<String>) -> Self {
        self.stdin_file = Some(path.into());
        self
    }

    /// Says how the [`stdin_file`](Self::stdin_file) is compressed; the host
    /// decompresses it while streaming.
    ///
    /// ```
    /// use run_plugin_sdk::containers::{Compression, ExecRequest};
    /// let req = ExecRequest::new(["psql"])
    ///     .stdin_file("backups/db.sql.zst")
    ///     .stdin_compression(Compression::Zstd);
    /// assert_eq!(req.stdin_compression, Compression::Zstd);
    /// ```
    pub fn stdin_compression(mut self, compression: Compression) -> Self {
        self.stdin_compression = compression;
        self
    }

    /// Writes the command's stdout to the granted file at `path` instead of
    /// capturing it (removed if the call fails).
    ///
    /// ```
    /// let req = run_plugin_sdk::containers::ExecRequest::new(["pg_dump"]).stdout_file("out/dump.sql");
    /// assert_eq!(req.stdout_file.as_deref(), Some("out/dump.sql"));
    /// ```
    pub fn stdout_file(mut self, path: impl Into<String>) -> Self {
        self.stdout_file = Some(path.into());
        self
    }

    /// Has the host compress stdout into the [`stdout_file`](Self::stdout_file).
    ///
    /// ```
    /// use run_plugin_sdk::containers::{Compression, ExecRequest};
    /// let req = ExecRequest::new(["pg_dump"])
    ///     .stdout_file("out/dump.sql.zst")
    ///     .stdout_compression(Compression::Zstd);
    /// assert_eq!(req.stdout_compression, Compression::Zstd);
    /// ```
    pub fn stdout_compression(mut self, compression: Compression) -> Self {
        self.stdout_compression = compression;
        self
    }

    /// Stops waiting after `seconds`; the command is then killed.
    ///
    /// ```
    /// let req = run_plugin_sdk::containers::ExecRequest::new(["sleep", "9"]).timeout_seconds(5);
    /// assert_eq!(req.timeout_seconds, Some(5));
    /// ```
    pub fn timeout_seconds(mut self, seconds: u32) -> Self {
        self.timeout_seconds = Some(seconds);
        self
    }
}

impl ExecResult {
    /// Whether the command exited with 0.
    ///
    /// ```no_run
    /// # use run_plugin_sdk::containers::{self, ExecRequest};
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// let ready = containers::open("db")?.exec(&ExecRequest::new(["pg_isready"]))?.success();
    /// # Ok(()) }
    /// ```
    pub fn success(&self) -> bool {
        self.exit_code == 0
    }

    /// Captured stdout as text (invalid UTF-8 replaced).
    ///
    /// ```no_run
    /// # use run_plugin_sdk::containers::{self, ExecRequest};
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// let db = containers::open("db")?;
    /// let version = db.exec(&ExecRequest::new(["postgres", "--version"]))?.stdout_text();
    /// # Ok(()) }
    /// ```
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// The end of stderr as text, trimmed (invalid UTF-8 replaced).
    ///
    /// ```no_run
    /// # use run_plugin_sdk::containers::{self, ExecRequest};
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// let out = containers::open("db")?.exec(&ExecRequest::new(["false"]))?;
    /// println!("{}", out.stderr_text());
    /// # Ok(()) }
    /// ```
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).trim().to_owned()
    }
}
