//! On-disk cache of precompiled components, so a plugin is compiled once and
//! afterwards loaded by mapping the file.
//!
//! Files are keyed by the component's sha256 and the engine's compatibility hash,
//! written atomically (temp file, fsync, rename), and only ever files this cache
//! wrote are deserialised: deserialising is trusted code loading.

use std::io::Write;
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime::error::Context;

/// The cache directory: `RUN_CACHE_DIR`, else the platform cache dir (`~/.cache/run`).
pub fn dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("RUN_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "run").map(|d| d.cache_dir().join("components"))
}

/// Loads `bytes` (whose sha256 is `digest`) as a component, from the cache when
/// possible. A cache that cannot be written is not an error, only slower.
pub fn load(engine: &Engine, digest: &str, bytes: &[u8]) -> wasmtime::Result<Component> {
    let Some(dir) = dir() else {
        return Component::new(engine, bytes);
    };
    let path = dir.join(format!(
        "{digest}-{}.cwasm",
        super::engine::compatibility_key(engine)
    ));
    if path.exists() {
        // SAFETY: the file is one this cache wrote (atomically, under its own
        // name) for this engine configuration; see the module comment.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => return Ok(component),
            Err(error) => tracing::debug!("discarding cache entry {}: {error:#}", path.display()),
        }
    }
    let compiled = engine.precompile_component(bytes)?;
    if let Err(error) = store(&dir, &path, &compiled) {
        tracing::debug!(
            "could not write the component cache {}: {error:#}",
            path.display()
        );
        // SAFETY: `compiled` was produced just now by this engine.
        return unsafe { Component::deserialize(engine, &compiled) };
    }
    // SAFETY: as above, written by this function.
    unsafe { Component::deserialize_file(engine, &path) }
}

fn store(dir: &Path, path: &Path, compiled: &[u8]) -> wasmtime::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(compiled)?;
    temp.as_file().sync_all()?;
    temp.persist(path)?;
    Ok(())
}
