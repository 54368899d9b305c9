//! The `stacks` interface: containers from a full spec (`spec.rs`),
//! networks, host port checks and the engine's facts.

mod network;
mod spec;
#[cfg(test)]
mod tests;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use bollard::models::{Ipam, NetworkCreateRequest};
use wasmtime::component::Resource;

use crate::capability::containers::ContainerHandle;
use crate::capability::engine::{EngineHost, HostError, HostResult, sorted_labels};
use crate::grant::{Grant, GrantKind, Object, name};
use crate::plugin::bindings::engine_types::Protocol;
use crate::plugin::bindings::stacks::{
    ContainerSpec, EngineFacts, Host, NetworkOptions, NetworkSummary,
};

type Labels = Vec<(String, String)>;

impl EngineHost {
    async fn create(&mut self, spec: ContainerSpec) -> HostResult<ContainerHandle> {
        let engine = self.engine().await?;
        let checked = self
            .scope
            .check_spec(engine.as_ref(), spec, self.plan)
            .await?;
        self.refuse_in_plan("stacks.create-container")?;
        let image = checked
            .image
            .ok_or_else(|| HostError::not_found(Object::Image, &checked.name))?;
        if let Some(platform) = &checked.platform {
            let version = engine.version().await?;
            let here = format!(
                "{}/{}",
                version.os.unwrap_or_default(),
                version.arch.unwrap_or_default()
            );
            if platform != &here && !platform.starts_with(&format!("{here}/")) {
                return Err(HostError::Unsupported(format!(
                    "container `{}` is for platform `{platform}`; the engine runs `{here}`",
                    checked.name
                )));
            }
        }
        let id = engine
            .create_container(
                Some(&checked.name),
                checked.platform.as_deref(),
                checked.body,
            )
            .await?;
        let finish = async {
            // Engines before API 1.44 join one network at create; the others now.
            for (network, endpoint) in checked.extra_networks {
                engine.connect_network(&network, &id, endpoint).await?;
            }
            let inspect = engine.inspect_container(&id).await?;
            if inspect.image.as_deref() != Some(image.as_str()) {
                return Err(HostError::Conflict(format!(
                    "image `{}` changed while container `{}` was created from it",
                    image, checked.name
                )));
            }
            Ok(())
        };
        if let Err(error) = finish.await {
            // No half-made container is left behind.
            let _ = engine.remove_container(&id).await;
            return Err(error);
        }
        Ok(ContainerHandle {
            id,
            name: checked.name,
        })
    }
}

impl EngineHost {
    /// The network's name and grant, and its address pools when it has any.
    async fn checked_network(
        &mut self,
        network: &str,
        options: &NetworkOptions,
    ) -> HostResult<Option<Ipam>> {
        name::check_network_name(network)
            .map_err(|p| HostError::invalid(Object::Network, network, p))?;
        if !self.grants.allows_network(network) {
            return Err(self
                .deny(
                    Object::Network,
                    network,
                    Some(Grant::new(GrantKind::Networks, network)),
                )
                .into());
        }
        if options.ipam.is_empty() {
            return Ok(None);
        }
        // The host's routes say something only about an engine on this machine.
        let engine = self.engine().await?;
        let routes = if engine.is_local() {
            network::host_routes()
        } else {
            Vec::new()
        };
        network::ipam(network, options, &routes)
    }

    async fn create_network(
        &mut self,
        network: String,
        labels: Labels,
        options: NetworkOptions,
    ) -> HostResult<bool> {
        let ipam = self.checked_network(&network, &options).await?;
        self.refuse_in_plan("stacks.network-create")?;
        let engine = self.engine().await?;
        let exists = engine
            .list_networks()
            .await?
            .iter()
            .any(|n| n.name.as_deref() == Some(network.as_str()));
        if exists {
            return Ok(false);
        }
        engine
            .create_network(NetworkCreateRequest {
                name: network,
                driver: Some("bridge".into()),
                labels: Some(labels.into_iter().collect()),
                ipam,
                enable_ipv6: options.enable_ipv6.then_some(true),
                ..Default::default()
            })
            .await?;
        Ok(true)
    }
}

impl Host for EngineHost {
    async fn create_container(
        &mut self,
        spec: ContainerSpec,
    ) -> HostResult<Resource<ContainerHandle>> {
        let handle = self.create(spec).await?;
        Ok(self.handles.push(handle)?)
    }

    async fn check_container(&mut self, spec: ContainerSpec) -> HostResult<()> {
        let engine = self.engine().await?;
        self.scope
            .check_spec(engine.as_ref(), spec, true)
            .await
            .map(drop)
    }

    async fn network_create(&mut self, network: String, labels: Labels) -> HostResult<bool> {
        let options = NetworkOptions {
            ipam: Vec::new(),
            enable_ipv6: false,
        };
        self.create_network(network, labels, options).await
    }

    async fn network_create_with(
        &mut self,
        network: String,
        labels: Labels,
        options: NetworkOptions,
    ) -> HostResult<bool> {
        self.create_network(network, labels, options).await
    }

    async fn check_network(&mut self, network: String, options: NetworkOptions) -> HostResult<()> {
        self.checked_network(&network, &options).await.map(drop)
    }

