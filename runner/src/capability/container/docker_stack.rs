//! `StackEngine` for the Docker Engine API (and Podman's compatible socket).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, NetworkConnectRequest,
    NetworkCreateRequest, NetworkingConfig, PortBinding, RestartPolicy, RestartPolicyNameEnum,
    VolumeCreateRequest,
};
use bollard::query_parameters as q;
use futures_util::StreamExt;
use serde_json::Value;

use super::docker::Docker;
use super::engine::{Engine, EngineError};
use super::stack_engine::{Facts, ServiceSpec, StackEngine};

/// How often pull progress is written to the log, at most (plus every status change).
const PULL_PROGRESS_EVERY: Duration = Duration::from_secs(2);

fn restart_policy(text: &str) -> Result<RestartPolicy, EngineError> {
    let (name, count) = match text.split_once(':') {
        Some((name, count)) => (name, Some(count)),
        None => (text, None),
    };
    let name: RestartPolicyNameEnum = match name {
        "no" => RestartPolicyNameEnum::NO,
        "always" => RestartPolicyNameEnum::ALWAYS,
        "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
        "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
        other => {
            return Err(EngineError::Failed(format!(
                "unknown restart policy `{other}` (no, always, on-failure[:N], unless-stopped)"
            )));
        }
    };
    let maximum_retry_count = count
        .map(|c| {
            c.parse::<i64>()
                .map_err(|_| EngineError::Failed(format!("bad restart count in `{text}`")))
        })
        .transpose()?;
    Ok(RestartPolicy {
        name: Some(name),
        maximum_retry_count,
    })
}

/// Why a pull failed, in words that say what to do.
fn pull_error(image: &str, reason: &str) -> EngineError {
    let lower = reason.to_ascii_lowercase();
    let offline = [
        "no such host",
        "dial tcp",
        "i/o timeout",
        "connection refused",
        "network is unreachable",
        "tls handshake",
        "server misbehaving",
        "temporary failure in name resolution",
    ];
    let unknown = [
        "not found",
        "does not exist",
        "manifest unknown",
        "pull access denied",
        "repository name must",
        "invalid reference",
    ];
    if offline.iter().any(|p| lower.contains(p)) {
        EngineError::Failed(format!(
            "cannot pull image `{image}`: the registry cannot be reached (offline?): {reason}; \
             build or `docker load` the image on this machine, or connect to the registry"
        ))
    } else if unknown.iter().any(|p| lower.contains(p)) {
        EngineError::NotFound(format!(
            "cannot pull image `{image}`: the registry has no such image (or denies access): {reason}; \
             check the name and tag, or `docker login`"
        ))
    } else {
        EngineError::Failed(format!("cannot pull image `{image}`: {reason}"))
    }
}

#[async_trait::async_trait]
impl StackEngine for Docker {
    fn address(&self) -> &str {
        Engine::address(self)
    }

