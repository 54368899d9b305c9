//! `mode = "snapshot"` and `mode = "restore-snapshot"`: a container's volumes
//! as tar archives, taken through the engine while the container is paused
//! (or stopped), and put back while it is stopped.

use run_plugin_sdk::containers::{self, Container, ContainerDetails, ContainerState, Mount};
use run_plugin_sdk::time::Timestamp;
use run_plugin_sdk::volumes::{self, Compression, FileInfo};
use run_plugin_sdk::{Context, Error, log, prompt};

use crate::config::Config;
use crate::manifest::{self, Kind, Manifest};
use crate::{restore, retention, unique_file};

pub fn snapshot(ctx: &Context, config: &Config) -> Result<(), Error> {
    let db = containers::open(&config.container)?;
    let details = db.inspect()?;
    let volumes = volumes(config, &details)?;
    manifest::recover_interrupted(ctx, config)?;
    let now = Timestamp::now();
    let stamp = now.file_stamp();
    let mut files = Vec::new();
    for volume in &volumes {
        let base = format!("{}-{volume}_{stamp}", config.name);
        files.push(unique_file(config, &base, ".tar.zst")?);
    }
    let series: Vec<Option<String>> = volumes.iter().cloned().map(Some).collect();
    if ctx.is_plan() {
        for (volume, file) in volumes.iter().zip(&files) {
            println!(
                "would {} container `{}` and snapshot volume `{volume}` into {}",
                if config.stop { "stop" } else { "pause" },
                config.container,
                config.path(file)
            );
        }
        return retention::apply(ctx, config, Kind::Snapshot, &series, 1);
    }

    let partials: Vec<String> = files
        .iter()
        .map(|f| config.path(&format!(".{f}.partial")))
        .collect();
    let quiet = Quiesced::begin(config, &db, &details)?;
    // The container is frozen only for the copying; it is brought back
    // whatever happened, before anything else can fail.
    let copied: Result<Vec<FileInfo>, Error> = volumes
        .iter()
        .zip(&partials)
        .map(|(volume, partial)| {
            log::info(format!("snapshotting volume `{volume}` into {partial}"));
            volumes::snapshot(volume, partial, Compression::Zstd).map_err(|e| {
                e.context(format!(
                    "snapshotting volume `{volume}` of container `{}` failed",
                    config.container
                ))
            })
        })
        .collect();
    let resumed = quiet.end();
    let copied = match (copied, resumed) {
        (Ok(copied), Ok(())) => copied,
        (copied, resumed) => {
            for partial in &partials {
                manifest::remove_quietly(partial);
            }
            // Both failures matter; the resume one is the more urgent.
            return Err(match (copied, resumed) {
                (Err(copy), Err(resume)) => Error::failed(format!("{resume}; also: {copy}")),
                (_, Err(resume)) => resume,
                (Err(copy), _) => copy,
                (Ok(_), Ok(())) => unreachable!("handled above"),
            });
        }
    };

    for (((volume, file), partial), info) in volumes.iter().zip(&files).zip(&partials).zip(copied) {
        let manifest = Manifest {
            schema: manifest::SCHEMA.into(),
            kind: Kind::Snapshot,
            file: file.clone(),
            name: config.name.clone(),
            created_at: now.rfc3339(),
            container: config.container.clone(),
            image: details.image.clone(),
            command: vec!["volume-snapshot".into(), volume.clone()],
            database: None,
            volume: Some(volume.clone()),
            server_version: None,
            bytes: info.bytes,
            uncompressed_bytes: None,
            sha256: info.sha256,
            compression: "zstd".into(),
            exit_code: None,
            pinned: ctx.hook_for().is_some(),
            hook_for: ctx.hook_for().map(str::to_owned),
        };
        manifest::commit(config, partial, &manifest)?;
        println!(
            "snapshotted volume `{volume}` of container `{}` into {} ({})",
            config.container,
            config.path(file),
            manifest::human_size(manifest.bytes)
        );
    }
    retention::apply(ctx, config, Kind::Snapshot, &series, 0)
}

