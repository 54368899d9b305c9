//! Commands in a granted container's network namespace, run by a short-lived
//! helper container (tc, iptables, ...) that joins it with NET_ADMIN only.
//! The helper image must be granted in `allow.images` and present locally.
//!
//! ```no_run
//! use run_plugin_sdk::{containers, network_faults};
//! # fn main() -> Result<(), run_plugin_sdk::Error> {
//! let db = containers::open("db")?;
//! let out = network_faults::run(&db, "run-test/chaos-helper:latest", ["tc", "qdisc", "show"], None)?;
//! println!("{}", out.output);
//! # Ok(()) }
//! ```

use crate::__private::bindings::runner::plugin::network_faults as wit;
pub use crate::__private::bindings::runner::plugin::network_faults::HelperResult;
use crate::Error;
use crate::containers::Container;

fn request(
    image: &str,
    command: impl IntoIterator<Item = impl Into<String>>,
    detach: bool,
    timeout_seconds: Option<u32>,
    tag: Option<&str>,
) -> wit::HelperRequest {
    wit::HelperRequest {
        image: image.to_owned(),
        command: command.into_iter().map(Into::into).collect(),
        detach,
        timeout_seconds,
        tag: tag.map(str::to_owned),
    }
}

/// Runs `command` in a helper sharing `target`'s network namespace, waits for
/// it (at most `timeout_seconds`, default 60) and removes it.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let db = run_plugin_sdk::containers::open("db")?;
/// let out = run_plugin_sdk::network_faults::run(&db, "helper:1", ["iptables", "-S"], None)?;
/// assert_eq!(out.exit_code, 0);
/// # Ok(()) }
/// ```
pub fn run(
    target: &Container,
    image: &str,
    command: impl IntoIterator<Item = impl Into<String>>,
    timeout_seconds: Option<u32>,
) -> Result<HelperResult, Error> {
    let request = request(image, command, false, timeout_seconds, None);
    Ok(wit::run(target.handle(), &request)?)
}

/// [`run`] with a tag (1 to 16 lowercase letters and digits, e.g. the id of
/// the fault it makes) in the helper's name, `run-netns-<target>-<tag>-…`,
/// so [`tagged`] finds it again, e.g. after the runner was killed.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let db = run_plugin_sdk::containers::open("db")?;
/// run_plugin_sdk::network_faults::run_tagged(&db, "helper:1", ["tc", "qdisc", "show"], None, "f00d")?;
/// # Ok(()) }
/// ```
pub fn run_tagged(
    target: &Container,
    image: &str,
    command: impl IntoIterator<Item = impl Into<String>>,
    timeout_seconds: Option<u32>,
    tag: &str,
) -> Result<HelperResult, Error> {
    let request = request(image, command, false, timeout_seconds, Some(tag));
    Ok(wit::run(target.handle(), &request)?)
}

/// Starts a long-lived helper (e.g. a proxy) in `target`'s namespace and
/// returns its name; end it with [`remove`].
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let db = run_plugin_sdk::containers::open("db")?;
/// let helper = run_plugin_sdk::network_faults::spawn(&db, "helper:1", ["sleep", "60"])?;
/// run_plugin_sdk::network_faults::remove(&helper)?;
/// # Ok(()) }
/// ```
pub fn spawn(
    target: &Container,
    image: &str,
    command: impl IntoIterator<Item = impl Into<String>>,
) -> Result<String, Error> {
    let request = request(image, command, true, None, None);
    Ok(wit::run(target.handle(), &request)?.helper)
}

/// [`spawn`] with a tag in the helper's name (see [`run_tagged`]).
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let db = run_plugin_sdk::containers::open("db")?;
/// let helper = run_plugin_sdk::network_faults::spawn_tagged(&db, "helper:1", ["sleep", "60"], "f00d")?;
/// # Ok(()) }
/// ```
pub fn spawn_tagged(
    target: &Container,
    image: &str,
    command: impl IntoIterator<Item = impl Into<String>>,
    tag: &str,
) -> Result<String, Error> {
    let request = request(image, command, true, None, Some(tag));
    Ok(wit::run(target.handle(), &request)?.helper)
}

/// The helpers of `target` run with `tag` (running or exited), by name.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let db = run_plugin_sdk::containers::open("db")?;
/// for helper in run_plugin_sdk::network_faults::tagged(&db, "f00d")? {
///     run_plugin_sdk::network_faults::remove(&helper)?;
/// }
/// # Ok(()) }
/// ```
pub fn tagged(target: &Container, tag: &str) -> Result<Vec<String>, Error> {
    let prefix = format!("{}-{tag}-", helper_prefix(target.name()));
    Ok(helpers(target)?
        .into_iter()
        .filter(|name| name.starts_with(&prefix))
        .collect())
}

/// `run-netns-<target>`, the start of the name of every helper of `target`
/// (the target's name cut to 100 characters).
fn helper_prefix(target: &str) -> String {
    let target: String = target.chars().take(100).collect();
    format!("run-netns-{target}")
}

/// Removes a helper of a granted container, running or not. Anything else is
/// refused as not found, whether it exists or not.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// run_plugin_sdk::network_faults::remove("run-netns-db-1-2-0")?;
/// # Ok(()) }
/// ```
pub fn remove(helper: &str) -> Result<(), Error> {
    Ok(wit::remove(helper)?)
}

/// The helpers that exist for `target` (e.g. left behind by a killed runner).
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let db = run_plugin_sdk::containers::open("db")?;
/// for helper in run_plugin_sdk::network_faults::helpers(&db)? {
///     run_plugin_sdk::network_faults::remove(&helper)?;
/// }
/// # Ok(()) }
/// ```
pub fn helpers(target: &Container) -> Result<Vec<String>, Error> {
    Ok(wit::helpers(target.handle())?)
}
