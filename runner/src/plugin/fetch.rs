//! Plugins referenced by URL: downloaded once through the runner (never by a
//! plugin), cached by sha256, and refused unless the bytes match the pin in
//! tasks.toml. A cached file is checked again on every load.

use std::io::{Read, Write};
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::LoadError;

/// Largest plugin accepted from a URL: a runaway server must not fill the disk.
const MAX_DOWNLOAD: u64 = 512 << 20;

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
        && let Ok(bytes) = std::fs::read(path)
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

fn download(url: &str) -> Result<Vec<u8>, LoadError> {
    let failed = |reason: String| LoadError::Download {
        url: url.to_owned(),
        reason,
    };
    let response = ureq::get(url).call().map_err(|e| failed(e.to_string()))?;
    let mut bytes = Vec::new();
    response
        .into_body()
        .into_reader()
        .take(MAX_DOWNLOAD + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| failed(e.to_string()))?;
    if bytes.len() as u64 > MAX_DOWNLOAD {
        return Err(failed(format!("larger than {} MiB", MAX_DOWNLOAD >> 20)));
    }
    Ok(bytes)
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
