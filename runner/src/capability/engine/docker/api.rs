//! `Engine` for Docker. Path segments are only `ids.rs` identities (see there
//! why: bollard does not encode them); every plugin-given name or path is a
//! query parameter or in a JSON body.

use bollard::container::LogOutput;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerSummary, EndpointSettings, ExecConfig,
    ExecInspectResponse, ImageInspect, ImageSummary, Network, NetworkConnectRequest,
    NetworkCreateRequest, SystemInfo, SystemVersion, Volume, VolumeCreateRequest,
};
use bollard::query_parameters as q;
use futures_util::{StreamExt, TryStreamExt};

use super::super::backend::{
    BuildOptions, ByteStream, Engine, EngineError, ExecChunk, ExecSession, Product, PullStream,
};
use super::super::ids::{ContainerId, ExecId, ImageId, NetworkId, VolumeName};
use super::super::limits::{self, CALL_LIMIT, STREAM_IDLE_LIMIT};
use super::{Docker, engine_error, not_modified, pid_in_namespace, with_short_names};

/// Exec output lines longer than this are split by bollard's decoder, not lost.
const EXEC_OUTPUT_CAPACITY: usize = 1 << 20;

#[async_trait::async_trait]
impl Engine for Docker {
    fn address(&self) -> &str {
        &self.address
    }

    fn is_local(&self) -> bool {
        self.local
    }

    async fn list_containers(&self) -> Result<Vec<ContainerSummary>, EngineError> {
        if self.product().await?.lists_states_of_its_own() {
            let api = self.client.client_version().to_string();
            return self.raw().list_containers(&api, CALL_LIMIT).await;
        }
        let options = q::ListContainersOptions {
            all: true,
            ..Default::default()
        };
        self.call(
            "listing containers",
            self.client.list_containers(Some(options)),
        )
        .await
    }

    async fn inspect_container(
        &self,
        id: &ContainerId,
    ) -> Result<ContainerInspectResponse, EngineError> {
        if self.product().await?.lists_states_of_its_own() {
            let api = self.client.client_version().to_string();
            return self.raw().inspect_container(&api, id, CALL_LIMIT).await;
        }
        self.call(
            format!("inspecting container {}", id.short()),
            self.client
                .inspect_container(id.as_str(), None::<q::InspectContainerOptions>),
        )
        .await
    }

    async fn create_container(
        &self,
        name: Option<&str>,
        platform: Option<&str>,
        body: ContainerCreateBody,
    ) -> Result<ContainerId, EngineError> {
        let options = q::CreateContainerOptions {
            name: name.map(str::to_owned),
            platform: platform.unwrap_or_default().to_owned(),
        };
        let created = self
            .call(
                "creating a container",
                self.client.create_container(Some(options), body),
            )
            .await?;
        ContainerId::parse(&created.id).ok_or_else(|| EngineError::Failed {
            address: self.address.clone(),
            message: format!("the engine answered a container ID `{}`", created.id),
        })
    }

    async fn start_container(&self, id: &ContainerId) -> Result<(), EngineError> {
        let call = async {
            match self
                .client
                .start_container(id.as_str(), None::<q::StartContainerOptions>)
                .await
            {
                Err(e) if not_modified(&e) => Ok(()),
                other => other,
            }
        };
        self.call(format!("starting container {}", id.short()), call)
            .await
    }

    async fn stop_container(
        &self,
        id: &ContainerId,
        timeout_seconds: Option<u32>,
    ) -> Result<(), EngineError> {
        let options = q::StopContainerOptions {
            t: timeout_seconds.map(|t| i32::try_from(t).unwrap_or(i32::MAX)),
            ..Default::default()
        };
        let call = async {
            match self.client.stop_container(id.as_str(), Some(options)).await {
                Err(e) if not_modified(&e) => Ok(()),
                other => other.map_err(|e| self.error(e)),
            }
        };
        // The engine waits the grace period before it answers.
        let grace = std::time::Duration::from_secs(timeout_seconds.unwrap_or(10).into());
        limits::within(
            format!("stopping container {}", id.short()),
            CALL_LIMIT + grace,
            call,
        )
        .await
    }

