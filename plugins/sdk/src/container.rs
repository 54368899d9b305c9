//! The containers, volumes and images a task's `allow.containers` reaches,
//! through the container engine (Docker or Podman).
//!
//! Every call checks the grant first: an ungranted container is
//! [`ErrorKind::Denied`](crate::ErrorKind::Denied) with a message naming it.
//! Large data never passes through plugin memory: exec output, archives,
//! volume snapshots and image exports stream between the engine and files in
//! the task's granted directories, compressed and hashed by the host.
//!
//! ```no_run
//! use run_plugin_sdk::container;
//! # fn main() -> Result<(), run_plugin_sdk::Error> {
//! for c in container::list("project=shop")? {
//!     println!("{} is {}", c.name, c.state);
//! }
//! # Ok(()) }
//! ```

use crate::__private::bindings::runner::plugin::container::{self as wit, ContainerError};
use crate::Error;

/// How a file written or read by the host is compressed.
///
/// ```
/// use run_plugin_sdk::container::Compression;
/// assert_eq!(Compression::default(), Compression::None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Compression {
    /// The bytes as they are.
    #[default]
    None,
    /// Zstandard, compressed or decompressed by the host while streaming.
    Zstd,
}

impl From<Compression> for wit::Compression {
    fn from(c: Compression) -> Self {
        match c {
            Compression::None => wit::Compression::None,
            Compression::Zstd => wit::Compression::Zstd,
        }
    }
}

/// A file the host wrote: its size on disk and sha256, computed while streaming.
///
/// ```no_run
/// use run_plugin_sdk::container::{self, Compression};
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let info = container::volume_snapshot("pgdata", "backups/pgdata.tar.zst", Compression::Zstd)?;
/// println!("{} bytes, sha256 {}", info.bytes, info.sha256);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// The file's size on disk (after compression).
    pub bytes: u64,
    /// The sha256 of the file on disk, lowercase hex.
    pub sha256: String,
}

impl From<wit::FileInfo> for FileInfo {
    fn from(f: wit::FileInfo) -> Self {
        Self {
            bytes: f.bytes,
            sha256: f.sha256,
        }
    }
}

/// A published port of a container.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// for p in run_plugin_sdk::container::inspect("db")?.ports {
///     println!("{}/{} -> {:?}", p.container_port, p.protocol, p.host_port);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortBinding {
    /// The port inside the container.
    pub container_port: u16,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
    /// The host address it is published on, if published.
    pub host_ip: Option<String>,
    /// The host port it is published on, if published.
    pub host_port: Option<u16>,
}

impl From<wit::PortBinding> for PortBinding {
    fn from(p: wit::PortBinding) -> Self {
        Self {
            container_port: p.container_port,
            protocol: p.protocol,
            host_ip: p.host_ip,
            host_port: p.host_port,
        }
    }
}

/// A volume, bind mount or tmpfs of a container.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let volumes: Vec<String> = run_plugin_sdk::container::inspect("db")?
///     .mounts
///     .into_iter()
///     .filter(|m| m.kind == "volume")
///     .map(|m| m.source)
///     .collect();
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// `volume`, `bind` or `tmpfs`.
    pub kind: String,
    /// The volume name, or the host path of a bind mount.
    pub source: String,
    /// Where it is mounted in the container.
    pub destination: String,
    /// Whether the container may write to it.
    pub read_write: bool,
}

impl From<wit::Mount> for Mount {
    fn from(m: wit::Mount) -> Self {
        Self {
            kind: m.kind,
            source: m.source,
            destination: m.destination,
            read_write: m.read_write,
        }
    }
}

/// One container, as listed by [`list`].
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let running = run_plugin_sdk::container::list("*")?
///     .into_iter()
///     .filter(|c| c.state == "running")
///     .count();
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSummary {
    /// The engine's id.
    pub id: String,
    /// The container's name.
    pub name: String,
    /// The image it runs.
    pub image: String,
    /// created, running, paused, restarting, removing, exited or dead.
    pub state: String,
    /// The engine's human status, e.g. "Up 5 minutes (healthy)".
    pub status: String,
    /// Its labels, as (key, value).
    pub labels: Vec<(String, String)>,
    /// Its ports.
    pub ports: Vec<PortBinding>,
}

