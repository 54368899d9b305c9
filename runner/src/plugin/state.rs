//! What a plugin's `Store` holds: WASI state plus one part per capability.

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::capability::{
    cancel::CancelHost, container::ContainerHost, lock::LockHost, log::LogHost, prompt::PromptHost,
};

pub struct HostState {
    pub wasi: WasiCtx,
    pub table: ResourceTable,
    pub limits: MemoryLimiter,
    pub log: LogHost,
    pub prompt: PromptHost,
    pub container: ContainerHost,
    pub cancel: CancelHost,
    pub lock: LockHost,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// `StoreLimits`, remembering whether it refused a growth so that the trap that
/// follows can be reported as the task's memory limit rather than a plugin bug.
pub struct MemoryLimiter {
    limits: StoreLimits,
    pub limit: usize,
    pub exceeded: bool,
}

impl MemoryLimiter {
    pub fn new(limit: usize) -> Self {
        let limits = wasmtime::StoreLimitsBuilder::new()
            .memory_size(limit)
            .trap_on_grow_failure(true)
            .build();
        MemoryLimiter {
            limits,
            limit,
            exceeded: false,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.exceeded = true;
        }
        self.limits.memory_growing(current, desired, maximum)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }
}
