//! On-disk cache of precompiled components, so a plugin is compiled once and
//! afterwards only loaded.
//!
//! Deserialising a compiled file is loading native code into the runner, so
//! the cache trusts nothing about the directory it lives in:
//!
//! - An entry is named by the component's sha256 and the engine's
//!   compatibility key (`DIGEST-KEY.cwasm`), and holds the compiled bytes
//!   followed by an HMAC-SHA256 over (format, digest, engine key, bytes)
//!   under the user's cache key ([`super::cache_key`]). An entry moved to
//!   another plugin's name, altered, or written by anyone without the key
//!   does not verify: it is discarded with a warning and the plugin compiled
//!   again.
//! - The file is read into memory once, the MAC checked on those bytes, and
//!   those same bytes deserialised: nothing can change the file between the
//!   check and the load (mapping it, as `deserialize_file` does, would let a
//!   writer change the code after the check).
//! - When the cache directory or the key lies inside a directory granted to a
//!   task of this run ([`refuse_if_granted`]), the cache is not used at all
//!   in this process: plugins are compiled in memory, with one warning.
//!
//! Entries are written atomically (temporary file, fsync, rename), 0600.

use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime::error::Context;

use super::cache_key::{self, Key, TAG_LEN};

/// Bumped when the entry layout or what the MAC covers changes.
const FORMAT: &[u8] = b"run compile cache 1";

/// No compiled component is this large; a bigger "entry" is not read.
const MAX_ENTRY: u64 = 2 << 30;

/// The cache directory: `RUN_CACHE_DIR`, else the platform cache dir (`~/.cache/run`).
pub fn dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("RUN_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "run").map(|d| d.cache_dir().join("components"))
}

/// Why the cache is not used in this process, once decided.
static REFUSED: OnceLock<String> = OnceLock::new();
/// The key, read (or created) on first use.
static KEY: OnceLock<Option<Key>> = OnceLock::new();

/// One directory a task of the run is granted, on the host.
pub struct GrantedDir<'a> {
    pub task: &'a str,
    pub grant: &'a str,
    pub host: PathBuf,
}

/// Stops using the cache in this process when the cache directory or the key
/// lies inside (or is) a directory granted to a task of the run: that task's
/// plugin could read the key or swap compiled code under a later plugin.
/// Call before any plugin of the run is loaded.
pub fn refuse_if_granted(granted: &[GrantedDir<'_>]) {
    let (Some(cache), Some(key)) = (dir(), cache_key::path()) else {
        return;
    };
    if let Some(reason) = inside_a_grant(&cache, &key, granted) {
        refuse(reason);
    }
}

fn inside_a_grant(cache: &Path, key: &Path, granted: &[GrantedDir<'_>]) -> Option<String> {
    let cache = canonical(cache);
    let key = canonical(key);
    granted.iter().find_map(|g| {
        let host = canonical(&g.host);
        let (what, path) = if cache.starts_with(&host) {
            ("the compile cache", &cache)
        } else if key.starts_with(&host) {
            ("the compile cache's key", &key)
        } else {
            return None;
        };
        Some(format!(
            "{what} ({}) lies inside `{}`, which task `{}` is granted",
            path.display(),
            g.grant,
            g.task
        ))
    })
}

fn refuse(reason: String) {
    if REFUSED.set(reason.clone()).is_ok() {
        tracing::warn!(
            "not using the compile cache in this run: {reason}; plugins are compiled in memory (set RUN_CACHE_DIR and RUN_CACHE_KEY outside every grant)"
        );
    }
}

/// `path` with symlinks resolved, as far as it exists (a grant or cache not
/// created yet keeps its remaining components as written).
fn canonical(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            return rest.iter().rev().fold(real, |p, c| p.join(c));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => return absolute,
        }
    }
}