impl From<wit::ContainerSummary> for ContainerSummary {
    fn from(c: wit::ContainerSummary) -> Self {
        Self {
            id: c.id,
            name: c.name,
            image: c.image,
            state: c.state,
            status: c.status,
            labels: c.labels,
            ports: c.ports.into_iter().map(Into::into).collect(),
        }
    }
}

/// One run of a container's health check.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// if let Some(last) = run_plugin_sdk::container::inspect("db")?.health.log.last() {
///     println!("exit {}: {}", last.exit_code, last.output);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    /// The check's exit code (0 is healthy).
    pub exit_code: i64,
    /// What the check printed.
    pub output: String,
}

/// A container's health.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let health = run_plugin_sdk::container::inspect("db")?.health;
/// println!("{} ({} failing)", health.status, health.failing_streak);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// `none` (no health check), `starting`, `healthy` or `unhealthy`.
    pub status: String,
    /// Consecutive failed checks.
    pub failing_streak: u32,
    /// The last checks, oldest first.
    pub log: Vec<HealthCheck>,
}

impl From<wit::Health> for Health {
    fn from(h: wit::Health) -> Self {
        Self {
            status: h.status,
            failing_streak: h.failing_streak,
            log: h
                .log
                .into_iter()
                .map(|c| HealthCheck {
                    exit_code: c.exit_code,
                    output: c.output,
                })
                .collect(),
        }
    }
}

/// A container in detail, from [`inspect`].
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let db = run_plugin_sdk::container::inspect("db")?;
/// println!("{} runs {} ({})", db.name, db.image, db.state);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerDetails {
    /// The engine's id.
    pub id: String,
    /// The container's name.
    pub name: String,
    /// The image as configured (e.g. `postgres:16`).
    pub image: String,
    /// The image's id (`sha256:…`).
    pub image_id: String,
    /// created, running, paused, restarting, removing, exited or dead.
    pub state: String,
    /// Whether it is running (also true while paused).
    pub running: bool,
    /// Whether it is paused.
    pub paused: bool,
    /// The last exit code.
    pub exit_code: i64,
    /// When it last started (RFC 3339).
    pub started_at: String,
    /// Its health check's state.
    pub health: Health,
    /// Its ports.
    pub ports: Vec<PortBinding>,
    /// Its volumes, bind mounts and tmpfs.
    pub mounts: Vec<Mount>,
    /// Its labels, as (key, value).
    pub labels: Vec<(String, String)>,
    /// The engine's whole inspect document (JSON); see [`raw_json`](Self::raw_json).
    pub raw: String,
}

impl ContainerDetails {
    /// The engine's whole inspect document, for anything the fields lack.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// let doc = run_plugin_sdk::container::inspect("db")?.raw_json()?;
    /// println!("{}", doc["Config"]["Hostname"]);
    /// # Ok(()) }
    /// ```
    pub fn raw_json(&self) -> Result<serde_json::Value, Error> {
        parse_json(&self.raw, &format!("inspect document for `{}`", self.name))
    }
}

impl From<wit::ContainerDetails> for ContainerDetails {
    fn from(d: wit::ContainerDetails) -> Self {
        Self {
            id: d.id,
            name: d.name,
            image: d.image,
            image_id: d.image_id,
            state: d.state,
            running: d.running,
            paused: d.paused,
            exit_code: d.exit_code,
            started_at: d.started_at,
            health: d.health.into(),
            ports: d.ports.into_iter().map(Into::into).collect(),
            mounts: d.mounts.into_iter().map(Into::into).collect(),
            labels: d.labels,
            raw: d.raw,
        }
    }
}

