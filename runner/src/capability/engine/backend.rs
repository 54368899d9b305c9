//! The container engine as the host capabilities see it: one trait, with
//! Docker's API (bollard) behind it in `docker/`, and an in-memory fake in
//! the unit tests. Documents are bollard's typed models.
//!
//! Every method acts on an identity checked when it was made (`ids.rs`): a
//! container, exec or network ID, an image ID, or a grammar-checked volume
//! name. A name a plugin gave (a new container's, a network's) travels only in
//! a query string or a JSON body, never in a URL path. Resolving a plugin's
//! name to one of these identities, and checking the grant, is the
//! capabilities' work (`resolve.rs`), done before any of these is called.

use std::collections::HashMap;
use std::pin::Pin;
use std::time::Duration;

use bollard::models::{
    BuildInfo, ContainerCreateBody, ContainerInspectResponse, ContainerSummary, CreateImageInfo,
    EndpointSettings, ExecConfig, ExecInspectResponse, ImageInspect, ImageSummary, Network,
    NetworkCreateRequest, SystemInfo, SystemVersion, Volume, VolumeCreateRequest,
};
use bytes::Bytes;
use futures_util::Stream;
use tokio::io::AsyncWrite;

use super::ids::{ContainerId, ExecId, ImageId, NetworkId, VolumeName};

pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, EngineError>> + Send>>;
pub type PullStream = Pin<Box<dyn Stream<Item = Result<CreateImageInfo, EngineError>> + Send>>;

/// How the engine failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("cannot reach the container engine at {address}: {reason}")]
    Unreachable { address: String, reason: String },
    /// The engine's own words (HTTP 404).
    #[error("{0}")]
    NotFound(String),
    /// The object's current state forbids it (HTTP 409, e.g. a volume in use).
    #[error("{0}")]
    Conflict(String),
    #[error("{message}")]
    Failed { address: String, message: String },
    /// A call that did not answer within its time limit (`limits.rs`).
    #[error("{operation} did not finish within {}", humantime::format_duration(*limit))]
    TimedOut { operation: String, limit: Duration },
    /// A call this engine does not have (`call`: what was asked).
    #[error("{call} is not supported by the engine at {address} ({product})")]
    Unsupported {
        address: String,
        call: String,
        product: &'static str,
    },
}

/// Which program answers the engine API, where the runner must tell them
/// apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Product {
    Docker,
    /// Podman's Docker-compatible API (`podman system service`).
    Podman {
        version: String,
    },
}

impl Product {
    /// From the engine's `/version`: Podman names a component `Podman
    /// Engine` (4.x); anything else speaks the API as Docker.
    pub fn of(version: &SystemVersion) -> Product {
        let podman = version
            .components
            .iter()
            .flatten()
            .find(|c| c.name.to_ascii_lowercase().contains("podman"));
        match podman {
            Some(component) => Product::Podman {
                version: component.version.clone(),
            },
            None if version
                .platform
                .as_ref()
                .is_some_and(|p| p.name.to_ascii_lowercase().contains("podman")) =>
            {
                Product::Podman {
                    version: version.version.clone().unwrap_or_default(),
                }
            }
            None => Product::Docker,
        }
    }