pub fn restore(ctx: &Context, config: &Config) -> Result<(), Error> {
    let db = containers::open(&config.container)?;
    let details = db.inspect()?;
    let scope: Vec<Option<String>> = volumes(config, &details)?.into_iter().map(Some).collect();
    let chosen = restore::choose(ctx, config, Kind::Snapshot, &scope)?;
    for entry in &chosen {
        manifest::verify(config, entry)?;
    }
    let container = &config.container;
    let stop = ctx.flag("stop") || config.stop;
    let running = details.state.is_running();
    if running && !stop {
        return Err(Error::failed(format!(
            "container `{container}` is running; restoring its volumes needs it stopped: \
             pass --stop (or set stop = true) to stop it, restore and start it again"
        )));
    }
    if ctx.is_plan() {
        for entry in &chosen {
            println!(
                "would {}restore {} into volume `{}` of container `{container}` (sha256 verified)",
                if running { "stop the container, " } else { "" },
                entry.file(),
                entry.manifest.volume.as_deref().unwrap_or("?")
            );
        }
        return Ok(());
    }
    for entry in &chosen {
        let volume = entry.manifest.volume.as_deref().unwrap_or_default();
        let question = format!(
            "Overwrite volume {volume} of {container} with {}?",
            entry.file()
        );
        if !prompt::confirm(&question, None)? {
            return Err(Error::failed(format!(
                "not restoring {}: declined; volume `{volume}` is unchanged",
                entry.file()
            )));
        }
    }

    if running {
        log::info(format!(
            "stopping container `{container}` to restore its volumes"
        ));
        db.stop(None)?;
    }
    let restored: Result<(), Error> = chosen.iter().try_for_each(|entry| {
        let volume = entry.manifest.volume.as_deref().unwrap_or_default();
        log::info(format!("restoring {} into volume `{volume}`", entry.file()));
        volumes::restore(volume, &config.path(entry.file()), Compression::Zstd).map_err(|e| {
            e.context(format!(
                "restoring {} into volume `{volume}` failed",
                entry.file()
            ))
        })?;
        println!(
            "restored {} into volume `{volume}` of container `{container}`",
            entry.file()
        );
        Ok(())
    });
    // Started again even when a restore failed: a stopped database is an
    // outage, and the volumes not yet restored still hold their data.
    let started = if running {
        log::info(format!("starting container `{container}` again"));
        db.start()
            .map_err(|e| e.context(format!("starting container `{container}` again failed")))
    } else {
        Ok(())
    };
    match (restored, started) {
        (Ok(()), Ok(())) => Ok(()),
        (Err(r), Err(s)) => Err(Error::failed(format!("{r}; also: {s}"))),
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}

/// The configured volumes, or every named volume the container mounts.
fn volumes(config: &Config, details: &ContainerDetails) -> Result<Vec<String>, Error> {
    let mounted: Vec<String> = details
        .mounts
        .iter()
        .filter_map(|m| match m {
            Mount::Volume(v) => Some(v.name.clone()),
            _ => None,
        })
        .collect();
    if let Some(volumes) = &config.volumes {
        for v in volumes {
            if !mounted.contains(v) {
                log::warn(format!(
                    "volume `{v}` is not mounted by container `{}`",
                    config.container
                ));
            }
        }
        return Ok(volumes.clone());
    }
    if mounted.is_empty() {
        return Err(Error::not_found(format!(
            "container `{}` mounts no named volumes to snapshot",
            config.container
        )));
    }
    Ok(mounted)
}

/// The container held still for a consistent copy: paused, or stopped with
/// `stop = true`. Only a container that was running is touched.
struct Quiesced<'a> {
    container: &'a Container,
    undo: Undo,
}

enum Undo {
    Nothing,
    Unpause,
    Start,
}

impl<'a> Quiesced<'a> {
    fn begin(
        config: &Config,
        container: &'a Container,
        details: &ContainerDetails,
    ) -> Result<Self, Error> {
        let name = container.name();
        let undo = if details.state != ContainerState::Running {
            Undo::Nothing
        } else if config.stop {
            log::info(format!("stopping container `{name}` for the snapshot"));
            container.stop(None)?;
            Undo::Start
        } else {
            log::info(format!("pausing container `{name}` for the snapshot"));
            // Pausing needs the engine to freeze the container's cgroup,
            // which some engines cannot (rootless Podman on cgroup v1): the
            // error says so and names the way around it.
            container.pause().map_err(|e| {
                e.context(format!(
                    "pausing container `{name}` for the snapshot failed (to stop it \
                     instead, set `stop = true` in the task's config)"
                ))
            })?;
            Undo::Unpause
        };
        Ok(Quiesced { container, undo })
    }

    fn end(self) -> Result<(), Error> {
        let container = self.container;
        let result = match self.undo {
            Undo::Nothing => return Ok(()),
            Undo::Unpause => container.unpause(),
            Undo::Start => container.start(),
        };
        result.map_err(|e| {
            e.context(format!(
                "bringing container `{}` back after the snapshot failed",
                container.name()
            ))
        })
    }
}
