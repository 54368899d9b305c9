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

use run_plugin_sdk::containers::{ContainerDetails, ContainerState};
use run_plugin_sdk::{Context, Descriptor, Error, Grant, Parameter, Plugin, export_plugin};

use crate::config::{Config, Mode};

struct Backup;

impl Plugin for Backup {
    fn describe() -> Descriptor {
        // The container and directory come from the task's config: `needs`
        // declares them.
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

    /// The container and the backup directory: written by the modes that
    /// take backups, read by the restores; `--verify` also needs its
    /// throwaway containers. The volumes a snapshot copies are the
    /// container's own, reachable through its grant.
    fn needs(ctx: &Context) -> Result<Vec<Grant>, Error> {
        let config = Config::from_context(ctx)?;
        let mut needs: Vec<Grant> = config.containers().iter().map(Grant::containers).collect();
        needs.push(match config.mode {
            Mode::Backup | Mode::Snapshot => Grant::write(&config.dir),
            Mode::Restore | Mode::RestoreSnapshot => Grant::read(&config.dir),
        });
        if ctx.flag("verify") && config.mode == Mode::Backup && config.targets.is_none() {
            needs.push(Grant::containers(verify::throwaway_glob(&config)));
        }
        Ok(needs)
    }

    fn run(ctx: Context) -> Result<(), Error> {
        let config = Config::from_context(&ctx)?;
        if ctx.flag("verify") && config.mode != Mode::Backup {
            return Err(Error::invalid_input(format!(
                "--verify checks a new backup; task `{}` does not take backups (its mode is not \"backup\")",
                ctx.task()
            )));
        }
        if let Some(targets) = &config.targets {
            refuse_with_targets(&ctx, &config)?;
            if ctx.is_plan() {
                // Which member is the primary is asked with exec, which
                // --plan does not allow: say how it will be chosen.
                println!(
                    "would ask {} whether each is in recovery (`SELECT pg_is_in_recovery()`), \
                     refuse unless exactly one is the primary, and {} that one",
                    postgres_list(targets),
                    match config.mode {
                        Mode::Restore => "restore into",
                        _ => "back up",
                    }
                );
                return Ok(());
            }
        }
        let config = config.resolve()?;
        match config.mode {
            Mode::Backup => dump::run(&ctx, &config),
            Mode::Restore => restore::run(&ctx, &config),
            Mode::Snapshot => snapshot::snapshot(&ctx, &config),
            Mode::RestoreSnapshot => snapshot::restore(&ctx, &config),
        }
    }
}

export_plugin!(Backup);

/// What a task naming a cluster's members (`targets`) cannot do, and why.
/// Both snapshot modes freeze or replace a member's data directory under
/// the orchestrator that manages it, and `--verify` starts the member's
/// image on its own.
fn refuse_with_targets(ctx: &Context, config: &Config) -> Result<(), Error> {
    let why = match config.mode {
        Mode::Snapshot => {
            "a snapshot pauses (or stops) the container while its volumes are copied, and pausing \
             the primary of a Patroni cluster for longer than its leader lock's TTL (seconds) makes \
             the replicas elect another leader: a failover caused by a backup. Take a dump instead \
             (mode = \"backup\"): pg_dumpall reads a consistent snapshot while the primary serves"
        }
        Mode::RestoreSnapshot => {
            "restoring a volume replaces a member's data directory under Patroni, which would then \
             either fail to rejoin (a timeline the others never had) or, on the leader, serve old \
             data as the primary. Restore a dump (mode = \"restore\") into the primary instead: it \
             replicates to every member"
        }
        Mode::Backup if ctx.flag("verify") => {
            "--verify restores into a throwaway container of the member's image, and a cluster \
             member's image starts its orchestrator (Patroni needs the cluster's etcd), not a \
             standalone server. Verify with a `container = …` task whose image runs PostgreSQL alone"
        }
        Mode::Backup | Mode::Restore => return Ok(()),
    };
    Err(Error::unsupported(format!(
        "task `{}` names a cluster's members (`targets`): {why}",
        ctx.task()
    )))
}

/// `a`, `b` and `c`.
fn postgres_list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => quoted.join(""),
    }
}

/// Fails unless the container can run commands: exec needs it running and
/// not paused.
fn require_running(details: &ContainerDetails, to: &str) -> Result<(), Error> {
    if details.state == ContainerState::Running {
        return Ok(());
    }
    Err(Error::failed(format!(
        "container `{}` is {}; start it to {to}",
        details.name, details.state
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

#[cfg(test)]
mod tests {
    use run_plugin_sdk::{Context, Grant, Plugin};

    use super::Backup;

    fn needs(config: &str, args: &[&str]) -> Vec<Grant> {
        let args = args.iter().map(|a| a.to_string()).collect();
        Backup::needs(&Context::new("backup", args, config)).unwrap()
    }

    #[test]
    fn needs_the_container_and_the_directory_its_mode_uses() {
        assert_eq!(
            needs(r#"{"container": "pg", "dir": "backups/"}"#, &[]),
            [Grant::containers("pg"), Grant::write("backups")]
        );
        assert_eq!(
            needs(
                r#"{"container": "pg", "mode": "restore-snapshot"}"#,
                &["--latest"]
            ),
            [Grant::containers("pg"), Grant::read("backups")]
        );
        assert_eq!(
            needs(r#"{"container": "pg"}"#, &["--verify"]),
            [
                Grant::containers("pg"),
                Grant::write("backups"),
                Grant::containers("pg-verify-*")
            ]
        );
    }

    #[test]
    fn targets_need_every_member_and_no_throwaway() {
        let members = r#"{"targets": ["ha-patroni-1", "ha-patroni-2"], "role": "primary"}"#;
        assert_eq!(
            needs(members, &["--verify"]),
            [
                Grant::containers("ha-patroni-1"),
                Grant::containers("ha-patroni-2"),
                Grant::write("backups")
            ]
        );
    }

    #[test]
    fn a_bad_config_fails_needs_too() {
        let e = Backup::needs(&Context::new("backup", vec![], r#"{"keep": 0}"#)).unwrap_err();
        assert!(e.message().contains("container"), "{e}");
    }
}
