//! A `container-spec`, checked against every grant it touches and mapped to
//! bollard's typed create body. Every name is checked against its grammar
//! and granted by its own key; every option that widens what a container
//! reaches on the host (added capabilities, host or shared namespaces,
//! devices, security options, privileged mode) needs its own explicit
//! grant, never a glob of another key. Mounts are typed: a volume mount's
//! source is a volume name, a bind's source a granted directory opened
//! through `paths::bind_source`; nothing is parsed from a `src:dst` string.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bollard::models::{
    ContainerCreateBody, DeviceMapping, EndpointIpamConfig, EndpointSettings, HealthConfig,
    HostConfig, Mount, MountTmpfsOptions, MountType, NetworkingConfig,
    PortBinding as EnginePortBinding, PortMap, ResourcesUlimits,
    RestartPolicy as EngineRestartPolicy, RestartPolicyNameEnum,
};

use crate::capability::containers::{protocol_name, signal_name, summary_volumes};
use crate::capability::engine::backend::Engine;
use crate::capability::engine::ids::{ImageId, NetworkId, VolumeName};
use crate::capability::engine::{HostError, HostResult, Scope};
use crate::capability::paths::{self, PathError};
use crate::grant::{self, Grant, GrantKind, Namespace, Object, SysctlClass, SysctlNamespace, name};
use crate::plugin::bindings::stacks::{
    ContainerSpec, Device, HealthSpec, MountSpec, NamespaceMode, NetworkAttachment, NetworkMode,
    Resources, RestartPolicy, Ulimit,
};

/// A spec ready to create: the body, and what to do and check after.
pub struct Checked {
    pub name: String,
    pub platform: Option<String>,
    pub body: ContainerCreateBody,
    /// What the image resolved to; the created container must run it
    /// (`None` only under `--plan`, for an image not pulled yet).
    pub image: Option<ImageId>,
    /// Networks after the first, joined once the container exists.
    pub extra_networks: Vec<(NetworkId, EndpointSettings)>,
}

fn too_large(what: &str) -> HostError {
    HostError::Unsupported(format!("{what} is larger than the engine can hold"))
}

fn signed(value: u64, what: &str) -> HostResult<i64> {
    i64::try_from(value).map_err(|_| too_large(what))
}

fn millis_to_nanos(value: Option<u64>, what: &str) -> HostResult<Option<i64>> {
    value
        .map(|ms| {
            ms.checked_mul(1_000_000)
                .and_then(|ns| i64::try_from(ns).ok())
                .ok_or_else(|| too_large(what))
        })
        .transpose()
}

/// A path inside the container: absolute, printable.
fn destination(path: &str, object: Object) -> HostResult<String> {
    if !path.starts_with('/') {
        return Err(HostError::invalid(
            object,
            path,
            "it is not an absolute path in the container",
        ));
    }
    if path.chars().any(char::is_control) {
        return Err(HostError::invalid(
            object,
            path,
            "it contains a control character",
        ));
    }
    Ok(path.to_owned())
}

/// A hostname or `extra-hosts` name: letters, digits, `-`, `.` and `_`.
fn host_name(text: &str) -> HostResult<()> {
    let ok = !text.is_empty()
        && text.len() <= 253
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    if ok {
        Ok(())
    } else {
        Err(HostError::invalid(
            Object::NetworkAddress,
            text,
            "a host name holds only ASCII letters, digits, `-`, `.` and `_`",
        ))
    }
}

impl Scope {
    fn deny_by(&self, object: Object, name: &str, kind: GrantKind, value: &str) -> HostError {
        self.deny(object, name, Some(Grant::new(kind, value)))
            .into()
    }

    fn need_namespace(&self, namespace: Namespace) -> HostResult<()> {
        if self.grants.allows_namespace(namespace) {
            return Ok(());
        }
        Err(self.deny_by(
            Object::Namespace,
            namespace.as_str(),
            GrantKind::Namespaces,
            namespace.as_str(),
        ))
    }

    /// `container:<ID>` of another granted container, for a shared namespace.
    async fn join(&self, engine: &dyn Engine, other: &str) -> HostResult<String> {
        let identity = self.resolve_container(engine, other).await?;
        Ok(format!("container:{}", identity.id))
    }