    /// `docker`, `podman`.
    pub fn name(&self) -> &'static str {
        match self {
            Product::Docker => "docker",
            Product::Podman { .. } => "podman",
        }
    }

    /// Whether a health check runs only when someone runs it: Podman
    /// schedules checks with systemd timers, which a CI container lacks,
    /// and the host cannot tell whether they run.
    pub fn leaves_health_checks_to_host(&self) -> bool {
        matches!(self, Product::Podman { .. })
    }

    /// Whether the container list and inspect have states Docker has no
    /// word for (Podman's `stopped`, `configured`), which bollard refuses.
    pub fn lists_states_of_its_own(&self) -> bool {
        matches!(self, Product::Podman { .. })
    }

    /// Whether images built or loaded without a registry are named
    /// `localhost/...` (Podman), where Docker names them as tagged.
    pub fn names_local_images_localhost(&self) -> bool {
        matches!(self, Product::Podman { .. })
    }

    /// Image names (tags, digests) as a plugin is shown them: Docker's
    /// familiar form, the one a tasks.toml written for Docker uses, once
    /// each, without the engine's `<none>:<none>`. Docker writes names that
    /// way already; Podman qualifies every one (`docker.io/library/alpine:3`,
    /// and `localhost/run-test/postgres:15` for an image loaded or built
    /// without a registry, which `podman run run-test/postgres:15` finds),
    /// so the same plugin would see other names on each engine.
    pub fn shown_image_names(&self, names: &[String]) -> Vec<String> {
        let mut shown: Vec<String> = Vec::new();
        for name in names.iter().filter(|n| n.as_str() != "<none>:<none>") {
            let name = match self {
                Product::Docker => name.as_str(),
                Product::Podman { .. } => podman_familiar_name(name),
            };
            if !shown.iter().any(|s| s == name) {
                shown.push(name.to_owned());
            }
        }
        shown
    }

    /// Whether the archive API reaches a container's volumes only while it
    /// runs: Podman 4.3 reads a stopped container's volume with misnamed
    /// entries and writes into its root filesystem instead of the volume.
    pub fn archives_volumes_only_while_running(&self) -> bool {
        matches!(self, Product::Podman { .. })
    }
}

/// `PATH...` for `localhost/PATH...`, Podman's name for an image built or
/// loaded without a registry; none for another name, or for a path whose
/// first part looks like a registry (`localhost/registry.io/x` names that
/// registry's image).
pub fn podman_local_short_name(name: &str) -> Option<&str> {
    let short = name.strip_prefix("localhost/")?;
    (!starts_with_registry(short)).then_some(short)
}

/// Whether `path`'s first part would be read as a registry host.
fn starts_with_registry(path: &str) -> bool {
    match path.split_once('/') {
        Some((first, _)) => first.contains(['.', ':']) || first == "localhost",
        None => false,
    }
}

/// A name as Podman writes it, in Docker's familiar form:
/// `localhost/PATH` -> `PATH` ([`podman_local_short_name`]),
/// `docker.io/library/NAME` -> `NAME`, `docker.io/ORG/NAME` -> `ORG/NAME`
/// (unless that would read as another registry); anything else as is.
pub fn podman_familiar_name(name: &str) -> &str {
    if let Some(short) = podman_local_short_name(name) {
        return short;
    }
    if let Some(hub) = name.strip_prefix("docker.io/") {
        return match hub.strip_prefix("library/") {
            Some(official) if !official.contains('/') => official,
            _ if !starts_with_registry(hub) => hub,
            _ => name,
        };
    }
    name
}

/// What `build_image` builds; every field travels in the query string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildOptions {
    /// The Dockerfile's path in the context archive.
    pub dockerfile: String,
    /// `name:tag`, granted by `allow.images`.
    pub tag: String,
    pub args: HashMap<String, String>,
    pub target: Option<String>,
    pub labels: HashMap<String, String>,
}

/// One piece of an exec's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecChunk {
    Stdout(Bytes),
    Stderr(Bytes),
}

/// A started exec: its output, and its stdin (closed when shut down or dropped).
pub struct ExecSession {
    pub output: Pin<Box<dyn Stream<Item = Result<ExecChunk, EngineError>> + Send>>,
    pub input: Pin<Box<dyn AsyncWrite + Send>>,
}

#[async_trait::async_trait]
pub trait Engine: Send + Sync {
    /// Where the engine is, for messages (`unix:///var/run/docker.sock`).
    fn address(&self) -> &str;
    /// Whether the engine runs on this machine (a unix socket), so host paths,
    /// host ports and process IDs mean the same to both.
    fn is_local(&self) -> bool;