    async fn restart_container(
        &self,
        id: &ContainerId,
        timeout_seconds: Option<u32>,
    ) -> Result<(), EngineError> {
        let options = q::RestartContainerOptions {
            t: timeout_seconds.map(|t| i32::try_from(t).unwrap_or(i32::MAX)),
            ..Default::default()
        };
        let grace = std::time::Duration::from_secs(timeout_seconds.unwrap_or(10).into());
        limits::within(
            format!("restarting container {}", id.short()),
            CALL_LIMIT + grace,
            async {
                self.client
                    .restart_container(id.as_str(), Some(options))
                    .await
                    .map_err(|e| self.error(e))
            },
        )
        .await
    }

    async fn kill_container(&self, id: &ContainerId, signal: &str) -> Result<(), EngineError> {
        let options = q::KillContainerOptions {
            signal: signal.to_owned(),
        };
        self.call(
            format!("killing container {}", id.short()),
            self.client.kill_container(id.as_str(), Some(options)),
        )
        .await
    }

    async fn pause_container(&self, id: &ContainerId) -> Result<(), EngineError> {
        self.call(
            format!("pausing container {}", id.short()),
            self.client.pause_container(id.as_str()),
        )
        .await
    }

    async fn unpause_container(&self, id: &ContainerId) -> Result<(), EngineError> {
        self.call(
            format!("unpausing container {}", id.short()),
            self.client.unpause_container(id.as_str()),
        )
        .await
    }

    async fn remove_container(&self, id: &ContainerId) -> Result<(), EngineError> {
        let options = q::RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        self.call(
            format!("removing container {}", id.short()),
            self.client.remove_container(id.as_str(), Some(options)),
        )
        .await
    }

    async fn wait_container(&self, id: &ContainerId) -> Result<i64, EngineError> {
        let mut wait = self
            .client
            .wait_container(id.as_str(), None::<q::WaitContainerOptions>);
        let mut code = 0;
        while let Some(status) = wait.next().await {
            match status {
                Ok(status) => code = status.status_code,
                // bollard reports a non-zero exit as an error; it is an answer here.
                Err(bollard::errors::Error::DockerContainerWaitError { code: c, .. }) => code = c,
                Err(e) => return Err(self.error(e)),
            }
        }
        Ok(code)
    }

    fn logs(&self, id: &ContainerId, tail: u32) -> ByteStream {
        let options = q::LogsOptions {
            stdout: true,
            stderr: true,
            tail: tail.to_string(),
            ..Default::default()
        };
        let stream = self
            .client
            .logs(id.as_str(), Some(options))
            .map_ok(LogOutput::into_bytes);
        self.bytes(
            format!("reading the logs of container {}", id.short()),
            stream,
        )
    }

    fn download(&self, id: &ContainerId, path: &str) -> ByteStream {
        let options = q::DownloadFromContainerOptions {
            path: path.to_owned(),
        };
        let stream = self
            .client
            .download_from_container(id.as_str(), Some(options));
        self.bytes(
            format!("copying `{path}` out of container {}", id.short()),
            stream,
        )
    }

    async fn upload(
        &self,
        id: &ContainerId,
        path: &str,
        tar: ByteStream,
    ) -> Result<(), EngineError> {
        let options = q::UploadToContainerOptions {
            path: path.to_owned(),
            ..Default::default()
        };
        let activity = limits::Activity::new();
        let seen = activity.clone();
        let body = bollard::body_try_stream(
            tar.inspect(move |_| seen.touch())
                .map_err(|e| std::io::Error::other(e.to_string())),
        );
        limits::while_active(
            format!("copying into `{path}` in container {}", id.short()),
            STREAM_IDLE_LIMIT,
            activity,
            async {
                self.client
                    .upload_to_container(id.as_str(), Some(options), body)
                    .await
                    .map_err(|e| self.error(e))
            },
        )
        .await
    }

