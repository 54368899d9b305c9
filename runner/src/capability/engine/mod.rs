//! The container engine capabilities (`containers`, `volumes`, `images`,
//! `network-faults`, `stacks`): one module per WIT interface, sharing this
//! per-task state: the task's compiled grants, its file grants (for streamed
//! files and bind mounts), whether the run is a `--plan`, the table of
//! container handles the plugin holds, and the engine (connected on first use,
//! or injected by tests).
//!
//! Every call follows one order: check the plugin's string against the
//! engine's grammar, resolve it to an identity (`resolve.rs`), check the grant
//! against that identity, then act on the identity through the `Engine` trait
//! (`backend.rs`), whose methods take only checked IDs (`ids.rs`).

pub mod backend;
pub mod docker;
mod error;
pub mod ids;
pub mod limits;
pub mod resolve;
pub mod stream;

#[cfg(test)]
pub mod fake;
#[cfg(test)]
mod property_tests;

use std::sync::Arc;

use wasmtime::component::{HasData, ResourceTable};

pub use backend::{ByteStream, Engine, EngineError};
pub use error::{HostError, HostResult};

use crate::capability::files::Preopen;
use crate::capability::paths;
use crate::grant::{Denial, Grant, Grants, Object};
use crate::plugin::bindings::engine_types::{Compression, Error};
use stream::{FileSink, Written};

pub struct EngineHost {
    /// What the task may reach (shared by reference across engine calls, so
    /// kept apart from the handle table, which is not `Sync`).
    pub(crate) scope: Scope,
    /// Container handles the plugin holds.
    pub(crate) handles: ResourceTable,
    /// The engine: injected, or connected on first use.
    backend: Option<Arc<dyn Engine>>,
}

/// The task's side of every engine call: its name, compiled grants, file
/// grants, and whether it runs under `--plan`.
pub struct Scope {
    pub(crate) task: String,
    pub(crate) grants: Grants,
    pub(crate) preopens: Vec<Preopen>,
    pub(crate) plan: bool,
    /// Under `--plan`, the task's write grants, which the plan makes
    /// read-only: a bind a real run would write is checked against them
    /// (nothing is created under `--plan`, so nothing is written).
    pub(crate) planned_writes: Vec<String>,
    /// Whether each container exec'd in has `sh` (for the exec watchdog),
    /// asked once per container and run.
    pub(crate) shells: std::sync::Mutex<std::collections::HashMap<ids::ContainerId, bool>>,
    /// The health checks the host ran itself (Podman), per container.
    pub(crate) health_runs: crate::capability::containers::HealthRuns,
}

impl std::ops::Deref for EngineHost {
    type Target = Scope;
    fn deref(&self) -> &Scope {
        &self.scope
    }
}

/// The `HasData` marker of the five engine interfaces.
pub struct EngineData;
impl HasData for EngineData {
    type Data<'a> = &'a mut EngineHost;
}

impl EngineHost {
    pub fn new(task: &str, grants: Grants, preopens: Vec<Preopen>, plan: bool) -> EngineHost {
        EngineHost {
            scope: Scope {
                task: task.to_owned(),
                grants,
                preopens,
                plan,
                planned_writes: Vec::new(),
                shells: Default::default(),
                health_runs: Default::default(),
            },
            handles: ResourceTable::new(),
            backend: None,
        }
    }

    /// For `describe` and `needs`: nothing granted.
    pub fn none(task: &str) -> EngineHost {
        EngineHost::new(task, Grants::default(), Vec::new(), true)
    }

    /// Under `--plan`: the task's write grants as written (see `Scope::planned_writes`).
    pub fn with_planned_writes(mut self, writes: Vec<String>) -> EngineHost {
        self.scope.planned_writes = writes;
        self
    }

    /// Uses `engine` instead of connecting to Docker (tests, other backends).
    pub fn with_engine(mut self, engine: Arc<dyn Engine>) -> EngineHost {
        self.backend = Some(engine);
        self
    }

    /// The table holding this task's container handles (for its handle limit).
    pub fn table(&mut self) -> &mut ResourceTable {
        &mut self.handles
    }

    pub(crate) async fn engine(&mut self) -> HostResult<Arc<dyn Engine>> {
        if let Some(engine) = &self.backend {
            return Ok(engine.clone());
        }
        let engine = docker::shared().await?;
        self.backend = Some(engine.clone());
        Ok(engine)
    }
}

impl Scope {
    /// Under `run --plan` nothing may change: the call is refused, named.
    pub(crate) fn refuse_in_plan(&self, call: &str) -> HostResult<()> {
        if self.plan {
            return Err(HostError::Unsupported(format!(
                "{call} changes something and is refused under run --plan"
            )));
        }
        Ok(())
    }

    /// The refusal of `name` (an `object`), naming `grant` as what to add.
    pub(crate) fn deny(&self, object: Object, name: &str, grant: Option<Grant>) -> Denial {
        self.grants.deny(&self.task, object, name, grant)
    }

    pub(crate) fn path_error(&self, error: paths::PathError) -> HostError {
        error::path_error(&self.task, &self.grants, error)
    }

    /// Streams `source` into the granted file `guest`, compressed and hashed
    /// on the way; the file is removed if anything fails, so no partial file
    /// is left looking complete.
    pub(crate) async fn write_stream(
        &self,
        mut source: ByteStream,
        guest: &str,
        compression: Compression,
    ) -> HostResult<Written> {
        use futures_util::StreamExt;
        let (file, new) = paths::create_write(&self.preopens, guest)
            .await
            .map_err(|e| self.path_error(e))?;
        // Dropped on an error, the sink removes its temporary file.
        let mut sink = FileSink::new(file, new, compression);
        while let Some(chunk) = source.next().await {
            sink.write(&chunk?)
                .await
                .map_err(|e| HostError::io(guest, e))?;
        }
        sink.finish().await.map_err(|e| HostError::io(guest, e))
    }

    /// The granted file `guest` as a stream for the engine, decompressed when asked.
    pub(crate) async fn read_stream(
        &self,
        guest: &str,
        compression: Compression,
        address: &str,
    ) -> HostResult<ByteStream> {
        let file = paths::open_read(&self.preopens, guest)
            .await
            .map_err(|e| self.path_error(e))?;
        Ok(stream::file_stream(file, compression, guest, address))
    }
}

impl crate::plugin::bindings::engine_types::Host for EngineHost {
    fn convert_error(&mut self, error: HostError) -> wasmtime::Result<Error> {
        error.into_wit()
    }
}

/// Key-value labels from the engine, sorted by key (the WIT's `labels`).
pub fn sorted_labels(
    labels: Option<std::collections::HashMap<String, String>>,
) -> Vec<(String, String)> {
    let mut labels: Vec<(String, String)> = labels.unwrap_or_default().into_iter().collect();
    labels.sort();
    labels
}