    async fn namespace_mode(
        &self,
        engine: &dyn Engine,
        mode: &NamespaceMode,
        host: Namespace,
        shared: Namespace,
    ) -> HostResult<Option<String>> {
        match mode {
            NamespaceMode::Private => Ok(None),
            NamespaceMode::Host => {
                self.need_namespace(host)?;
                Ok(Some("host".into()))
            }
            NamespaceMode::Container(other) => {
                self.need_namespace(shared)?;
                Ok(Some(self.join(engine, other).await?))
            }
        }
    }

    /// A network a container joins: a network name (never `host`, `none`,
    /// `bridge`), granted by `allow.networks`, resolved to its ID.
    pub(crate) async fn granted_network(
        &self,
        engine: &dyn Engine,
        network: &str,
    ) -> HostResult<NetworkId> {
        name::check_network_name(network)
            .map_err(|p| HostError::invalid(Object::Network, network, p))?;
        if !self.grants.allows_network(network) {
            return Err(self.deny_by(Object::Network, network, GrantKind::Networks, network));
        }
        engine
            .list_networks()
            .await?
            .into_iter()
            .find(|n| n.name.as_deref() == Some(network))
            .and_then(|n| NetworkId::parse(n.id.as_deref()?))
            .ok_or_else(|| HostError::not_found(Object::Network, network))
    }

    fn endpoint(
        &self,
        attachment: &NetworkAttachment,
        mac_address: Option<String>,
    ) -> HostResult<EndpointSettings> {
        // An alias is a DNS name on the network (a Compose service may be
        // called `a`), not a container name.
        for alias in &attachment.aliases {
            host_name(alias)?;
        }
        let ipv4 = attachment
            .ipv4_address
            .as_deref()
            .map(|a| fixed_address::<Ipv4Addr>(a, "an IPv4 address"))
            .transpose()?;
        let ipv6 = attachment
            .ipv6_address
            .as_deref()
            .map(|a| fixed_address::<Ipv6Addr>(a, "an IPv6 address"))
            .transpose()?;
        Ok(EndpointSettings {
            aliases: (!attachment.aliases.is_empty()).then(|| attachment.aliases.clone()),
            ipam_config: (ipv4.is_some() || ipv6.is_some()).then_some(EndpointIpamConfig {
                ipv4_address: ipv4,
                ipv6_address: ipv6,
                ..Default::default()
            }),
            mac_address,
            ..Default::default()
        })
    }

    /// The kernel parameters, each set in a namespace the container owns:
    /// the safe ones freely, other namespaced ones through `allow.sysctls`;
    /// one that is not namespaced, or lives in a namespace the container
    /// shares with the host or another container, is refused.
    fn sysctls(&self, spec: &ContainerSpec) -> HostResult<Option<HashMap<String, String>>> {
        if spec.sysctls.is_empty() {
            return Ok(None);
        }
        let mut set = HashMap::new();
        for (name, value) in &spec.sysctls {
            let canonical = grant::canonical_sysctl(name).ok_or_else(|| {
                HostError::invalid(
                    Object::Sysctl,
                    name,
                    "not a kernel parameter name (e.g. net.core.somaxconn)",
                )
            })?;
            if value.is_empty() || value.chars().any(char::is_control) {
                return Err(HostError::invalid(
                    Object::Sysctl,
                    &canonical,
                    "its value is empty or holds a control character",
                ));
            }
            let namespace = match grant::classify_sysctl(&canonical) {
                SysctlClass::Safe(namespace) => namespace,
                SysctlClass::Granted(namespace) => {
                    if !self.grants.allows_sysctl(&canonical) {
                        return Err(self
                            .deny(
                                Object::Sysctl,
                                &canonical,
                                Some(Grant::new(GrantKind::Sysctls, &canonical)),
                            )
                            .because(format!(
                                "it is namespaced ({namespace}), but not among the safe ones that need no grant: it weighs on the host's resources"
                            ))
                            .into());
                    }
                    namespace
                }
                SysctlClass::Uts => {
                    return Err(HostError::Unsupported(format!(
                        "container `{}`: kernel parameter `{canonical}` is set by the container's `hostname`/`domainname`, not as a sysctl",
                        spec.name
                    )));
                }
                SysctlClass::Host => {
                    return Err(HostError::Unsupported(format!(
                        "container `{}`: kernel parameter `{canonical}` is not namespaced, so setting it would change the host's kernel for everything on it; no grant allows that (set it on the host, if its owner agrees)",
                        spec.name
                    )));
                }
            };
            let shared = match (namespace, &spec.network_mode, &spec.ipc_mode) {
                (SysctlNamespace::Network, NetworkMode::Host, _)
                | (SysctlNamespace::Ipc, _, NamespaceMode::Host) => Some("the host's".to_owned()),
                (SysctlNamespace::Network, NetworkMode::Container(other), _)
                | (SysctlNamespace::Ipc, _, NamespaceMode::Container(other)) => {
                    Some(format!("container `{other}`'s"))
                }
                _ => None,
            };
            if let Some(owner) = shared {
                return Err(HostError::Unsupported(format!(
                    "container `{}`: kernel parameter `{canonical}` would be set in {owner} {namespace} namespace, which the container shares; set it where that namespace is made",
                    spec.name
                )));
            }
            set.insert(canonical, value.clone());
        }
        Ok(Some(set))
    }

