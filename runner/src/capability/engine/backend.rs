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
}
