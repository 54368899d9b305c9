//! An in-memory engine for the host-side tests (as Spin's `factors-test`
//! injects its factors): containers, images, volumes and networks as data,
//! and a log of every call with its arguments, so a test proves both the
//! answer and what reached the engine.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bollard::models::{
    ContainerConfig, ContainerCreateBody, ContainerInspectResponse, ContainerState,
    ContainerStateStatusEnum, ContainerSummary, ContainerSummaryStateEnum, CreateImageInfo,
    EndpointSettings, ExecConfig, ExecInspectResponse, Health, HealthConfig, HealthStatusEnum,
    HealthcheckResult, HostConfig, ImageInspect, ImageSummary, MountPoint, Network,
    NetworkCreateRequest, NetworkSettings, SystemInfo, SystemVersion, SystemVersionComponents,
    Volume, VolumeCreateRequest,
};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::AsyncWrite;

use super::backend::{
    BuildOptions, ByteStream, Engine, EngineError, ExecChunk, ExecSession, PullStream,
};
use super::ids::{ContainerId, ExecId, ImageId, NetworkId, VolumeName};

/// A container as the fake holds it.
#[derive(Debug, Clone)]
pub struct FakeContainer {
    pub id: String,
    /// As the engine lists them: `/name`, and `/other/alias` for links.
    pub names: Vec<String>,
    pub image: String,
    pub image_id: String,
    pub state: ContainerStateStatusEnum,
    pub labels: HashMap<String, String>,
    /// `(type, name-or-source, destination)`.
    pub mounts: Vec<(String, String, String)>,
    pub health: Option<HealthStatusEnum>,
    pub health_output: String,
    /// Its health check's configuration, as inspect shows it.
    pub healthcheck: Option<HealthConfig>,
    /// What `run_health_check` makes `health` (Podman's on-demand check).
    pub check_result: Option<HealthStatusEnum>,
    pub network_mode: String,
    pub exit_code: i64,
    pub body: Option<ContainerCreateBody>,
}

impl FakeContainer {
    pub fn canonical(&self) -> &str {
        self.names
            .iter()
            .map(|n| n.trim_start_matches('/'))
            .find(|n| !n.contains('/'))
            .unwrap_or_default()
    }
}

/// What an exec does, decided by the test from the command.
#[derive(Debug, Clone, Default)]
pub struct ExecScript {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub exit_code: i64,
    /// Never ends on its own (until killed).
    pub hang: bool,
}

type Script = Arc<dyn Fn(&[String]) -> ExecScript + Send + Sync>;

#[derive(Default)]
pub struct State {
    pub containers: Vec<FakeContainer>,
    pub images: Vec<ImageSummary>,
    pub volumes: Vec<Volume>,
    pub networks: Vec<Network>,
    /// Every call, `method arg...`, in order.
    pub calls: Vec<String>,
    /// Bodies of created containers, in order.
    pub created: Vec<(Option<String>, ContainerCreateBody)>,
    pub execs: HashMap<String, FakeExec>,
    /// Bytes uploaded into containers: `(container, path, bytes)`.
    pub uploads: Vec<(String, String, Vec<u8>)>,
    /// What `download` answers, by path.
    pub archives: HashMap<String, Vec<u8>>,
    pub logs: Vec<u8>,
    pub product: String,
    pub local: bool,
    /// `wait_container` never answers.
    pub hang_waits: bool,
    /// Containers have `sh`: commands fed no stdin run under the exec
    /// watchdog, which the fake plays (a hanging command ends, killed, when
    /// its stdin connection closes).
    pub shell: bool,
    /// What `build_image` was sent: the options and the whole archive.
    pub builds: Vec<(BuildOptions, Vec<u8>)>,
    next_id: u64,
}

#[derive(Debug, Clone)]
pub struct FakeExec {
    pub container: String,
    pub config: ExecConfig,
    pub running: bool,
    pub exit_code: Option<i64>,
    pub pid: i64,
    pub stdin: Arc<Mutex<Vec<u8>>>,
}

#[derive(Clone)]
pub struct FakeEngine {
    pub state: Arc<Mutex<State>>,
    script: Script,
}

pub fn id_of(seed: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(seed.as_bytes()))
}