    /// The runtime, if one is asked for: the engine must have it, and one
    /// other than the engine's default needs `allow.runtimes`.
    async fn runtime(
        &self,
        engine: &dyn Engine,
        spec: &ContainerSpec,
    ) -> HostResult<Option<String>> {
        let Some(runtime) = &spec.runtime else {
            return Ok(None);
        };
        grant::check_runtime_name(runtime)
            .map_err(|p| HostError::invalid(Object::Runtime, runtime, p))?;
        let info = engine.info().await?;
        let default = info.default_runtime.unwrap_or_else(|| "runc".to_owned());
        if runtime != &default && !self.grants.allows_runtime(runtime) {
            return Err(self
                .deny(
                    Object::Runtime,
                    runtime,
                    Some(Grant::new(GrantKind::Runtimes, runtime)),
                )
                .because(format!(
                    "a runtime other than the engine's default (`{default}`) runs the container with other isolation"
                ))
                .into());
        }
        let mut known: Vec<String> = info.runtimes.unwrap_or_default().into_keys().collect();
        known.sort();
        if !known.contains(runtime) {
            return Err(HostError::Unsupported(format!(
                "container `{}` asks for runtime `{runtime}`, which the engine at {} does not have (it has {}): register it with the engine (dockerd's `runtimes` setting) or leave `runtime` out",
                spec.name,
                engine.address(),
                known.join(", ")
            )));
        }
        Ok(Some(runtime.clone()))
    }

    fn bind_source(&self, source: &str, write: bool) -> HostResult<String> {
        if write && self.plan {
            // `--plan` made the task's write grants read-only; a bind that
            // a real run would write is granted if one of them covers it.
            let planned: Vec<_> = self
                .preopens
                .iter()
                .filter(|p| self.planned_writes.contains(&p.guest))
                .cloned()
                .collect();
            if let Ok(host) = paths::bind_source(&planned, source, false) {
                return Ok(host.to_string_lossy().into_owned());
            }
        }
        let host = paths::bind_source(&self.preopens, source, write).map_err(|e| match e {
            // A bind's source is a directory: grant that directory.
            PathError::NotGranted(path, _) => {
                let kind = if write {
                    GrantKind::Write
                } else {
                    GrantKind::Read
                };
                self.deny_by(Object::File, &path, kind, &path)
            }
            other => self.path_error(other),
        })?;
        Ok(host.to_string_lossy().into_owned())
    }

