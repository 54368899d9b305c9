//! Files the host reads or writes for a plugin (exec streams, archives,
//! snapshots) must lie inside the task's granted directories, exactly as if the
//! plugin opened them through WASI: no `..`, no absolute escapes, and no
//! symlink leading out of the grant.

use std::path::{Component, Path, PathBuf};

use crate::capability::files::Preopen;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PathError {
    #[error("`{0}` is not inside a directory granted to this task for {1}")]
    NotGranted(String, &'static str),
    #[error("`{0}` leaves its granted directory")]
    Escapes(String),
}

/// Resolves a plugin's path (as the plugin names it, e.g. `backups/x.sql.zst`)
/// to a host path under a preopen; `write` needs a writable one.
pub fn resolve(preopens: &[Preopen], guest: &str, write: bool) -> Result<PathBuf, PathError> {
    let purpose = if write { "writing" } else { "reading" };
    let relative = Path::new(guest);
    let preopen = preopens
        .iter()
        .filter(|p| !write || p.writable)
        .filter(|p| p.guest == "." || relative.starts_with(&p.guest))
        .max_by_key(|p| p.guest.len())
        .ok_or_else(|| PathError::NotGranted(guest.to_owned(), purpose))?;
    let inner = if preopen.guest == "." {
        relative
    } else {
        relative.strip_prefix(&preopen.guest).unwrap_or(relative)
    };
    if inner
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(PathError::Escapes(guest.to_owned()));
    }
    let host = preopen.host.join(inner);
    // Symlinks: the deepest existing ancestor must still be inside the grant.
    let root = preopen
        .host
        .canonicalize()
        .map_err(|_| PathError::Escapes(guest.to_owned()))?;
    let mut existing = host.as_path();
    while !existing.exists() {
        existing = existing
            .parent()
            .ok_or_else(|| PathError::Escapes(guest.to_owned()))?;
    }
    let real = existing
        .canonicalize()
        .map_err(|_| PathError::Escapes(guest.to_owned()))?;
    if !real.starts_with(&root) {
        return Err(PathError::Escapes(guest.to_owned()));
    }
    Ok(host)
}