/// A command to run in a container with [`exec`].
///
/// ```
/// use run_plugin_sdk::container::{Compression, ExecRequest};
/// let req = ExecRequest::new(["pg_dumpall", "-U", "postgres"])
///     .user("postgres")
///     .env("PGCONNECT_TIMEOUT", "5")
///     .stdout_file("backups/.dump.sql.zst.partial")
///     .stdout_compression(Compression::Zstd)
///     .timeout_seconds(3600);
/// assert_eq!(req.command[0], "pg_dumpall");
/// assert_eq!(req.stdout_compression, Compression::Zstd);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecRequest {
    /// The program and its arguments.
    pub command: Vec<String>,
    /// The user to run as; the container's default when absent.
    pub user: Option<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// The working directory; the container's default when absent.
    pub workdir: Option<String>,
    /// A file in a granted directory streamed to the command's stdin.
    pub stdin_file: Option<String>,
    /// How `stdin_file` is compressed (the host decompresses it).
    pub stdin_compression: Compression,
    /// A file in a write-granted directory that receives stdout (created or
    /// truncated); without it stdout is captured (up to 1 MiB).
    pub stdout_file: Option<String>,
    /// How the host compresses stdout into `stdout_file`.
    pub stdout_compression: Compression,
    /// Stop waiting after this many seconds (the command may go on in the container).
    pub timeout_seconds: Option<u32>,
}

impl ExecRequest {
    /// Runs `command` (program first) with the container's defaults.
    ///
    /// ```
    /// let req = run_plugin_sdk::container::ExecRequest::new(["ls", "-l"]);
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
    /// let req = run_plugin_sdk::container::ExecRequest::new(["id"]).user("root");
    /// assert_eq!(req.user.as_deref(), Some("root"));
    /// ```
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Adds an environment variable.
    ///
    /// ```
    /// let req = run_plugin_sdk::container::ExecRequest::new(["env"]).env("A", "1");
    /// assert_eq!(req.env, [("A".to_string(), "1".to_string())]);
    /// ```
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Runs in `dir` inside the container.
    ///
    /// ```
    /// let req = run_plugin_sdk::container::ExecRequest::new(["ls"]).workdir("/app");
    /// assert_eq!(req.workdir.as_deref(), Some("/app"));
    /// ```
    pub fn workdir(mut self, dir: impl Into<String>) -> Self {
        self.workdir = Some(dir.into());
        self
    }

    /// Streams the granted file at `path` to the command's stdin.
    ///
    /// ```
    /// let req = run_plugin_sdk::container::ExecRequest::new(["psql"]).stdin_file("db/seed.sql");
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
    /// use run_plugin_sdk::container::{Compression, ExecRequest};
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
    /// capturing it.
    ///
    /// ```
    /// let req = run_plugin_sdk::container::ExecRequest::new(["pg_dump"]).stdout_file("out/dump.sql");
    /// assert_eq!(req.stdout_file.as_deref(), Some("out/dump.sql"));
    /// ```
    pub fn stdout_file(mut self, path: impl Into<String>) -> Self {
        self.stdout_file = Some(path.into());
        self
    }

    /// Has the host compress stdout into the [`stdout_file`](Self::stdout_file).
    ///
    /// ```
    /// use run_plugin_sdk::container::{Compression, ExecRequest};
    /// let req = ExecRequest::new(["pg_dump"])
    ///     .stdout_file("out/dump.sql.zst")
    ///     .stdout_compression(Compression::Zstd);
    /// assert_eq!(req.stdout_compression, Compression::Zstd);
    /// ```
    pub fn stdout_compression(mut self, compression: Compression) -> Self {
        self.stdout_compression = compression;
        self
    }

    /// Stops waiting for the command after `seconds`.
    ///
    /// ```
    /// let req = run_plugin_sdk::container::ExecRequest::new(["sleep", "9"]).timeout_seconds(5);
    /// assert_eq!(req.timeout_seconds, Some(5));
    /// ```
    pub fn timeout_seconds(mut self, seconds: u32) -> Self {
        self.timeout_seconds = Some(seconds);
        self
    }
}

impl From<&ExecRequest> for wit::ExecRequest {
    fn from(r: &ExecRequest) -> Self {
        Self {
            command: r.command.clone(),
            user: r.user.clone(),
            env: r.env.clone(),
            workdir: r.workdir.clone(),
            stdin_file: r.stdin_file.clone(),
            stdin_compression: r.stdin_compression.into(),
            stdout_file: r.stdout_file.clone(),
            stdout_compression: r.stdout_compression.into(),
            timeout_seconds: r.timeout_seconds,
        }
    }
}

