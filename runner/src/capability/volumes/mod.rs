//! The `volumes` interface. A volume is named by the engine's name grammar
//! (never a path: `/`, `..` and `%` are refused before any lookup) and is
//! reachable when `allow.volumes` grants its name, or when a granted
//! container (by canonical name) mounts it; creating and removing need
//! `allow.volumes`. Contents move through helper containers (`helper.rs`).

mod helper;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bollard::models::VolumeCreateRequest;

use crate::capability::containers::exec::STDERR_TAIL;
use crate::capability::containers::summary_volumes;
use crate::capability::engine::backend::Engine;
use crate::capability::engine::ids::{ImageId, VolumeName};
use crate::capability::engine::limits;
use crate::capability::engine::resolve::{Listed, listed};
use crate::capability::engine::stream::Tail;
use crate::capability::engine::{EngineHost, HostError, HostResult, Scope, sorted_labels};
use crate::grant::{Grant, GrantKind, Object};
use crate::plugin::bindings::engine_types::{Compression, FileInfo};
use crate::plugin::bindings::volumes::{Host, VolumeSummary};
use helper::Helper;
pub use helper::MOUNT_POINT;

/// How long emptying a volume before a restore may take.
const CLEAR_LIMIT: Duration = Duration::from_secs(600);

/// A reachable volume: its name, and the granted containers that mount it.
struct Reachable {
    name: VolumeName,
    users: Vec<Listed>,
}

impl Scope {
    fn volume_name(&self, text: &str) -> HostResult<VolumeName> {
        VolumeName::parse(text).map_err(|p| HostError::invalid(Object::Volume, text, p))
    }

    fn deny_volume(&self, name: &str) -> HostError {
        self.deny(
            Object::Volume,
            name,
            Some(Grant::new(GrantKind::Volumes, name)),
        )
        .into()
    }

    /// Checks `text`, the grant (by name or through a granted container that
    /// mounts it), and that it exists.
    async fn reachable_volume(&self, engine: &dyn Engine, text: &str) -> HostResult<Reachable> {
        let name = self.volume_name(text)?;
        let mut users: Vec<Listed> = self
            .granted_containers(engine)
            .await?
            .into_iter()
            .filter(|c| summary_volumes(&c.summary).iter().any(|v| v == text))
            .collect();
        users.sort_by(|a, b| a.name.cmp(&b.name));
        if users.is_empty() && !self.grants.allows_volume(text) {
            let denial = self
                .deny(
                    Object::Volume,
                    text,
                    Some(Grant::new(GrantKind::Volumes, text)),
                )
                .because("no granted container mounts it");
            return Err(denial.into());
        }
        if !engine.list_volumes().await?.iter().any(|v| v.name == text) {
            return Err(HostError::not_found(Object::Volume, text));
        }
        Ok(Reachable { name, users })
    }

    /// The image helpers for `volume` are made from: that of a granted
    /// container mounting it, else of any granted container.
    async fn helper_image(
        &self,
        engine: &dyn Engine,
        volume: &Reachable,
        call: &str,
    ) -> HostResult<ImageId> {
        let granted;
        let candidates = if volume.users.is_empty() {
            granted = self.granted_containers(engine).await?;
            &granted
        } else {
            &volume.users
        };
        candidates
            .iter()
            .find_map(|c| ImageId::parse(c.summary.image_id.as_deref()?))
            .ok_or_else(|| {
                HostError::Unsupported(format!(
                    "{call} needs a helper container made from the image of a container task `{}` is granted, and it reaches none: grant one in allow.containers",
                    self.task
                ))
            })
    }
}

impl EngineHost {
    async fn snapshot_volume(
        &mut self,
        volume: &str,
        file: &str,
        compression: Compression,
    ) -> HostResult<FileInfo> {
        let engine = self.engine().await?;
        let reachable = self.scope.reachable_volume(engine.as_ref(), volume).await?;
        self.refuse_in_plan("volumes.snapshot")?;
        let image = self
            .scope
            .helper_image(engine.as_ref(), &reachable, "volumes.snapshot")
            .await?;
        // Created, never started: the archive API reads the volume through
        // it (Podman's only through a running one: `helper.rs`).
        let helper = if engine
            .product()
            .await?
            .archives_volumes_only_while_running()
        {
            Helper::running(engine.clone(), &image, &reachable.name, "volumes.snapshot").await?
        } else {
            Helper::create(engine.clone(), &image, &reachable.name, None).await?
        };
        let source = engine.download(&helper.id, MOUNT_POINT);
        let written = self.scope.write_stream(source, file, compression).await;
        helper.remove().await;
        Ok(written?.info)
    }

