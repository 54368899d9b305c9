//! The engine calls a stack needs (issue 8): full container specs, networks,
//! named volumes, pulls and the engine's facts. A trait of its own beside
//! `Engine`, so a backend adds stacks without touching the calls every
//! plugin uses; `docker_stack.rs` implements it for Docker.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::engine::EngineError;

/// A published port.
pub struct PortSpec {
    pub container_port: u16,
    /// tcp, udp or sctp.
    pub protocol: String,
    pub host_ip: Option<String>,
    /// None: exposed only (no host port).
    pub host_port: Option<u16>,
}

pub struct HealthSpec {
    pub test: Vec<String>,
    pub interval_ns: Option<i64>,
    pub timeout_ns: Option<i64>,
    pub retries: Option<i64>,
    pub start_period_ns: Option<i64>,
}

/// A service container, already checked against the grants.
pub struct ServiceSpec {
    pub name: String,
    pub image: String,
    pub entrypoint: Option<Vec<String>>,
    pub command: Option<Vec<String>>,
    /// `KEY=VALUE`.
    pub env: Vec<String>,
    pub labels: HashMap<String, String>,
    pub ports: Vec<PortSpec>,
    /// Docker bind strings: `volume:/dest[:ro]` or `/host/path:/dest[:ro]`.
    pub binds: Vec<String>,
    /// tmpfs mount points.
    pub tmpfs: Vec<String>,
    /// (network, aliases); the first one is joined at create.
    pub networks: Vec<(String, Vec<String>)>,
    pub healthcheck: Option<HealthSpec>,
    pub restart: Option<String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
}

/// What the engine says about itself.
pub struct Facts {
    pub version: String,
    pub api_version: String,
    pub os: String,
    pub root_dir: String,
}

#[async_trait::async_trait]
pub trait StackEngine: Send + Sync {
    fn address(&self) -> &str;
    /// Creates (never starts) a container; returns its id.
    async fn create_service(&self, spec: ServiceSpec) -> Result<String, EngineError>;
    /// Creates a bridge network unless one of that name exists; true when created.
    async fn network_create(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> Result<bool, EngineError>;
    /// Every network (list documents).
    async fn networks(&self) -> Result<Vec<Value>, EngineError>;
    async fn network_remove(&self, name: &str) -> Result<(), EngineError>;
    /// Creates a local volume unless it exists; true when created.
    async fn volume_create(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> Result<bool, EngineError>;
    async fn volume_remove(&self, name: &str) -> Result<(), EngineError>;
    async fn image_present(&self, image: &str) -> Result<bool, EngineError>;
    /// Pulls `image`, calling `progress` with each status line worth showing.
    async fn image_pull(
        &self,
        image: &str,
        progress: &(dyn for<'s> Fn(&'s str) + Send + Sync),
    ) -> Result<(), EngineError>;
    async fn facts(&self) -> Result<Facts, EngineError>;
}

/// The process's stack engine, connected on first use like `engine::shared`.
pub async fn shared() -> Result<Arc<dyn StackEngine>, EngineError> {
    static ENGINE: tokio::sync::OnceCell<Arc<dyn StackEngine>> = tokio::sync::OnceCell::const_new();
    ENGINE
        .get_or_try_init(|| async {
            let engine = super::docker::Docker::connect().await?;
            Ok(Arc::new(engine) as Arc<dyn StackEngine>)
        })
        .await
        .cloned()
}
