//! Whole services, as Compose describes them: containers created from a full
//! spec, networks, host port checks and the engine's facts (what the built-in
//! `quickstart` plugin is made of).
//!
//! Every name is granted by its own key (`allow.containers`, `allow.images`,
//! `allow.networks`, `allow.volumes`, `allow.ports`), and every option that
//! widens what a container reaches on the host by its own explicit key
//! (`allow.cap-add`, `allow.namespaces`, `allow.devices`,
//! `allow.security-opts`, `allow.privileged`), denied by default.
//!
//! ```no_run
//! use run_plugin_sdk::{images, stacks};
//! use run_plugin_sdk::stacks::ContainerSpec;
//! # fn main() -> Result<(), run_plugin_sdk::Error> {
//! stacks::network_create("demo-default", &[])?;
//! if !images::present("busybox:latest")? {
//!     images::pull("busybox:latest", 300)?;
//! }
//! let spec = ContainerSpec::new("demo-web", "busybox:latest")
//!     .command(["httpd", "-f"])
//!     .network("demo-default", ["web"]);
//! stacks::create_container(&spec)?.start()?;
//! # Ok(()) }
//! ```

use std::str::FromStr;

use crate::__private::bindings::runner::plugin::stacks as wit;
pub use crate::__private::bindings::runner::plugin::stacks::{
    BindMount, ContainerSpec, Device, EngineFacts, HealthSpec, IpamPool, MountSpec, NamespaceMode,
    NetworkAttachment, NetworkMode, NetworkOptions, NetworkSummary, Resources, RestartPolicy,
    TmpfsMount, Ulimit, VolumeMount,
};
use crate::Error;
use crate::containers::Container;
pub use crate::engine::{PortBinding, Protocol, Signal};

impl ContainerSpec {
    /// Container `name` running `image` as the image says: no extra
    /// environment, labels, ports or mounts, the engine's default bridge, its
    /// own namespaces, no restart, no added capabilities. Set the fields (or
    /// use the builders) for anything else.
    ///
    /// ```
    /// use run_plugin_sdk::stacks::{ContainerSpec, NetworkMode, RestartPolicy};
    /// let spec = ContainerSpec::new("demo-db", "postgres:16");
    /// assert!(spec.ports.is_empty() && !spec.privileged);
    /// assert_eq!(spec.network_mode, NetworkMode::Networks(vec![]));
    /// assert_eq!(spec.restart, RestartPolicy::No);
    /// ```
    pub fn new(name: impl Into<String>, image: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            image: image.into(),
            entrypoint: None,
            command: None,
            env: Vec::new(),
            labels: Vec::new(),
            ports: Vec::new(),
            mounts: Vec::new(),
            network_mode: NetworkMode::Networks(Vec::new()),
            pid_mode: NamespaceMode::Private,
            ipc_mode: NamespaceMode::Private,
            hostname: None,
            domainname: None,
            healthcheck: None,
            restart: RestartPolicy::No,
            user: None,
            workdir: None,
            stop_signal: None,
            stop_grace_seconds: None,
            cap_add: Vec::new(),
            cap_drop: Vec::new(),
            security_opt: Vec::new(),
            privileged: false,
            read_only_rootfs: false,
            devices: Vec::new(),
            ulimits: Vec::new(),
            resources: Resources::default(),
            extra_hosts: Vec::new(),
            init: None,
            platform: None,
            sysctls: Vec::new(),
            runtime: None,
            mac_address: None,
        }
    }

    /// Runs `command` (program first) instead of the image's command.
    ///
    /// ```
    /// let spec = run_plugin_sdk::stacks::ContainerSpec::new("c", "busybox").command(["sleep", "60"]);
    /// assert_eq!(spec.command, Some(vec!["sleep".to_string(), "60".to_string()]));
    /// ```
    pub fn command(mut self, command: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.command = Some(command.into_iter().map(Into::into).collect());
        self
    }

    /// Adds an environment variable.
    ///
    /// ```
    /// let spec = run_plugin_sdk::stacks::ContainerSpec::new("c", "i").env("A", "1");
    /// assert_eq!(spec.env, [("A".to_string(), "1".to_string())]);
    /// ```
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Adds a label.
    ///
    /// ```
    /// let spec = run_plugin_sdk::stacks::ContainerSpec::new("c", "i").label("role", "db");
    /// assert_eq!(spec.labels, [("role".to_string(), "db".to_string())]);
    /// ```
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.push((key.into(), value.into()));
        self
    }

    /// Joins `network` (after those already joined), reachable there as `aliases`.
    ///
    /// ```
    /// use run_plugin_sdk::stacks::{ContainerSpec, NetworkMode};
    /// let spec = ContainerSpec::new("c", "i").network("demo-default", ["db"]);
    /// let NetworkMode::Networks(networks) = &spec.network_mode else { panic!() };
    /// assert_eq!((networks[0].network.as_str(), networks[0].aliases.as_slice()), ("demo-default", &["db".to_string()][..]));
    /// ```
    pub fn network(
        mut self,
        network: impl Into<String>,
        aliases: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        let attachment = NetworkAttachment {
            network: network.into(),
            aliases: aliases.into_iter().map(Into::into).collect(),
            ipv4_address: None,
            ipv6_address: None,
        };
        match &mut self.network_mode {
            NetworkMode::Networks(networks) => networks.push(attachment),
            other => *other = NetworkMode::Networks(vec![attachment]),
        }
        self
    }

    /// Adds a mount.
    ///
    /// ```
    /// use run_plugin_sdk::stacks::{ContainerSpec, MountSpec};
    /// let spec = ContainerSpec::new("c", "i").mount(MountSpec::Anonymous("/data".into()));
    /// assert_eq!(spec.mounts.len(), 1);
    /// ```
    pub fn mount(mut self, mount: MountSpec) -> Self {
        self.mounts.push(mount);
        self
    }
}