    async fn restore_volume(
        &mut self,
        volume: &str,
        file: &str,
        compression: Compression,
    ) -> HostResult<()> {
        let engine = self.engine().await?;
        let reachable = self.scope.reachable_volume(engine.as_ref(), volume).await?;
        self.refuse_in_plan("volumes.restore")?;
        // Any running container, granted or not, could be writing to it.
        for container in listed(engine.list_containers().await?) {
            let running = container.summary.state
                == Some(bollard::models::ContainerSummaryStateEnum::RUNNING);
            if running
                && summary_volumes(&container.summary)
                    .iter()
                    .any(|v| v == volume)
            {
                let who = if self.grants.allows_container(&container.name) {
                    format!("container `{}`", container.name)
                } else {
                    "a container this task is not granted".to_owned()
                };
                return Err(HostError::Conflict(format!(
                    "volume `{volume}` is in use by running {who}; stop it first"
                )));
            }
        }
        let tar = self
            .scope
            .read_stream(file, compression, engine.address())
            .await?;
        let image = self
            .scope
            .helper_image(engine.as_ref(), &reachable, "volumes.restore")
            .await?;
        // Restore replaces, it does not merge: empty the volume first, with
        // POSIX sh (busybox has no `find -delete`); the globs cover dotfiles.
        let clear = vec![
            "sh".to_owned(),
            "-c".to_owned(),
            format!("cd {MOUNT_POINT} && rm -rf -- * .[!.]* ..?*"),
        ];
        let helper = Helper::create(engine.clone(), &image, &reachable.name, Some(clear)).await?;
        let cleared = empty_volume(engine.as_ref(), &helper, volume).await;
        let result = match cleared {
            Ok(())
                if engine
                    .product()
                    .await?
                    .archives_volumes_only_while_running() =>
            {
                match Helper::running(engine.clone(), &image, &reachable.name, "volumes.restore")
                    .await
                {
                    Ok(running) => {
                        let uploaded = engine.upload(&running.id, "/", tar).await;
                        running.remove().await;
                        uploaded.map_err(HostError::from)
                    }
                    Err(e) => Err(e),
                }
            }
            Ok(()) => engine
                .upload(&helper.id, "/", tar)
                .await
                .map_err(HostError::from),
            Err(e) => Err(e),
        };
        helper.remove().await;
        result
    }
}

/// Starts the clearing helper and waits for it, with what it said on failure.
async fn empty_volume(engine: &dyn Engine, helper: &Helper, volume: &str) -> HostResult<()> {
    engine.start_container(&helper.id).await?;
    let code = limits::within(
        format!("emptying volume `{volume}`"),
        CLEAR_LIMIT,
        engine.wait_container(&helper.id),
    )
    .await?;
    if code == 0 {
        return Ok(());
    }
    let mut said = Tail::new(STDERR_TAIL);
    let mut logs = engine.logs(&helper.id, 20);
    while let Some(Ok(chunk)) = futures_util::StreamExt::next(&mut logs).await {
        said.push(&chunk);
    }
    Err(HostError::Conflict(format!(
        "cannot empty volume `{volume}` before restoring (the helper exited with {code}; its image needs `sh` and `rm`): {}",
        said.into_text().trim()
    )))
}

impl Host for EngineHost {
    async fn list(&mut self) -> HostResult<Vec<VolumeSummary>> {
        let engine = self.engine().await?;
        let mut used_by: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for container in self.scope.granted_containers(engine.as_ref()).await? {
            for volume in summary_volumes(&container.summary) {
                used_by
                    .entry(volume)
                    .or_default()
                    .push(container.name.clone());
            }
        }
        let mut volumes: Vec<VolumeSummary> = engine
            .list_volumes()
            .await?
            .into_iter()
            .filter_map(|v| {
                let mut users = used_by.get(&v.name).cloned().unwrap_or_default();
                if users.is_empty() && !self.grants.allows_volume(&v.name) {
                    return None;
                }
                users.sort();
                Some(VolumeSummary {
                    name: v.name,
                    driver: v.driver,
                    labels: sorted_labels(Some(v.labels)),
                    used_by: users,
                })
            })
            .collect();
        volumes.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(volumes)
    }

    async fn snapshot(
        &mut self,
        volume: String,
        file: String,
        compression: Compression,
    ) -> HostResult<FileInfo> {
        self.snapshot_volume(&volume, &file, compression).await
    }

    async fn restore(
        &mut self,
        volume: String,
        file: String,
        compression: Compression,
    ) -> HostResult<()> {
        self.restore_volume(&volume, &file, compression).await
    }

    async fn create(&mut self, name: String, labels: Vec<(String, String)>) -> HostResult<bool> {
        let volume = self.scope.volume_name(&name)?;
        if !self.grants.allows_volume(&name) {
            return Err(self.scope.deny_volume(&name));
        }
        self.refuse_in_plan("volumes.create")?;
        let engine = self.engine().await?;
        if engine.list_volumes().await?.iter().any(|v| v.name == name) {
            return Ok(false);
        }
        engine
            .create_volume(VolumeCreateRequest {
                name: Some(volume.as_str().to_owned()),
                labels: Some(labels.into_iter().collect()),
                ..Default::default()
            })
            .await?;
        Ok(true)
    }

    async fn remove(&mut self, name: String) -> HostResult<()> {
        let volume = self.scope.volume_name(&name)?;
        if !self.grants.allows_volume(&name) {
            return Err(self.scope.deny_volume(&name));
        }
        self.refuse_in_plan("volumes.remove")?;
        let engine: Arc<dyn Engine> = self.engine().await?;
        engine
            .remove_volume(&volume)
            .await
            .map_err(|e| e.on(Object::Volume, &name))
    }
}
