//! The `container` interface. Every call first checks the container against the
//! task's `allow.containers`; the engine backend itself is not implemented yet,
//! so granted calls return `unsupported` (never a trap).

use globset::{Glob, GlobSet, GlobSetBuilder};
use wasmtime::component::HasData;

use crate::plugin::bindings::container::{
    ContainerError, ContainerSummary, ExecRequest, ExecResult, Host,
};

pub struct ContainerHost {
    task: String,
    granted: GlobSet,
    patterns: Vec<String>,
}

pub struct Container;
impl HasData for Container {
    type Data<'a> = &'a mut ContainerHost;
}

impl ContainerHost {
    /// `patterns` are the task's `allow.containers` (names or globs).
    pub fn new(task: &str, patterns: &[String]) -> wasmtime::Result<ContainerHost> {
        let mut set = GlobSetBuilder::new();
        for pattern in patterns {
            set.add(Glob::new(pattern)?);
        }
        Ok(ContainerHost {
            task: task.to_owned(),
            granted: set.build()?,
            patterns: patterns.to_vec(),
        })
    }

    /// Whether the task may reach the container named `name`.
    pub fn is_granted(&self, name: &str) -> bool {
        self.granted.is_match(name.trim_start_matches('/'))
    }

    /// The grant check every call makes before it acts.
    pub fn check(&self, name: &str) -> Result<(), ContainerError> {
        if self.is_granted(name) {
            return Ok(());
        }
        tracing::warn!(task = %self.task, "container `{name}` denied: not in allow.containers");
        let granted = if self.patterns.is_empty() {
            "it grants no containers".to_owned()
        } else {
            format!("it grants {}", self.patterns.join(", "))
        };
        Err(ContainerError::Denied(format!(
            "container `{name}` is not granted to task `{}` ({granted}; add it to allow.containers)",
            self.task
        )))
    }

    fn unsupported(&self, call: &str) -> ContainerError {
        ContainerError::Unsupported(format!(
            "container.{call} is not supported by this run yet: no container engine backend"
        ))
    }

    fn checked<T>(&self, name: &str, call: &str) -> wasmtime::Result<Result<T, ContainerError>> {
        Ok(self.check(name).and(Err(self.unsupported(call))))
    }
}

impl Host for ContainerHost {
    async fn list(
        &mut self,
        _filter: String,
    ) -> wasmtime::Result<Result<Vec<ContainerSummary>, ContainerError>> {
        Ok(Err(self.unsupported("list")))
    }

    async fn inspect(&mut self, name: String) -> wasmtime::Result<Result<String, ContainerError>> {
        self.checked(&name, "inspect")
    }

    async fn exec(
        &mut self,
        name: String,
        _request: ExecRequest,
    ) -> wasmtime::Result<Result<ExecResult, ContainerError>> {
        self.checked(&name, "exec")
    }

    async fn start(&mut self, name: String) -> wasmtime::Result<Result<(), ContainerError>> {
        self.checked(&name, "start")
    }

    async fn stop(
        &mut self,
        name: String,
        _timeout_seconds: Option<u32>,
    ) -> wasmtime::Result<Result<(), ContainerError>> {
        self.checked(&name, "stop")
    }

    async fn restart(&mut self, name: String) -> wasmtime::Result<Result<(), ContainerError>> {
        self.checked(&name, "restart")
    }

    async fn kill(
        &mut self,
        name: String,
        _signal: Option<String>,
    ) -> wasmtime::Result<Result<(), ContainerError>> {
        self.checked(&name, "kill")
    }

    async fn pause(&mut self, name: String) -> wasmtime::Result<Result<(), ContainerError>> {
        self.checked(&name, "pause")
    }

    async fn unpause(&mut self, name: String) -> wasmtime::Result<Result<(), ContainerError>> {
        self.checked(&name, "unpause")
    }

    async fn wait_healthy(
        &mut self,
        name: String,
        _timeout_seconds: u32,
    ) -> wasmtime::Result<Result<(), ContainerError>> {
        self.checked(&name, "wait-healthy")
    }

    async fn logs(
        &mut self,
        name: String,
        _tail: u32,
    ) -> wasmtime::Result<Result<String, ContainerError>> {
        self.checked(&name, "logs")
    }
}
