//! Host capabilities, one module per WIT interface or WASI grant, each with its
//! configuration, its permission check and its host implementation.
//! A new capability adds a module here and one line in `add_to_linker`.

pub mod cancel;
pub mod container;
pub mod env;
pub mod files;
pub mod lock;
pub mod log;
pub mod network;
pub mod prompt;

use wasmtime::component::{HasData, Linker};

use crate::plugin::bindings;
use crate::plugin::state::HostState;

/// Registers WASI and every `runner:plugin` interface.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    bindings::types::add_to_linker::<HostState, Types>(linker, |s| s)?;
    bindings::log::add_to_linker::<HostState, log::Log>(linker, |s| &mut s.log)?;
    bindings::prompt::add_to_linker::<HostState, prompt::Prompt>(linker, |s| &mut s.prompt)?;
    bindings::container::add_to_linker::<HostState, container::Container>(linker, |s| {
        &mut s.container
    })?;
    bindings::cancel::add_to_linker::<HostState, cancel::Cancel>(linker, |s| &mut s.cancel)?;
    bindings::lock::add_to_linker::<HostState, lock::Lock>(linker, |s| &mut s.lock)?;
    Ok(())
}

/// The `types` interface has no functions; its (empty) host trait lives on the state.
struct Types;
impl HasData for Types {
    type Data<'a> = &'a mut HostState;
}
impl bindings::types::Host for HostState {}
