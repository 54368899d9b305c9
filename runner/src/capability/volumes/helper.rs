//! Short-lived helper containers that reach a volume's contents: made from
//! the image of a granted container (by image ID, so no registry and no other
//! image is involved), with the volume as a typed volume mount (never a bind,
//! never a host path), no network, and removed when done, or when the call is
//! dropped half-way.
//!
//! Docker's archive API reaches the volume of a helper that was created and
//! never started. Podman's (4.3) does not: it reads a stopped container's
//! volume with its entries misnamed (`/a` for `run-volume/a`) and writes
//! into the container's own filesystem instead of the volume. On Podman the
//! archive calls go through a running helper ([`Helper::running`]).

use std::collections::HashMap;
use std::sync::Arc;

use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType};

use crate::capability::engine::backend::Engine;
use crate::capability::engine::ids::{ContainerId, ImageId, VolumeName};
use crate::capability::engine::{HostError, HostResult};

/// Where a helper mounts the volume it reaches. Snapshots hold paths under it
/// (`run-volume/...`), and restores extract at `/`.
pub const MOUNT_POINT: &str = "/run-volume";

/// A helper container, removed when dropped.
pub struct Helper {
    engine: Arc<dyn Engine>,
    pub id: ContainerId,
    removed: bool,
}

impl Helper {
    /// Creates (never starts) a helper; with `command`, a start runs it as root.
    pub async fn create(
        engine: Arc<dyn Engine>,
        image: &ImageId,
        volume: &VolumeName,
        command: Option<Vec<String>>,
    ) -> HostResult<Helper> {
        let body = ContainerCreateBody {
            image: Some(image.as_str().to_owned()),
            entrypoint: command.as_ref().map(|_| Vec::new()),
            cmd: command,
            // The volume's files belong to whoever the service runs as.
            user: Some("0:0".into()),
            // A running helper (Podman's) is removed at once, without the
            // grace period a stop signal would get.
            stop_signal: Some("SIGKILL".into()),
            network_disabled: Some(true),
            labels: Some(HashMap::from([
                ("run.helper".to_owned(), "volume".to_owned()),
                ("run.volume".to_owned(), volume.as_str().to_owned()),
            ])),
            host_config: Some(HostConfig {
                mounts: Some(vec![Mount {
                    typ: Some(MountType::VOLUME),
                    source: Some(volume.as_str().to_owned()),
                    target: Some(MOUNT_POINT.to_owned()),
                    read_only: Some(false),
                    ..Default::default()
                }]),
                network_mode: Some("none".into()),
                security_opt: Some(vec!["no-new-privileges".into()]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let id = engine.create_container(None, None, body).await?;
        Ok(Helper {
            engine,
            id,
            removed: false,
        })
    }

    /// A helper that runs `sleep` (from the image) until removed, so the
    /// engine has the volume mounted (Podman); `call` names the call for the
    /// error when the image has no `sleep`.
    pub async fn running(
        engine: Arc<dyn Engine>,
        image: &ImageId,
        volume: &VolumeName,
        call: &str,
    ) -> HostResult<Helper> {
        // An hour at most, should the runner die before removing it.
        let sleep = ["sleep", "3600"].map(str::to_owned).to_vec();
        let helper = Helper::create(engine.clone(), image, volume, Some(sleep)).await?;
        if let Err(e) = engine.start_container(&helper.id).await {
            return Err(HostError::Conflict(format!(
                "{call} on Podman reaches volume `{volume}` through a running helper container, which runs `sleep` from the image of the granted container that mounts it; it did not start: {}",
                HostError::from(e)
            )));
        }
        Ok(helper)
    }

    pub async fn remove(mut self) {
        self.removed = true;
        if let Err(e) = self.engine.remove_container(&self.id).await {
            tracing::warn!("cannot remove volume helper {}: {e}", self.id.short());
        }
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        let (engine, id) = (self.engine.clone(), self.id.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = engine.remove_container(&id).await;
            });
        }
    }
}
