//! Whole stacks through the container engine: create containers from a full
//! spec, networks, named volumes, image pulls, host port checks and the
//! engine's facts (the calls the built-in `quickstart` plugin is made of).
//!
//! Each call checks the task's grants first: container names against
//! `allow.containers`, images against `allow.images`, networks against
//! `allow.networks`, volumes against `allow.volumes` and published host ports
//! against `allow.ports`. Anything else is
//! [`ErrorKind::Denied`](crate::ErrorKind::Denied), naming what was refused.
//!
//! ```no_run
//! use run_plugin_sdk::{container, stack};
//! # fn main() -> Result<(), run_plugin_sdk::Error> {
//! stack::network_create("demo-default", &[])?;
//! if !stack::image_present("busybox:latest")? {
//!     stack::image_pull("busybox:latest", 300)?;
//! }
//! let mut spec = stack::ContainerSpec::new("demo-web", "busybox:latest");
//! spec.command = Some(vec!["httpd".into(), "-f".into()]);
//! spec.networks.push(stack::NetworkAttachment::new("demo-default", ["web"]));
//! stack::create_container(&spec)?;
//! container::start("demo-web")?;
//! # Ok(()) }
//! ```

use crate::__private::bindings::runner::plugin::container as wit;
use crate::Error;
use crate::container::{Mount, PortBinding, error};

/// A network a container joins, with the names it is reachable by there.
///
/// ```
/// let n = run_plugin_sdk::stack::NetworkAttachment::new("demo-default", ["db"]);
/// assert_eq!(n.aliases, ["db"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkAttachment {
    /// The network's name.
    pub network: String,
    /// Extra names the container answers to on this network.
    pub aliases: Vec<String>,
}

impl NetworkAttachment {
    /// Joins `network` with `aliases`.
    ///
    /// ```
    /// let n = run_plugin_sdk::stack::NetworkAttachment::new("net", ["a", "b"]);
    /// assert_eq!(n.network, "net");
    /// ```
    pub fn new(
        network: impl Into<String>,
        aliases: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            network: network.into(),
            aliases: aliases.into_iter().map(Into::into).collect(),
        }
    }
}

/// A container health check, as the engine takes it.
///
/// ```
/// let h = run_plugin_sdk::stack::HealthSpec {
///     test: vec!["CMD-SHELL".into(), "pg_isready".into()],
///     interval_ms: Some(1000),
///     ..Default::default()
/// };
/// assert_eq!(h.retries, None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthSpec {
    /// `["CMD", ...]`, `["CMD-SHELL", "..."]` or `["NONE"]`.
    pub test: Vec<String>,
    /// Time between checks.
    pub interval_ms: Option<u64>,
    /// Time a check may take.
    pub timeout_ms: Option<u64>,
    /// Failures in a row before the container is unhealthy.
    pub retries: Option<u32>,
    /// Time after start during which failures do not count.
    pub start_period_ms: Option<u64>,
}

/// A container to create (not start) with [`create_container`].
///
/// ```
/// let spec = run_plugin_sdk::stack::ContainerSpec::new("demo-db", "postgres:16");
/// assert!(spec.ports.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerSpec {
    /// Its name (granted by `allow.containers`).
    pub name: String,
    /// Its image (granted by `allow.images`, present locally).
    pub image: String,
    /// Overrides the image's entrypoint.
    pub entrypoint: Option<Vec<String>>,
    /// Overrides the image's command.
    pub command: Option<Vec<String>>,
    /// Environment variables.
    pub env: Vec<(String, String)>,
    /// Labels.
    pub labels: Vec<(String, String)>,
    /// Ports; published host ports must be in `allow.ports`.
    pub ports: Vec<PortBinding>,
    /// Named volumes (`allow.volumes`), bind mounts of granted directories, tmpfs.
    pub mounts: Vec<Mount>,
    /// Networks to join (`allow.networks`); the first is the primary one.
    pub networks: Vec<NetworkAttachment>,
    /// A health check replacing the image's.
    pub healthcheck: Option<HealthSpec>,
    /// no, always, on-failure[:N] or unless-stopped.
    pub restart: Option<String>,
    /// The user to run as.
    pub user: Option<String>,
    /// The working directory.
    pub workdir: Option<String>,
}

impl ContainerSpec {
    /// A container `name` running `image` with the image's defaults.
    ///
    /// ```
    /// let spec = run_plugin_sdk::stack::ContainerSpec::new("a", "busybox");
    /// assert_eq!((spec.name.as_str(), spec.image.as_str()), ("a", "busybox"));
    /// ```
    pub fn new(name: impl Into<String>, image: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            image: image.into(),
            ..Default::default()
        }
    }
}