    async fn create_exec(
        &self,
        id: &ContainerId,
        config: ExecConfig,
    ) -> Result<ExecId, EngineError> {
        let created = self
            .call(
                format!("creating an exec in container {}", id.short()),
                self.client.create_exec(id.as_str(), config),
            )
            .await?;
        ExecId::parse(&created.id).ok_or_else(|| EngineError::Failed {
            address: self.address.clone(),
            message: format!("the engine answered an exec ID `{}`", created.id),
        })
    }

    async fn start_exec(&self, exec: &ExecId) -> Result<ExecSession, EngineError> {
        let options = StartExecOptions {
            detach: false,
            tty: false,
            output_capacity: Some(EXEC_OUTPUT_CAPACITY),
        };
        let started = self
            .call(
                "starting an exec",
                self.client.start_exec(exec.as_str(), Some(options)),
            )
            .await?;
        match started {
            StartExecResults::Attached { output, input } => {
                let address = self.address.clone();
                let output = output.filter_map(move |item| {
                    let chunk = match item {
                        Ok(LogOutput::StdOut { message }) => Some(Ok(ExecChunk::Stdout(message))),
                        Ok(LogOutput::StdErr { message }) => Some(Ok(ExecChunk::Stderr(message))),
                        Ok(_) => None,
                        Err(e) => Some(Err(engine_error(&address, e))),
                    };
                    std::future::ready(chunk)
                });
                Ok(ExecSession {
                    output: Box::pin(output),
                    input,
                })
            }
            StartExecResults::Detached => Err(EngineError::Failed {
                address: self.address.clone(),
                message: "the engine detached the exec".into(),
            }),
        }
    }

    async fn inspect_exec(&self, exec: &ExecId) -> Result<ExecInspectResponse, EngineError> {
        self.call(
            "inspecting an exec",
            self.client.inspect_exec(exec.as_str()),
        )
        .await
    }

    async fn exec_pid_in_container(&self, exec: &ExecId) -> Result<Option<i64>, EngineError> {
        let inspect = self.inspect_exec(exec).await?;
        if inspect.running != Some(true) || !self.is_local() {
            return Ok(None);
        }
        Ok(inspect
            .pid
            .filter(|&pid| pid > 0)
            .and_then(pid_in_namespace))
    }

    async fn list_volumes(&self) -> Result<Vec<Volume>, EngineError> {
        let list = self
            .call(
                "listing volumes",
                self.client.list_volumes(None::<q::ListVolumesOptions>),
            )
            .await?;
        Ok(list.volumes.unwrap_or_default())
    }

    async fn create_volume(&self, request: VolumeCreateRequest) -> Result<(), EngineError> {
        self.call("creating a volume", self.client.create_volume(request))
            .await
            .map(drop)
    }

    async fn remove_volume(&self, name: &VolumeName) -> Result<(), EngineError> {
        self.call(
            format!("removing volume `{name}`"),
            self.client
                .remove_volume(name.as_str(), None::<q::RemoveVolumeOptions>),
        )
        .await
    }

    async fn list_images(&self) -> Result<Vec<ImageSummary>, EngineError> {
        let mut images = self
            .call(
                "listing images",
                self.client.list_images(None::<q::ListImagesOptions>),
            )
            .await?;
        if self.product().await?.names_local_images_localhost() {
            for image in &mut images {
                image.repo_tags = with_short_names(&image.repo_tags);
                image.repo_digests = with_short_names(&image.repo_digests);
            }
        }
        Ok(images)
    }

    async fn inspect_image(&self, id: &ImageId) -> Result<ImageInspect, EngineError> {
        self.call(
            format!("inspecting image {id}"),
            self.client.inspect_image(id.as_str()),
        )
        .await
    }