/// What an [`exec`] did.
///
/// ```no_run
/// # use run_plugin_sdk::container::{exec, ExecRequest};
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let out = exec("db", &ExecRequest::new(["pg_isready"]))?;
/// if !out.success() {
///     eprintln!("exit {}: {}", out.exit_code, out.stderr_text());
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecResult {
    /// The command's exit code.
    pub exit_code: i64,
    /// Captured stdout (at most 1 MiB); empty when it went to a `stdout_file`.
    pub stdout: Vec<u8>,
    /// The last 64 KiB of stderr.
    pub stderr: Vec<u8>,
    /// Bytes the command wrote to stdout, before compression.
    pub stdout_bytes: u64,
    /// The last 4 KiB of stdout, before compression (to check completion markers).
    pub stdout_tail: Vec<u8>,
    /// The file written for `stdout_file`.
    pub file: Option<FileInfo>,
}

impl ExecResult {
    /// Whether the command exited with 0.
    ///
    /// ```no_run
    /// # use run_plugin_sdk::container::{exec, ExecRequest};
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// let ready = exec("db", &ExecRequest::new(["pg_isready"]))?.success();
    /// # Ok(()) }
    /// ```
    pub fn success(&self) -> bool {
        self.exit_code == 0
    }

    /// Captured stdout as text (invalid UTF-8 replaced).
    ///
    /// ```no_run
    /// # use run_plugin_sdk::container::{exec, ExecRequest};
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// let version = exec("db", &ExecRequest::new(["postgres", "--version"]))?.stdout_text();
    /// # Ok(()) }
    /// ```
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// The end of stderr as text, trimmed (invalid UTF-8 replaced).
    ///
    /// ```no_run
    /// # use run_plugin_sdk::container::{exec, ExecRequest};
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// let out = exec("db", &ExecRequest::new(["false"]))?;
    /// println!("{}", out.stderr_text());
    /// # Ok(()) }
    /// ```
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).trim().to_owned()
    }
}

impl From<wit::ExecResult> for ExecResult {
    fn from(r: wit::ExecResult) -> Self {
        Self {
            exit_code: r.exit_code,
            stdout: r.stdout,
            stderr: r.stderr,
            stdout_bytes: r.stdout_bytes,
            stdout_tail: r.stdout_tail,
            file: r.file.map(Into::into),
        }
    }
}

/// A throwaway container to [`create`] and start, e.g. to restore a backup
/// into and check it. Its name must be granted by `allow.containers` (a glob
/// such as `db-verify-*` works), and its image must be one a granted
/// container already uses: nothing is pulled.
///
/// ```no_run
/// use run_plugin_sdk::container::{self, CreateRequest};
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let image = container::inspect("db")?.image;
/// let request = CreateRequest::new("db-verify-1", image).env("POSTGRES_PASSWORD", "secret");
/// container::create(&request)?;
/// container::wait_healthy("db-verify-1", 120)?;
/// container::remove("db-verify-1")?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateRequest {
    /// The new container's name.
    pub name: String,
    /// The image it runs (used by a granted container).
    pub image: String,
    /// Its environment variables.
    pub env: Vec<(String, String)>,
    /// Overrides the image's command; the image's own when absent.
    pub command: Option<Vec<String>>,
}

impl CreateRequest {
    /// Container `name` running `image` with its default command and no
    /// extra environment.
    ///
    /// ```
    /// let req = run_plugin_sdk::container::CreateRequest::new("db-verify-1", "postgres:16");
    /// assert_eq!((req.name.as_str(), req.image.as_str()), ("db-verify-1", "postgres:16"));
    /// assert_eq!(req.command, None);
    /// ```
    pub fn new(name: impl Into<String>, image: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            image: image.into(),
            ..Self::default()
        }
    }

    /// Adds an environment variable.
    ///
    /// ```
    /// let req = run_plugin_sdk::container::CreateRequest::new("c", "i").env("A", "1");
    /// assert_eq!(req.env, [("A".to_string(), "1".to_string())]);
    /// ```
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Runs `command` (program first) instead of the image's command.
    ///
    /// ```
    /// let req = run_plugin_sdk::container::CreateRequest::new("c", "busybox").command(["sleep", "60"]);
    /// assert_eq!(req.command, Some(vec!["sleep".to_string(), "60".to_string()]));
    /// ```
    pub fn command(mut self, command: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.command = Some(command.into_iter().map(Into::into).collect());
        self
    }
}