impl FakeEngine {
    pub fn new() -> FakeEngine {
        let state = State {
            product: "Docker Engine - Community".into(),
            local: true,
            ..State::default()
        };
        FakeEngine {
            state: Arc::new(Mutex::new(state)),
            script: Arc::new(|_| ExecScript::default()),
        }
    }

    pub fn arc(&self) -> Arc<dyn Engine> {
        Arc::new(self.clone())
    }

    /// What every exec does, from its command.
    pub fn scripted(
        mut self,
        script: impl Fn(&[String]) -> ExecScript + Send + Sync + 'static,
    ) -> Self {
        self.script = Arc::new(script);
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// A running container named `name` from `image` (tag), with its ID derived from the name.
    pub fn container(&self, name: &str, image: &str) -> String {
        let id = id_of(name);
        let image_id = self.image(image);
        self.lock().containers.push(FakeContainer {
            id: id.clone(),
            names: vec![format!("/{name}")],
            image: image.to_owned(),
            image_id,
            state: ContainerStateStatusEnum::RUNNING,
            labels: HashMap::new(),
            mounts: Vec::new(),
            health: None,
            health_output: String::new(),
            healthcheck: None,
            check_result: None,
            network_mode: "bridge".into(),
            exit_code: 0,
            body: None,
        });
        id
    }

    /// Changes the container with ID `id`.
    pub fn edit(&self, id: &str, change: impl FnOnce(&mut FakeContainer)) {
        let mut state = self.lock();
        let container = state
            .containers
            .iter_mut()
            .find(|c| c.id == id)
            .expect("a fake container");
        change(container);
    }

    /// An image tagged `tag` (made if missing); its ID.
    pub fn image(&self, tag: &str) -> String {
        let mut state = self.lock();
        if let Some(image) = state
            .images
            .iter()
            .find(|i| i.repo_tags.iter().any(|t| t == tag))
        {
            return image.id.clone();
        }
        let id = format!("sha256:{}", id_of(&format!("image {tag}")));
        state.images.push(ImageSummary {
            id: id.clone(),
            repo_tags: vec![tag.to_owned()],
            repo_digests: Vec::new(),
            size: 1000,
            created: 1_700_000_000,
            ..Default::default()
        });
        id
    }

    pub fn volume(&self, name: &str) {
        self.lock().volumes.push(Volume {
            name: name.to_owned(),
            driver: "local".into(),
            ..Default::default()
        });
    }

    pub fn network(&self, name: &str) -> String {
        let id = id_of(&format!("network {name}"));
        self.lock().networks.push(Network {
            name: Some(name.to_owned()),
            id: Some(id.clone()),
            driver: Some("bridge".into()),
            ..Default::default()
        });
        id
    }

    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    /// Calls other than listing and inspecting: what changed something.
    pub fn changes(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|c| !c.starts_with("list") && !c.starts_with("inspect"))
            .collect()
    }

    fn record(&self, call: String) {
        self.lock().calls.push(call);
    }

    fn find(&self, id: &ContainerId) -> Result<FakeContainer, EngineError> {
        self.lock()
            .containers
            .iter()
            .find(|c| c.id == id.as_str())
            .cloned()
            .ok_or_else(|| EngineError::NotFound(format!("No such container: {id}")))
    }

    fn set_state(
        &self,
        id: &ContainerId,
        state: ContainerStateStatusEnum,
    ) -> Result<(), EngineError> {
        self.find(id)?;
        self.edit(id.as_str(), |c| c.state = state);
        Ok(())
    }

    fn summary(c: &FakeContainer) -> ContainerSummary {
        ContainerSummary {
            id: Some(c.id.clone()),
            names: Some(c.names.clone()),
            image: Some(c.image.clone()),
            image_id: Some(c.image_id.clone()),
            state: Some(match c.state {
                ContainerStateStatusEnum::RUNNING => ContainerSummaryStateEnum::RUNNING,
                ContainerStateStatusEnum::PAUSED => ContainerSummaryStateEnum::PAUSED,
                ContainerStateStatusEnum::EXITED => ContainerSummaryStateEnum::EXITED,
                _ => ContainerSummaryStateEnum::CREATED,
            }),
            status: Some(format!("{}", c.state)),
            labels: Some(c.labels.clone()),
            mounts: Some(c.mounts.iter().map(Self::mount).collect()),
            host_config: Some(bollard::models::ContainerSummaryHostConfig {
                network_mode: Some(c.network_mode.clone()),
                ..Default::default()
            }),
            ports: Some(Self::published(c)),
            ..Default::default()
        }
    }