/// Compose's spelling: `no`, `always`, `on-failure`, `on-failure:N` or
/// `unless-stopped`.
///
/// ```
/// use run_plugin_sdk::stacks::RestartPolicy;
/// assert_eq!("on-failure:3".parse::<RestartPolicy>().unwrap(), RestartPolicy::OnFailure(Some(3)));
/// assert_eq!("always".parse::<RestartPolicy>().unwrap(), RestartPolicy::Always);
/// assert!("sometimes".parse::<RestartPolicy>().is_err());
/// ```
impl FromStr for RestartPolicy {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        let invalid = || {
            Error::invalid_input(format!(
                "restart policy `{text}`: use no, always, on-failure[:N] or unless-stopped"
            ))
        };
        Ok(match text {
            "no" => Self::No,
            "always" => Self::Always,
            "unless-stopped" => Self::UnlessStopped,
            "on-failure" => Self::OnFailure(None),
            other => match other.strip_prefix("on-failure:") {
                Some(n) => Self::OnFailure(Some(n.parse().map_err(|_| invalid())?)),
                None => return Err(invalid()),
            },
        })
    }
}

/// Creates (does not start) a container from `spec`.
///
/// ```no_run
/// use run_plugin_sdk::stacks::{self, ContainerSpec};
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let job = stacks::create_container(&ContainerSpec::new("demo-job", "busybox"))?;
/// job.start()?;
/// # Ok(()) }
/// ```
pub fn create_container(spec: &ContainerSpec) -> Result<Container, Error> {
    Ok(Container::from(wit::create_container(spec)?))
}

/// Runs every check [`create_container`] would run on `spec` and creates
/// nothing, so a whole stack is checked before anything changes; an image
/// not pulled yet and a network not created yet are no error here.
///
/// ```no_run
/// use run_plugin_sdk::stacks::{self, ContainerSpec};
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// stacks::check_container(&ContainerSpec::new("demo-web", "busybox:latest"))?;
/// # Ok(()) }
/// ```
pub fn check_container(spec: &ContainerSpec) -> Result<(), Error> {
    Ok(wit::check_container(spec)?)
}

/// Creates a bridge network unless it exists; true when it was created.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// run_plugin_sdk::stacks::network_create("demo-default", &[("project".into(), "demo".into())])?;
/// # Ok(()) }
/// ```
pub fn network_create(name: &str, labels: &[(String, String)]) -> Result<bool, Error> {
    Ok(wit::network_create(name, labels)?)
}

/// Creates a bridge network with address pools unless it exists; true when
/// it was created. The host checks every pool (a subnet overlapping a route
/// of its own is refused).
///
/// ```no_run
/// use run_plugin_sdk::stacks::{IpamPool, NetworkOptions};
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let options = NetworkOptions {
///     ipam: vec![IpamPool {
///         subnet: "172.28.0.0/16".into(),
///         gateway: Some("172.28.0.1".into()),
///         ip_range: None,
///         aux_addresses: Vec::new(),
///     }],
///     enable_ipv6: false,
/// };
/// run_plugin_sdk::stacks::network_create_with("demo-static", &[], &options)?;
/// # Ok(()) }
/// ```
pub fn network_create_with(
    name: &str,
    labels: &[(String, String)],
    options: &NetworkOptions,
) -> Result<bool, Error> {
    Ok(wit::network_create_with(name, labels, options)?)
}

/// Runs every check [`network_create_with`] runs (the grant, every address
/// pool) and creates nothing; allowed under `run --plan`.
///
/// ```no_run
/// use run_plugin_sdk::stacks::NetworkOptions;
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let options = NetworkOptions { ipam: Vec::new(), enable_ipv6: false };
/// run_plugin_sdk::stacks::check_network("demo-default", &options)?;
/// # Ok(()) }
/// ```
pub fn check_network(name: &str, options: &NetworkOptions) -> Result<(), Error> {
    Ok(wit::check_network(name, options)?)
}

/// Networks granted by `allow.networks`, sorted by name.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// for n in run_plugin_sdk::stacks::network_list()? {
///     println!("{} ({})", n.name, n.driver);
/// }
/// # Ok(()) }
/// ```
pub fn network_list() -> Result<Vec<NetworkSummary>, Error> {
    Ok(wit::network_list()?)
}

/// Removes a network; its containers must be gone.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// run_plugin_sdk::stacks::network_remove("demo-default")?;
/// # Ok(()) }
/// ```
pub fn network_remove(name: &str) -> Result<(), Error> {
    Ok(wit::network_remove(name)?)
}

/// Whether granted host `port` is free to publish on `host_ip` (all
/// addresses when absent): the host binds it and lets go at once.
///
/// ```no_run
/// use run_plugin_sdk::stacks::{self, Protocol};
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// if !stacks::host_port_free(None, 8080, Protocol::Tcp)? {
///     println!("port 8080 is taken");
/// }
/// # Ok(()) }
/// ```
pub fn host_port_free(host_ip: Option<&str>, port: u16, protocol: Protocol) -> Result<bool, Error> {
    Ok(wit::host_port_free(host_ip, port, protocol)?)
}

/// The engine's version and the space left for its data (needs at least one
/// container grant).
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let info = run_plugin_sdk::stacks::engine_info()?;
/// println!("{} {} at {}", info.product, info.version, info.address);
/// # Ok(()) }
/// ```
pub fn engine_info() -> Result<EngineFacts, Error> {
    Ok(wit::engine_info()?)
}