    async fn create_service(&self, spec: ServiceSpec) -> Result<String, EngineError> {
        let mut exposed = Vec::new();
        let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
        for port in &spec.ports {
            let key = format!("{}/{}", port.container_port, port.protocol);
            exposed.push(key.clone());
            if let Some(host_port) = port.host_port {
                bindings
                    .entry(key)
                    .or_default()
                    .get_or_insert_default()
                    .push(PortBinding {
                        host_ip: port.host_ip.clone(),
                        host_port: Some(host_port.to_string()),
                    });
            }
        }
        let restart = spec.restart.as_deref().map(restart_policy).transpose()?;
        let mut networks = spec.networks.iter();
        let primary = networks.next();
        let endpoint = |aliases: &Vec<String>| EndpointSettings {
            aliases: Some(aliases.clone()),
            ..Default::default()
        };
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            entrypoint: spec.entrypoint.clone(),
            cmd: spec.command.clone(),
            env: Some(spec.env.clone()),
            labels: Some(spec.labels.clone()),
            user: spec.user.clone(),
            working_dir: spec.workdir.clone(),
            exposed_ports: (!exposed.is_empty()).then_some(exposed),
            healthcheck: spec.healthcheck.as_ref().map(|h| HealthConfig {
                test: Some(h.test.clone()),
                interval: h.interval_ns,
                timeout: h.timeout_ns,
                retries: h.retries,
                start_period: h.start_period_ns,
                start_interval: None,
            }),
            host_config: Some(HostConfig {
                binds: (!spec.binds.is_empty()).then(|| spec.binds.clone()),
                tmpfs: (!spec.tmpfs.is_empty()).then(|| {
                    spec.tmpfs
                        .iter()
                        .map(|t| (t.clone(), String::new()))
                        .collect()
                }),
                port_bindings: (!bindings.is_empty()).then_some(bindings),
                restart_policy: restart,
                network_mode: primary.map(|(n, _)| n.clone()),
                ..Default::default()
            }),
            networking_config: primary.map(|(network, aliases)| NetworkingConfig {
                endpoints_config: Some(HashMap::from([(network.clone(), endpoint(aliases))])),
            }),
            ..Default::default()
        };
        let options = q::CreateContainerOptions {
            name: Some(spec.name.clone()),
            ..Default::default()
        };
        let created = self
            .client()
            .create_container(Some(options), body)
            .await
            .map_err(|e| self.error(e))?;
        // Engines before API 1.44 join one network at create; the others after.
        for (network, aliases) in networks {
            let request = NetworkConnectRequest {
                container: created.id.clone(),
                endpoint_config: Some(endpoint(aliases)),
            };
            if let Err(e) = self.client().connect_network(network, request).await {
                let _ = Engine::remove(self, &created.id).await;
                return Err(self.error(e));
            }
        }
        Ok(created.id)
    }

    async fn network_create(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> Result<bool, EngineError> {
        match self.client().inspect_network(name, None).await {
            Ok(_) => return Ok(false),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {}
            Err(e) => return Err(self.error(e)),
        }
        let request = NetworkCreateRequest {
            name: name.to_owned(),
            driver: Some("bridge".into()),
            labels: Some(labels),
            ..Default::default()
        };
        self.client()
            .create_network(request)
            .await
            .map_err(|e| self.error(e))?;
        Ok(true)
    }

    async fn networks(&self) -> Result<Vec<Value>, EngineError> {
        let list = self
            .client()
            .list_networks(None::<q::ListNetworksOptions>)
            .await
            .map_err(|e| self.error(e))?;
        Ok(list
            .iter()
            .map(|n| serde_json::to_value(n).unwrap_or(Value::Null))
            .collect())
    }

    async fn network_remove(&self, name: &str) -> Result<(), EngineError> {
        self.client()
            .remove_network(name)
            .await
            .map_err(|e| self.error(e))
    }

    async fn volume_create(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> Result<bool, EngineError> {
        match self.client().inspect_volume(name).await {
            Ok(_) => return Ok(false),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {}
            Err(e) => return Err(self.error(e)),
        }
        let request = VolumeCreateRequest {
            name: Some(name.to_owned()),
            labels: Some(labels),
            ..Default::default()
        };
        self.client()
            .create_volume(request)
            .await
            .map_err(|e| self.error(e))?;
        Ok(true)
    }

    async fn volume_remove(&self, name: &str) -> Result<(), EngineError> {
        self.client()
            .remove_volume(name, None::<q::RemoveVolumeOptions>)
            .await
            .map_err(|e| self.error(e))
    }

    async fn image_present(&self, image: &str) -> Result<bool, EngineError> {
        match self.client().inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(false),
            Err(e) => Err(self.error(e)),
        }
    }

    async fn image_pull(
        &self,
        image: &str,
        progress: &(dyn for<'s> Fn(&'s str) + Send + Sync),
    ) -> Result<(), EngineError> {
        let options = q::CreateImageOptions {
            from_image: Some(image.to_owned()),
            ..Default::default()
        };
        let mut stream = self.client().create_image(Some(options), None, None);
        let mut last_status = String::new();
        let mut last_report = Instant::now();
        while let Some(item) = stream.next().await {
            let info = match item {
                Ok(info) => info,
                Err(bollard::errors::Error::DockerStreamError { error }) => {
                    return Err(pull_error(image, &error));
                }
                Err(bollard::errors::Error::DockerResponseServerError { message, .. }) => {
                    return Err(pull_error(image, &message));
                }
                Err(e) => return Err(self.error(e)),
            };
            if let Some(detail) = info.error_detail {
                return Err(pull_error(image, &detail.message.unwrap_or_default()));
            }
            let status = info.status.unwrap_or_default();
            let bytes = info
                .progress_detail
                .and_then(|p| Some((p.current?, p.total?)))
                .filter(|&(_, total)| total > 0);
            let line = match (&info.id, bytes) {
                (Some(id), Some((current, total))) => {
                    format!("pulling {image}: {id}: {status} {}%", current * 100 / total)
                }
                (Some(id), None) => format!("pulling {image}: {id}: {status}"),
                (None, _) => format!("pulling {image}: {status}"),
            };
            // Every status change, and a running percentage now and then.
            if status != last_status || last_report.elapsed() >= PULL_PROGRESS_EVERY {
                progress(&line);
                last_status = status;
                last_report = Instant::now();
            }
        }
        Ok(())
    }

    async fn facts(&self) -> Result<Facts, EngineError> {
        let version = self.client().version().await.map_err(|e| self.error(e))?;
        let info = self.client().info().await.map_err(|e| self.error(e))?;
        Ok(Facts {
            version: version.version.unwrap_or_default(),
            api_version: version.api_version.unwrap_or_default(),
            os: version.os.unwrap_or_default(),
            root_dir: info.docker_root_dir.unwrap_or_default(),
        })
    }
}
