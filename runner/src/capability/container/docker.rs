//! The Docker Engine API backend (also Podman's Docker-compatible socket), via bollard.

use std::collections::HashMap;

use bollard::container::LogOutput;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, ExecConfig, HostConfig};
use bollard::query_parameters as q;
use futures_util::{StreamExt, TryStreamExt};
use serde_json::Value;

use super::engine::{
    ByteStream, CreateSpec, Engine, EngineError, ExecChunk, ExecSession, ExecSpec, HelperSpec,
};

pub struct Docker {
    pub(super) client: bollard::Docker,
    address: String,
}

/// DOCKER_HOST when set; else Docker's socket; else a Podman socket if one exists.
fn address() -> String {
    if let Ok(host) = std::env::var("DOCKER_HOST")
        && !host.is_empty()
    {
        return host;
    }
    let docker = "/var/run/docker.sock";
    if std::path::Path::new(docker).exists() {
        return format!("unix://{docker}");
    }
    let runtime = std::env::var("XDG_RUNTIME_DIR").unwrap_or_else(|_| "/run".into());
    for podman in [
        format!("{runtime}/podman/podman.sock"),
        "/run/podman/podman.sock".to_owned(),
    ] {
        if std::path::Path::new(&podman).exists() {
            return format!("unix://{podman}");
        }
    }
    format!("unix://{docker}")
}

impl Docker {
    pub async fn connect() -> Result<Docker, EngineError> {
        let address = address();
        let unreachable = |reason: String| EngineError::Unreachable {
            address: address.clone(),
            reason,
        };
        let client = bollard::Docker::connect_with_host(&address)
            .map_err(|e| unreachable(e.to_string()))?
            // The engine may speak an older API than bollard's default.
            .negotiate_version()
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        Ok(Docker { client, address })
    }

    pub(super) fn error(&self, error: bollard::errors::Error) -> EngineError {
        engine_error(&self.address, error)
    }

    /// The client, for the stack calls in `docker_stack.rs`.
    pub(super) fn client(&self) -> &bollard::Docker {
        &self.client
    }
}

/// One mapping of bollard's errors for every call and stream.
pub(super) fn engine_error(address: &str, error: bollard::errors::Error) -> EngineError {
    use bollard::errors::Error as E;
    match error {
        E::DockerResponseServerError {
            status_code: 404,
            message,
        } => EngineError::NotFound(message),
        E::DockerResponseServerError {
            status_code: 409 | 304,
            message,
        } => EngineError::Conflict(message),
        E::DockerResponseServerError { message, .. } => EngineError::Failed(message),
        E::HyperResponseError { .. } | E::IOError { .. } | E::RequestTimeoutError => {
            EngineError::Unreachable {
                address: address.to_owned(),
                reason: error.to_string(),
            }
        }
        other => EngineError::Failed(other.to_string()),
    }
}

fn json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

#[async_trait::async_trait]
impl Engine for Docker {
    fn address(&self) -> &str {
        &self.address
    }

    async fn containers(&self) -> Result<Vec<Value>, EngineError> {
        let options = q::ListContainersOptions {
            all: true,
            ..Default::default()
        };
        let list = self
            .client
            .list_containers(Some(options))
            .await
            .map_err(|e| self.error(e))?;
        Ok(list.iter().map(json).collect())
    }

    async fn inspect(&self, name: &str) -> Result<Value, EngineError> {
        let inspect = self
            .client
            .inspect_container(name, None)
            .await
            .map_err(|e| self.error(e))?;
        Ok(json(&inspect))
    }

