//! Host capabilities, one module per WIT interface or WASI grant, each with its
//! configuration, its permission check and its host implementation.
//! A new capability adds a module here and one line in `add_to_linker`.

pub mod beneath;
pub mod cancel;
pub mod containers;
pub mod engine;
pub mod env;
pub mod files;
pub mod http;
pub mod images;
pub mod links;
pub mod lock;
pub mod log;
pub mod network;
pub mod network_faults;
pub mod paths;
pub mod prompt;
pub mod stacks;
pub mod stdio;
pub mod volumes;

use wasmtime::component::{HasData, Linker};

use crate::plugin::bindings;
use crate::plugin::state::HostState;

/// Registers WASI and every `runner:plugin` interface.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    // Symlinks, hard links and renames that would lead out of a preopen:
    // shadows WASI's filesystem `symlink-at`, `link-at` and `rename-at`.
    links::add_to_linker(linker)?;
    // Name lookups only of granted names: shadows WASI's ip-name-lookup.
    network::add_to_linker(linker)?;
    // wasi:http's outgoing handler, sent by the host under allow.http.
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
    bindings::types::add_to_linker::<HostState, Types>(linker, |s| s)?;
    bindings::log::add_to_linker::<HostState, log::Log>(linker, |s| &mut s.log)?;
    bindings::prompt::add_to_linker::<HostState, prompt::Prompt>(linker, |s| &mut s.prompt)?;
    bindings::cancel::add_to_linker::<HostState, cancel::Cancel>(linker, |s| &mut s.cancel)?;
    bindings::lock::add_to_linker::<HostState, lock::Lock>(linker, |s| &mut s.lock)?;
    bindings::files::add_to_linker::<HostState, files::host::Files>(linker, |s| &mut s.files)?;
    bindings::engine_types::add_to_linker::<HostState, engine::EngineData>(linker, |s| {
        &mut s.engine
    })?;
    bindings::containers::add_to_linker::<HostState, engine::EngineData>(linker, |s| {
        &mut s.engine
    })?;
    bindings::volumes::add_to_linker::<HostState, engine::EngineData>(linker, |s| &mut s.engine)?;
    bindings::images::add_to_linker::<HostState, engine::EngineData>(linker, |s| &mut s.engine)?;
    bindings::network_faults::add_to_linker::<HostState, engine::EngineData>(linker, |s| {
        &mut s.engine
    })?;
    bindings::stacks::add_to_linker::<HostState, engine::EngineData>(linker, |s| &mut s.engine)?;
    Ok(())
}

/// The `types` interface has no functions; its (empty) host trait lives on the state.
struct Types;
impl HasData for Types {
    type Data<'a> = &'a mut HostState;
}
impl bindings::types::Host for HostState {}