    /// The host ports a container's create body publishes, as the engine lists them.
    fn published(c: &FakeContainer) -> Vec<bollard::models::PortSummary> {
        let bindings = c
            .body
            .as_ref()
            .and_then(|b| b.host_config.as_ref())
            .and_then(|h| h.port_bindings.clone())
            .unwrap_or_default();
        let mut ports = Vec::new();
        for (key, bound) in bindings {
            let (private, protocol) = key.split_once('/').unwrap_or((&key, "tcp"));
            for binding in bound.into_iter().flatten() {
                ports.push(bollard::models::PortSummary {
                    ip: binding.host_ip.clone().or(Some("0.0.0.0".into())),
                    private_port: private.parse().unwrap_or(0),
                    public_port: binding.host_port.as_deref().and_then(|p| p.parse().ok()),
                    typ: Some(if protocol == "udp" {
                        bollard::models::PortSummaryTypeEnum::UDP
                    } else {
                        bollard::models::PortSummaryTypeEnum::TCP
                    }),
                });
            }
        }
        ports
    }

    fn mount((typ, source, destination): &(String, String, String)) -> MountPoint {
        MountPoint {
            typ: Some(typ.clone()),
            name: (typ == "volume").then(|| source.clone()),
            source: Some(source.clone()),
            destination: Some(destination.clone()),
            rw: Some(true),
            ..Default::default()
        }
    }
}

impl Default for FakeEngine {
    fn default() -> Self {
        FakeEngine::new()
    }
}

/// Collects what is written to it (an exec's stdin), and says when it is closed.
struct Collect(Arc<Mutex<Vec<u8>>>, tokio::sync::watch::Sender<bool>);

impl AsyncWrite for Collect {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let _ = self.1.send(true);
        Poll::Ready(Ok(()))
    }
}

fn bytes_stream(bytes: Vec<u8>) -> ByteStream {
    Box::pin(futures_util::stream::iter(
        bytes
            .chunks(7)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect::<Vec<_>>(),
    ))
}

#[async_trait::async_trait]
impl Engine for FakeEngine {
    fn address(&self) -> &str {
        "fake://engine"
    }

    fn is_local(&self) -> bool {
        self.lock().local
    }

    async fn list_containers(&self) -> Result<Vec<ContainerSummary>, EngineError> {
        self.record("list_containers".into());
        let state = self.lock();
        // Podman lists no HostConfig (its inspect has it).
        let podman = state.product.contains("Podman");
        Ok(state
            .containers
            .iter()
            .map(Self::summary)
            .map(|mut summary| {
                if podman {
                    summary.host_config = None;
                }
                summary
            })
            .collect())
    }

    async fn inspect_container(
        &self,
        id: &ContainerId,
    ) -> Result<ContainerInspectResponse, EngineError> {
        self.record(format!("inspect_container {id}"));
        let c = self.find(id)?;
        let health = c.health.map(|status| Health {
            status: Some(status),
            failing_streak: Some(0),
            log: Some(vec![HealthcheckResult {
                exit_code: Some(i64::from(status != HealthStatusEnum::HEALTHY)),
                output: Some(c.health_output.clone()),
                ..Default::default()
            }]),
        });
        Ok(ContainerInspectResponse {
            id: Some(c.id.clone()),
            name: Some(c.names[0].clone()),
            image: Some(c.image_id.clone()),
            state: Some(ContainerState {
                status: Some(c.state),
                running: Some(c.state == ContainerStateStatusEnum::RUNNING),
                exit_code: Some(c.exit_code),
                health,
                ..Default::default()
            }),
            config: Some(ContainerConfig {
                image: Some(c.image.clone()),
                labels: Some(c.labels.clone()),
                healthcheck: c.healthcheck.clone(),
                ..Default::default()
            }),
            host_config: Some(HostConfig {
                network_mode: Some(c.network_mode.clone()),
                ..Default::default()
            }),
            network_settings: Some(NetworkSettings::default()),
            mounts: Some(c.mounts.iter().map(Self::mount).collect()),
            ..Default::default()
        })
    }

