//! Plugins: where their bytes come from, compiling (cached), version checks,
//! and running one in a fresh sandboxed store.

pub mod bindings;
pub mod builtin;
pub mod cache;
pub mod cache_key;
pub mod descriptors;
pub mod engine;
pub mod engine_config;
pub mod fetch;
pub mod limits;
pub mod link;
mod run;
pub mod stamps;
pub mod state;
pub mod version;
pub mod wit;

use std::path::PathBuf;

use sha2::{Digest, Sha256};
use wasmtime::component::Component;

pub use run::{Invocation, Outcome, Preview, preview, run};

use crate::config::model::PluginSource;

/// A plugin's bytes and identity, before compilation. Cheap to clone: the
/// bytes are shared.
#[derive(Clone)]
pub struct Source {
    /// `hello`, or the file name of a path plugin.
    pub name: String,
    pub digest: String,
    bytes: Bytes,
    /// The built-in these bytes are, with its precompiled code.
    builtin: Option<&'static builtin::Builtin>,
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
    #[error("plugin file {} is not a regular file", path.display())]
    NotAFile { path: PathBuf },
    /// A plugin file or download over [`limits::MAX_PLUGIN_FILE`].
    #[error(
        "plugin {what} is {}, over the {} limit for plugin files: refused",
        size.describe(),
        crate::task_error::human_size(*limit)
    )]
    TooLarge {
        what: String,
        size: Size,
        limit: u64,
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
    #[error("plugin `{name}` cannot be linked: {reason}")]
    Link {
        name: String,
        reason: link::Unlinkable,
    },
    #[error("plugin `{name}` cannot be used: {source}")]
    Version {
        name: String,
        source: version::VersionError,
    },
}

/// How large a refused plugin is: exactly, or only that it is past the limit
/// (a download with no length, stopped there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Exactly(u64),
    MoreThan(u64),
}

impl Size {
    fn describe(&self) -> String {
        match *self {
            Size::Exactly(bytes) => size_text(bytes),
            Size::MoreThan(bytes) => {
                format!("more than {}, where reading stopped", size_text(bytes))
            }
        }
    }
}

/// `200 MiB (209715200 bytes)`: both, since a size just over a limit rounds to it.
fn size_text(bytes: u64) -> String {
    let mib = bytes as f64 / (1 << 20) as f64;
    format!("{mib:.1} MiB ({bytes} bytes)")
}

/// Reads at most `limit` bytes of `reader`: more is refused as too large.
pub(crate) fn read_capped(
    reader: impl std::io::Read,
    expected: Option<u64>,
    what: &str,
) -> Result<Result<Vec<u8>, LoadError>, std::io::Error> {
    use std::io::Read as _;
    let limit = limits::MAX_PLUGIN_FILE;
    let too_large = |size| LoadError::TooLarge {
        what: what.to_owned(),
        size,
        limit,
    };
    if let Some(len) = expected.filter(|&len| len > limit) {
        return Ok(Err(too_large(Size::Exactly(len))));
    }
    let mut bytes = Vec::with_capacity(expected.unwrap_or(0) as usize);
    reader.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Ok(Err(too_large(Size::MoreThan(limit))));
    }
    Ok(Ok(bytes))
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
                    builtin: Some(builtin),
                })
            }
            PluginSource::Url { url, sha256 } => {
                let bytes = fetch::fetch(url, sha256)?;
                check_magic(&bytes, std::path::Path::new(url))?;
                Ok(Source {
                    name: source.display_name(),
                    digest: sha256.clone(),
                    bytes: Bytes::Owned(bytes.into()),
                    builtin: None,
                })
            }
            PluginSource::Path(path) => {
                let bytes = read_file(path)?;
                check_magic(&bytes, path)?;
                Ok(Source {
                    name: source.display_name(),
                    digest: hex::encode(Sha256::digest(&bytes)),
                    bytes: Bytes::Owned(bytes.into()),
                    builtin: None,
                })
            }
        }
    }

    /// The plugin's bytes.
    pub fn bytes(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Static(bytes) => bytes,
            Bytes::Owned(bytes) => bytes,
        }
    }

    /// Compiles (or loads from the cache), checks the WIT version and that
    /// the host provides every import. Returns the component and the WIT
    /// version it targets.
    pub fn load(&self) -> Result<(Component, String), LoadError> {
        let compile_error = |e: wasmtime::Error| LoadError::Compile {
            name: self.name.clone(),
            reason: format!("{e:#}"),
        };
        let engine = engine::engine().map_err(compile_error)?;
        let compile = || cache::load(engine, &self.digest, self.bytes());
        let component = match self.builtin {
            Some(b) => builtin::load(engine, b.name, b.precompiled, builtin::ENGINE_KEY, compile)
                .map(|(component, _)| component),
            None => compile(),
        }
        .map_err(compile_error)?;
        let wit_version =
            version::check(engine, &component).map_err(|source| LoadError::Version {
                name: self.name.clone(),
                source,
            })?;
        let linker = run::linker().map_err(compile_error)?;
        link::check(engine, &component, linker).map_err(|reason| LoadError::Link {
            name: self.name.clone(),
            reason,
        })?;
        Ok((component, wit_version))
    }
}

/// A path plugin's bytes: a regular file (a FIFO or device would block or
/// never end), no larger than the plugin size limit, refused before it is
/// read when its size already says so.
fn read_file(path: &std::path::Path) -> Result<Vec<u8>, LoadError> {
    use std::os::unix::fs::OpenOptionsExt;
    let read_error = |source| LoadError::Read {
        path: path.to_owned(),
        source,
    };
    // Non-blocking: opening a FIFO must not wait for a writer.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(read_error)?;
    let meta = file.metadata().map_err(read_error)?;
    if !meta.is_file() {
        return Err(LoadError::NotAFile {
            path: path.to_owned(),
        });
    }
    read_capped(file, Some(meta.len()), &path.display().to_string()).map_err(read_error)?
}
