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
pub use crate::__private::bindings::runner::plugin::network_faults::{
    HelperResult, StressPlacement, StressRequest,
};
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

/// The helpers of `target` run with `tag` (running or exited; network and
/// stress helpers), by name.
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
    let prefixes = ["run-netns", "run-stress"]
        .map(|kind| format!("{}-{tag}-", helper_prefix(kind, target.name())));
    Ok(helpers(target)?
        .into_iter()
        .filter(|name| prefixes.iter().any(|p| name.starts_with(p)))
        .collect())
}

/// `run-netns-<target>` (`run-stress-<target>` for a stress helper), the
/// start of the name of every helper of `target` (the target's name cut to
/// 100 characters).
fn helper_prefix(kind: &str, target: &str) -> String {
    let target: String = target.chars().take(100).collect();
    format!("{kind}-{target}")
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

/// CPU and memory load (stress-ng) in a helper placed in `target`'s cgroup,
/// so it counts against the target's limits; the host resolves the cgroup
/// and writes the command from the request's numbers. Started detached:
/// end it with [`remove`] (it also ends by itself after the request's
/// timeout). Refused, with nothing made, where the engine cannot place it
/// (cgroup v2, the systemd driver, rootless) or the image lacks stress-ng.
///
/// ```no_run
/// use run_plugin_sdk::network_faults::{self, StressRequest};
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let db = run_plugin_sdk::containers::open("db")?;
/// let request = StressRequest {
///     image: "run-test/chaos-helper:latest".into(),
///     cpu_workers: 2,
///     cpu_load: 80,
///     memory_bytes: 256 << 20,
///     timeout_seconds: 35,
///     tag: "f00d".into(),
/// };
/// let placed = network_faults::stress(&db, &request)?;
/// println!("{} in {}: {}", placed.helper, placed.cgroup_parent, placed.command.join(" "));
/// network_faults::remove(&placed.helper)?;
/// # Ok(()) }
/// ```
pub fn stress(target: &Container, request: &StressRequest) -> Result<StressPlacement, Error> {
    wit::stress(target.handle(), request).map_err(stress_error)
}

/// Every check of [`stress`] (grants, the target's cgroup, the command),
/// starting nothing: what a plan shows.
///
/// ```no_run
/// # use run_plugin_sdk::network_faults::{self, StressRequest};
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// # let db = run_plugin_sdk::containers::open("db")?;
/// # let request = StressRequest { image: "h:1".into(), cpu_workers: 1, cpu_load: 100, memory_bytes: 0, timeout_seconds: 10, tag: "f00d".into() };
/// let placed = network_faults::plan_stress(&db, &request)?;
/// assert!(placed.helper.is_empty());
/// # Ok(()) }
/// ```
pub fn plan_stress(target: &Container, request: &StressRequest) -> Result<StressPlacement, Error> {
    wit::plan_stress(target.handle(), request).map_err(stress_error)
}

fn stress_error(error: wit::StressError) -> Error {
    match error {
        wit::StressError::Engine(e) => e.into(),
        wit::StressError::Unplaceable(u) => Error::unsupported(format!(
            "cannot place a stress helper in the cgroup of `{}`: {} ({}, cgroup driver `{}`, cgroup v{}{}); nothing was started",
            u.container,
            u.reason,
            u.engine,
            u.cgroup_driver,
            u.cgroup_version,
            if u.rootless { ", rootless" } else { "" }
        )),
        wit::StressError::NoStressNg(image) => Error::unsupported(format!(
            "the helper image `{image}` has no stress-ng: install Debian's stress-ng package in it \
             (tests/images/build.sh builds run-test/chaos-helper with it); nothing was left running"
        )),
    }
}