    async fn create_container(
        &self,
        name: Option<&str>,
        platform: Option<&str>,
        body: ContainerCreateBody,
    ) -> Result<ContainerId, EngineError> {
        self.record(format!(
            "create_container name={} platform={}",
            name.unwrap_or("-"),
            platform.unwrap_or("-")
        ));
        let mut state = self.lock();
        state.next_id += 1;
        let seed = format!("created {}", state.next_id);
        let name = name.map_or_else(|| format!("helper_{}", state.next_id), str::to_owned);
        if state.containers.iter().any(|c| c.canonical() == name) {
            return Err(EngineError::Conflict(format!("name `{name}` is in use")));
        }
        let image = body.image.clone().unwrap_or_default();
        let image_id = state
            .images
            .iter()
            .find(|i| i.id == image || i.repo_tags.contains(&image))
            .map(|i| i.id.clone())
            .ok_or_else(|| EngineError::NotFound(format!("No such image: {image}")))?;
        let host = body.host_config.clone().unwrap_or_default();
        let mounts = host
            .mounts
            .iter()
            .flatten()
            .map(|m| {
                (
                    m.typ.map(|t| t.to_string()).unwrap_or_default(),
                    m.source.clone().unwrap_or_default(),
                    m.target.clone().unwrap_or_default(),
                )
            })
            .collect();
        let id = id_of(&seed);
        state.containers.push(FakeContainer {
            id: id.clone(),
            names: vec![format!("/{name}")],
            image,
            image_id,
            state: ContainerStateStatusEnum::CREATED,
            labels: body.labels.clone().unwrap_or_default(),
            mounts,
            health: None,
            health_output: String::new(),
            healthcheck: None,
            check_result: None,
            network_mode: host.network_mode.clone().unwrap_or_default(),
            exit_code: 0,
            body: Some(body.clone()),
        });
        state.created.push((Some(name), body));
        Ok(ContainerId::parse(&id).expect("a hex id"))
    }

    async fn start_container(&self, id: &ContainerId) -> Result<(), EngineError> {
        self.record(format!("start_container {id}"));
        let c = self.find(id)?;
        // Helpers run their command and exit at once.
        let state = if c.labels.contains_key("run.helper") && !c.labels.contains_key("fake.detach")
        {
            ContainerStateStatusEnum::EXITED
        } else {
            ContainerStateStatusEnum::RUNNING
        };
        self.set_state(id, state)
    }

    async fn stop_container(
        &self,
        id: &ContainerId,
        timeout: Option<u32>,
    ) -> Result<(), EngineError> {
        self.record(format!("stop_container {id} {timeout:?}"));
        self.set_state(id, ContainerStateStatusEnum::EXITED)
    }

    async fn restart_container(
        &self,
        id: &ContainerId,
        timeout: Option<u32>,
    ) -> Result<(), EngineError> {
        self.record(format!("restart_container {id} {timeout:?}"));
        self.set_state(id, ContainerStateStatusEnum::RUNNING)
    }

    async fn kill_container(&self, id: &ContainerId, signal: &str) -> Result<(), EngineError> {
        self.record(format!("kill_container {id} {signal}"));
        self.set_state(id, ContainerStateStatusEnum::EXITED)
    }

    async fn pause_container(&self, id: &ContainerId) -> Result<(), EngineError> {
        self.record(format!("pause_container {id}"));
        self.set_state(id, ContainerStateStatusEnum::PAUSED)
    }

    async fn unpause_container(&self, id: &ContainerId) -> Result<(), EngineError> {
        self.record(format!("unpause_container {id}"));
        self.set_state(id, ContainerStateStatusEnum::RUNNING)
    }

    async fn remove_container(&self, id: &ContainerId) -> Result<(), EngineError> {
        self.record(format!("remove_container {id}"));
        self.find(id)?;
        self.lock().containers.retain(|c| c.id != id.as_str());
        Ok(())
    }

    async fn wait_container(&self, id: &ContainerId) -> Result<i64, EngineError> {
        self.record(format!("wait_container {id}"));
        let c = self.find(id)?;
        if self.lock().hang_waits {
            std::future::pending::<()>().await;
        }
        self.set_state(id, ContainerStateStatusEnum::EXITED)?;
        Ok(c.exit_code)
    }