fn key() -> Option<&'static Key> {
    KEY.get_or_init(|| {
        let path = cache_key::path()?;
        match Key::load_or_create(&path) {
            Ok(key) => Some(key),
            Err(error) => {
                refuse(error.to_string());
                None
            }
        }
    })
    .as_ref()
}

/// Loads `bytes` (whose sha256 is `digest`) as a component, from the cache when
/// a verified entry is there. A cache that cannot be used or written is not an
/// error, only slower.
pub fn load(engine: &Engine, digest: &str, bytes: &[u8]) -> wasmtime::Result<Component> {
    let usable = REFUSED.get().is_none() && digest.bytes().all(|b| b.is_ascii_hexdigit());
    // The key is not even read (or created) when the cache is refused.
    let Some((dir, key)) = dir().filter(|_| usable).and_then(|dir| Some((dir, key()?))) else {
        tracing::debug!("compiling plugin sha256:{digest} (in memory)");
        return Component::new(engine, bytes);
    };
    let entry = Entry::new(&dir, digest, engine);
    match entry.read(key) {
        Ok(Some(compiled)) => {
            // SAFETY: these exact bytes carry our MAC over this digest and
            // engine: this runner compiled them (see the module comment).
            match unsafe { Component::deserialize(engine, &compiled) } {
                Ok(component) => return Ok(component),
                Err(error) => {
                    tracing::debug!("discarding cache entry {}: {error:#}", entry.path.display())
                }
            }
        }
        Ok(None) => {}
        Err(Rejected(reason)) => tracing::warn!(
            "compile cache: discarding {}: {reason}; compiling the plugin again",
            entry.path.display()
        ),
    }
    tracing::debug!("compiling plugin sha256:{digest}");
    let compiled = engine.precompile_component(bytes)?;
    if let Err(error) = entry.write(key, &compiled) {
        tracing::debug!(
            "could not write the component cache {}: {error:#}",
            entry.path.display()
        );
    }
    // SAFETY: `compiled` was produced just now by this engine.
    unsafe { Component::deserialize(engine, &compiled) }
}

/// One component's place in the cache.
struct Entry {
    path: PathBuf,
    dir: PathBuf,
    digest: String,
    engine_key: String,
}

/// An entry that exists but must not be loaded, and why.
#[derive(Debug)]
struct Rejected(String);

impl Entry {
    fn new(dir: &Path, digest: &str, engine: &Engine) -> Entry {
        let engine_key = super::engine::compatibility_key(engine);
        Entry {
            path: dir.join(format!("{digest}-{engine_key}.cwasm")),
            dir: dir.to_owned(),
            digest: digest.to_owned(),
            engine_key,
        }
    }

