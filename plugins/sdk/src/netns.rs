//! Commands in a granted container's network namespace, run by a short-lived
//! helper container (tc, iptables, ...) that joins it with NET_ADMIN only.
//! The helper image must be granted in `allow.images`.
//!
//! ```no_run
//! use run_plugin_sdk::netns;
//! # fn main() -> Result<(), run_plugin_sdk::Error> {
//! let out = netns::run("db", "run-test/chaos-helper:latest", ["tc", "qdisc", "show"], None)?;
//! println!("{}", out.output);
//! # Ok(()) }
//! ```

use crate::__private::bindings::runner::plugin::container as wit;
use crate::Error;
use crate::container::error;

/// What a helper did.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let out = run_plugin_sdk::netns::run("db", "helper:1", ["true"], Some(10))?;
/// assert_eq!(out.exit_code, 0);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The helper container's name.
    pub helper: String,
    /// Its exit code (0 for a detached helper).
    pub exit_code: i64,
    /// Its stdout and stderr (the last 64 KiB).
    pub output: String,
}

impl From<wit::NetnsResult> for Outcome {
    fn from(r: wit::NetnsResult) -> Self {
        Self {
            helper: r.helper,
            exit_code: r.exit_code,
            output: r.output,
        }
    }
}

fn request(
    image: &str,
    command: Vec<String>,
    detach: bool,
    timeout: Option<u32>,
) -> wit::NetnsRequest {
    wit::NetnsRequest {
        image: image.to_owned(),
        command,
        detach,
        timeout_seconds: timeout,
    }
}

/// Runs `command` in a helper sharing `target`'s network namespace, waits for
/// it (at most `timeout_seconds`, default 60) and removes it.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// run_plugin_sdk::netns::run("db", "helper:1", ["iptables", "-S"], None)?;
/// # Ok(()) }
/// ```
pub fn run(
    target: &str,
    image: &str,
    command: impl IntoIterator<Item = impl Into<String>>,
    timeout_seconds: Option<u32>,
) -> Result<Outcome, Error> {
    let command = command.into_iter().map(Into::into).collect();
    wit::netns_run(target, &request(image, command, false, timeout_seconds))
        .map(Into::into)
        .map_err(error)
}

/// Starts a long-lived helper (e.g. a proxy) in `target`'s namespace and
/// returns its name; end it with [`remove`].
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let helper = run_plugin_sdk::netns::spawn("db", "helper:1", ["sleep", "60"])?;
/// run_plugin_sdk::netns::remove(&helper)?;
/// # Ok(()) }
/// ```
pub fn spawn(
    target: &str,
    image: &str,
    command: impl IntoIterator<Item = impl Into<String>>,
) -> Result<String, Error> {
    let command = command.into_iter().map(Into::into).collect();
    wit::netns_run(target, &request(image, command, true, None))
        .map(|r| r.helper)
        .map_err(error)
}

/// Removes a helper made by [`run`] or [`spawn`].
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// run_plugin_sdk::netns::remove("run-netns-db-1-2-0")?;
/// # Ok(()) }
/// ```
pub fn remove(helper: &str) -> Result<(), Error> {
    wit::netns_remove(helper).map_err(error)
}

/// The helpers that exist for `target` (e.g. left behind by a killed runner).
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// for helper in run_plugin_sdk::netns::helpers("db")? {
///     run_plugin_sdk::netns::remove(&helper)?;
/// }
/// # Ok(()) }
/// ```
pub fn helpers(target: &str) -> Result<Vec<String>, Error> {
    wit::netns_helpers(target).map_err(error)
}