    fn logs(&self, id: &ContainerId, tail: u32) -> ByteStream {
        self.record(format!("logs {id} {tail}"));
        bytes_stream(self.lock().logs.clone())
    }

    fn download(&self, id: &ContainerId, path: &str) -> ByteStream {
        self.record(format!("download {id} {path}"));
        let archive = self.lock().archives.get(path).cloned();
        match archive {
            Some(bytes) => bytes_stream(bytes),
            None => Box::pin(futures_util::stream::iter([Err(EngineError::NotFound(
                format!("Could not find the file {path} in container {id}"),
            ))])),
        }
    }

    async fn upload(
        &self,
        id: &ContainerId,
        path: &str,
        mut tar: ByteStream,
    ) -> Result<(), EngineError> {
        self.record(format!("upload {id} {path}"));
        self.find(id)?;
        let mut bytes = Vec::new();
        while let Some(chunk) = tar.next().await {
            bytes.extend_from_slice(&chunk?);
        }
        self.lock()
            .uploads
            .push((id.as_str().to_owned(), path.to_owned(), bytes));
        Ok(())
    }

    async fn create_exec(
        &self,
        id: &ContainerId,
        config: ExecConfig,
    ) -> Result<ExecId, EngineError> {
        let command = config.cmd.clone().unwrap_or_default();
        self.record(format!("create_exec {id} {}", command.join(" ")));
        let c = self.find(id)?;
        if c.state != ContainerStateStatusEnum::RUNNING {
            return Err(EngineError::Conflict(format!(
                "container {id} is not running"
            )));
        }
        let mut state = self.lock();
        state.next_id += 1;
        let exec = id_of(&format!("exec {}", state.next_id));
        let pid = 100 + i64::try_from(state.next_id).unwrap_or(0);
        state.execs.insert(
            exec.clone(),
            FakeExec {
                container: id.as_str().to_owned(),
                config,
                running: false,
                exit_code: None,
                pid,
                stdin: Arc::default(),
            },
        );
        Ok(ExecId::parse(&exec).expect("a hex id"))
    }

    async fn start_exec(&self, exec: &ExecId) -> Result<ExecSession, EngineError> {
        self.record(format!("start_exec {exec}"));
        let (command, stdin) = {
            let state = self.lock();
            let e = state
                .execs
                .get(exec.as_str())
                .ok_or_else(|| EngineError::NotFound("no such exec".into()))?;
            (e.config.cmd.clone().unwrap_or_default(), e.stdin.clone())
        };
        let prefix = crate::capability::containers::exec::under_watchdog(Vec::new());
        let watched = command.len() > prefix.len() && command[..prefix.len()] == prefix[..];
        let command = if watched {
            command[prefix.len()..].to_vec()
        } else {
            command
        };
        if command == crate::capability::containers::exec::SHELL_PROBE {
            let mut state = self.lock();
            let code = if state.shell { 0 } else { 127 };
            let this = state.execs.get_mut(exec.as_str()).expect("this exec");
            this.exit_code = Some(code);
            return Ok(ExecSession {
                output: Box::pin(futures_util::stream::empty()),
                input: Box::pin(Collect(stdin, tokio::sync::watch::channel(false).0)),
            });
        }
        // The host's own kill: ends the exec whose PID it names.
        if command.first().map(String::as_str) == Some("kill") {
            let pid: i64 = command.last().and_then(|p| p.parse().ok()).unwrap_or(-1);
            let mut state = self.lock();
            for e in state.execs.values_mut() {
                if e.pid == pid && e.running {
                    e.running = false;
                    e.exit_code = Some(137);
                }
            }
            let this = state.execs.get_mut(exec.as_str()).expect("this exec");
            this.exit_code = Some(0);
            return Ok(ExecSession {
                output: Box::pin(futures_util::stream::empty()),
                input: Box::pin(Collect(stdin, tokio::sync::watch::channel(false).0)),
            });
        }
        let script = (self.script)(&command);
        {
            let mut state = self.lock();
            let e = state.execs.get_mut(exec.as_str()).expect("this exec");
            e.running = true;
            if !script.hang {
                e.running = false;
                e.exit_code = Some(script.exit_code);
            }
        }
        let mut chunks: Vec<Result<ExecChunk, EngineError>> = Vec::new();
        for piece in script.stdout.chunks(5) {
            chunks.push(Ok(ExecChunk::Stdout(Bytes::copy_from_slice(piece))));
        }
        for piece in script.stderr.chunks(5) {
            chunks.push(Ok(ExecChunk::Stderr(Bytes::copy_from_slice(piece))));
        }
        // A command given stdin reads all of it before it writes.
        let (closed, mut is_closed) = tokio::sync::watch::channel(false);
        let reads_stdin =
            !watched && self.lock().execs[exec.as_str()].config.attach_stdin == Some(true);
        if watched && script.hang {
            // The watchdog: the stdin connection closing kills the command.
            let (state, exec) = (self.state.clone(), exec.as_str().to_owned());
            let mut lifeline = is_closed.clone();
            tokio::spawn(async move {
                let _ = lifeline.wait_for(|c| *c).await;
                let mut state = state.lock().unwrap();
                let e = state.execs.get_mut(&exec).expect("this exec");
                if e.running {
                    e.running = false;
                    e.exit_code = Some(137);
                }
            });
        }
        let input_read = futures_util::stream::once(async move {
            if reads_stdin {
                let _ = is_closed.wait_for(|c| *c).await;
            }
        })
        .filter_map(|()| std::future::ready(None));
        let output = input_read.chain(futures_util::stream::iter(chunks));
        let output: Pin<Box<dyn futures_util::Stream<Item = _> + Send>> = if script.hang {
            Box::pin(output.chain(futures_util::stream::pending()))
        } else {
            Box::pin(output)
        };
        Ok(ExecSession {
            output,
            input: Box::pin(Collect(stdin, closed)),
        })
    }

