//! Plugins: where their bytes come from, compiling (cached), version checks,
//! and running one in a fresh sandboxed store.

pub mod bindings;
pub mod builtin;
pub mod cache;
pub mod engine;
mod grants;
mod run;
pub mod state;
pub mod version;

use std::path::PathBuf;

use sha2::{Digest, Sha256};
use wasmtime::component::Component;

pub use grants::missing_grants;
pub use run::{Invocation, Outcome, describe, run};

use crate::config::model::PluginSource;

/// A plugin's bytes and identity, before compilation.
pub struct Source {
    /// `hello`, or the file name of a path plugin.
    pub name: String,
    pub digest: String,
    bytes: Bytes,
}

enum Bytes {
    Static(&'static [u8]),
    Owned(Vec<u8>),
}

/// Why a plugin could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("no built-in plugin named `{0}`")]
    UnknownBuiltin(String),
    #[error("cannot read plugin file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is a core WebAssembly module, not a component; build it for wasm32-wasip2 (or componentize it)", path.display())]
    CoreModule { path: PathBuf },
    #[error("{} is not a WebAssembly component (bad magic bytes)", path.display())]
    NotWasm { path: PathBuf },
    #[error("plugin `{name}` cannot be compiled: {reason}")]
    Compile { name: String, reason: String },
    #[error("plugin `{name}` cannot be used: {source}")]
    Version {
        name: String,
        source: version::VersionError,
    },
}

impl Source {
    /// Reads the plugin a task names; path plugins are hashed on every load so a
    /// changed file is never run under a stale digest.
    pub fn resolve(source: &PluginSource) -> Result<Source, LoadError> {
        match source {
            PluginSource::Builtin(name) => {
                let builtin =
                    builtin::get(name).ok_or_else(|| LoadError::UnknownBuiltin(name.clone()))?;
                Ok(Source {
                    name: builtin.name.to_owned(),
                    digest: builtin.digest.to_owned(),
                    bytes: Bytes::Static(builtin.bytes),
                })
            }
            PluginSource::Path(path) => {
                let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
                    path: path.clone(),
                    source,
                })?;
                match bytes.get(..8) {
                    Some([0, b'a', b's', b'm', _, _, 0x01, 0x00]) => {}
                    Some([0, b'a', b's', b'm', _, _, 0x00, 0x00]) => {
                        return Err(LoadError::CoreModule { path: path.clone() });
                    }
                    _ => return Err(LoadError::NotWasm { path: path.clone() }),
                }
                let name = path
                    .file_name()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| path.display().to_string());
                Ok(Source {
                    name,
                    digest: hex::encode(Sha256::digest(&bytes)),
                    bytes: Bytes::Owned(bytes),
                })
            }
        }
    }

    pub fn bytes(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Static(bytes) => bytes,
            Bytes::Owned(bytes) => bytes,
        }
    }

    /// Compiles (or loads from the cache) and checks the WIT version.
    pub fn load(&self) -> Result<Component, LoadError> {
        let compile_error = |e: wasmtime::Error| LoadError::Compile {
            name: self.name.clone(),
            reason: format!("{e:#}"),
        };
        let engine = engine::engine().map_err(compile_error)?;
        let component = cache::load(engine, &self.digest, self.bytes()).map_err(compile_error)?;
        version::check(engine, &component).map_err(|source| LoadError::Version {
            name: self.name.clone(),
            source,
        })?;
        Ok(component)
    }
}
