//! The stack calls of the `container` interface (issue 8): create a container
//! from a full spec, networks, named volumes, pulls, host port checks and the
//! engine's facts. Each checks its grant (`allow.containers`, `allow.images`,
//! `allow.networks`, `allow.volumes`, `allow.ports`) before the engine is
//! touched; `host.rs` delegates the WIT functions here.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::stack_engine::{self, HealthSpec, PortSpec, ServiceSpec, StackEngine};
use super::stack_grants::{NameGrant, StackGrants};
use super::{ContainerHost, engine_error};
use crate::plugin::bindings::container::{
    ContainerError, ContainerSpec, EngineFacts, NetworkSummary,
};
use crate::plugin::bindings::log::Level;

type Result<T> = std::result::Result<T, ContainerError>;

async fn engine() -> Result<Arc<dyn StackEngine>> {
    stack_engine::shared().await.map_err(engine_error)
}

fn millis_to_nanos(ms: Option<u64>) -> Option<i64> {
    ms.map(|ms| i64::try_from(ms.saturating_mul(1_000_000)).unwrap_or(i64::MAX))
}

impl ContainerHost {
    /// The task's stack grants (`allow.images`, `networks`, `volumes`, `ports`).
    pub fn with_stack(mut self, grants: StackGrants) -> ContainerHost {
        self.stack = grants;
        self
    }

    fn check_name(&self, grant: &NameGrant, what: &str, name: &str) -> Result<()> {
        if grant.allows(name) {
            return Ok(());
        }
        tracing::warn!(task = %self.task, "{what} `{name}` denied: not in {}", grant.key);
        Err(ContainerError::Denied(format!(
            "{what} `{name}` is not granted to task `{}` ({}; add it to {})",
            self.task,
            grant.describe(),
            grant.key
        )))
    }

    fn check_image_grant(&self, image: &str) -> Result<()> {
        if self.stack.allows_image(image) {
            return Ok(());
        }
        tracing::warn!(task = %self.task, "image `{image}` denied: not in allow.images");
        Err(ContainerError::Denied(format!(
            "image `{image}` is not granted to task `{}` ({}; add it to allow.images)",
            self.task,
            self.stack.images.describe()
        )))
    }

    fn check_port(&self, port: u16) -> Result<()> {
        if self.stack.allows_port(port) {
            return Ok(());
        }
        tracing::warn!(task = %self.task, "host port {port} denied: not in allow.ports");
        Err(ContainerError::Denied(format!(
            "host port {port} is not granted to task `{}` ({}; add it to allow.ports)",
            self.task,
            self.stack.describe_ports()
        )))
    }

    /// The spec, checked against every grant it touches, in engine terms.
    fn service_spec(&self, spec: ContainerSpec) -> Result<ServiceSpec> {
        self.check(&spec.name)?;
        self.check_image_grant(&spec.image)?;
        let mut ports = Vec::new();
        for port in spec.ports {
            if let Some(host_port) = port.host_port {
                self.check_port(host_port)?;
            }
            let protocol = if port.protocol.is_empty() {
                "tcp".to_owned()
            } else {
                port.protocol
            };
            ports.push(PortSpec {
                container_port: port.container_port,
                protocol,
                host_ip: port.host_ip,
                host_port: port.host_port,
            });
        }
        let mut binds = Vec::new();
        let mut tmpfs = Vec::new();
        for mount in spec.mounts {
            let mode = if mount.read_write { "" } else { ":ro" };
            match mount.kind.as_str() {
                "volume" => {
                    self.check_name(&self.stack.volumes, "volume", &mount.source)?;
                    binds.push(format!("{}:{}{mode}", mount.source, mount.destination));
                }
                "bind" => {
                    // A bind mount is file access: the same grants as the plugin's own.
                    let host = self.file(&mount.source, mount.read_write)?;
                    let host = host.canonicalize().map_err(|e| {
                        ContainerError::Io(format!("bind mount source `{}`: {e}", mount.source))
                    })?;
                    binds.push(format!("{}:{}{mode}", host.display(), mount.destination));
                }
                "tmpfs" => tmpfs.push(mount.destination),
                other => {
                    return Err(ContainerError::Unsupported(format!(
                        "mount kind `{other}` (volume, bind or tmpfs)"
                    )));
                }
            }
        }
        let mut networks = Vec::new();
        for attachment in spec.networks {
            self.check_name(&self.stack.networks, "network", &attachment.network)?;
            networks.push((attachment.network, attachment.aliases));
        }
        Ok(ServiceSpec {
            name: spec.name,
            image: spec.image,
            entrypoint: spec.entrypoint,
            command: spec.command,
            env: spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            labels: spec.labels.into_iter().collect(),
            ports,
            binds,
            tmpfs,
            networks,
            healthcheck: spec.healthcheck.map(|h| HealthSpec {
                test: h.test,
                interval_ns: millis_to_nanos(h.interval_ms),
                timeout_ns: millis_to_nanos(h.timeout_ms),
                retries: h.retries.map(i64::from),
                start_period_ns: millis_to_nanos(h.start_period_ms),
            }),
            restart: spec.restart,
            user: spec.user,
            workdir: spec.workdir,
        })
    }

