//! The `container` capability: the task's `allow.containers` grant (and the
//! volumes and images of the granted containers), checked on every call before
//! the engine is touched; files it streams to or from must be granted too.
//!
//! `grants.rs` is the configuration, `host.rs` the WIT implementation,
//! `engine.rs` the backend seam with `docker.rs` behind it.

mod docker;
mod docker_netns;
pub mod engine;
mod exec;
mod grants;
mod host;
mod json;
mod netns;
pub mod paths;
mod stream;
// Stacks (issue 8): full container specs, networks, volumes, pulls.
mod docker_stack;
mod stack;
mod stack_engine;
mod stack_grants;

use std::path::PathBuf;
use std::sync::Arc;

use wasmtime::component::HasData;

pub use grants::ContainerGrants;
pub use stack_grants::StackGrants;

use crate::capability::files::Preopen;
use crate::plugin::bindings::container::ContainerError;
use engine::{Engine, EngineError};

pub struct ContainerHost {
    task: String,
    grants: ContainerGrants,
    preopens: Vec<Preopen>,
    dry_run: bool,
    stack: StackGrants,
}

pub struct Container;
impl HasData for Container {
    type Data<'a> = &'a mut ContainerHost;
}

impl ContainerHost {
    /// `patterns` are the task's `allow.containers`; `preopens` its file grants.
    pub fn new(
        task: &str,
        patterns: &[String],
        preopens: Vec<Preopen>,
        dry_run: bool,
    ) -> Result<ContainerHost, globset::Error> {
        Ok(ContainerHost {
            task: task.to_owned(),
            grants: ContainerGrants::new(patterns)?,
            preopens,
            dry_run,
            stack: StackGrants::default(),
        })
    }

    /// Whether the task may reach the container named `name`.
    pub fn is_granted(&self, name: &str) -> bool {
        self.grants.allows(name)
    }

    /// The grant check every call makes before it acts.
    pub fn check(&self, name: &str) -> Result<(), ContainerError> {
        if self.is_granted(name) {
            return Ok(());
        }
        tracing::warn!(task = %self.task, "container `{name}` denied: not in allow.containers");
        Err(ContainerError::Denied(format!(
            "container `{name}` is not granted to task `{}` ({}; add it to allow.containers)",
            self.task,
            self.grants.describe()
        )))
    }

    /// Under `--dry-run` nothing may change.
    fn refuse_in_dry_run(&self, call: &str) -> Result<(), ContainerError> {
        if self.dry_run {
            return Err(ContainerError::Unsupported(format!(
                "container.{call} changes things and is refused under --dry-run"
            )));
        }
        Ok(())
    }

    fn file(&self, guest: &str, write: bool) -> Result<PathBuf, ContainerError> {
        paths::resolve(&self.preopens, guest, write).map_err(|e| ContainerError::Io(e.to_string()))
    }
}

async fn engine() -> Result<Arc<dyn Engine>, ContainerError> {
    engine::shared().await.map_err(engine_error)
}

/// A granted file that could not be read or written, named as the plugin named it.
fn io_error(path: &str, error: std::io::Error) -> ContainerError {
    ContainerError::Io(format!("`{path}`: {error}"))
}

fn engine_error(error: EngineError) -> ContainerError {
    match error {
        EngineError::NotFound(message) => ContainerError::NotFound(message),
        other => ContainerError::Engine(other.to_string()),
    }
}