    /// Every container, running or not.
    async fn list_containers(&self) -> Result<Vec<ContainerSummary>, EngineError>;
    async fn inspect_container(
        &self,
        id: &ContainerId,
    ) -> Result<ContainerInspectResponse, EngineError>;
    /// Creates (never starts) a container. `name` and `platform` go in the
    /// query string; the image in the body.
    async fn create_container(
        &self,
        name: Option<&str>,
        platform: Option<&str>,
        body: ContainerCreateBody,
    ) -> Result<ContainerId, EngineError>;
    /// Starting a running container succeeds.
    async fn start_container(&self, id: &ContainerId) -> Result<(), EngineError>;
    /// Stopping a stopped container succeeds.
    async fn stop_container(
        &self,
        id: &ContainerId,
        timeout_seconds: Option<u32>,
    ) -> Result<(), EngineError>;
    async fn restart_container(
        &self,
        id: &ContainerId,
        timeout_seconds: Option<u32>,
    ) -> Result<(), EngineError>;
    /// `signal` as the engine names it (`SIGKILL`).
    async fn kill_container(&self, id: &ContainerId, signal: &str) -> Result<(), EngineError>;
    async fn pause_container(&self, id: &ContainerId) -> Result<(), EngineError>;
    async fn unpause_container(&self, id: &ContainerId) -> Result<(), EngineError>;
    /// Removes it, running or not, with its anonymous volumes.
    async fn remove_container(&self, id: &ContainerId) -> Result<(), EngineError>;
    /// Waits until it exits; its exit code. Not bounded here: callers bound it.
    async fn wait_container(&self, id: &ContainerId) -> Result<i64, EngineError>;
    /// The last `tail` lines of stdout and stderr, interleaved as written.
    fn logs(&self, id: &ContainerId, tail: u32) -> ByteStream;
    /// `path` in the container as a tar stream (`path` is a query parameter).
    fn download(&self, id: &ContainerId, path: &str) -> ByteStream;
    /// Extracts a tar stream at `path` in the container.
    async fn upload(
        &self,
        id: &ContainerId,
        path: &str,
        tar: ByteStream,
    ) -> Result<(), EngineError>;

    async fn create_exec(
        &self,
        id: &ContainerId,
        config: ExecConfig,
    ) -> Result<ExecId, EngineError>;
    /// Starts it attached (no TTY).
    async fn start_exec(&self, exec: &ExecId) -> Result<ExecSession, EngineError>;
    async fn inspect_exec(&self, exec: &ExecId) -> Result<ExecInspectResponse, EngineError>;
    /// The exec's process ID as its container sees it, when the host can tell
    /// (the engine reports the host's PID; only a local engine's `/proc`
    /// translates it). None when it cannot, or when the process is gone.
    async fn exec_pid_in_container(&self, exec: &ExecId) -> Result<Option<i64>, EngineError>;

    async fn list_volumes(&self) -> Result<Vec<Volume>, EngineError>;
    async fn create_volume(&self, request: VolumeCreateRequest) -> Result<(), EngineError>;
    async fn remove_volume(&self, name: &VolumeName) -> Result<(), EngineError>;

    /// Local images (not the intermediate layers), with tags and digests.
    async fn list_images(&self) -> Result<Vec<ImageSummary>, EngineError>;
    async fn inspect_image(&self, id: &ImageId) -> Result<ImageInspect, EngineError>;
    /// `docker save ID`.
    fn export_image(&self, id: &ImageId) -> ByteStream;
    /// Pulls `reference` (always with a tag or digest), sent as the `fromImage`
    /// query parameter; progress as the engine reports it.
    fn pull_image(&self, reference: &str) -> PullStream;
    /// Builds an image from a context archive with the classic builder,
    /// handing each progress message to `progress`. Not bounded here:
    /// callers bound it.
    async fn build_image(
        &self,
        options: BuildOptions,
        context: ByteStream,
        progress: &mut (dyn FnMut(BuildInfo) + Send),
    ) -> Result<(), EngineError>;

    async fn list_networks(&self) -> Result<Vec<Network>, EngineError>;
    /// The name travels in the body.
    async fn create_network(&self, request: NetworkCreateRequest)
    -> Result<NetworkId, EngineError>;
    async fn remove_network(&self, id: &NetworkId) -> Result<(), EngineError>;
    async fn connect_network(
        &self,
        network: &NetworkId,
        container: &ContainerId,
        endpoint: EndpointSettings,
    ) -> Result<(), EngineError>;