    async fn exec_start(&self, name: &str, spec: ExecSpec) -> Result<ExecSession, EngineError> {
        let config = ExecConfig {
            attach_stdin: Some(spec.stdin),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(false),
            cmd: Some(spec.command),
            env: Some(spec.env),
            user: spec.user,
            working_dir: spec.workdir,
            ..Default::default()
        };
        let created = self
            .client
            .create_exec(name, config)
            .await
            .map_err(|e| self.error(e))?;
        let options = StartExecOptions {
            detach: false,
            tty: false,
            output_capacity: Some(1 << 20),
        };
        match self
            .client
            .start_exec(&created.id, Some(options))
            .await
            .map_err(|e| self.error(e))?
        {
            StartExecResults::Attached { output, input } => {
                let address = self.address.clone();
                let output = output.filter_map(move |item| {
                    let address = address.clone();
                    async move {
                        match item {
                            Ok(LogOutput::StdOut { message }) => {
                                Some(Ok(ExecChunk::Stdout(message)))
                            }
                            Ok(LogOutput::StdErr { message }) => {
                                Some(Ok(ExecChunk::Stderr(message)))
                            }
                            Ok(_) => None,
                            Err(e) => Some(Err(EngineError::Unreachable {
                                address,
                                reason: e.to_string(),
                            })),
                        }
                    }
                });
                Ok(ExecSession {
                    id: created.id,
                    output: Box::pin(output),
                    input,
                })
            }
            StartExecResults::Detached => {
                Err(EngineError::Failed("the engine detached the exec".into()))
            }
        }
    }

    async fn exec_exit_code(&self, id: &str) -> Result<i64, EngineError> {
        // The exit code can lag the end of the output stream by a moment.
        for _ in 0..100 {
            let inspect = self
                .client
                .inspect_exec(id)
                .await
                .map_err(|e| self.error(e))?;
            if inspect.running != Some(true) {
                return inspect
                    .exit_code
                    .ok_or_else(|| EngineError::Failed("the engine reported no exit code".into()));
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        Err(EngineError::Failed(
            "the command did not report an exit code".into(),
        ))
    }

    async fn start(&self, name: &str) -> Result<(), EngineError> {
        match self
            .client
            .start_container(name, None::<q::StartContainerOptions>)
            .await
        {
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304, ..
            }) => Ok(()),
            other => other.map_err(|e| self.error(e)),
        }
    }