    async fn inspect_exec(&self, exec: &ExecId) -> Result<ExecInspectResponse, EngineError> {
        self.record(format!("inspect_exec {exec}"));
        let state = self.lock();
        let e = state
            .execs
            .get(exec.as_str())
            .ok_or_else(|| EngineError::NotFound("no such exec".into()))?;
        Ok(ExecInspectResponse {
            id: Some(exec.as_str().to_owned()),
            running: Some(e.running),
            exit_code: e.exit_code,
            pid: Some(e.pid),
            container_id: Some(e.container.clone()),
            ..Default::default()
        })
    }

    async fn exec_pid_in_container(&self, exec: &ExecId) -> Result<Option<i64>, EngineError> {
        let inspect = self.inspect_exec(exec).await?;
        Ok((self.is_local() && inspect.running == Some(true))
            .then_some(inspect.pid)
            .flatten())
    }

    async fn list_volumes(&self) -> Result<Vec<Volume>, EngineError> {
        self.record("list_volumes".into());
        Ok(self.lock().volumes.clone())
    }

    async fn create_volume(&self, request: VolumeCreateRequest) -> Result<(), EngineError> {
        let name = request.name.clone().unwrap_or_default();
        self.record(format!("create_volume {name}"));
        self.volume(&name);
        Ok(())
    }

    async fn remove_volume(&self, name: &VolumeName) -> Result<(), EngineError> {
        self.record(format!("remove_volume {name}"));
        let mut state = self.lock();
        if !state.volumes.iter().any(|v| v.name == name.as_str()) {
            return Err(EngineError::NotFound(format!("no such volume: {name}")));
        }
        if state.containers.iter().any(|c| {
            c.mounts
                .iter()
                .any(|(t, n, _)| t == "volume" && n == name.as_str())
        }) {
            return Err(EngineError::Conflict(format!("volume {name} is in use")));
        }
        state.volumes.retain(|v| v.name != name.as_str());
        Ok(())
    }

    async fn list_images(&self) -> Result<Vec<ImageSummary>, EngineError> {
        self.record("list_images".into());
        Ok(self.lock().images.clone())
    }

    async fn inspect_image(&self, id: &ImageId) -> Result<ImageInspect, EngineError> {
        self.record(format!("inspect_image {id}"));
        let state = self.lock();
        let image = state
            .images
            .iter()
            .find(|i| i.id == id.as_str())
            .ok_or_else(|| EngineError::NotFound(format!("No such image: {id}")))?;
        Ok(ImageInspect {
            id: Some(image.id.clone()),
            repo_tags: Some(image.repo_tags.clone()),
            repo_digests: Some(image.repo_digests.clone()),
            os: Some("linux".into()),
            architecture: Some("amd64".into()),
            size: Some(image.size),
            ..Default::default()
        })
    }