    fn parts<'a>(&'a self, compiled: &'a [u8]) -> [&'a [u8]; 4] {
        [
            FORMAT,
            self.digest.as_bytes(),
            self.engine_key.as_bytes(),
            compiled,
        ]
    }

    /// The verified compiled bytes; `None` when there is no entry.
    fn read(&self, key: &Key) -> Result<Option<Vec<u8>>, Rejected> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
            .open(&self.path);
        let file = match file {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(Rejected("it is a symlink".into()));
            }
            Err(e) => return Err(Rejected(format!("it cannot be read ({e})"))),
        };
        let meta = file
            .metadata()
            .map_err(|e| Rejected(format!("it cannot be read ({e})")))?;
        if !meta.is_file() {
            return Err(Rejected("it is not a regular file".into()));
        }
        if meta.len() > MAX_ENTRY {
            return Err(Rejected(format!("it is {} bytes long", meta.len())));
        }
        let mut data = Vec::with_capacity(meta.len() as usize);
        file.take(MAX_ENTRY + 1)
            .read_to_end(&mut data)
            .map_err(|e| Rejected(format!("it cannot be read ({e})")))?;
        if data.len() < TAG_LEN {
            return Err(Rejected("it is too short to carry a MAC".into()));
        }
        let split = data.len() - TAG_LEN;
        if !key.verify(&self.parts(&data[..split]), &data[split..]) {
            return Err(Rejected(
                "it was not written by this runner for this plugin (its MAC does not verify)"
                    .into(),
            ));
        }
        data.truncate(split);
        Ok(Some(data))
    }

    fn write(&self, key: &Key, compiled: &[u8]) -> wasmtime::Result<()> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let tag = key.tag(&self.parts(compiled));
        // tempfile creates its files 0600; the rename replaces any old entry.
        let mut temp = tempfile::NamedTempFile::new_in(&self.dir)?;
        temp.write_all(compiled)?;
        temp.write_all(&tag)?;
        temp.as_file().sync_all()?;
        temp.persist(&self.path)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(dir: &Path, digest: &str) -> Entry {
        Entry {
            path: dir.join(format!("{digest}-e1.cwasm")),
            dir: dir.to_owned(),
            digest: digest.to_owned(),
            engine_key: "e1".to_owned(),
        }
    }

    #[test]
    fn an_entry_reads_back_only_as_written_under_its_own_name() {
        let dir = tempfile::tempdir().unwrap();
        let key = Key::for_tests(1);
        let a = entry(dir.path(), "aa");
        let b = entry(dir.path(), "bb");
        assert!(a.read(&key).unwrap().is_none());
        a.write(&key, b"code of a").unwrap();
        b.write(&key, b"code of b").unwrap();
        assert_eq!(a.read(&key).unwrap().unwrap(), b"code of a");

        // Another plugin's valid entry copied over this one's name.
        std::fs::copy(&a.path, &b.path).unwrap();
        let rejected = b.read(&key).unwrap_err();
        assert!(rejected.0.contains("MAC does not verify"), "{rejected:?}");

        // The same bytes, altered by one bit.
        let mut bytes = std::fs::read(&a.path).unwrap();
        bytes[0] ^= 1;
        std::fs::write(&a.path, &bytes).unwrap();
        assert!(a.read(&key).is_err());

        // Written by a runner with another key.
        a.write(&Key::for_tests(2), b"code of a").unwrap();
        assert!(a.read(&key).is_err());

        // A symlink to a valid entry is not followed.
        a.write(&key, b"code of a").unwrap();
        std::fs::remove_file(&b.path).unwrap();
        std::os::unix::fs::symlink(&a.path, &b.path).unwrap();
        assert!(b.read(&key).unwrap_err().0.contains("symlink"));

        // Too short to hold a MAC.
        std::fs::write(&a.path, b"x").unwrap();
        assert!(a.read(&key).is_err());
    }

    #[test]
    fn a_cache_or_key_inside_a_grant_is_found() {
        let project = tempfile::tempdir().unwrap();
        let root = project.path();
        std::fs::create_dir_all(root.join("build")).unwrap();
        let granted = |grant: &'static str| GrantedDir {
            task: "t",
            grant,
            host: root.join(grant),
        };
        let elsewhere = tempfile::tempdir().unwrap();
        let key = elsewhere.path().join("cache.key");

        // The cache (not created yet) under a write grant.
        let reason = inside_a_grant(&root.join("build/cache"), &key, &[granted("build")]).unwrap();
        assert!(
            reason.contains("the compile cache") && reason.contains("`build`"),
            "{reason}"
        );
        // The key under a read grant of the whole project.
        let reason = inside_a_grant(
            elsewhere.path(),
            &root.join(".keys/cache.key"),
            &[granted(".")],
        )
        .unwrap();
        assert!(reason.contains("key"), "{reason}");
        // A grant beside them is fine; so is one inside the cache.
        assert!(inside_a_grant(&root.join("cache"), &key, &[granted("build")]).is_none());
        assert!(inside_a_grant(root, &key, &[granted("build")]).is_none());

        // A symlinked grant is compared where it points.
        std::os::unix::fs::symlink(elsewhere.path(), root.join("link")).unwrap();
        assert!(inside_a_grant(elsewhere.path(), &key, &[granted("link")]).is_some());
    }
}