    async fn stop(&self, name: &str, timeout: Option<u32>) -> Result<(), EngineError> {
        let options = q::StopContainerOptions {
            t: timeout.map(|t| t as i32),
            ..Default::default()
        };
        match self.client.stop_container(name, Some(options)).await {
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304, ..
            }) => Ok(()),
            other => other.map_err(|e| self.error(e)),
        }
    }

    async fn restart(&self, name: &str, timeout: Option<u32>) -> Result<(), EngineError> {
        let options = q::RestartContainerOptions {
            t: timeout.map(|t| t as i32),
            ..Default::default()
        };
        self.client
            .restart_container(name, Some(options))
            .await
            .map_err(|e| self.error(e))
    }

    async fn kill(&self, name: &str, signal: &str) -> Result<(), EngineError> {
        let options = q::KillContainerOptions {
            signal: signal.to_owned(),
        };
        self.client
            .kill_container(name, Some(options))
            .await
            .map_err(|e| self.error(e))
    }

    async fn pause(&self, name: &str) -> Result<(), EngineError> {
        self.client
            .pause_container(name)
            .await
            .map_err(|e| self.error(e))
    }

    async fn unpause(&self, name: &str) -> Result<(), EngineError> {
        self.client
            .unpause_container(name)
            .await
            .map_err(|e| self.error(e))
    }

    async fn logs(&self, name: &str, tail: u32) -> Result<String, EngineError> {
        let options = q::LogsOptions {
            stdout: true,
            stderr: true,
            tail: tail.to_string(),
            ..Default::default()
        };
        let chunks: Vec<LogOutput> = self
            .client
            .logs(name, Some(options))
            .try_collect()
            .await
            .map_err(|e| self.error(e))?;
        Ok(chunks
            .iter()
            .map(|c| String::from_utf8_lossy(&c.clone().into_bytes()).into_owned())
            .collect())
    }

    fn archive_out(&self, name: &str, path: &str) -> ByteStream {
        let options = q::DownloadFromContainerOptions {
            path: path.to_owned(),
        };
        let address = self.address.clone();
        Box::pin(
            self.client
                .download_from_container(name, Some(options))
                .map_err(move |e| engine_error(&address, e)),
        )
    }

    async fn archive_in(&self, name: &str, path: &str, tar: ByteStream) -> Result<(), EngineError> {
        let options = q::UploadToContainerOptions {
            path: path.to_owned(),
            ..Default::default()
        };
        let body = bollard::body_try_stream(tar.map_err(|e| std::io::Error::other(e.to_string())));
        self.client
            .upload_to_container(name, Some(options), body)
            .await
            .map_err(|e| self.error(e))
    }

    async fn volumes(&self) -> Result<Vec<Value>, EngineError> {
        let list = self
            .client
            .list_volumes(None::<q::ListVolumesOptions>)
            .await
            .map_err(|e| self.error(e))?;
        Ok(list.volumes.unwrap_or_default().iter().map(json).collect())
    }

    async fn helper(&self, spec: HelperSpec) -> Result<String, EngineError> {
        let body = ContainerCreateBody {
            image: Some(spec.image),
            entrypoint: spec.command.as_ref().map(|_| Vec::new()),
            cmd: spec.command.clone(),
            labels: Some(HashMap::from([(
                "run.helper".to_owned(),
                "volume".to_owned(),
            )])),
            host_config: Some(HostConfig {
                binds: Some(vec![format!("{}:{}", spec.volume, spec.mount_at)]),
                network_mode: Some("none".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let created = self
            .client
            .create_container(None::<q::CreateContainerOptions>, body)
            .await
            .map_err(|e| self.error(e))?;
        if spec.command.is_some() {
            let run = async {
                self.client
                    .start_container(&created.id, None::<q::StartContainerOptions>)
                    .await
                    .map_err(|e| self.error(e))?;
                let mut wait = self
                    .client
                    .wait_container(&created.id, None::<q::WaitContainerOptions>);
                while let Some(status) = wait.next().await {
                    match status {
                        Ok(status) if status.status_code != 0 => {
                            return Err(EngineError::Failed(format!(
                                "helper exited with {}",
                                status.status_code
                            )));
                        }
                        Ok(_) => {}
                        Err(bollard::errors::Error::DockerContainerWaitError { code, error }) => {
                            return Err(EngineError::Failed(format!(
                                "helper exited with {code}: {error}"
                            )));
                        }
                        Err(e) => return Err(self.error(e)),
                    }
                }
                Ok(())
            };
            if let Err(error) = run.await {
                // The helper's own words are the useful part of the error.
                let logs = self.logs(&created.id, 20).await.unwrap_or_default();
                let _ = self.remove(&created.id).await;
                return Err(EngineError::Failed(format!("{error}: {}", logs.trim())));
            }
        }
        Ok(created.id)
    }

    async fn create(&self, spec: CreateSpec) -> Result<String, EngineError> {
        let body = ContainerCreateBody {
            image: Some(spec.image),
            env: Some(spec.env),
            cmd: spec.command,
            labels: Some(HashMap::from([(
                "run.throwaway".to_owned(),
                "true".to_owned(),
            )])),
            ..Default::default()
        };
        let options = q::CreateContainerOptions {
            name: Some(spec.name.clone()),
            ..Default::default()
        };
        let created = self
            .client
            .create_container(Some(options), body)
            .await
            .map_err(|e| self.error(e))?;
        if let Err(error) = self.start(&created.id).await {
            let _ = self.remove(&created.id).await;
            return Err(error);
        }
        Ok(created.id)
    }

    async fn remove(&self, name: &str) -> Result<(), EngineError> {
        let options = q::RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        self.client
            .remove_container(name, Some(options))
            .await
            .map_err(|e| self.error(e))
    }

    async fn images(&self) -> Result<Vec<Value>, EngineError> {
        let list = self
            .client
            .list_images(None::<q::ListImagesOptions>)
            .await
            .map_err(|e| self.error(e))?;
        Ok(list.iter().map(json).collect())
    }

    async fn image_inspect(&self, image: &str) -> Result<Value, EngineError> {
        let inspect = self
            .client
            .inspect_image(image)
            .await
            .map_err(|e| self.error(e))?;
        Ok(json(&inspect))
    }

    async fn netns_helper(&self, spec: super::netns::NetnsSpec) -> Result<String, EngineError> {
        self.create_netns_helper(spec).await
    }

    fn image_export(&self, image: &str) -> ByteStream {
        let address = self.address.clone();
        Box::pin(
            self.client
                .export_image(image)
                .map_err(move |e| engine_error(&address, e)),
        )
    }
}