impl From<&CreateRequest> for wit::CreateRequest {
    fn from(r: &CreateRequest) -> Self {
        Self {
            name: r.name.clone(),
            image: r.image.clone(),
            env: r.env.clone(),
            command: r.command.clone(),
        }
    }
}

/// A volume mounted by granted containers, from [`volume_list`].
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// for v in run_plugin_sdk::container::volume_list()? {
///     println!("{} used by {}", v.name, v.used_by.join(", "));
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeSummary {
    /// The volume's name.
    pub name: String,
    /// Its driver, usually `local`.
    pub driver: String,
    /// Its labels, as (key, value).
    pub labels: Vec<(String, String)>,
    /// Granted containers that mount it.
    pub used_by: Vec<String>,
}

/// An image used by granted containers, from [`image_list`].
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// for i in run_plugin_sdk::container::image_list()? {
///     println!("{} {:?} {} bytes", i.id, i.tags, i.size);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSummary {
    /// The image's id (`sha256:…`).
    pub id: String,
    /// Its tags (`repo:tag`).
    pub tags: Vec<String>,
    /// Its size in bytes.
    pub size: u64,
    /// When it was built, in Unix seconds.
    pub created: i64,
}

/// Granted containers matching `filter`: `*` (all granted), a name or glob,
/// `label=KEY=VALUE`, or `project=NAME` (a Compose project).
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let all = run_plugin_sdk::container::list("*")?;
/// # Ok(()) }
/// ```
pub fn list(filter: &str) -> Result<Vec<ContainerSummary>, Error> {
    let found = wit::list(filter).map_err(error)?;
    Ok(found.into_iter().map(Into::into).collect())
}

/// Container `name` in detail.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let db = run_plugin_sdk::container::inspect("db")?;
/// if !db.running {
///     println!("{} is {}", db.name, db.state);
/// }
/// # Ok(()) }
/// ```
pub fn inspect(name: &str) -> Result<ContainerDetails, Error> {
    wit::inspect(name).map(Into::into).map_err(error)
}

/// Runs a command in running container `name` (no TTY). A non-zero exit is
/// not an error: check [`ExecResult::exit_code`].
///
/// ```no_run
/// use run_plugin_sdk::container::{exec, Compression, ExecRequest};
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let dump = ExecRequest::new(["pg_dumpall", "-U", "postgres"])
///     .stdout_file("backups/all.sql.zst")
///     .stdout_compression(Compression::Zstd);
/// let out = exec("db", &dump)?;
/// println!("{} bytes dumped", out.stdout_bytes);
/// # Ok(()) }
/// ```
pub fn exec(name: &str, request: &ExecRequest) -> Result<ExecResult, Error> {
    wit::exec(name, &request.into())
        .map(Into::into)
        .map_err(error)
}

/// Runs a command like [`exec`], but a non-zero exit is an error too. `what`
/// names the step for people (``restoring all.sql.zst into container `db` ``);
/// both failures read `WHAT failed: …`, an exit with the program, its code
/// and its stderr.
///
/// ```no_run
/// use run_plugin_sdk::container::{exec_ok, ExecRequest};
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let request = ExecRequest::new(["psql", "-U", "postgres", "-c", "SELECT 1"]);
/// exec_ok("db", &request, "checking the server in container `db`")?;
/// # Ok(()) }
/// ```
pub fn exec_ok(name: &str, request: &ExecRequest, what: &str) -> Result<ExecResult, Error> {
    let result = exec(name, request)
        .map_err(|e| Error::new(e.kind(), format!("{what} failed: {}", e.message())))?;
    if !result.success() {
        let program = request
            .command
            .first()
            .map_or("the command", String::as_str);
        let stderr = result.stderr_text();
        let stderr = stderr.trim();
        return Err(Error::failed(format!(
            "{what} failed: {program} exited with {}: {}",
            result.exit_code,
            if stderr.is_empty() {
                "no message"
            } else {
                stderr
            }
        )));
    }
    Ok(result)
}