    /// A single image's archive as `docker save` writes it (a layer, the
    /// config, `manifest.json` naming every tag of the image, `repositories`):
    /// the host rewrites the names as it streams it.
    fn export_image(&self, id: &ImageId) -> ByteStream {
        self.record(format!("export_image {id}"));
        let tags = self
            .lock()
            .images
            .iter()
            .find(|i| i.id == id.as_str())
            .map(|i| i.repo_tags.clone())
            .unwrap_or_default();
        bytes_stream(image_archive(&id.to_string(), &tags))
    }

    fn pull_image(&self, reference: &str) -> PullStream {
        self.record(format!("pull_image {reference}"));
        Box::pin(futures_util::stream::iter([Ok(CreateImageInfo {
            status: Some("Pulling fs layer".into()),
            id: Some("layer1".into()),
            ..Default::default()
        })]))
    }

    /// Reads the whole archive; a Dockerfile with `RUN false` fails at
    /// that step, as the engine reports it; else tags an image with the
    /// options' labels.
    async fn build_image(
        &self,
        options: BuildOptions,
        mut context: ByteStream,
        progress: &mut (dyn FnMut(bollard::models::BuildInfo) + Send),
    ) -> Result<(), EngineError> {
        self.record(format!("build_image {}", options.tag));
        let mut archive = Vec::new();
        while let Some(chunk) = context.next().await {
            archive.extend_from_slice(&chunk?);
        }
        let mut dockerfile = String::new();
        let mut entries = tar::Archive::new(archive.as_slice());
        for entry in entries.entries().expect("a tar") {
            let mut entry = entry.expect("a tar entry");
            if entry.path().expect("a path").to_string_lossy() == options.dockerfile {
                std::io::Read::read_to_string(&mut entry, &mut dockerfile).expect("text");
            }
        }
        for (i, line) in dockerfile.lines().enumerate() {
            progress(bollard::models::BuildInfo {
                stream: Some(format!(
                    "Step {}/{} : {line}\n",
                    i + 1,
                    dockerfile.lines().count()
                )),
                ..Default::default()
            });
            if line.trim() == "RUN false" {
                progress(bollard::models::BuildInfo {
                    error_detail: Some(bollard::models::ErrorDetail {
                        code: Some(1),
                        message: Some(
                            "The command '/bin/sh -c false' returned a non-zero code: 1".into(),
                        ),
                    }),
                    ..Default::default()
                });
                return Ok(());
            }
        }
        let mut state = self.lock();
        state.builds.push((options.clone(), archive));
        let n = state.builds.len();
        let id = format!("sha256:{}", id_of(&format!("build {} {n}", options.tag)));
        for image in state.images.iter_mut() {
            image.repo_tags.retain(|t| *t != options.tag);
        }
        state.images.push(ImageSummary {
            id,
            repo_tags: vec![options.tag.clone()],
            labels: options.labels.clone(),
            size: 1000,
            created: 1_700_000_000,
            ..Default::default()
        });
        Ok(())
    }

    async fn list_networks(&self) -> Result<Vec<Network>, EngineError> {
        self.record("list_networks".into());
        Ok(self.lock().networks.clone())
    }

    async fn create_network(
        &self,
        request: NetworkCreateRequest,
    ) -> Result<NetworkId, EngineError> {
        self.record(format!("create_network {}", request.name));
        let id = self.network(&request.name);
        Ok(NetworkId::parse(&id).expect("a hex id"))
    }

    async fn remove_network(&self, id: &NetworkId) -> Result<(), EngineError> {
        self.record(format!("remove_network {id}"));
        self.lock()
            .networks
            .retain(|n| n.id.as_deref() != Some(id.as_str()));
        Ok(())
    }

    async fn connect_network(
        &self,
        network: &NetworkId,
        container: &ContainerId,
        _endpoint: EndpointSettings,
    ) -> Result<(), EngineError> {
        self.record(format!("connect_network {network} {container}"));
        Ok(())
    }

