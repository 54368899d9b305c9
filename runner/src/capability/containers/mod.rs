//! The `containers` interface: `open` resolves a name or ID to a granted
//! container's identity once (`engine/resolve.rs`); the handle's methods act
//! on that ID, so a container removed and recreated under the same name is
//! not the one the handle opened.

mod convert;
pub mod exec;
mod health;
mod schedule;
#[cfg(test)]
mod tests;

use std::time::Duration;

use wasmtime::component::Resource;

use crate::capability::engine::resolve::Identity;
use crate::capability::engine::stream::Tail;
use crate::capability::engine::{EngineHost, HostError, HostResult, ids::ContainerId};
use crate::grant::{Object, name};
use crate::plugin::bindings::containers::{
    ContainerDetails, ContainerSummary, ExecRequest, ExecResult, Filter, Health, Host,
    HostContainer,
};
use crate::plugin::bindings::engine_types::{Compression, FileInfo, Signal};

pub use convert::{protocol_name, summary_volumes};
pub use schedule::HealthRuns;

/// The most a `logs` call returns (its last bytes).
pub const LOGS_LIMIT: usize = 1 << 20;

/// What a `container` resource is on the host: the container's identity,
/// resolved and checked once by `open` (or made by `create-container`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerHandle {
    pub id: ContainerId,
    pub name: String,
}

impl From<Identity> for ContainerHandle {
    fn from(identity: Identity) -> ContainerHandle {
        ContainerHandle {
            id: identity.id,
            name: identity.name,
        }
    }
}

/// The engine's name for a WIT signal.
pub fn signal_name(signal: Signal) -> &'static str {
    match signal {
        Signal::Sighup => "SIGHUP",
        Signal::Sigint => "SIGINT",
        Signal::Sigquit => "SIGQUIT",
        Signal::Sigkill => "SIGKILL",
        Signal::Sigusr1 => "SIGUSR1",
        Signal::Sigusr2 => "SIGUSR2",
        Signal::Sigterm => "SIGTERM",
        Signal::Sigstop => "SIGSTOP",
        Signal::Sigcont => "SIGCONT",
    }
}

impl EngineHost {
    pub(crate) fn handle(&self, this: &Resource<ContainerHandle>) -> HostResult<ContainerHandle> {
        Ok(self.handles.get(this)?.clone())
    }

    /// A call that changes the container: refused under `--plan`, else the
    /// handle and the engine.
    async fn changing(
        &mut self,
        this: &Resource<ContainerHandle>,
        call: &str,
    ) -> HostResult<(
        ContainerHandle,
        std::sync::Arc<dyn crate::capability::engine::Engine>,
    )> {
        let handle = self.handle(this)?;
        self.refuse_in_plan(call)?;
        Ok((handle, self.engine().await?))
    }

    async fn list_containers(&mut self, filter: Filter) -> HostResult<Vec<ContainerSummary>> {
        let glob = match &filter {
            Filter::Name(pattern) => {
                name::check_name_pattern(pattern)
                    .map_err(|p| HostError::invalid(Object::Container, pattern, p))?;
                Some(
                    globset::GlobBuilder::new(pattern)
                        .literal_separator(false)
                        .backslash_escape(false)
                        .build()
                        .map_err(|e| HostError::invalid(Object::Container, pattern, e.kind()))?
                        .compile_matcher(),
                )
            }
            _ => None,
        };
        let engine = self.engine().await?;
        let mut granted = self.granted_containers(engine.as_ref()).await?;
        let label = |c: &crate::capability::engine::resolve::Listed, key: &str, value: &str| {
            c.summary
                .labels
                .as_ref()
                .and_then(|l| l.get(key))
                .is_some_and(|v| v == value)
        };
        granted.retain(|c| match &filter {
            Filter::All => true,
            Filter::Name(_) => glob.as_ref().is_some_and(|g| g.is_match(&c.name)),
            Filter::Label((key, value)) => label(c, key, value),
            Filter::ComposeProject(project) => label(c, "com.docker.compose.project", project),
        });
        granted.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(granted.iter().map(convert::summary).collect())
    }

    async fn container_logs(
        &mut self,
        this: &Resource<ContainerHandle>,
        tail: u32,
    ) -> HostResult<String> {
        use futures_util::StreamExt;
        let handle = self.handle(this)?;
        let engine = self.engine().await?;
        let mut stream = engine.logs(&handle.id, tail);
        let mut kept = Tail::new(LOGS_LIMIT);
        while let Some(chunk) = stream.next().await {
            kept.push(&chunk.map_err(|e| e.on(Object::Container, &handle.name))?);
        }
        Ok(kept.into_text())
    }
}

impl Host for EngineHost {
    async fn open(&mut self, name_or_id: String) -> HostResult<Resource<ContainerHandle>> {
        let engine = self.engine().await?;
        let identity = self.resolve_container(engine.as_ref(), &name_or_id).await?;
        Ok(self.handles.push(ContainerHandle::from(identity))?)
    }

    async fn list(&mut self, filter: Filter) -> HostResult<Vec<ContainerSummary>> {
        self.list_containers(filter).await
    }
}

