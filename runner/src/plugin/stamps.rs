//! The digest of a plugin file as it was when last hashed, so that `run
//! --list` and completion need not read and hash every path plugin each time
//! (a 600 KB plugin costs about 1 ms, half of a whole listing).
//!
//! Like git's index, an entry is trusted while the file's size, modification
//! time (nanoseconds), inode and device are unchanged. Only listings use it:
//! running a plugin always reads and hashes the file (and checks tasks.lock).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What identifies a file's contents without reading them, and its digest.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    len: u64,
    mtime: i64,
    mtime_nsec: i64,
    ino: u64,
    dev: u64,
    digest: String,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata, digest: &str) -> Stamp {
        Stamp {
            len: meta.len(),
            mtime: meta.mtime(),
            mtime_nsec: meta.mtime_nsec(),
            ino: meta.ino(),
            dev: meta.dev(),
            digest: digest.to_owned(),
        }
    }
}

/// The stamp file of `plugin` in `cache`: named by the hash of its canonical path.
fn stamp_path(cache: &Path, plugin: &Path) -> Option<(PathBuf, std::fs::Metadata)> {
    let canonical = plugin.canonicalize().ok()?;
    let meta = std::fs::metadata(&canonical).ok()?;
    let key = hex::encode(Sha256::digest(canonical.as_os_str().as_encoded_bytes()));
    let dir = cache.join("descriptors").join("files");
    Some((dir.join(format!("{key}.json")), meta))
}

/// The sha256 of `plugin`'s contents, if it was recorded for the file as it is now.
pub fn digest(plugin: &Path) -> Option<String> {
    digest_in(&super::cache::dir()?, plugin)
}

fn digest_in(cache: &Path, plugin: &Path) -> Option<String> {
    let (path, meta) = stamp_path(cache, plugin)?;
    let stamp: Stamp = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    (Stamp::of(&meta, &stamp.digest) == stamp).then_some(stamp.digest)
}

/// Records that `plugin`, as it is now, hashes to `digest`. A cache that
/// cannot be written is not an error: listings just hash again.
pub fn remember(plugin: &Path, digest: &str) {
    if let Some(cache) = super::cache::dir() {
        remember_in(&cache, plugin, digest);
    }
}

fn remember_in(cache: &Path, plugin: &Path, digest: &str) {
    let Some((path, meta)) = stamp_path(cache, plugin) else {
        return;
    };
    if let Err(error) = super::descriptors::write(&path, &Stamp::of(&meta, digest)) {
        tracing::debug!("could not cache a digest in {}: {error}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_holds_until_the_file_changes() {
        let cache = tempfile::tempdir().unwrap();
        let cache = cache.path();
        let dir = tempfile::tempdir().unwrap();
        let plugin = dir.path().join("p.wasm");
        std::fs::write(&plugin, b"one").unwrap();
        assert_eq!(digest_in(cache, &plugin), None);
        remember_in(cache, &plugin, "aa11");
        assert_eq!(digest_in(cache, &plugin).as_deref(), Some("aa11"));
        // Same size, new contents: the modification time tells.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&plugin, b"two").unwrap();
        assert_eq!(digest_in(cache, &plugin), None);
    }
}