    async fn version(&self) -> Result<SystemVersion, EngineError> {
        self.record("version".into());
        Ok(SystemVersion {
            version: Some("27.3.1".into()),
            api_version: Some("1.47".into()),
            os: Some("linux".into()),
            arch: Some("amd64".into()),
            components: Some(vec![SystemVersionComponents {
                name: self.lock().product.clone(),
                version: "27.3.1".into(),
                details: None,
            }]),
            ..Default::default()
        })
    }

    async fn info(&self) -> Result<SystemInfo, EngineError> {
        self.record("info".into());
        // As Docker's: `runc` the default, under two names.
        let runtimes = ["runc", "io.containerd.runc.v2"]
            .into_iter()
            .map(|r| (r.to_owned(), bollard::models::Runtime::default()))
            .collect();
        Ok(SystemInfo {
            docker_root_dir: Some("/var/lib/docker".into()),
            default_runtime: Some("runc".into()),
            runtimes: Some(runtimes),
            ..Default::default()
        })
    }

    /// As Podman: the check's result (`check_result`) becomes the health.
    async fn run_health_check(
        &self,
        id: &ContainerId,
        _timeout: std::time::Duration,
    ) -> Result<(), EngineError> {
        self.record(format!("run_health_check {id}"));
        let product = self.product().await?;
        if !product.leaves_health_checks_to_host() {
            return Err(EngineError::Unsupported {
                address: "fake".into(),
                call: "running a health check on demand".into(),
                product: product.name(),
            });
        }
        let c = self.find(id)?;
        if c.state != ContainerStateStatusEnum::RUNNING {
            return Err(EngineError::Conflict(format!(
                "container {id} is not running"
            )));
        }
        if c.healthcheck.is_none() {
            return Err(EngineError::Conflict(format!(
                "container {id} has no defined healthcheck"
            )));
        }
        let result = c.check_result;
        self.edit(id.as_str(), |c| c.health = result.or(c.health));
        Ok(())
    }
}

/// A task's engine side for a test: its grants, a fake engine, and (with
/// `files`) a project directory with `out/` granted for writing and `in/`
/// for reading.
pub struct Rig {
    pub fake: FakeEngine,
    pub host: super::EngineHost,
    pub dir: tempfile::TempDir,
}

impl Rig {
    pub fn new(grants: crate::grant::Grants) -> Rig {
        Rig::with(grants, FakeEngine::new(), false)
    }

    pub fn with(grants: crate::grant::Grants, fake: FakeEngine, plan: bool) -> Rig {
        use crate::capability::files::Preopen;
        let dir = tempfile::tempdir().expect("a temporary directory");
        for sub in ["out", "in"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("a directory");
        }
        let preopens = vec![
            Preopen::trusted(&dir.path().join("out"), "out", true).expect("opened"),
            Preopen::trusted(&dir.path().join("in"), "in", false).expect("opened"),
        ];
        let host = super::EngineHost::new("t", grants, preopens, plan).with_engine(fake.arc());
        Rig { fake, host, dir }
    }

    pub fn path(&self, guest: &str) -> std::path::PathBuf {
        self.dir.path().join(guest)
    }
}

/// Grants with `allow.containers` only.
pub fn containers(patterns: &[&str]) -> crate::grant::Grants {
    crate::grant::Grants {
        containers: crate::grant::Patterns::of(patterns),
        ..Default::default()
    }
}

/// `docker save`'s layout for one image whose layer holds `layer of ID`.
pub fn image_archive(id: &str, tags: &[String]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8]| {
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, name, data).unwrap();
    };
    let digest = id.trim_start_matches("sha256:");
    add("layer0/layer.tar", format!("layer of {id}").as_bytes());
    add(&format!("{digest}.json"), br#"{"config":{}}"#);
    let manifest = serde_json::json!([{"Config": format!("{digest}.json"), "RepoTags": tags, "Layers": ["layer0/layer.tar"]}]);
    add("manifest.json", manifest.to_string().as_bytes());
    let repositories: serde_json::Map<String, serde_json::Value> = tags
        .iter()
        .filter_map(|t| t.rsplit_once(':'))
        .map(|(repo, tag)| (repo.to_owned(), serde_json::json!({ tag: digest })))
        .collect();
    add(
        "repositories",
        serde_json::Value::Object(repositories)
            .to_string()
            .as_bytes(),
    );
    builder.into_inner().unwrap()
}
