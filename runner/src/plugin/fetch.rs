//! Plugins referenced by URL: downloaded once through the runner (never by a
//! plugin), cached by sha256, and refused unless the bytes match the pin in
//! tasks.toml. A cached file is checked again on every load.

use std::io::Write;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::{LoadError, read_capped};

fn downloads() -> Option<PathBuf> {
    super::cache::dir().map(|d| d.join("downloads"))
}

/// Whether the plugin pinned to `pinned` has been downloaded already (so it
/// can be read without the network).
pub fn is_cached(pinned: &str) -> bool {
    downloads().is_some_and(|d| d.join(format!("{pinned}.wasm")).is_file())
}

/// The bytes of the plugin at `url` whose sha256 must be `pinned`.
pub fn fetch(url: &str, pinned: &str) -> Result<Vec<u8>, LoadError> {
    let cached = downloads().map(|d| d.join(format!("{pinned}.wasm")));
    if let Some(path) = &cached
        && let Some(bytes) = read_cached(path)
    {
        if hex::encode(Sha256::digest(&bytes)) == pinned {
            return Ok(bytes);
        }
        // Not what this cache wrote: drop it and download again.
        let _ = std::fs::remove_file(path);
    }
    let bytes = download(url)?;
    let actual = hex::encode(Sha256::digest(&bytes));
    if actual != pinned {
        return Err(LoadError::PinMismatch {
            url: url.to_owned(),
            pinned: pinned.to_owned(),
            actual,
        });
    }
    if let Some(path) = &cached {
        let _ = store(path, &bytes);
    }
    Ok(bytes)
}

/// Downloads at most the plugin size limit: a `Content-Length` over it is
/// refused before the body is read, and a body that runs past it is stopped.
fn download(url: &str) -> Result<Vec<u8>, LoadError> {
    let failed = |reason: String| LoadError::Download {
        url: url.to_owned(),
        reason,
    };
    let response = ureq::get(url).call().map_err(|e| failed(e.to_string()))?;
    let length = response.body().content_length();
    let reader = response.into_body().into_reader();
    read_capped(reader, length, url).map_err(|e| failed(e.to_string()))?
}

/// A downloaded plugin kept earlier, if it can be read within the size limit.
fn read_cached(path: &std::path::Path) -> Option<Vec<u8>> {
    use std::os::unix::fs::OpenOptionsExt;
    // Not following a symlink, not waiting on a FIFO: the pin is checked after.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    read_capped(file, Some(meta.len()), "").ok()?.ok()
}

fn store(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("cache files have a directory");
    std::fs::create_dir_all(dir)?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path)?;
    Ok(())
}