    pub(super) async fn stack_create_container(&self, spec: ContainerSpec) -> Result<String> {
        let spec = self.service_spec(spec)?;
        self.refuse_in_dry_run("create-container")?;
        engine()
            .await?
            .create_service(spec)
            .await
            .map_err(engine_error)
    }

    pub(super) async fn stack_network_create(
        &self,
        name: &str,
        labels: Vec<(String, String)>,
    ) -> Result<bool> {
        self.check_name(&self.stack.networks, "network", name)?;
        self.refuse_in_dry_run("network-create")?;
        engine()
            .await?
            .network_create(name, labels.into_iter().collect())
            .await
            .map_err(engine_error)
    }

    pub(super) async fn stack_network_list(&self) -> Result<Vec<NetworkSummary>> {
        let networks = engine().await?.networks().await.map_err(engine_error)?;
        let text = |v: &Value, key: &str| {
            v.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let mut granted: Vec<NetworkSummary> = networks
            .iter()
            .filter(|n| self.stack.networks.allows(&text(n, "Name")))
            .map(|n| {
                let mut labels: Vec<(String, String)> = n
                    .get("Labels")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                            .collect()
                    })
                    .unwrap_or_default();
                labels.sort();
                NetworkSummary {
                    id: text(n, "Id"),
                    name: text(n, "Name"),
                    driver: text(n, "Driver"),
                    labels,
                }
            })
            .collect();
        granted.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(granted)
    }

    pub(super) async fn stack_network_remove(&self, name: &str) -> Result<()> {
        self.check_name(&self.stack.networks, "network", name)?;
        self.refuse_in_dry_run("network-remove")?;
        engine()
            .await?
            .network_remove(name)
            .await
            .map_err(engine_error)
    }

    pub(super) async fn stack_volume_create(
        &self,
        name: &str,
        labels: Vec<(String, String)>,
    ) -> Result<bool> {
        self.check_name(&self.stack.volumes, "volume", name)?;
        self.refuse_in_dry_run("volume-create")?;
        engine()
            .await?
            .volume_create(name, labels.into_iter().collect::<HashMap<_, _>>())
            .await
            .map_err(engine_error)
    }

    pub(super) async fn stack_volume_remove(&self, name: &str) -> Result<()> {
        self.check_name(&self.stack.volumes, "volume", name)?;
        self.refuse_in_dry_run("volume-remove")?;
        engine()
            .await?
            .volume_remove(name)
            .await
            .map_err(engine_error)
    }

    pub(super) async fn stack_image_present(&self, image: &str) -> Result<bool> {
        self.check_image_grant(image)?;
        engine()
            .await?
            .image_present(image)
            .await
            .map_err(engine_error)
    }

    pub(super) async fn stack_image_pull(&self, image: &str, timeout_seconds: u32) -> Result<()> {
        self.check_image_grant(image)?;
        self.refuse_in_dry_run("image-pull")?;
        let engine = engine().await?;
        let task = self.task.clone();
        let progress = move |line: &str| crate::capability::log::emit(&task, Level::Info, line);
        let limit = Duration::from_secs(timeout_seconds.max(1).into());
        match tokio::time::timeout(limit, engine.image_pull(image, &progress)).await {
            Ok(result) => result.map_err(engine_error),
            Err(_) => Err(ContainerError::Timeout(format!(
                "pulling image `{image}` did not finish within {}",
                humantime::format_duration(limit)
            ))),
        }
    }

    pub(super) async fn stack_host_port_free(
        &self,
        host_ip: Option<String>,
        port: u16,
        protocol: &str,
    ) -> Result<bool> {
        self.check_port(port)?;
        let ip = host_ip.unwrap_or_else(|| "0.0.0.0".into());
        let address = if ip.contains(':') {
            format!("[{ip}]:{port}")
        } else {
            format!("{ip}:{port}")
        };
        let bound = match protocol {
            "" | "tcp" => std::net::TcpListener::bind(&address).map(drop),
            "udp" => std::net::UdpSocket::bind(&address).map(drop),
            other => {
                return Err(ContainerError::Unsupported(format!(
                    "protocol `{other}` (tcp or udp)"
                )));
            }
        };
        match bound {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Ok(false),
            Err(e) => Err(ContainerError::Io(format!("checking {address}: {e}"))),
        }
    }

    pub(super) async fn stack_engine_info(&self) -> Result<EngineFacts> {
        // The engine's facts are harmless, but still only for container tasks.
        if self.grants.patterns.is_empty() {
            return Err(ContainerError::Denied(format!(
                "task `{}` grants no containers, so it cannot reach the container engine (add allow.containers)",
                self.task
            )));
        }
        let engine = engine().await?;
        let facts = engine.facts().await.map_err(engine_error)?;
        Ok(EngineFacts {
            address: engine.address().to_owned(),
            free_bytes: free_bytes(&facts.root_dir),
            version: facts.version,
            api_version: facts.api_version,
            os: facts.os,
            root_dir: facts.root_dir,
        })
    }
}

/// Free bytes for unprivileged use on the filesystem holding `dir`, when it
/// is on this machine (a remote engine's directory is not).
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
