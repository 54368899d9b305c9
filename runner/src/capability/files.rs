//! File grants become WASI preopens: `allow.read` directories read-only,
//! `allow.write` read-write. Nothing else exists for the plugin. cap-std (under
//! wasmtime-wasi) refuses `..` and symlinks that leave a preopen.

use std::path::{Path, PathBuf};

use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use crate::config::model::Grants;

/// One directory a plugin can see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preopen {
    /// Where it is on the host.
    pub host: PathBuf,
    /// The path the plugin uses for it: the grant as written in tasks.toml.
    pub guest: String,
    pub writable: bool,
}

/// A file grant that cannot be honoured.
#[derive(Debug, thiserror::Error)]
pub enum FileGrantError {
    #[error("granted directory `{grant}` does not exist ({})", host.display())]
    Missing { grant: String, host: PathBuf },
    #[error("granted path `{grant}` is not a directory ({})", host.display())]
    NotADirectory { grant: String, host: PathBuf },
    #[error("cannot create granted directory `{grant}` ({}): {source}", host.display())]
    Create {
        grant: String,
        host: PathBuf,
        source: std::io::Error,
    },
}

/// Resolves the task's file grants against the project root. Write grants are
/// created when missing (granting a directory to write into implies it may
/// start empty); read grants must exist.
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
        let host = root.join(&guest);
        if writable && !host.exists() {
            std::fs::create_dir_all(&host).map_err(|source| FileGrantError::Create {
                grant: grant.clone(),
                host: host.clone(),
                source,
            })?;
        }
        match std::fs::metadata(&host) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(FileGrantError::NotADirectory {
                    grant: grant.clone(),
                    host,
                });
            }
            Err(_) => {
                return Err(FileGrantError::Missing {
                    grant: grant.clone(),
                    host,
                });
            }
        }
        preopens.push(Preopen {
            host,
            guest,
            writable,
        });
    }
    Ok(preopens)
}

/// `./out/` and `out` are the same grant; the plugin sees `out`.
fn guest_path(grant: &str) -> String {
    let trimmed = grant.trim_end_matches('/');
    let trimmed = trimmed.strip_prefix("./").unwrap_or(trimmed);
    if trimmed.is_empty() {
        ".".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Adds the preopens to a WASI context.
pub fn apply(builder: &mut WasiCtxBuilder, preopens: &[Preopen]) -> wasmtime::Result<()> {
    for preopen in preopens {
        let perms = if preopen.writable {
            FsPerms::ReadWrite
        } else {
            FsPerms::ReadOnly
        };
        builder.preopened_dir(&preopen.host, &preopen.guest, perms)?;
    }
    Ok(())
}