    async fn version(&self) -> Result<SystemVersion, EngineError>;
    async fn info(&self) -> Result<SystemInfo, EngineError>;

    /// Which program answers (from `version`; the Docker backend asks once).
    async fn product(&self) -> Result<Product, EngineError> {
        Ok(Product::of(&self.version().await?))
    }

    /// Runs the container's health check once, now, as the engine's own
    /// schedule would, and records it in the container's health; bounded by
    /// the check's `timeout` plus the call limit. Only where the product
    /// leaves checks to the host (Podman: its libpod API); `Unsupported`
    /// elsewhere. `Conflict` when the container has no check or is not
    /// running.
    async fn run_health_check(
        &self,
        id: &ContainerId,
        timeout: Duration,
    ) -> Result<(), EngineError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podman_is_told_by_its_engine_component() {
        // `/version` as Podman 4.3.1 (Debian) answers it, shortened.
        let podman: SystemVersion = serde_json::from_str(
            r#"{"Platform": {"Name": "linux/amd64/debian-12"},
                "Components": [
                  {"Name": "Podman Engine", "Version": "4.3.1", "Details": {"APIVersion": "4.3.1", "MinAPIVersion": "4.0.0"}},
                  {"Name": "Conmon", "Version": "conmon version 2.1.6, commit: unknown"},
                  {"Name": "OCI Runtime (runc)", "Version": "runc version 1.1.5+ds1"}],
                "Version": "4.3.1", "ApiVersion": "1.41", "MinAPIVersion": "1.24", "Os": "linux", "Arch": "amd64"}"#,
        )
        .unwrap();
        let product = Product::of(&podman);
        assert_eq!(
            product,
            Product::Podman {
                version: "4.3.1".into()
            }
        );
        assert!(product.leaves_health_checks_to_host());
        assert_eq!(product.name(), "podman");
        // Docker Engine 20.10 (Debian): its component is `Engine`.
        let docker: SystemVersion = serde_json::from_str(
            r#"{"Platform": {"Name": ""},
                "Components": [
                  {"Name": "Engine", "Version": "20.10.24+dfsg1", "Details": {"ApiVersion": "1.41"}},
                  {"Name": "containerd", "Version": "1.6.20~ds1"},
                  {"Name": "runc", "Version": "1.1.5+ds1"}],
                "Version": "20.10.24+dfsg1", "ApiVersion": "1.41", "Os": "linux", "Arch": "amd64"}"#,
        )
        .unwrap();
        let product = Product::of(&docker);
        assert_eq!(product, Product::Docker);
        assert!(!product.leaves_health_checks_to_host());
        // An engine that names no component is Docker's API as Docker answers it.
        assert_eq!(Product::of(&SystemVersion::default()), Product::Docker);
    }

    #[test]
    fn podmans_image_names_are_shown_in_dockers_familiar_form() {
        let podman = Product::Podman {
            version: "4.3.1".into(),
        };
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            podman.shown_image_names(&names(&[
                "localhost/run-test/busybox:latest",
                "run-test/busybox:latest",
                "docker.io/library/alpine:3",
                "docker.io/bitnami/redis:7",
                "<none>:<none>",
            ])),
            names(&["run-test/busybox:latest", "alpine:3", "bitnami/redis:7"])
        );
        assert_eq!(
            Product::Docker.shown_image_names(&names(&["localhost/app:1", "<none>:<none>"])),
            names(&["localhost/app:1"])
        );
        for (podmans, familiar) in [
            ("localhost/busybox@sha256:ab", "busybox@sha256:ab"),
            ("docker.io/library/a/b:1", "library/a/b:1"),
            // Another registry's path stays as it is: shortened, it would
            // name that registry.
            (
                "localhost/registry.example.com/app:1",
                "localhost/registry.example.com/app:1",
            ),
            (
                "localhost/localhost:5000/app:1",
                "localhost/localhost:5000/app:1",
            ),
            ("docker.io/my.org/app:1", "docker.io/my.org/app:1"),
            ("quay.io/localhost/app:1", "quay.io/localhost/app:1"),
        ] {
            assert_eq!(podman_familiar_name(podmans), familiar);
        }
    }
}
