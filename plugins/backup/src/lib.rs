//! The built-in `backup` plugin: PostgreSQL dumps and volume snapshots of a
//! container, verified, with manifests and retention, and their restores.
//!
//! ```toml
//! [tasks.backup]
//! plugin = "backup"
//! config = { container = "pg-demo", user = "postgres", dir = "backups", keep = 10 }
//! allow = { containers = ["pg-demo"], write = ["backups"] }
//!
//! [tasks.restore]
//! plugin = "backup"
//! config = { container = "pg-demo", dir = "backups", mode = "restore" }
//! allow = { containers = ["pg-demo"], read = ["backups"] }
//! ```
//!
//! Data never passes through the plugin: the host streams the dump from
//! `container.exec` into a file (compressing and hashing it), and streams it
//! back into psql. The plugin decides what is complete, names files, writes
//! manifests, verifies checksums and prunes old backups. `run backup
//! --verify` restores the new backup into a throwaway container and compares
//! row counts with the source.

mod config;
mod dump;
mod manifest;
mod restore;
mod retention;
mod snapshot;
mod verify;

use std::fs;

use run_plugin_sdk::container::ContainerDetails;
use run_plugin_sdk::{Context, Descriptor, Error, Parameter, Plugin, export_plugin};

use crate::config::{Config, Mode};

struct Backup;

impl Plugin for Backup {
    fn describe() -> Descriptor {
        // No capabilities are declared: the container and directory come from
        // the task's config, which `describe` does not see. The grants are
        // enforced on every call anyway, and denials name what is missing.
        Descriptor::new(
            "backup",
            env!("CARGO_PKG_VERSION"),
            "Back up and restore a PostgreSQL container (dumps, volume snapshots, retention)",
        )
        .parameter(Parameter::positional(
            "backup",
            "restore modes: the backup file to restore (from the backup directory)",
        ))
        .parameter(Parameter::flag(
            "latest",
            "restore modes: restore the newest backup",
        ))
        .parameter(Parameter::flag(
            "verify",
            "backup: restore the new backup into a throwaway container (grant CONTAINER-verify-*) and compare row counts",
        ))
        .parameter(Parameter::flag(
            "stop",
            "restore-snapshot: stop the running container, restore, start it again",
        ))
    }

    fn run(ctx: Context) -> Result<(), Error> {
        let config = Config::from_context(&ctx)?;
        if ctx.flag("verify") && config.mode != Mode::Backup {
            return Err(Error::invalid_input(format!(
                "--verify checks a new backup; task `{}` does not take backups (its mode is not \"backup\")",
                ctx.task()
            )));
        }
        match config.mode {
            Mode::Backup => dump::run(&ctx, &config),
            Mode::Restore => restore::run(&ctx, &config),
            Mode::Snapshot => snapshot::snapshot(&ctx, &config),
            Mode::RestoreSnapshot => snapshot::restore(&ctx, &config),
        }
    }
}

export_plugin!(Backup);

/// Fails unless the container can run commands: exec needs it running and
/// not paused.
fn require_running(details: &ContainerDetails, to: &str) -> Result<(), Error> {
    if details.running && !details.paused {
        return Ok(());
    }
    Err(Error::failed(format!(
        "container `{}` is {}; start it to {to}",
        details.name.trim_start_matches('/'),
        details.state
    )))
}

/// `BASE SUFFIX` in the config's directory, or `BASE-2 SUFFIX`, … when a
/// backup was already taken within the same second: an existing backup is
/// never overwritten.
fn unique_file(config: &Config, base: &str, suffix: &str) -> Result<String, Error> {
    for n in 1..1000 {
        let file = if n == 1 {
            format!("{base}{suffix}")
        } else {
            format!("{base}-{n}{suffix}")
        };
        let taken = [
            file.clone(),
            format!("{file}.json"),
            format!(".{file}.partial"),
        ]
        .iter()
        .any(|f| fs::symlink_metadata(config.path(f)).is_ok());
        if !taken {
            return Ok(file);
        }
    }
    Err(Error::failed(format!(
        "too many backups named {base}… in {}",
        config.dir
    )))
}