    async fn network_list(&mut self) -> HostResult<Vec<NetworkSummary>> {
        let engine = self.engine().await?;
        let mut networks: Vec<NetworkSummary> = engine
            .list_networks()
            .await?
            .into_iter()
            .filter(|n| {
                n.name
                    .as_deref()
                    .is_some_and(|name| self.grants.allows_network(name))
            })
            .map(|n| NetworkSummary {
                id: n.id.unwrap_or_default(),
                name: n.name.unwrap_or_default(),
                driver: n.driver.unwrap_or_default(),
                labels: sorted_labels(n.labels),
            })
            .collect();
        networks.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(networks)
    }

    async fn network_remove(&mut self, network: String) -> HostResult<()> {
        let engine = self.engine().await?;
        let id = self
            .scope
            .granted_network(engine.as_ref(), &network)
            .await?;
        self.refuse_in_plan("stacks.network-remove")?;
        engine
            .remove_network(&id)
            .await
            .map_err(|e| e.on(Object::Network, &network))
    }

    async fn host_port_free(
        &mut self,
        host_ip: Option<String>,
        port: u16,
        protocol: Protocol,
    ) -> HostResult<bool> {
        let text = port.to_string();
        if !self.grants.allows_port(port) {
            return Err(self
                .deny(
                    Object::HostPort,
                    &text,
                    Some(Grant::new(GrantKind::Ports, &text)),
                )
                .into());
        }
        let ip: IpAddr = match &host_ip {
            Some(ip) => ip
                .parse()
                .map_err(|_| HostError::invalid(Object::HostPort, ip, "it is not an IP address"))?,
            None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        };
        let address = SocketAddr::new(ip, port);
        if protocol != Protocol::Sctp {
            let engine = self.engine().await?;
            if !engine.is_local() {
                // This machine's ports say nothing about the engine's: ask it
                // which ports its running containers publish (a port another
                // program holds on that machine is not seen).
                return published_free(engine.as_ref(), ip, port, protocol).await;
            }
        }
        // Binding and letting go at once: nothing is held, nothing changes.
        let bound = match protocol {
            Protocol::Tcp => std::net::TcpListener::bind(address).map(drop),
            Protocol::Udp => std::net::UdpSocket::bind(address).map(drop),
            Protocol::Sctp => {
                return Err(HostError::Unsupported(
                    "stacks.host-port-free cannot check an SCTP port".into(),
                ));
            }
        };
        match bound {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Ok(false),
            Err(e) => Err(HostError::io(&address.to_string(), e)),
        }
    }

    async fn engine_info(&mut self) -> HostResult<EngineFacts> {
        // The engine's facts are harmless, but still only for container tasks.
        if self.grants.containers.is_empty() {
            return Err(self
                .deny(Object::Container, "engine-info", None)
                .because("stacks.engine-info needs at least one container grant (allow.containers)")
                .into());
        }
        let engine = self.engine().await?;
        let version = engine.version().await?;
        let info = engine.info().await?;
        let product = crate::capability::engine::backend::Product::of(&version);
        let root_dir = info.docker_root_dir.unwrap_or_default();
        let local = engine.is_local();
        Ok(EngineFacts {
            address: engine.address().to_owned(),
            product: product.name().to_owned(),
            version: version.version.unwrap_or_default(),
            api_version: version.api_version.unwrap_or_default(),
            os: version.os.unwrap_or_default(),
            architecture: version.arch.unwrap_or_default(),
            free_bytes: local.then(|| free_bytes(&root_dir)).flatten(),
            root_dir,
            local,
        })
    }
}

/// Whether no running container of a remote engine publishes `port` on
/// `ip` (or on every address).
async fn published_free(
    engine: &dyn crate::capability::engine::backend::Engine,
    ip: IpAddr,
    port: u16,
    protocol: Protocol,
) -> HostResult<bool> {
    let protocol = match protocol {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
        Protocol::Sctp => "sctp",
    };
    let containers = engine.list_containers().await?;
    let taken = containers
        .iter()
        .filter(|c| c.state == Some(bollard::models::ContainerSummaryStateEnum::RUNNING))
        .flat_map(|c| c.ports.iter().flatten())
        .any(|p| {
            let same_ip = match p.ip.as_deref().and_then(|i| i.parse::<IpAddr>().ok()) {
                None => true,
                Some(bound) => bound.is_unspecified() || ip.is_unspecified() || bound == ip,
            };
            p.public_port == Some(port)
                && p.typ.as_ref().is_some_and(|t| t.to_string() == protocol)
                && same_ip
        });
    Ok(!taken)
}

/// Free bytes for unprivileged use on the filesystem holding `dir`.
fn free_bytes(dir: &str) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(std::path::Path::new(dir).as_os_str().as_bytes()).ok()?;
    let mut stats = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is NUL-terminated and `stats` is written by statvfs on success.
    let rc = unsafe { libc::statvfs(path.as_ptr(), stats.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it filled `stats`.
    let stats = unsafe { stats.assume_init() };
    #[allow(clippy::unnecessary_cast)] // the field types differ between platforms
    Some(stats.f_bavail as u64 * stats.f_frsize as u64)
}