impl HostContainer for EngineHost {
    async fn id(&mut self, this: Resource<ContainerHandle>) -> wasmtime::Result<String> {
        Ok(self.handles.get(&this)?.id.as_str().to_owned())
    }

    async fn name(&mut self, this: Resource<ContainerHandle>) -> wasmtime::Result<String> {
        Ok(self.handles.get(&this)?.name.clone())
    }

    async fn inspect(&mut self, this: Resource<ContainerHandle>) -> HostResult<ContainerDetails> {
        let handle = self.handle(&this)?;
        let engine = self.engine().await?;
        let inspect = engine
            .inspect_container(&handle.id)
            .await
            .map_err(|e| e.on(Object::Container, &handle.name))?;
        Ok(convert::details(&inspect, &handle.name))
    }

    async fn exec(
        &mut self,
        this: Resource<ContainerHandle>,
        request: ExecRequest,
    ) -> HostResult<ExecResult> {
        let (handle, engine) = self.changing(&this, "container.exec").await?;
        self.run_exec(engine, &handle, request).await
    }

    async fn start(&mut self, this: Resource<ContainerHandle>) -> HostResult<()> {
        let (handle, engine) = self.changing(&this, "container.start").await?;
        engine
            .start_container(&handle.id)
            .await
            .map_err(|e| e.on(Object::Container, &handle.name))
    }

    async fn stop(
        &mut self,
        this: Resource<ContainerHandle>,
        timeout: Option<u32>,
    ) -> HostResult<()> {
        let (handle, engine) = self.changing(&this, "container.stop").await?;
        engine
            .stop_container(&handle.id, timeout)
            .await
            .map_err(|e| e.on(Object::Container, &handle.name))
    }

    async fn restart(
        &mut self,
        this: Resource<ContainerHandle>,
        timeout: Option<u32>,
    ) -> HostResult<()> {
        let (handle, engine) = self.changing(&this, "container.restart").await?;
        engine
            .restart_container(&handle.id, timeout)
            .await
            .map_err(|e| e.on(Object::Container, &handle.name))
    }

    async fn kill(&mut self, this: Resource<ContainerHandle>, signal: Signal) -> HostResult<()> {
        let (handle, engine) = self.changing(&this, "container.kill").await?;
        engine
            .kill_container(&handle.id, signal_name(signal))
            .await
            .map_err(|e| e.on(Object::Container, &handle.name))
    }

    async fn pause(&mut self, this: Resource<ContainerHandle>) -> HostResult<()> {
        let (handle, engine) = self.changing(&this, "container.pause").await?;
        engine
            .pause_container(&handle.id)
            .await
            .map_err(|e| e.on(Object::Container, &handle.name))
    }

    async fn unpause(&mut self, this: Resource<ContainerHandle>) -> HostResult<()> {
        let (handle, engine) = self.changing(&this, "container.unpause").await?;
        engine
            .unpause_container(&handle.id)
            .await
            .map_err(|e| e.on(Object::Container, &handle.name))
    }

    async fn wait_healthy(
        &mut self,
        this: Resource<ContainerHandle>,
        timeout_seconds: u32,
    ) -> HostResult<Health> {
        let handle = self.handle(&this)?;
        let engine = self.engine().await?;
        health::wait_healthy(
            engine.as_ref(),
            &self.scope.health_runs,
            &handle,
            Duration::from_secs(timeout_seconds.into()),
        )
        .await
    }

    async fn logs(&mut self, this: Resource<ContainerHandle>, tail: u32) -> HostResult<String> {
        self.container_logs(&this, tail).await
    }

    async fn copy_out(
        &mut self,
        this: Resource<ContainerHandle>,
        path: String,
        file: String,
        compression: Compression,
    ) -> HostResult<FileInfo> {
        let handle = self.handle(&this)?;
        // It writes a file: nothing is written under --plan.
        self.refuse_in_plan("container.copy-out")?;
        let engine = self.engine().await?;
        let source = engine.download(&handle.id, &path);
        Ok(self.write_stream(source, &file, compression).await?.info)
    }

    async fn copy_in(
        &mut self,
        this: Resource<ContainerHandle>,
        path: String,
        file: String,
        compression: Compression,
    ) -> HostResult<()> {
        let (handle, engine) = self.changing(&this, "container.copy-in").await?;
        let tar = self
            .read_stream(&file, compression, engine.address())
            .await?;
        engine
            .upload(&handle.id, &path, tar)
            .await
            .map_err(|e| e.on(Object::Container, &handle.name))
    }

    async fn remove(&mut self, this: Resource<ContainerHandle>) -> HostResult<()> {
        let (handle, engine) = self.changing(&this, "container.remove").await?;
        engine
            .remove_container(&handle.id)
            .await
            .map_err(|e| e.on(Object::Container, &handle.name))
    }

    async fn drop(&mut self, this: Resource<ContainerHandle>) -> wasmtime::Result<()> {
        self.handles.delete(this)?;
        Ok(())
    }
}

/// How long `wait-healthy` and helpers wait between looks.
pub(crate) const POLL: Duration = Duration::from_millis(250);
