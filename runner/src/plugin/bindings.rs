//! Host bindings generated from wit/. Every import is async (host calls may do
//! I/O) and trappable (a host failure can end the plugin with a clear error).

wasmtime::component::bindgen!({
    path: "../wit",
    world: "plugin",
    imports: { default: async | trappable },
    exports: { default: async },
});

pub use self::exports::runner::plugin::handler;
pub use self::runner::plugin::{cancel, container, lock, log, prompt, types};
