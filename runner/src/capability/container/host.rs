//! The WIT `container` interface on top of an `Engine`. Every call checks the
//! grant first; data moves between the engine and granted files in chunks.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::Value;

use super::engine::{ByteStream, CreateSpec, EngineError, HelperSpec};
use super::stream::FileSink;
use super::{ContainerHost, engine, engine_error, io_error, json};
use crate::plugin::bindings::container::{
    Compression, ContainerDetails, ContainerError, ContainerSummary, CreateRequest, ExecRequest,
    ExecResult, FileInfo, Health, Host, ImageSummary, NetnsRequest, NetnsResult, VolumeSummary,
};
use crate::plugin::bindings::container::{ContainerSpec, EngineFacts, NetworkSummary};

type Outcome<T> = wasmtime::Result<Result<T, ContainerError>>;

/// Where helper containers mount the volume they reach.
const VOLUME_MOUNT: &str = "/run-volume";

impl ContainerHost {
    /// Granted containers from the engine's list.
    async fn granted_containers(&self) -> Result<Vec<Value>, ContainerError> {
        let all = engine().await?.containers().await.map_err(engine_error)?;
        Ok(all
            .into_iter()
            .filter(|c| self.is_granted(&json::summary_name(c)))
            .collect())
    }

    /// A volume is reachable when a granted container mounts it; returns those containers.
    async fn volume_users(&self, volume: &str) -> Result<Vec<Value>, ContainerError> {
        let users: Vec<Value> = self
            .granted_containers()
            .await?
            .into_iter()
            .filter(|c| json::summary_volumes(c).iter().any(|v| v == volume))
            .collect();
        if users.is_empty() {
            tracing::warn!(task = %self.task, "volume `{volume}` denied: no granted container mounts it");
            return Err(ContainerError::Denied(format!(
                "volume `{volume}` is not mounted by any container granted to task `{}` ({})",
                self.task,
                self.grants.describe()
            )));
        }
        Ok(users)
    }

    /// An image is reachable when a granted container uses it (by tag or id).
    async fn check_image(&self, image: &str) -> Result<(), ContainerError> {
        let used = self.granted_containers().await?.iter().any(|c| {
            let tag = c.get("Image").and_then(Value::as_str).unwrap_or_default();
            let id = c.get("ImageID").and_then(Value::as_str).unwrap_or_default();
            tag == image
                || id == image
                || id
                    .strip_prefix("sha256:")
                    .is_some_and(|id| id.starts_with(image))
        });
        if used {
            return Ok(());
        }
        Err(ContainerError::Denied(format!(
            "image `{image}` is not used by any container granted to task `{}` ({})",
            self.task,
            self.grants.describe()
        )))
    }

    /// Streams `source` into a granted file; the file is removed if anything fails,
    /// so no partial file is left looking complete.
    async fn stream_to_file(
        &self,
        mut source: ByteStream,
        file: &str,
        compression: Compression,
    ) -> Result<FileInfo, ContainerError> {
        let path = self.file(file, true)?;
        let result = async {
            let mut sink = FileSink::create(&path, compression)
                .await
                .map_err(|e| io_error(file, e))?;
            while let Some(chunk) = source.next().await {
                let chunk = chunk.map_err(engine_error)?;
                sink.write(&chunk).await.map_err(|e| io_error(file, e))?;
            }
            let (info, _, _) = sink.finish().await.map_err(|e| io_error(file, e))?;
            Ok(info)
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&path).await;
        }
        result
    }

    /// A granted file as a stream of chunks, decompressed when asked.
    async fn file_stream(
        &self,
        file: &str,
        compression: Compression,
    ) -> Result<ByteStream, ContainerError> {
        let path = self.file(file, false)?;
        let reader = super::stream::open(&path, compression)
            .await
            .map_err(|e| io_error(file, e))?;
        let file = file.to_owned();
        Ok(Box::pin(
            tokio_util::io::ReaderStream::with_capacity(reader, 256 << 10)
                .map(move |r| r.map_err(|e| EngineError::Failed(format!("reading `{file}`: {e}")))),
        ))
    }

    async fn lifecycle(
        &self,
        name: &str,
        call: &str,
    ) -> Result<std::sync::Arc<dyn super::engine::Engine>, ContainerError> {
        self.check(name)?;
        self.refuse_in_dry_run(call)?;
        engine().await
    }
}

impl Host for ContainerHost {
    async fn netns_run(&mut self, target: String, request: NetnsRequest) -> Outcome<NetnsResult> {
        Ok(self.run_in_netns(&target, request).await)
    }

    async fn netns_remove(&mut self, helper: String) -> Outcome<()> {
        Ok(self.remove_netns_helper(&helper).await)
    }

