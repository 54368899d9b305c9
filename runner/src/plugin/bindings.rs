//! Host bindings generated from wit/. Every import is async (host calls may do
//! I/O) and trappable (a host failure can end the plugin with a clear error).
//! Resources are host types: a `container` handle is the container's ID and
//! canonical name, resolved and checked once by `containers.open`.
//!
//! `engine-types.error` is a trappable error type: the container-engine host
//! functions return `Result<T, HostError>` (a Rust error built with `?` from
//! denials, path and engine errors), converted to the WIT `error` once, in
//! `engine_types::Host::convert_error`; `HostError::Trap` ends the plugin.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "plugin",
    imports: { default: async | trappable },
    exports: { default: async },
    trappable_error_type: {
        "runner:plugin/engine-types.error" => crate::capability::engine::HostError,
    },
    with: {
        "runner:plugin/containers.container": crate::capability::containers::ContainerHandle,
        "runner:plugin/log.progress": crate::capability::log::ProgressHandle,
        "runner:plugin/lock.held-lock": crate::capability::lock::HeldLock,
        "runner:plugin/files.new-file": crate::capability::files::host::NewFileHandle,
        "runner:plugin/files.read-file": crate::capability::files::host::ReadFileHandle,
    },
});

pub use self::exports::runner::plugin::handler;
pub use self::runner::plugin::{
    cancel, containers, engine_types, files, images, lock, log, network_faults, prompt, stacks,
    types, volumes,
};