impl From<&ContainerSpec> for wit::ContainerSpec {
    fn from(s: &ContainerSpec) -> Self {
        Self {
            name: s.name.clone(),
            image: s.image.clone(),
            entrypoint: s.entrypoint.clone(),
            command: s.command.clone(),
            env: s.env.clone(),
            labels: s.labels.clone(),
            ports: s
                .ports
                .iter()
                .map(|p| wit::PortBinding {
                    container_port: p.container_port,
                    protocol: p.protocol.clone(),
                    host_ip: p.host_ip.clone(),
                    host_port: p.host_port,
                })
                .collect(),
            mounts: s
                .mounts
                .iter()
                .map(|m| wit::Mount {
                    kind: m.kind.clone(),
                    source: m.source.clone(),
                    destination: m.destination.clone(),
                    read_write: m.read_write,
                })
                .collect(),
            networks: s
                .networks
                .iter()
                .map(|n| wit::NetworkAttachment {
                    network: n.network.clone(),
                    aliases: n.aliases.clone(),
                })
                .collect(),
            healthcheck: s.healthcheck.as_ref().map(|h| wit::HealthSpec {
                test: h.test.clone(),
                interval_ms: h.interval_ms,
                timeout_ms: h.timeout_ms,
                retries: h.retries,
                start_period_ms: h.start_period_ms,
            }),
            restart: s.restart.clone(),
            user: s.user.clone(),
            workdir: s.workdir.clone(),
        }
    }
}

/// A granted network, as listed by [`network_list`].
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// for n in run_plugin_sdk::stack::network_list()? {
///     println!("{} ({})", n.name, n.driver);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSummary {
    /// The engine's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its driver (bridge, ...).
    pub driver: String,
    /// Its labels.
    pub labels: Vec<(String, String)>,
}

/// The engine and the space left for its data.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let info = run_plugin_sdk::stack::engine_info()?;
/// println!("Docker {} at {}", info.version, info.address);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineInfo {
    /// Where the engine is.
    pub address: String,
    /// Its version.
    pub version: String,
    /// Its API version.
    pub api_version: String,
    /// Its OS (linux).
    pub os: String,
    /// Its data directory.
    pub root_dir: String,
    /// Free bytes where it keeps data, when that is on this machine.
    pub free_bytes: Option<u64>,
}

/// Creates (does not start) a container from `spec`; returns its id.
///
/// ```no_run
/// use run_plugin_sdk::stack::{create_container, ContainerSpec};
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let id = create_container(&ContainerSpec::new("demo-job", "busybox"))?;
/// # Ok(()) }
/// ```
pub fn create_container(spec: &ContainerSpec) -> Result<String, Error> {
    wit::create_container(&spec.into()).map_err(error)
}

/// Creates a bridge network unless it exists; true when it was created.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// run_plugin_sdk::stack::network_create("demo-default", &[("project".into(), "demo".into())])?;
/// # Ok(()) }
/// ```
pub fn network_create(name: &str, labels: &[(String, String)]) -> Result<bool, Error> {
    wit::network_create(name, labels).map_err(error)
}

/// Networks granted by `allow.networks`.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let networks = run_plugin_sdk::stack::network_list()?;
/// # Ok(()) }
/// ```
pub fn network_list() -> Result<Vec<NetworkSummary>, Error> {
    Ok(wit::network_list()
        .map_err(error)?
        .into_iter()
        .map(|n| NetworkSummary {
            id: n.id,
            name: n.name,
            driver: n.driver,
            labels: n.labels,
        })
        .collect())
}

/// Removes a network; its containers must be gone.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// run_plugin_sdk::stack::network_remove("demo-default")?;
/// # Ok(()) }
/// ```
pub fn network_remove(name: &str) -> Result<(), Error> {
    wit::network_remove(name).map_err(error)
}

/// Creates a named volume unless it exists; true when it was created.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// run_plugin_sdk::stack::volume_create("demo-pgdata", &[])?;
/// # Ok(()) }
/// ```
pub fn volume_create(name: &str, labels: &[(String, String)]) -> Result<bool, Error> {
    wit::volume_create(name, labels).map_err(error)
}

/// Removes a named volume; no container may use it.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// run_plugin_sdk::stack::volume_remove("demo-pgdata")?;
/// # Ok(()) }
/// ```
pub fn volume_remove(name: &str) -> Result<(), Error> {
    wit::volume_remove(name).map_err(error)
}

/// Whether a granted image is present locally.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let here = run_plugin_sdk::stack::image_present("busybox:latest")?;
/// # Ok(()) }
/// ```
pub fn image_present(image: &str) -> Result<bool, Error> {
    wit::image_present(image).map_err(error)
}

/// Pulls a granted image (progress goes to the log), within `timeout_seconds`.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// run_plugin_sdk::stack::image_pull("busybox:latest", 300)?;
/// # Ok(()) }
/// ```
pub fn image_pull(image: &str, timeout_seconds: u32) -> Result<(), Error> {
    wit::image_pull(image, timeout_seconds).map_err(error)
}

/// Whether granted host `port` is free on `host_ip` (all addresses when absent).
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// if !run_plugin_sdk::stack::host_port_free(None, 8080, "tcp")? {
///     println!("port 8080 is taken");
/// }
/// # Ok(()) }
/// ```
pub fn host_port_free(host_ip: Option<&str>, port: u16, protocol: &str) -> Result<bool, Error> {
    wit::host_port_free(host_ip, port, protocol).map_err(error)
}

/// The engine's version and free space.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let info = run_plugin_sdk::stack::engine_info()?;
/// # Ok(()) }
/// ```
pub fn engine_info() -> Result<EngineInfo, Error> {
    let i = wit::engine_info().map_err(error)?;
    Ok(EngineInfo {
        address: i.address,
        version: i.version,
        api_version: i.api_version,
        os: i.os,
        root_dir: i.root_dir,
        free_bytes: i.free_bytes,
    })
}
