//! Plugins: where their bytes come from, compiling (cached), version checks,
//! and running one in a fresh sandboxed store.

pub mod bindings;
pub mod builtin;
pub mod cache;
pub mod descriptors;
pub mod engine;
pub mod fetch;
mod grants;
mod run;
pub mod stamps;
pub mod state;
pub mod version;

use std::path::PathBuf;

use sha2::{Digest, Sha256};
use wasmtime::component::Component;

pub use grants::missing_grants;
pub use run::{Invocation, Outcome, describe, run};

use crate::config::model::PluginSource;

/// A plugin's bytes and identity, before compilation. Cheap to clone: the
/// bytes are shared.
#[derive(Clone)]
pub struct Source {
    /// `hello`, or the file name of a path plugin.
    pub name: String,
    pub digest: String,
    bytes: Bytes,
}

#[derive(Clone)]
enum Bytes {
    Static(&'static [u8]),
    Owned(std::sync::Arc<[u8]>),
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
    #[error("cannot download plugin {url}: {reason}")]
    Download { url: String, reason: String },
    #[error("plugin {url} has sha256:{actual}, but tasks.toml pins sha256:{pinned}: refused")]
    PinMismatch {
        url: String,
        pinned: String,
        actual: String,
    },
    #[error("plugin `{name}` cannot be compiled: {reason}")]
    Compile { name: String, reason: String },
    #[error("plugin `{name}` cannot be used: {source}")]
    Version {
        name: String,
        source: version::VersionError,
    },
}

/// A component's header; a core module or anything else is refused by name.
fn check_magic(bytes: &[u8], path: &std::path::Path) -> Result<(), LoadError> {
    match bytes.get(..8) {
        Some([0, b'a', b's', b'm', _, _, 0x01, 0x00]) => Ok(()),
        Some([0, b'a', b's', b'm', _, _, 0x00, 0x00]) => Err(LoadError::CoreModule {
            path: path.to_owned(),
        }),
        _ => Err(LoadError::NotWasm {
            path: path.to_owned(),
        }),
    }
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
            PluginSource::Url { url, sha256 } => {
                let bytes = fetch::fetch(url, sha256)?;
                check_magic(&bytes, std::path::Path::new(url))?;
                Ok(Source {
                    name: source.display_name(),
                    digest: sha256.clone(),
                    bytes: Bytes::Owned(bytes.into()),
                })
            }
            PluginSource::Path(path) => {
                let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
                    path: path.clone(),
                    source,
                })?;
                check_magic(&bytes, path)?;
                Ok(Source {
                    name: source.display_name(),
                    digest: hex::encode(Sha256::digest(&bytes)),
                    bytes: Bytes::Owned(bytes.into()),
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
    /// Returns the component and the WIT version it targets.
    pub fn load(&self) -> Result<(Component, String), LoadError> {
        let compile_error = |e: wasmtime::Error| LoadError::Compile {
            name: self.name.clone(),
            reason: format!("{e:#}"),
        };
        let engine = engine::engine().map_err(compile_error)?;
        let component = cache::load(engine, &self.digest, self.bytes()).map_err(compile_error)?;
        let wit_version =
            version::check(engine, &component).map_err(|source| LoadError::Version {
                name: self.name.clone(),
                source,
            })?;
        Ok((component, wit_version))
    }
}
