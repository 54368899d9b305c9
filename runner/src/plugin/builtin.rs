//! Plugins embedded in the binary by build.rs: each one's component, its
//! code precompiled at build time, and what its `describe` returns.
//!
//! The precompiled code is loaded only when the running engine's
//! compatibility key is the one it was compiled with ([`ENGINE_KEY`]); any
//! other engine (another CPU's features, a changed configuration) compiles
//! the component, through the compile cache, as for any plugin. The bytes
//! are part of the binary, so loading them trusts nothing the binary does not
//! already contain (docs/security.md, "The compile cache").

use wasmtime::Engine;
use wasmtime::component::Component;

// What the generated descriptor functions are written with (none of it is
// used when the binary is built without plugins).
#[allow(unused_imports)]
use super::bindings::types::{Descriptor, Grant, GrantKind, Parameter, ParameterKind};

/// One embedded plugin component.
pub struct Builtin {
    pub name: &'static str,
    pub bytes: &'static [u8],
    /// sha256 of `bytes`, computed at build time so startup never hashes them.
    pub digest: &'static str,
    /// `bytes` compiled by an engine whose compatibility key is [`ENGINE_KEY`].
    pub precompiled: &'static [u8],
    /// What `describe` returned at build time (`None` when it could not be
    /// asked without the host: then it is asked at run time).
    pub descriptor: Option<fn() -> Descriptor>,
}

include!(concat!(env!("OUT_DIR"), "/builtins.rs"));

/// Finds a built-in plugin by name.
pub fn get(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// The built-in whose component has this sha256, if any.
pub fn by_digest(digest: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.digest == digest)
}

/// Names of every built-in plugin, for validation and suggestions.
pub fn names() -> Vec<&'static str> {
    BUILTINS.iter().map(|b| b.name).collect()
}

/// Where a loaded component's code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The code embedded in the binary.
    Embedded,
    /// Compiled now (or read from the compile cache).
    Compiled,
}

/// The component from `precompiled` when it was compiled for an engine with
/// `engine`'s compatibility key (`precompiled_for`), else from `fallback`.
pub fn load(
    engine: &Engine,
    name: &str,
    precompiled: &'static [u8],
    precompiled_for: &str,
    fallback: impl FnOnce() -> wasmtime::Result<Component>,
) -> wasmtime::Result<(Component, Origin)> {
    let key = super::engine::compatibility_key(engine);
    if !precompiled.is_empty() && precompiled_for == key {
        // SAFETY: these bytes are part of this binary: build.rs compiled them
        // with this engine configuration (the key matches), and nothing
        // outside the binary can change them.
        match unsafe { Component::deserialize(engine, precompiled) } {
            Ok(component) => {
                tracing::debug!("plugin `{name}`: loaded the code precompiled into the binary");
                return Ok((component, Origin::Embedded));
            }
            Err(error) => tracing::debug!(
                "plugin `{name}`: the precompiled code does not load ({error:#}); compiling it"
            ),
        }
    } else {
        tracing::debug!(
            "plugin `{name}`: precompiled for engine {precompiled_for:?}, this engine is {key}; compiling it"
        );
    }
    Ok((fallback()?, Origin::Compiled))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello() -> &'static Builtin {
        get("hello").expect("the hello built-in (built without RUN_SKIP_WASM)")
    }

    #[test]
    fn embedded_code_is_loaded_only_for_the_engine_it_was_compiled_for() {
        let engine = super::super::engine::engine().unwrap();
        let b = hello();
        assert_eq!(ENGINE_KEY, super::super::engine::compatibility_key(engine));
        let compile = || Component::new(engine, b.bytes);

        let (_, origin) = load(engine, b.name, b.precompiled, ENGINE_KEY, compile).unwrap();
        assert_eq!(origin, Origin::Embedded);

        // A binary whose embedded key is not the running engine's compiles.
        let mut compiled = false;
        let (_, origin) = load(engine, b.name, b.precompiled, "0123456789abcdef", || {
            compiled = true;
            compile()
        })
        .unwrap();
        assert_eq!(origin, Origin::Compiled);
        assert!(compiled);

        // So does one whose code does not load (here: not compiled code at all).
        let (_, origin) = load(engine, b.name, b.bytes, ENGINE_KEY, compile).unwrap();
        assert_eq!(origin, Origin::Compiled);
    }

    #[test]
    fn every_built_in_carries_its_descriptor() {
        for b in BUILTINS {
            let descriptor = (b.descriptor.expect(b.name))();
            assert_eq!(descriptor.name, b.name, "{}", b.name);
        }
    }
}