    async fn netns_helpers(&mut self, target: String) -> Outcome<Vec<String>> {
        Ok(self.netns_helpers_of(&target).await)
    }

    async fn list(&mut self, filter: String) -> Outcome<Vec<ContainerSummary>> {
        let containers = match self.granted_containers().await {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        let matcher = globset::Glob::new(&filter)
            .ok()
            .map(|g| g.compile_matcher());
        let label = |c: &Value, key: &str, value: &str| {
            c.pointer(&format!(
                "/Labels/{}",
                key.replace('~', "~0").replace('/', "~1")
            ))
            .and_then(Value::as_str)
                == Some(value)
        };
        let keep = |c: &Value| -> bool {
            if filter.is_empty() || filter == "*" {
                return true;
            }
            if let Some(rest) = filter.strip_prefix("label=") {
                let (key, value) = rest.split_once('=').unwrap_or((rest, ""));
                return label(c, key, value);
            }
            if let Some(project) = filter.strip_prefix("project=") {
                return label(c, "com.docker.compose.project", project);
            }
            matcher
                .as_ref()
                .is_some_and(|m| m.is_match(json::summary_name(c)))
        };
        Ok(Ok(containers
            .iter()
            .filter(|c| keep(c))
            .map(json::summary)
            .collect()))
    }

    async fn inspect(&mut self, name: String) -> Outcome<ContainerDetails> {
        if let Err(e) = self.check(&name) {
            return Ok(Err(e));
        }
        Ok(async {
            Ok(json::details(
                &engine().await?.inspect(&name).await.map_err(engine_error)?,
            ))
        }
        .await)
    }

    async fn exec(&mut self, name: String, request: ExecRequest) -> Outcome<ExecResult> {
        if let Err(e) = self
            .check(&name)
            .and_then(|()| self.refuse_in_dry_run("exec"))
        {
            return Ok(Err(e));
        }
        let limit = request
            .timeout_seconds
            .map(|s| Duration::from_secs(s.into()));
        let run = self.run_exec(&name, request);
        Ok(match limit {
            Some(limit) => tokio::time::timeout(limit, run).await.unwrap_or_else(|_| {
                Err(ContainerError::Timeout(format!(
                    "exec in `{name}` did not finish within {}",
                    humantime::format_duration(limit)
                )))
            }),
            None => run.await,
        })
    }

    async fn start(&mut self, name: String) -> Outcome<()> {
        Ok(async {
            self.lifecycle(&name, "start")
                .await?
                .start(&name)
                .await
                .map_err(engine_error)
        }
        .await)
    }

    async fn stop(&mut self, name: String, timeout: Option<u32>) -> Outcome<()> {
        Ok(async {
            self.lifecycle(&name, "stop")
                .await?
                .stop(&name, timeout)
                .await
                .map_err(engine_error)
        }
        .await)
    }

    async fn restart(&mut self, name: String, timeout: Option<u32>) -> Outcome<()> {
        Ok(async {
            self.lifecycle(&name, "restart")
                .await?
                .restart(&name, timeout)
                .await
                .map_err(engine_error)
        }
        .await)
    }

    async fn kill(&mut self, name: String, signal: Option<String>) -> Outcome<()> {
        let signal = signal.unwrap_or_else(|| "SIGKILL".into());
        Ok(async {
            self.lifecycle(&name, "kill")
                .await?
                .kill(&name, &signal)
                .await
                .map_err(engine_error)
        }
        .await)
    }

    async fn pause(&mut self, name: String) -> Outcome<()> {
        Ok(async {
            self.lifecycle(&name, "pause")
                .await?
                .pause(&name)
                .await
                .map_err(engine_error)
        }
        .await)
    }

    async fn unpause(&mut self, name: String) -> Outcome<()> {
        Ok(async {
            self.lifecycle(&name, "unpause")
                .await?
                .unpause(&name)
                .await
                .map_err(engine_error)
        }
        .await)
    }

    async fn wait_healthy(&mut self, name: String, timeout_seconds: u32) -> Outcome<Health> {
        if let Err(e) = self.check(&name) {
            return Ok(Err(e));
        }
        let deadline = Instant::now() + Duration::from_secs(timeout_seconds.into());
        Ok(async {
            let engine = engine().await?;
            loop {
                let inspect = engine.inspect(&name).await.map_err(engine_error)?;
                let health = json::health(&inspect);
                let running = inspect.pointer("/State/Running").and_then(Value::as_bool).unwrap_or(false);
                let last = health.log.last().map(|c| c.output.trim().to_owned()).unwrap_or_default();
                match health.status.as_str() {
                    "healthy" => return Ok(health),
                    "none" if running => return Ok(health),
                    "unhealthy" => {
                        return Err(ContainerError::Engine(format!("container `{name}` is unhealthy; last health check: {last}")));
                    }
                    _ if !running && inspect.pointer("/State/Status").and_then(Value::as_str) != Some("created") => {
                        let code = inspect.pointer("/State/ExitCode").and_then(Value::as_i64).unwrap_or(-1);
                        let logs = engine.logs(&name, 10).await.unwrap_or_default();
                        return Err(ContainerError::Engine(format!("container `{name}` is not running (exit code {code}); last log lines:\n{logs}")));
                    }
                    _ => {}
                }
                if Instant::now() >= deadline {
                    return Err(ContainerError::Timeout(format!(
                        "container `{name}` was not healthy after {timeout_seconds}s (health: {}); last health check: {last}",
                        health.status
                    )));
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
        .await)
    }

    async fn logs(&mut self, name: String, tail: u32) -> Outcome<String> {
        if let Err(e) = self.check(&name) {
            return Ok(Err(e));
        }
        Ok(async {
            engine()
                .await?
                .logs(&name, tail)
                .await
                .map_err(engine_error)
        }
        .await)
    }

    async fn copy_out(
        &mut self,
        name: String,
        path: String,
        file: String,
        compression: Compression,
    ) -> Outcome<FileInfo> {
        if let Err(e) = self.check(&name) {
            return Ok(Err(e));
        }
        Ok(async {
            let source = engine().await?.archive_out(&name, &path);
            self.stream_to_file(source, &file, compression).await
        }
        .await)
    }

    async fn copy_in(
        &mut self,
        name: String,
        path: String,
        file: String,
        compression: Compression,
    ) -> Outcome<()> {
        Ok(async {
            let engine = self.lifecycle(&name, "copy-in").await?;
            let tar = self.file_stream(&file, compression).await?;
            engine
                .archive_in(&name, &path, tar)
                .await
                .map_err(engine_error)
        }
        .await)
    }

    async fn volume_list(&mut self) -> Outcome<Vec<VolumeSummary>> {
        Ok(async {
            let mut used_by: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for container in self.granted_containers().await? {
                for volume in json::summary_volumes(&container) {
                    used_by
                        .entry(volume)
                        .or_default()
                        .push(json::summary_name(&container));
                }
            }
            let volumes = engine().await?.volumes().await.map_err(engine_error)?;
            Ok(volumes
                .iter()
                .filter_map(|v| {
                    let name = v.get("Name")?.as_str()?.to_owned();
                    let users = used_by.get(&name)?.clone();
                    let labels = v
                        .get("Labels")
                        .and_then(Value::as_object)
                        .map(|m| {
                            m.iter()
                                .map(|(k, v)| {
                                    (k.clone(), v.as_str().unwrap_or_default().to_owned())
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    Some(VolumeSummary {
                        name,
                        driver: v
                            .get("Driver")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        labels,
                        used_by: users,
                    })
                })
                .collect())
        }
        .await)
    }

    async fn volume_snapshot(
        &mut self,
        volume: String,
        file: String,
        compression: Compression,
    ) -> Outcome<FileInfo> {
        Ok(async {
            let users = self.volume_users(&volume).await?;
            let image = users[0]
                .get("Image")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let engine = engine().await?;
            // A created, never started container with the volume mounted: the
            // archive API reads the volume without running anything in it.
            let helper = engine
                .helper(HelperSpec {
                    image,
                    volume: volume.clone(),
                    mount_at: VOLUME_MOUNT.into(),
                    command: None,
                })
                .await
                .map_err(engine_error)?;
            let result = self
                .stream_to_file(
                    engine.archive_out(&helper, VOLUME_MOUNT),
                    &file,
                    compression,
                )
                .await;
            let _ = engine.remove(&helper).await;
            result
        }
        .await)
    }

    async fn volume_restore(
        &mut self,
        volume: String,
        file: String,
        compression: Compression,
    ) -> Outcome<()> {
        Ok(async {
            self.refuse_in_dry_run("volume-restore")?;
            let users = self.volume_users(&volume).await?;
            let engine = engine().await?;
            // Any running container, granted or not, could be writing to it.
            for container in engine.containers().await.map_err(engine_error)? {
                let running = container.get("State").and_then(Value::as_str) == Some("running");
                if running && json::summary_volumes(&container).contains(&volume) {
                    return Err(ContainerError::Engine(format!(
                        "volume `{volume}` is in use by running container `{}`; stop it first",
                        json::summary_name(&container)
                    )));
                }
            }
            let tar = self.file_stream(&file, compression).await?;
            let image = users[0]
                .get("Image")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            // Empty the volume first (restore replaces, it does not merge), using
            // the container's own image: no registry is needed for a helper.
            let clear = vec![
                "sh".into(),
                "-c".into(),
                // POSIX sh only (busybox has no `find -delete`); the globs cover dotfiles.
                format!("cd {VOLUME_MOUNT} && rm -rf -- * .[!.]* ..?*"),
            ];
            let helper = engine
                .helper(HelperSpec {
                    image,
                    volume: volume.clone(),
                    mount_at: VOLUME_MOUNT.into(),
                    command: Some(clear),
                })
                .await
                .map_err(|e| {
                    ContainerError::Engine(format!(
                        "cannot empty volume `{volume}` before restoring: {e}"
                    ))
                })?;
            let result = engine
                .archive_in(&helper, "/", tar)
                .await
                .map_err(engine_error);
            let _ = engine.remove(&helper).await;
            result
        }
        .await)
    }

    async fn create(&mut self, request: CreateRequest) -> Outcome<String> {
        Ok(async {
            // The name must be granted (so the plugin can reach it afterwards) and
            // the image already used by a granted container: no pulls, no images
            // the task was not given.
            self.check(&request.name)?;
            self.refuse_in_dry_run("create")?;
            self.check_image(&request.image).await?;
            let spec = CreateSpec {
                name: request.name,
                image: request.image,
                env: request
                    .env
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect(),
                command: request.command,
            };
            engine().await?.create(spec).await.map_err(engine_error)
        }
        .await)
    }

    async fn remove(&mut self, name: String) -> Outcome<()> {
        Ok(async {
            self.lifecycle(&name, "remove")
                .await?
                .remove(&name)
                .await
                .map_err(engine_error)
        }
        .await)
    }

    async fn image_list(&mut self) -> Outcome<Vec<ImageSummary>> {
        Ok(async {
            let used: Vec<String> = self
                .granted_containers()
                .await?
                .iter()
                .filter_map(|c| c.get("ImageID").and_then(Value::as_str).map(str::to_owned))
                .collect();
            let images = engine().await?.images().await.map_err(engine_error)?;
            Ok(images
                .iter()
                .filter(|i| {
                    i.get("Id")
                        .and_then(Value::as_str)
                        .is_some_and(|id| used.iter().any(|u| u == id))
                })
                .map(json::image)
                .collect())
        }
        .await)
    }

    async fn image_inspect(&mut self, image: String) -> Outcome<String> {
        Ok(async {
            self.check_image(&image).await?;
            Ok(engine()
                .await?
                .image_inspect(&image)
                .await
                .map_err(engine_error)?
                .to_string())
        }
        .await)
    }

    async fn image_export(
        &mut self,
        image: String,
        file: String,
        compression: Compression,
    ) -> Outcome<FileInfo> {
        Ok(async {
            self.check_image(&image).await?;
            let source = engine().await?.image_export(&image);
            self.stream_to_file(source, &file, compression).await
        }
        .await)
    }

    // ---- Stacks (issue 8): implemented in stack.rs ----

    async fn create_container(&mut self, spec: ContainerSpec) -> Outcome<String> {
        Ok(self.stack_create_container(spec).await)
    }

    async fn network_create(&mut self, name: String, labels: Labels) -> Outcome<bool> {
        Ok(self.stack_network_create(&name, labels).await)
    }

    async fn network_list(&mut self) -> Outcome<Vec<NetworkSummary>> {
        Ok(self.stack_network_list().await)
    }

    async fn network_remove(&mut self, name: String) -> Outcome<()> {
        Ok(self.stack_network_remove(&name).await)
    }

    async fn volume_create(&mut self, name: String, labels: Labels) -> Outcome<bool> {
        Ok(self.stack_volume_create(&name, labels).await)
    }

    async fn volume_remove(&mut self, name: String) -> Outcome<()> {
        Ok(self.stack_volume_remove(&name).await)
    }

    async fn image_present(&mut self, image: String) -> Outcome<bool> {
        Ok(self.stack_image_present(&image).await)
    }

    async fn image_pull(&mut self, image: String, timeout_seconds: u32) -> Outcome<()> {
        Ok(self.stack_image_pull(&image, timeout_seconds).await)
    }

    async fn host_port_free(
        &mut self,
        host_ip: Option<String>,
        port: u16,
        protocol: String,
    ) -> Outcome<bool> {
        Ok(self.stack_host_port_free(host_ip, port, &protocol).await)
    }

    async fn engine_info(&mut self) -> Outcome<EngineFacts> {
        Ok(self.stack_engine_info().await)
    }
}

type Labels = Vec<(String, String)>;
