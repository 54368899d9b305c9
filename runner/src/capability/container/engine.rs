//! The container engine as the runner sees it: one trait, so a remote engine or
//! a Kubernetes backend can be added without touching a plugin or the WIT.
//! Documents are the engine's JSON (Docker's shape), read by `json.rs`.

use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::Stream;
use serde_json::Value;
use tokio::io::AsyncWrite;

pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, EngineError>> + Send>>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    #[error("cannot reach the container engine at {address}: {reason}")]
    Unreachable { address: String, reason: String },
    #[error("{0}")]
    NotFound(String),
    /// The engine refused in the object's current state (e.g. exec in a stopped container).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Failed(String),
}

/// What to run with `exec`.
pub struct ExecSpec {
    pub command: Vec<String>,
    pub user: Option<String>,
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub stdin: bool,
}

pub enum ExecChunk {
    Stdout(Bytes),
    Stderr(Bytes),
}

/// A started exec: its output, and its stdin (closed when dropped or shut down).
pub struct ExecSession {
    pub id: String,
    pub output: Pin<Box<dyn Stream<Item = Result<ExecChunk, EngineError>> + Send>>,
    pub input: Pin<Box<dyn AsyncWrite + Send>>,
}

/// A throwaway container a plugin asked for (`create`).
pub struct CreateSpec {
    pub name: String,
    pub image: String,
    pub env: Vec<String>,
    pub command: Option<Vec<String>>,
}

/// A container created only to reach a volume; removed by `remove`.
pub struct HelperSpec {
    pub image: String,
    pub volume: String,
    pub mount_at: String,
    /// When set, the helper is started with this command and waited for.
    pub command: Option<Vec<String>>,
}

#[async_trait::async_trait]
pub trait Engine: Send + Sync {
    /// Where the engine is, for messages.
    fn address(&self) -> &str;
    /// Every container, running or not (list documents).
    async fn containers(&self) -> Result<Vec<Value>, EngineError>;
    async fn inspect(&self, name: &str) -> Result<Value, EngineError>;
    async fn exec_start(&self, name: &str, spec: ExecSpec) -> Result<ExecSession, EngineError>;
    async fn exec_exit_code(&self, id: &str) -> Result<i64, EngineError>;
    async fn start(&self, name: &str) -> Result<(), EngineError>;
    async fn stop(&self, name: &str, timeout: Option<u32>) -> Result<(), EngineError>;
    async fn restart(&self, name: &str, timeout: Option<u32>) -> Result<(), EngineError>;
    async fn kill(&self, name: &str, signal: &str) -> Result<(), EngineError>;
    async fn pause(&self, name: &str) -> Result<(), EngineError>;
    async fn unpause(&self, name: &str) -> Result<(), EngineError>;
    async fn logs(&self, name: &str, tail: u32) -> Result<String, EngineError>;
    /// `path` in the container as a tar stream.
    fn archive_out(&self, name: &str, path: &str) -> ByteStream;
    /// Extracts a tar stream at `path` in the container.
    async fn archive_in(&self, name: &str, path: &str, tar: ByteStream) -> Result<(), EngineError>;
    async fn volumes(&self) -> Result<Vec<Value>, EngineError>;
    /// Creates (and, with a command, runs to completion) a helper; returns its id.
    async fn helper(&self, spec: HelperSpec) -> Result<String, EngineError>;
    /// Creates and starts a container; returns its id.
    async fn create(&self, spec: CreateSpec) -> Result<String, EngineError>;
    /// Removes a container and its anonymous volumes, running or not.
    async fn remove(&self, name: &str) -> Result<(), EngineError>;
    async fn images(&self) -> Result<Vec<Value>, EngineError>;
    async fn image_inspect(&self, image: &str) -> Result<Value, EngineError>;
    fn image_export(&self, image: &str) -> ByteStream;
    /// Creates and starts a helper in another container's network namespace
    /// (chaos plugin; see `netns.rs`); returns its id.
    async fn netns_helper(&self, spec: super::netns::NetnsSpec) -> Result<String, EngineError>;
}

/// The process's engine connection, made on first use so tasks that never
/// touch containers never need an engine.
pub async fn shared() -> Result<Arc<dyn Engine>, EngineError> {
    static ENGINE: tokio::sync::OnceCell<Arc<dyn Engine>> = tokio::sync::OnceCell::const_new();
    ENGINE
        .get_or_try_init(|| async {
            let engine = super::docker::Docker::connect().await?;
            Ok(Arc::new(engine) as Arc<dyn Engine>)
        })
        .await
        .cloned()
}