    async fn mounts(&self, engine: &dyn Engine, specs: &[MountSpec]) -> HostResult<Vec<Mount>> {
        let mut mounted_by_granted: Option<HashSet<String>> = None;
        let mut mounts = Vec::new();
        for spec in specs {
            let mount = match spec {
                MountSpec::Volume(v) => {
                    let volume = VolumeName::parse(&v.volume)
                        .map_err(|p| HostError::invalid(Object::Volume, &v.volume, p))?;
                    if !self.grants.allows_volume(&v.volume) {
                        if mounted_by_granted.is_none() {
                            mounted_by_granted = Some(
                                self.granted_containers(engine)
                                    .await?
                                    .iter()
                                    .flat_map(|c| summary_volumes(&c.summary))
                                    .collect(),
                            );
                        }
                        if !mounted_by_granted
                            .as_ref()
                            .is_some_and(|m| m.contains(&v.volume))
                        {
                            return Err(self.deny_by(
                                Object::Volume,
                                &v.volume,
                                GrantKind::Volumes,
                                &v.volume,
                            ));
                        }
                    }
                    Mount {
                        typ: Some(MountType::VOLUME),
                        source: Some(volume.as_str().to_owned()),
                        target: Some(destination(&v.destination, Object::Volume)?),
                        read_only: Some(v.read_only),
                        ..Default::default()
                    }
                }
                MountSpec::Anonymous(target) => Mount {
                    typ: Some(MountType::VOLUME),
                    target: Some(destination(target, Object::Volume)?),
                    ..Default::default()
                },
                MountSpec::Bind(b) => {
                    if !engine.is_local() {
                        return Err(HostError::Unsupported(format!(
                            "a bind mount of `{}` needs the engine on this machine; the engine at {} is not",
                            b.source,
                            engine.address()
                        )));
                    }
                    Mount {
                        typ: Some(MountType::BIND),
                        source: Some(self.bind_source(&b.source, !b.read_only)?),
                        target: Some(destination(&b.destination, Object::File)?),
                        read_only: Some(b.read_only),
                        ..Default::default()
                    }
                }
                MountSpec::Tmpfs(t) => Mount {
                    typ: Some(MountType::TMPFS),
                    target: Some(destination(&t.destination, Object::File)?),
                    tmpfs_options: Some(MountTmpfsOptions {
                        size_bytes: t
                            .size_bytes
                            .map(|s| signed(s, "a tmpfs size"))
                            .transpose()?,
                        mode: t.mode.map(i64::from),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            };
            mounts.push(mount);
        }
        Ok(mounts)
    }

    fn capabilities(
        &self,
        add: &[String],
        drop: &[String],
    ) -> HostResult<(Vec<String>, Vec<String>)> {
        let mut added = Vec::new();
        for capability in add {
            grant::check_capability(capability)
                .map_err(|p| HostError::invalid(Object::Capability, capability, p))?;
            let normal = grant::normalize_capability(capability);
            if !self.grants.allows_cap_add(&normal) {
                return Err(self.deny_by(Object::Capability, &normal, GrantKind::CapAdd, &normal));
            }
            added.push(normal);
        }
        let mut dropped = Vec::new();
        for capability in drop {
            grant::check_capability(capability)
                .map_err(|p| HostError::invalid(Object::Capability, capability, p))?;
            dropped.push(grant::normalize_capability(capability));
        }
        Ok((added, dropped))
    }

    fn security_opts(&self, options: &[String]) -> HostResult<Vec<String>> {
        for option in options {
            grant::check_security_opt(option)
                .map_err(|p| HostError::invalid(Object::SecurityOption, option, p))?;
            if !self.grants.allows_security_opt(option) {
                return Err(self.deny_by(
                    Object::SecurityOption,
                    option,
                    GrantKind::SecurityOpts,
                    option,
                ));
            }
        }
        Ok(options.to_vec())
    }

    fn devices(&self, devices: &[Device]) -> HostResult<Vec<DeviceMapping>> {
        devices
            .iter()
            .map(|d| {
                grant::check_device(&d.host_path)
                    .map_err(|p| HostError::invalid(Object::Device, &d.host_path, p))?;
                if !self.grants.allows_device(&d.host_path) {
                    return Err(self.deny_by(
                        Object::Device,
                        &d.host_path,
                        GrantKind::Devices,
                        &d.host_path,
                    ));
                }
                let permissions_ok = !d.permissions.is_empty()
                    && d.permissions.len() <= 3
                    && d.permissions.chars().all(|c| matches!(c, 'r' | 'w' | 'm'));
                if !permissions_ok {
                    return Err(HostError::invalid(
                        Object::Device,
                        &d.permissions,
                        "device permissions are some of `r`, `w` and `m`",
                    ));
                }
                Ok(DeviceMapping {
                    path_on_host: Some(d.host_path.clone()),
                    path_in_container: Some(destination(&d.container_path, Object::Device)?),
                    cgroup_permissions: Some(d.permissions.clone()),
                })
            })
            .collect()
    }

    fn ports(&self, spec: &ContainerSpec) -> HostResult<(Vec<String>, PortMap)> {
        let mut exposed = Vec::new();
        let mut bindings: PortMap = HashMap::new();
        for port in &spec.ports {
            let key = format!("{}/{}", port.container_port, protocol_name(port.protocol));
            if !exposed.contains(&key) {
                exposed.push(key.clone());
            }
            if let Some(ip) = &port.host_ip {
                ip.parse::<IpAddr>().map_err(|_| {
                    HostError::invalid(Object::HostPort, ip, "it is not an IP address")
                })?;
            }
            if let Some(host_port) = port.host_port {
                let text = host_port.to_string();
                if !self.grants.allows_port(host_port) {
                    return Err(self.deny_by(Object::HostPort, &text, GrantKind::Ports, &text));
                }
                bindings
                    .entry(key)
                    .or_default()
                    .get_or_insert_default()
                    .push(EnginePortBinding {
                        host_ip: port.host_ip.clone(),
                        host_port: Some(text),
                    });
            }
        }
        Ok((exposed, bindings))
    }

    /// The whole spec, checked, as the engine takes it; with
    /// `tolerate_missing`, a granted image, network or container that does
    /// not exist yet is no error.
    pub(crate) async fn check_spec(
        &self,
        engine: &dyn Engine,
        spec: ContainerSpec,
        tolerate_missing: bool,
    ) -> HostResult<Checked> {
        name::check_name(&spec.name)
            .map_err(|p| HostError::invalid(Object::Container, &spec.name, p))?;
        if !self.grants.allows_container(&spec.name) {
            return Err(self.deny_by(
                Object::Container,
                &spec.name,
                GrantKind::Containers,
                &spec.name,
            ));
        }
        // Under `--plan` (and for `check-container`) the stack's images,
        // networks and containers may not exist yet (they would be pulled or
        // created first): a granted one that is missing is no error there,
        // and every other check still runs.
        let image = match self.reachable_image(engine, &spec.image).await {
            Ok(image) => Some(image),
            Err(HostError::NotFound { .. }) if tolerate_missing => None,
            Err(e) => return Err(e),
        };
        let (exposed, bindings) = self.ports(&spec)?;
        let mounts = self.mounts(engine, &spec.mounts).await?;
        let mac_address = spec.mac_address.as_deref().map(mac).transpose()?;
        if mac_address.is_some()
            && !matches!(&spec.network_mode, NetworkMode::Networks(a) if !a.is_empty())
        {
            return Err(HostError::Unsupported(format!(
                "container `{}`: a MAC address is set on a network the container joins, and it joins none by name",
                spec.name
            )));
        }
        if mac_address.is_some() {
            endpoint_mac_honoured(engine, &spec.name).await?;
        }
        let sysctls = self.sysctls(&spec)?;
        let runtime = self.runtime(engine, &spec).await?;
        let (network_mode, networking, extra_networks) = match &spec.network_mode {
            NetworkMode::Networks(attachments) => {
                let mut joined = Vec::new();
                for (n, attachment) in attachments.iter().enumerate() {
                    // The MAC address is the first (primary) network's.
                    let endpoint =
                        self.endpoint(attachment, mac_address.clone().filter(|_| n == 0))?;
                    match self.granted_network(engine, &attachment.network).await {
                        Ok(id) => joined.push((id, endpoint)),
                        Err(HostError::NotFound { .. }) if tolerate_missing => {}
                        Err(e) => return Err(e),
                    }
                }
                let mut joined = joined.into_iter();
                match joined.next() {
                    Some((primary, endpoint)) => (
                        Some(primary.as_str().to_owned()),
                        Some(NetworkingConfig {
                            endpoints_config: Some(HashMap::from([(
                                primary.as_str().to_owned(),
                                endpoint,
                            )])),
                        }),
                        joined.collect(),
                    ),
                    None => (None, None, Vec::new()),
                }
            }
            NetworkMode::None => (Some("none".to_owned()), None, Vec::new()),
            NetworkMode::Host => {
                self.need_namespace(Namespace::HostNetwork)?;
                (Some("host".to_owned()), None, Vec::new())
            }
            NetworkMode::Container(other) => {
                self.need_namespace(Namespace::ContainerNetwork)?;
                let joined = match self.join(engine, other).await {
                    Ok(joined) => joined,
                    Err(HostError::NotFound { .. }) if tolerate_missing => {
                        format!("container:{other}")
                    }
                    Err(e) => return Err(e),
                };
                (Some(joined), None, Vec::new())
            }
        };
        let pid_mode = self
            .namespace_mode(
                engine,
                &spec.pid_mode,
                Namespace::HostPid,
                Namespace::ContainerPid,
            )
            .await?;
        let ipc_mode = self
            .namespace_mode(
                engine,
                &spec.ipc_mode,
                Namespace::HostIpc,
                Namespace::ContainerIpc,
            )
            .await?;
        let (cap_add, cap_drop) = self.capabilities(&spec.cap_add, &spec.cap_drop)?;
        let security_opt = self.security_opts(&spec.security_opt)?;
        if spec.privileged && !self.grants.privileged {
            return Err(self.deny_by(
                Object::PrivilegedMode,
                &spec.name,
                GrantKind::Privileged,
                "true",
            ));
        }
        let devices = self.devices(&spec.devices)?;
        for name in spec.hostname.iter().chain(&spec.domainname) {
            host_name(name)?;
        }
        let mut extra_hosts = Vec::new();
        for (host, ip) in &spec.extra_hosts {
            host_name(host)?;
            if ip != "host-gateway" {
                ip.parse::<IpAddr>().map_err(|_| {
                    HostError::invalid(Object::NetworkAddress, ip, "it is not an IP address")
                })?;
            }
            extra_hosts.push(format!("{host}:{ip}"));
        }
        let mut env = Vec::new();
        for (key, value) in &spec.env {
            if key.is_empty() || key.contains('=') || key.contains('\0') || value.contains('\0') {
                return Err(HostError::invalid(
                    Object::EnvVar,
                    key,
                    "an environment variable name is not empty and holds no `=` or NUL",
                ));
            }
            env.push(format!("{key}={value}"));
        }
        let body = ContainerCreateBody {
            image: Some(
                match (grant::image::ImageName::parse(&spec.image), &image) {
                    // The reference as given (the container shows it); checked
                    // against the resolved ID once created.
                    (Ok(grant::image::ImageName::Reference(_)), _) | (_, None) => {
                        spec.image.clone()
                    }
                    (_, Some(image)) => image.id.as_str().to_owned(),
                },
            ),
            entrypoint: spec.entrypoint.clone(),
            cmd: spec.command.clone(),
            env: Some(env),
            labels: Some(spec.labels.iter().cloned().collect()),
            user: spec.user.clone(),
            working_dir: spec.workdir.clone(),
            hostname: spec.hostname.clone(),
            domainname: spec.domainname.clone(),
            exposed_ports: (!exposed.is_empty()).then_some(exposed),
            healthcheck: spec.healthcheck.as_ref().map(health).transpose()?,
            stop_signal: spec.stop_signal.map(|s| signal_name(s).to_owned()),
            stop_timeout: spec.stop_grace_seconds.map(i64::from),
            host_config: Some(HostConfig {
                mounts: (!mounts.is_empty()).then_some(mounts),
                port_bindings: (!bindings.is_empty()).then_some(bindings),
                restart_policy: Some(restart(&spec.restart)),
                network_mode,
                pid_mode,
                ipc_mode,
                cap_add: (!cap_add.is_empty()).then_some(cap_add),
                cap_drop: (!cap_drop.is_empty()).then_some(cap_drop),
                security_opt: (!security_opt.is_empty()).then_some(security_opt),
                privileged: Some(spec.privileged),
                readonly_rootfs: Some(spec.read_only_rootfs),
                devices: (!devices.is_empty()).then_some(devices),
                ulimits: ulimits(&spec.ulimits)?,
                extra_hosts: (!extra_hosts.is_empty()).then_some(extra_hosts),
                init: spec.init,
                sysctls,
                runtime,
                ..resources(&spec.resources)?
            }),
            networking_config: networking,
            ..Default::default()
        };
        Ok(Checked {
            name: spec.name,
            platform: spec.platform,
            body,
            image: image.map(|i| i.id),
            extra_networks,
        })
    }
}

/// A fixed address on a network: unicast, not the unspecified address.
fn fixed_address<A>(text: &str, what: &str) -> HostResult<String>
where
    A: std::str::FromStr + Into<IpAddr>,
{
    let address: IpAddr = text
        .parse::<A>()
        .map_err(|_| HostError::invalid(Object::NetworkAddress, text, format!("it is not {what}")))?
        .into();
    if address.is_unspecified() || address.is_multicast() || address.is_loopback() {
        return Err(HostError::invalid(
            Object::NetworkAddress,
            text,
            "a container's fixed address is a unicast address of its network",
        ));
    }
    Ok(address.to_string())
}

/// Since API 1.44 the engine takes a MAC address on the network endpoint;
/// before, only in the container's config (`MacAddress`), which the client
/// the runner uses (bollard's API 1.5x types) no longer has, and the older
/// engine ignores the endpoint's: the container would get another address.
async fn endpoint_mac_honoured(engine: &dyn Engine, container: &str) -> HostResult<()> {
    let api = engine.version().await?.api_version.unwrap_or_default();
    let (major, minor) = api.split_once('.').unwrap_or((&api, "0"));
    let version = (
        major.parse::<u32>().unwrap_or(0),
        minor.parse::<u32>().unwrap_or(0),
    );
    if version >= (1, 44) {
        return Ok(());
    }
    Err(HostError::Unsupported(format!(
        "container `{container}`: a MAC address needs an engine with API 1.44 or later (Docker Engine 25+), which sets it on the network; the engine at {} speaks API {api} and would give the container another address",
        engine.address()
    )))
}

/// `02:42:ac:11:00:02`: six hexadecimal octets, a unicast address.
fn mac(text: &str) -> HostResult<String> {
    let octets: Vec<&str> = text.split([':', '-']).collect();
    let ok = octets.len() == 6
        && octets
            .iter()
            .all(|o| o.len() == 2 && o.chars().all(|c| c.is_ascii_hexdigit()));
    let multicast = ok && u8::from_str_radix(octets[0], 16).is_ok_and(|b| b & 1 == 1);
    if !ok || multicast {
        return Err(HostError::invalid(
            Object::NetworkAddress,
            text,
            "a MAC address is six hexadecimal octets (02:42:ac:11:00:02), unicast",
        ));
    }
    Ok(octets.join(":").to_ascii_lowercase())
}

fn health(spec: &HealthSpec) -> HostResult<HealthConfig> {
    Ok(HealthConfig {
        test: Some(spec.test.clone()),
        interval: millis_to_nanos(spec.interval_ms, "a health-check interval")?,
        timeout: millis_to_nanos(spec.timeout_ms, "a health-check timeout")?,
        retries: spec.retries.map(i64::from),
        start_period: millis_to_nanos(spec.start_period_ms, "a health-check start period")?,
        start_interval: millis_to_nanos(spec.start_interval_ms, "a health-check start interval")?,
    })
}

fn restart(policy: &RestartPolicy) -> EngineRestartPolicy {
    let (name, maximum_retry_count) = match policy {
        RestartPolicy::No => (RestartPolicyNameEnum::NO, None),
        RestartPolicy::Always => (RestartPolicyNameEnum::ALWAYS, None),
        RestartPolicy::OnFailure(count) => {
            (RestartPolicyNameEnum::ON_FAILURE, count.map(i64::from))
        }
        RestartPolicy::UnlessStopped => (RestartPolicyNameEnum::UNLESS_STOPPED, None),
    };
    EngineRestartPolicy {
        name: Some(name),
        maximum_retry_count,
    }
}

fn ulimits(limits: &[Ulimit]) -> HostResult<Option<Vec<ResourcesUlimits>>> {
    if limits.is_empty() {
        return Ok(None);
    }
    limits
        .iter()
        .map(|u| {
            if u.name.is_empty() || !u.name.chars().all(|c| c.is_ascii_lowercase()) {
                return Err(HostError::invalid(
                    Object::Container,
                    &u.name,
                    "a ulimit is named in lowercase letters (nofile, nproc, ...)",
                ));
            }
            Ok(ResourcesUlimits {
                name: Some(u.name.clone()),
                soft: Some(u.soft),
                hard: Some(u.hard),
            })
        })
        .collect::<HostResult<Vec<_>>>()
        .map(Some)
}

fn resources(r: &Resources) -> HostResult<HostConfig> {
    let opt = |v: Option<u64>, what: &str| v.map(|v| signed(v, what)).transpose();
    Ok(HostConfig {
        memory: opt(r.memory_bytes, "a memory limit")?,
        memory_reservation: opt(r.memory_reservation_bytes, "a memory reservation")?,
        nano_cpus: opt(r.nano_cpus, "a CPU limit")?,
        pids_limit: r.pids_limit,
        shm_size: opt(r.shm_size_bytes, "a shm size")?,
        ..Default::default()
    })
}