/// Starts container `name`.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// run_plugin_sdk::container::start("db")?;
/// # Ok(()) }
/// ```
pub fn start(name: &str) -> Result<(), Error> {
    wit::start(name).map_err(error)
}

/// Stops container `name` with SIGTERM, then SIGKILL after `timeout_seconds`
/// (10 when absent).
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// run_plugin_sdk::container::stop("db", Some(30))?;
/// # Ok(()) }
/// ```
pub fn stop(name: &str, timeout_seconds: Option<u32>) -> Result<(), Error> {
    wit::stop(name, timeout_seconds).map_err(error)
}

/// Restarts container `name`, killing it after `timeout_seconds` (10 when
/// absent) if it does not stop.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// run_plugin_sdk::container::restart("web", None)?;
/// # Ok(()) }
/// ```
pub fn restart(name: &str, timeout_seconds: Option<u32>) -> Result<(), Error> {
    wit::restart(name, timeout_seconds).map_err(error)
}

/// Sends `signal` (SIGKILL when absent) to container `name`.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// run_plugin_sdk::container::kill("web", Some("SIGHUP"))?;
/// # Ok(()) }
/// ```
pub fn kill(name: &str, signal: Option<&str>) -> Result<(), Error> {
    wit::kill(name, signal).map_err(error)
}

/// Pauses (freezes) container `name`.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// run_plugin_sdk::container::pause("worker")?;
/// # Ok(()) }
/// ```
pub fn pause(name: &str) -> Result<(), Error> {
    wit::pause(name).map_err(error)
}

/// Unpauses container `name`.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// run_plugin_sdk::container::unpause("worker")?;
/// # Ok(()) }
/// ```
pub fn unpause(name: &str) -> Result<(), Error> {
    wit::unpause(name).map_err(error)
}

/// Waits until container `name` is healthy (or running, without a health
/// check); fails with its last health-check output when it turns unhealthy
/// or after `timeout_seconds`.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let health = run_plugin_sdk::container::wait_healthy("db", 60)?;
/// println!("db is {}", health.status);
/// # Ok(()) }
/// ```
pub fn wait_healthy(name: &str, timeout_seconds: u32) -> Result<Health, Error> {
    wit::wait_healthy(name, timeout_seconds)
        .map(Into::into)
        .map_err(error)
}

/// The last `tail` lines of container `name`'s stdout and stderr.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// print!("{}", run_plugin_sdk::container::logs("web", 50)?);
/// # Ok(()) }
/// ```
pub fn logs(name: &str, tail: u32) -> Result<String, Error> {
    wit::logs(name, tail).map_err(error)
}

/// Writes `path` from container `name` as a tar stream into the granted `file`.
///
/// ```no_run
/// use run_plugin_sdk::container::{copy_out, Compression};
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let info = copy_out("web", "/etc/nginx", "out/nginx.tar.zst", Compression::Zstd)?;
/// # Ok(()) }
/// ```
pub fn copy_out(
    name: &str,
    path: &str,
    file: &str,
    compression: Compression,
) -> Result<FileInfo, Error> {
    wit::copy_out(name, path, file, compression.into())
        .map(Into::into)
        .map_err(error)
}

/// Extracts a tar stream from the granted `file` into `path` in container `name`.
///
/// ```no_run
/// use run_plugin_sdk::container::{copy_in, Compression};
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// copy_in("web", "/etc", "out/nginx.tar.zst", Compression::Zstd)?;
/// # Ok(()) }
/// ```
pub fn copy_in(name: &str, path: &str, file: &str, compression: Compression) -> Result<(), Error> {
    wit::copy_in(name, path, file, compression.into()).map_err(error)
}

/// Volumes mounted by granted containers.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let volumes = run_plugin_sdk::container::volume_list()?;
/// # Ok(()) }
/// ```
pub fn volume_list() -> Result<Vec<VolumeSummary>, Error> {
    let found = wit::volume_list().map_err(error)?;
    Ok(found
        .into_iter()
        .map(|v| VolumeSummary {
            name: v.name,
            driver: v.driver,
            labels: v.labels,
            used_by: v.used_by,
        })
        .collect())
}