    fn export_image(&self, id: &ImageId) -> ByteStream {
        let stream = self.client.export_image(id.as_str());
        self.bytes(format!("exporting image {id}"), stream)
    }

    fn pull_image(&self, reference: &str) -> PullStream {
        let options = q::CreateImageOptions {
            from_image: Some(reference.to_owned()),
            ..Default::default()
        };
        let address = self.address.clone();
        let stream =
            self.client
                .create_image(Some(options), None, None)
                .map_err(move |e| match e {
                    bollard::errors::Error::DockerStreamError { error } => EngineError::Failed {
                        address: address.clone(),
                        message: error,
                    },
                    other => engine_error(&address, other),
                });
        limits::idle_limited(format!("pulling `{reference}`"), STREAM_IDLE_LIMIT, stream)
    }

    async fn build_image(
        &self,
        options: BuildOptions,
        context: ByteStream,
        progress: &mut (dyn FnMut(bollard::models::BuildInfo) + Send),
    ) -> Result<(), EngineError> {
        let query = q::BuildImageOptions {
            dockerfile: options.dockerfile,
            t: Some(options.tag),
            buildargs: Some(options.args),
            labels: Some(options.labels),
            target: options.target.unwrap_or_default(),
            rm: true,
            forcerm: true,
            version: q::BuilderVersion::BuilderV1,
            ..Default::default()
        };
        let body =
            bollard::body_try_stream(context.map_err(|e| std::io::Error::other(e.to_string())));
        let mut stream = self.client.build_image(query, None, Some(body));
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => progress(info),
                Err(bollard::errors::Error::DockerStreamError { error }) => {
                    return Err(EngineError::Failed {
                        address: self.address.clone(),
                        message: error,
                    });
                }
                Err(other) => return Err(self.error(other)),
            }
        }
        Ok(())
    }

    async fn list_networks(&self) -> Result<Vec<Network>, EngineError> {
        self.call(
            "listing networks",
            self.client.list_networks(None::<q::ListNetworksOptions>),
        )
        .await
    }

    async fn create_network(
        &self,
        request: NetworkCreateRequest,
    ) -> Result<NetworkId, EngineError> {
        let created = self
            .call("creating a network", self.client.create_network(request))
            .await?;
        NetworkId::parse(&created.id).ok_or_else(|| EngineError::Failed {
            address: self.address.clone(),
            message: format!("the engine answered a network ID `{}`", created.id),
        })
    }

    async fn remove_network(&self, id: &NetworkId) -> Result<(), EngineError> {
        self.call(
            "removing a network",
            self.client.remove_network(id.as_str()),
        )
        .await
    }

    async fn connect_network(
        &self,
        network: &NetworkId,
        container: &ContainerId,
        endpoint: EndpointSettings,
    ) -> Result<(), EngineError> {
        let request = NetworkConnectRequest {
            container: container.as_str().to_owned(),
            endpoint_config: Some(endpoint),
        };
        self.call(
            format!("connecting container {} to a network", container.short()),
            self.client.connect_network(network.as_str(), request),
        )
        .await
    }

    async fn version(&self) -> Result<SystemVersion, EngineError> {
        self.call("asking the engine's version", self.client.version())
            .await
    }

    async fn info(&self) -> Result<SystemInfo, EngineError> {
        self.call("asking the engine's facts", self.client.info())
            .await
    }

    async fn product(&self) -> Result<Product, EngineError> {
        self.product
            .get_or_try_init(|| async { Ok(Product::of(&self.version().await?)) })
            .await
            .cloned()
    }

    async fn run_health_check(
        &self,
        id: &ContainerId,
        timeout: std::time::Duration,
    ) -> Result<(), EngineError> {
        let product = self.product().await?;
        if !product.leaves_health_checks_to_host() {
            return Err(EngineError::Unsupported {
                address: self.address.clone(),
                call: "running a health check on demand".into(),
                product: product.name(),
            });
        }
        self.raw().run_health_check(id, CALL_LIMIT + timeout).await
    }
}
