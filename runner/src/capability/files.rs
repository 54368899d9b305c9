//! File grants become WASI preopens: `allow.read` directories read-only,
//! `allow.write` read-write. Nothing else exists for the plugin.
//!
//! Each grant is opened at every run, beneath the project root (or beneath
//! `/` for an absolute grant), one component at a time without following a
//! symlink (`beneath::open_dir`): a grant that is a symlink, or passes through
//! one, is refused before the plugin starts, naming the grant and the link. A
//! plugin with a write grant can replace any directory under it with a
//! symlink, and the next task granted that directory would otherwise be
//! preopened wherever the link points.
//!
//! The directory so opened is the one WASI gets: see [`apply`]. Inside a
//! preopen, wasmtime-wasi (cap-std) refuses `..` and symlinks that leave it,
//! and `capability::links` refuses symlinks a plugin makes that point out.
//!
//! [`host`] is the `files` interface: files the host writes and hashes for
//! the plugin, beneath the same opened grants.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use crate::capability::beneath::{self, WalkError};
use crate::config::model::Grants;

/// One directory a plugin can see, opened.
#[derive(Clone)]
pub struct Preopen {
    /// Where it is on the host (for messages; never opened by this name).
    pub host: PathBuf,
    /// The path the plugin uses for it: the grant as written in tasks.toml.
    pub guest: String,
    pub writable: bool,
    /// The directory itself, opened without following a symlink. Host-side
    /// opens of files the plugin names start from here.
    dir: Arc<OwnedFd>,
}

impl Preopen {
    /// Opens `host`, a directory the caller trusts (the runner's own, or a
    /// test's), as a preopen. Grants go through [`preopens`] instead.
    pub fn trusted(host: &Path, guest: &str, writable: bool) -> std::io::Result<Preopen> {
        Ok(Preopen {
            host: host.to_path_buf(),
            guest: guest.to_owned(),
            writable,
            dir: Arc::new(beneath::open_trusted_dir(host)?),
        })
    }

    /// The opened directory.
    pub fn dir(&self) -> BorrowedFd<'_> {
        self.dir.as_fd()
    }
}

impl std::fmt::Debug for Preopen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Preopen")
            .field("host", &self.host)
            .field("guest", &self.guest)
            .field("writable", &self.writable)
            .finish_non_exhaustive()
    }
}

/// Two preopens are the same grant when they name the same directory the
/// same way; which descriptor each holds does not matter.
impl PartialEq for Preopen {
    fn eq(&self, other: &Preopen) -> bool {
        (&self.host, &self.guest, self.writable) == (&other.host, &other.guest, other.writable)
    }
}
impl Eq for Preopen {}

/// A file grant that cannot be honoured.
#[derive(Debug, thiserror::Error)]
pub enum FileGrantError {
    #[error("granted directory `{grant}` does not exist ({})", host.display())]
    Missing { grant: String, host: PathBuf },
    #[error("granted path `{grant}` is not a directory ({})", host.display())]
    NotADirectory { grant: String, host: PathBuf },
    #[error(
        "granted directory `{grant}` is refused: {} is a symlink (to {}), and a grant is never opened through a symlink; grant the directory itself, or remove the link",
        link.display(),
        target.display()
    )]
    Symlink {
        grant: String,
        link: PathBuf,
        target: PathBuf,
    },
    #[error("cannot create granted directory `{grant}` ({}): {source}", host.display())]
    Create {
        grant: String,
        host: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open granted directory `{grant}` ({}): {source}", host.display())]
    Open {
        grant: String,
        host: PathBuf,
        source: std::io::Error,
    },
}

/// Opens the task's file grants. Relative grants are opened beneath the
/// project root, absolute ones beneath `/`, never through a symlink. Write
/// grants are created when missing (granting a directory to write into
/// implies it may start empty), each directory made in the one opened
/// before it; read grants must exist.
pub fn preopens(root: &Path, grants: &Grants) -> Result<Vec<Preopen>, FileGrantError> {
    let mut preopens: Vec<Preopen> = Vec::new();
    for (grant, writable) in grants
        .write
        .iter()
        .map(|g| (g, true))
        .chain(grants.read.iter().map(|g| (g, false)))
    {
        let guest = guest_path(grant);
        // A directory granted for writing is not granted again read-only.
        if preopens.iter().any(|p| p.guest == guest) {
            continue;
        }
        let (base, relative) = match Path::new(&guest).strip_prefix("/") {
            Ok(relative) => (Path::new("/"), relative),
            Err(_) => (root, Path::new(&guest)),
        };
        let host = base.join(relative);
        // The project root is the user's choice, reached as they named it.
        let start = beneath::open_trusted_dir(base).map_err(|source| FileGrantError::Open {
            grant: grant.clone(),
            host: base.to_path_buf(),
            source,
        })?;
        let dir = beneath::open_dir(start.as_fd(), relative, writable)
            .map_err(|e| grant_error(grant, base, &host, e))?;
        preopens.push(Preopen {
            host,
            guest,
            writable,
            dir: Arc::new(dir),
        });
    }
    Ok(preopens)
}

fn grant_error(grant: &str, base: &Path, host: &Path, error: WalkError) -> FileGrantError {
    let grant = grant.to_owned();
    match error {
        WalkError::Symlink { at, target } => FileGrantError::Symlink {
            grant,
            link: base.join(at),
            target,
        },
        WalkError::NotADirectory { at } => FileGrantError::NotADirectory {
            grant,
            host: base.join(at),
        },
        WalkError::Missing { .. } => FileGrantError::Missing {
            grant,
            host: host.to_path_buf(),
        },
        WalkError::Create { at, source } => FileGrantError::Create {
            grant,
            host: base.join(at),
            source,
        },
        WalkError::Io { at, source } => FileGrantError::Open {
            grant,
            host: base.join(at),
            source,
        },
    }
}

/// `./out/` and `out` are the same grant; the plugin sees `out`.
fn guest_path(grant: &str) -> String {
    let trimmed = grant.trim_end_matches('/');
    let trimmed = trimmed.strip_prefix("./").unwrap_or(trimmed);
    if trimmed.is_empty() {
        if grant.starts_with('/') {
            "/".to_owned()
        } else {
            ".".to_owned()
        }
    } else {
        trimmed.to_owned()
    }
}

/// Adds the preopens to a WASI context.
///
/// wasmtime-wasi 48's `WasiCtxBuilder::preopened_dir` takes a path and opens
/// it itself, following symlinks, and offers no way to hand it a directory
/// already open (its preopen list is private). Handing it `/proc/self/fd/N`
/// of the directory `preopens` opened makes that open reach exactly this
/// inode: the kernel resolves the magic link to the open file behind
/// descriptor N, not to whatever now sits at the grant's path
/// (`beneath::descriptor_path`). Re-resolving the grant's path here instead
/// would reopen the race the walk closed.
pub fn apply(builder: &mut WasiCtxBuilder, preopens: &[Preopen]) -> wasmtime::Result<()> {
    for preopen in preopens {
        let perms = if preopen.writable {
            FsPerms::ReadWrite
        } else {
            FsPerms::ReadOnly
        };
        let opened = beneath::descriptor_path(preopen.dir());
        builder
            .preopened_dir(&opened, &preopen.guest, perms)
            .map_err(|e| {
                e.context(format!(
                    "cannot hand granted directory `{}` to the plugin through {}",
                    preopen.guest,
                    opened.display()
                ))
            })?;
    }
    Ok(())
}

pub mod host;
pub mod skip;

#[cfg(test)]
mod tests;
