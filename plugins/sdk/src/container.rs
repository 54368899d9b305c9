//! The containers a task's `allow.containers` names, through the container
//! engine. Until the runner's engine backend lands every call fails with
//! [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported).
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
    /// created, running, paused, restarting, exited or dead.
    pub state: String,
    /// Its labels, as (key, value).
    pub labels: Vec<(String, String)>,
}

/// A command to run in a container with [`exec`].
///
/// ```
/// use run_plugin_sdk::container::ExecRequest;
/// let req = ExecRequest::new(["psql", "-c", "select 1"]).user("postgres").env("PGDATABASE", "shop");
/// assert_eq!(req.command[0], "psql");
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
    /// A granted file streamed to the command's stdin.
    pub stdin_file: Option<String>,
    /// A granted file that receives stdout; otherwise stdout is returned.
    pub stdout_file: Option<String>,
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

    /// Writes the command's stdout to the granted file at `path`.
    ///
    /// ```
    /// let req = run_plugin_sdk::container::ExecRequest::new(["pg_dump"]).stdout_file("out/dump.sql");
    /// assert_eq!(req.stdout_file.as_deref(), Some("out/dump.sql"));
    /// ```
    pub fn stdout_file(mut self, path: impl Into<String>) -> Self {
        self.stdout_file = Some(path.into());
        self
    }
}

/// What an [`exec`] did.
///
/// ```no_run
/// # use run_plugin_sdk::container::{exec, ExecRequest};
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let out = exec("db", &ExecRequest::new(["pg_isready"]))?;
/// println!("exit {}: {}", out.exit_code, String::from_utf8_lossy(&out.stdout));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecResult {
    /// The command's exit code.
    pub exit_code: i64,
    /// Captured stdout, empty when it went to a `stdout_file`.
    pub stdout: Vec<u8>,
    /// Captured stderr.
    pub stderr: Vec<u8>,
}

/// Containers matching a name, glob, `label=key=value` or `project=name`.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let all = run_plugin_sdk::container::list("*")?;
/// # Ok(()) }
/// ```
pub fn list(filter: &str) -> Result<Vec<ContainerSummary>, Error> {
    let found = wit::list(filter).map_err(error)?;
    Ok(found
        .into_iter()
        .map(|c| ContainerSummary {
            id: c.id,
            name: c.name,
            image: c.image,
            state: c.state,
            labels: c.labels,
        })
        .collect())
}

/// The engine's inspect document for `name`.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let doc = run_plugin_sdk::container::inspect("db")?;
/// println!("{}", doc["State"]["Status"]);
/// # Ok(()) }
/// ```
pub fn inspect(name: &str) -> Result<serde_json::Value, Error> {
    let text = wit::inspect(name).map_err(error)?;
    serde_json::from_str(&text).map_err(|e| {
        Error::failed(format!(
            "the engine's inspect document for `{name}` is not JSON: {e}"
        ))
    })
}

/// Runs a command in container `name`.
///
/// ```no_run
/// # use run_plugin_sdk::container::{exec, ExecRequest};
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let out = exec("db", &ExecRequest::new(["pg_isready"]))?;
/// # Ok(()) }
/// ```
pub fn exec(name: &str, request: &ExecRequest) -> Result<ExecResult, Error> {
    let request = wit::ExecRequest {
        command: request.command.clone(),
        user: request.user.clone(),
        env: request.env.clone(),
        workdir: request.workdir.clone(),
        stdin_file: request.stdin_file.clone(),
        stdout_file: request.stdout_file.clone(),
    };
    let result = wit::exec(name, &request).map_err(error)?;
    Ok(ExecResult {
        exit_code: result.exit_code,
        stdout: result.stdout,
        stderr: result.stderr,
    })
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

/// Stops container `name`, killing it after `timeout_seconds` (the engine's
/// default when absent).
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// run_plugin_sdk::container::stop("db", Some(10))?;
/// # Ok(()) }
/// ```
pub fn stop(name: &str, timeout_seconds: Option<u32>) -> Result<(), Error> {
    wit::stop(name, timeout_seconds).map_err(error)
}

/// Restarts container `name`.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// run_plugin_sdk::container::restart("web")?;
/// # Ok(()) }
/// ```
pub fn restart(name: &str) -> Result<(), Error> {
    wit::restart(name).map_err(error)
}

/// Sends `signal` (the engine's default, usually SIGKILL, when absent) to
/// container `name`.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// run_plugin_sdk::container::kill("web", Some("SIGHUP"))?;
/// # Ok(()) }
/// ```
pub fn kill(name: &str, signal: Option<&str>) -> Result<(), Error> {
    wit::kill(name, signal).map_err(error)
}

/// Pauses container `name`.
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

/// Waits until container `name`'s health check passes, failing after
/// `timeout_seconds`.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// run_plugin_sdk::container::wait_healthy("db", 30)?;
/// # Ok(()) }
/// ```
pub fn wait_healthy(name: &str, timeout_seconds: u32) -> Result<(), Error> {
    wit::wait_healthy(name, timeout_seconds).map_err(error)
}

/// The last `tail` lines of container `name`'s logs.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// print!("{}", run_plugin_sdk::container::logs("web", 50)?);
/// # Ok(()) }
/// ```
pub fn logs(name: &str, tail: u32) -> Result<String, Error> {
    wit::logs(name, tail).map_err(error)
}

/// The host's messages already name the container or call concerned.
fn error(e: ContainerError) -> Error {
    match e {
        ContainerError::Unsupported(m) => Error::unsupported(m),
        ContainerError::Denied(m) => Error::denied(m),
        ContainerError::NotFound(m) => Error::not_found(m),
        ContainerError::Engine(m) => Error::failed(format!("container engine: {m}")),
    }
}
