//! What a plugin's `Store` holds: WASI state plus one part per capability,
//! and the limits it runs under.

use std::sync::Arc;

use wasmtime::component::{ResourceTable, ResourceTableError};
use wasmtime::{ResourceLimiter, StoreLimits};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::capability::{
    cancel::CancelHost, engine::EngineHost, files::host::FilesHost, http::HttpHost, lock::LockHost,
    log::LogHost, network::Lookups, prompt::PromptHost,
};

pub struct HostState {
    pub wasi: WasiCtx,
    pub table: ResourceTable,
    pub limits: MemoryLimiter,
    /// The most handles each resource table may hold (for the report).
    pub handle_limit: usize,
    pub lookups: Arc<Lookups>,
    pub log: LogHost,
    pub prompt: PromptHost,
    pub engine: EngineHost,
    pub cancel: CancelHost,
    pub lock: LockHost,
    pub files: FilesHost,
    pub http: HttpHost,
    pub http_ctx: WasiHttpCtx,
}

/// The parts of a [`HostState`] that differ between tasks.
pub struct Parts {
    pub wasi: WasiCtx,
    pub memory: usize,
    pub handles: usize,
    pub lookups: Lookups,
    pub log: LogHost,
    pub prompt: PromptHost,
    pub engine: EngineHost,
    pub lock: LockHost,
    pub files: FilesHost,
    pub http: HttpHost,
}

impl HostState {
    /// A plugin's state, every resource table capped at `parts.handles`: one
    /// plugin can hold only so many files, sockets, streams, progress bars,
    /// locks or container handles, whatever its grants.
    pub fn new(parts: Parts) -> HostState {
        let mut state = HostState {
            wasi: parts.wasi,
            table: ResourceTable::new(),
            limits: MemoryLimiter::new(parts.memory),
            handle_limit: parts.handles,
            lookups: Arc::new(parts.lookups),
            log: parts.log,
            prompt: parts.prompt,
            engine: parts.engine,
            cancel: CancelHost::default(),
            lock: parts.lock,
            files: parts.files,
            http: parts.http,
            http_ctx: WasiHttpCtx::new(),
        };
        let limit = parts.handles;
        state.table.set_max_capacity(limit);
        state.log.table().set_max_capacity(limit);
        state.lock.table().set_max_capacity(limit);
        state.files.table().set_max_capacity(limit);
        state.engine.handles.set_max_capacity(limit);
        state
    }

    /// Whether `error` (a trap) came from a full resource table.
    pub fn is_handle_limit(error: &wasmtime::Error) -> bool {
        error.chain().any(|e| {
            matches!(
                e.downcast_ref::<ResourceTableError>(),
                Some(ResourceTableError::Full)
            )
        })
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http_ctx,
            table: &mut self.table,
            hooks: &mut self.http,
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