/// Writes `volume`'s contents as a tar stream into the granted `file`.
///
/// ```no_run
/// use run_plugin_sdk::container::{volume_snapshot, Compression};
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let info = volume_snapshot("pgdata", "backups/pgdata.tar.zst", Compression::Zstd)?;
/// # Ok(()) }
/// ```
pub fn volume_snapshot(
    volume: &str,
    file: &str,
    compression: Compression,
) -> Result<FileInfo, Error> {
    wit::volume_snapshot(volume, file, compression.into())
        .map(Into::into)
        .map_err(error)
}

/// Replaces `volume`'s contents with a tar stream from the granted `file`.
/// Refused while a running container mounts the volume.
///
/// ```no_run
/// use run_plugin_sdk::container::{volume_restore, Compression};
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// volume_restore("pgdata", "backups/pgdata.tar.zst", Compression::Zstd)?;
/// # Ok(()) }
/// ```
pub fn volume_restore(volume: &str, file: &str, compression: Compression) -> Result<(), Error> {
    wit::volume_restore(volume, file, compression.into()).map_err(error)
}

/// Creates and starts the throwaway container described by `request`;
/// returns its id. Refused under `--dry-run`. Remove it with [`remove`]
/// when done, also after a failure.
///
/// ```no_run
/// use run_plugin_sdk::container::{self, CreateRequest};
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let request = CreateRequest::new("db-verify-1", "postgres:16").env("POSTGRES_PASSWORD", "x");
/// let id = container::create(&request)?;
/// println!("created {id}");
/// # Ok(()) }
/// ```
pub fn create(request: &CreateRequest) -> Result<String, Error> {
    wit::create(&request.into()).map_err(error)
}

/// Removes container `name` and its anonymous volumes, stopping it first.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// run_plugin_sdk::container::remove("db-verify-1")?;
/// # Ok(()) }
/// ```
pub fn remove(name: &str) -> Result<(), Error> {
    wit::remove(name).map_err(error)
}

/// Images used by granted containers.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let images = run_plugin_sdk::container::image_list()?;
/// # Ok(()) }
/// ```
pub fn image_list() -> Result<Vec<ImageSummary>, Error> {
    let found = wit::image_list().map_err(error)?;
    Ok(found
        .into_iter()
        .map(|i| ImageSummary {
            id: i.id,
            tags: i.tags,
            size: i.size,
            created: i.created,
        })
        .collect())
}

/// The engine's inspect document for `image`.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let doc = run_plugin_sdk::container::image_inspect("postgres:16")?;
/// println!("{}", doc["Architecture"]);
/// # Ok(()) }
/// ```
pub fn image_inspect(image: &str) -> Result<serde_json::Value, Error> {
    let text = wit::image_inspect(image).map_err(error)?;
    parse_json(&text, &format!("inspect document for image `{image}`"))
}

/// Writes `docker save IMAGE` into the granted `file`.
///
/// ```no_run
/// use run_plugin_sdk::container::{image_export, Compression};
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let info = image_export("postgres:16", "backups/postgres.tar.zst", Compression::Zstd)?;
/// # Ok(()) }
/// ```
pub fn image_export(image: &str, file: &str, compression: Compression) -> Result<FileInfo, Error> {
    wit::image_export(image, file, compression.into())
        .map(Into::into)
        .map_err(error)
}

fn parse_json(text: &str, what: &str) -> Result<serde_json::Value, Error> {
    serde_json::from_str(text)
        .map_err(|e| Error::failed(format!("the engine's {what} is not JSON: {e}")))
}

/// The host's messages already name the container, volume, file or call
/// concerned, so they pass through unchanged; only the kind is mapped.
pub(crate) fn error(e: ContainerError) -> Error {
    match e {
        ContainerError::Denied(m) => Error::denied(m),
        ContainerError::NotFound(m) => Error::not_found(m),
        ContainerError::Unsupported(m) => Error::unsupported(m),
        ContainerError::Engine(m) | ContainerError::Io(m) | ContainerError::Timeout(m) => {
            Error::failed(m)
        }
    }
}
