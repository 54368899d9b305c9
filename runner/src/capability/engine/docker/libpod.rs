//! The few calls of Podman's own API (libpod) the runner needs where the
//! Docker-compatible API has none: running a container's health check now
//! (Podman leaves the schedule to systemd timers, absent in CI containers).
//! Sent as a raw request through the runner's transport (`transport.rs`),
//! over the same socket or connection as everything else. The path holds
//! only a checked container ID (`ids.rs`), never a plugin's string.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;

use bollard::models::{ContainerInspectResponse, ContainerSummary};

use super::super::backend::{EngineError, podman_familiar_name};
use super::super::ids::ContainerId;
use super::transport::Transport;

/// The libpod API version the path names: Podman 4.0 and later answer it.
const LIBPOD_VERSION: &str = "v4.0.0";

/// Answers larger than this are not Podman's.
const ANSWER_LIMIT: usize = 64 << 10;

/// `GET /v4.0.0/libpod/containers/{id}/healthcheck` (Podman 4.3 answers
/// `POST` with 405): runs the check once, records it in the container's
/// health log and state as a timer would, and answers the check's result.
pub fn health_check_path(id: &ContainerId) -> String {
    format!(
        "/{LIBPOD_VERSION}/libpod/containers/{}/healthcheck",
        id.as_str()
    )
}

/// Podman's error document: `{"cause": ..., "message": ..., "response": 409}`.
#[derive(serde::Deserialize)]
struct PodmanError {
    message: Option<String>,
    cause: Option<String>,
}

/// The words of a failed answer: Podman's `message` (else its `cause`,
/// else the body as text).
pub fn error_message(body: &[u8]) -> String {
    match serde_json::from_slice::<PodmanError>(body) {
        Ok(PodmanError {
            message: Some(m), ..
        }) if !m.is_empty() => m,
        Ok(PodmanError { cause: Some(c), .. }) if !c.is_empty() => c,
        _ => String::from_utf8_lossy(body).trim().to_owned(),
    }
}

/// The raw calls' connection: the engine's transport, the start of its
/// URIs (`http://AUTHORITY`) and its address for messages.
pub struct Raw<'a> {
    pub transport: &'a Arc<Transport>,
    pub base: &'a str,
    pub address: &'a str,
}

impl Raw<'_> {
    /// `GET path` (a path built from checked identities only), within
    /// `limit`; the body of a 2xx answer of at most `most` bytes. 404 is
    /// `NotFound`, 409 `Conflict`, in Podman's words; another status names
    /// the call (`what`) and the status.
    async fn get(
        &self,
        what: &str,
        path: &str,
        most: usize,
        limit: Duration,
    ) -> Result<bytes::Bytes, EngineError> {
        let address = self.address;
        let request = http::Request::get(format!("{}{path}", self.base))
            .body(http_body_util::Either::Left(http_body_util::Full::new(
                bytes::Bytes::new(),
            )))
            .map_err(|e| EngineError::Failed {
                address: address.to_owned(),
                message: e.to_string(),
            })?;
        super::super::limits::within(what, limit, async {
            let response = self
                .transport
                .clone()
                .request(request)
                .await
                .map_err(|e| super::engine_error(address, e))?;
            let status = response.status();
            let body = http_body_util::Limited::new(response.into_body(), most)
                .collect()
                .await
                .map_err(|e| EngineError::Unreachable {
                    address: address.to_owned(),
                    reason: format!("reading Podman's answer: {e}"),
                })?
                .to_bytes();
            match status.as_u16() {
                200..=299 => Ok(body),
                404 => Err(EngineError::NotFound(error_message(&body))),
                409 => Err(EngineError::Conflict(error_message(&body))),
                code => Err(EngineError::Failed {
                    address: address.to_owned(),
                    message: format!(
                        "Podman's answer to {what} (GET {path}) was HTTP {code}: {}",
                        error_message(&body)
                    ),
                }),
            }
        })
        .await
    }

    /// Runs the health check of container `id` within `limit`. 409 (no
    /// health check, not running) is `Conflict`.
    pub async fn run_health_check(
        &self,
        id: &ContainerId,
        limit: Duration,
    ) -> Result<(), EngineError> {
        let what = format!("running the health check of container {}", id.short());
        self.get(&what, &health_check_path(id), ANSWER_LIMIT, limit)
            .await
            .map(drop)
    }

    /// Every container, through the Docker-compatible `GET
    /// /vX.Y/containers/json?all=1`, with Podman's own states made Docker's
    /// ([`docker_states`]): bollard refuses the whole list over one
    /// `stopped` container.
    pub async fn list_containers(
        &self,
        api: &str,
        limit: Duration,
    ) -> Result<Vec<ContainerSummary>, EngineError> {
        let body = self
            .get(
                "listing containers",
                &format!("/v{api}/containers/json?all=1"),
                LIST_LIMIT,
                limit,
            )
            .await?;
        let failed = |e: serde_json::Error| EngineError::Failed {
            address: self.address.to_owned(),
            message: format!("Podman's container list: {e}"),
        };
        let mut list: Vec<serde_json::Value> = serde_json::from_slice(&body).map_err(failed)?;
        for container in &mut list {
            docker_states(container);
            if let Some(image) = container.get_mut("Image") {
                familiar_image(image);
            }
        }
        serde_json::from_value(serde_json::Value::Array(list)).map_err(failed)
    }

    /// Container `id` in detail, through the Docker-compatible `GET
    /// /vX.Y/containers/{id}/json`, with Podman's own `State.Status` made
    /// Docker's ([`docker_state`]): a container that just exited can be
    /// `stopped` there too.
    pub async fn inspect_container(
        &self,
        api: &str,
        id: &ContainerId,
        limit: Duration,
    ) -> Result<ContainerInspectResponse, EngineError> {
        let body = self
            .get(
                &format!("inspecting container {}", id.short()),
                &format!("/v{api}/containers/{}/json", id.as_str()),
                LIST_LIMIT,
                limit,
            )
            .await?;
        let failed = |e: serde_json::Error| EngineError::Failed {
            address: self.address.to_owned(),
            message: format!("Podman's container inspect: {e}"),
        };
        let mut inspect: serde_json::Value = serde_json::from_slice(&body).map_err(failed)?;
        if let Some(status) = inspect
            .get_mut("State")
            .and_then(|state| state.get_mut("Status"))
        {
            docker_state(status);
        }
        if let Some(image) = inspect
            .get_mut("Config")
            .and_then(|config| config.get_mut("Image"))
        {
            familiar_image(image);
        }
        serde_json::from_value(inspect).map_err(failed)
    }
}

/// The image a container was made from, as a tasks.toml written for Docker
/// names it: Podman lists and inspects `localhost/run-test/busybox:latest`
/// where Docker says `run-test/busybox:latest`, as it was asked for
/// ([`podman_familiar_name`]). The familiar name finds the same image.
fn familiar_image(image: &mut serde_json::Value) {
    if let Some(name) = image.as_str() {
        let familiar = podman_familiar_name(name);
        if familiar != name {
            *image = serde_json::Value::String(familiar.to_owned());
        }
    }
}

/// A container list of this size is not Podman's.
const LIST_LIMIT: usize = 256 << 20;

/// Podman lists a container's `State` in its own words.
pub fn docker_states(container: &mut serde_json::Value) {
    if let Some(state) = container.get_mut("State") {
        docker_state(state);
    }
}

/// A state in Podman's words made Docker's: `stopped` (stopped after
/// running) is `exited`, `configured` and `initialized` (never started) are
/// `created`; a state Docker has no word for is left empty rather than
/// failing the whole answer.
pub fn docker_state(state: &mut serde_json::Value) {
    const DOCKERS: [&str; 8] = [
        "created",
        "running",
        "paused",
        "restarting",
        "exited",
        "removing",
        "dead",
        "stopping",
    ];
    let docker = match state.as_str() {
        Some("stopped") => "exited",
        Some("configured" | "initialized") => "created",
        Some(s) if DOCKERS.contains(&s) => return,
        _ => "",
    };
    *state = serde_json::Value::String(docker.to_owned());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_holds_only_the_checked_id() {
        let id = ContainerId::parse(&"ab".repeat(32)).unwrap();
        assert_eq!(
            health_check_path(&id),
            format!("/v4.0.0/libpod/containers/{}/healthcheck", "ab".repeat(32))
        );
    }

    #[test]
    fn podmans_errors_keep_its_words() {
        // As Podman 4.3.1 answers a container without a health check.
        let body = br#"{"cause":"container 02f0 has no defined healthcheck","message":"container 02f0 has no defined healthcheck","response":409}"#;
        assert_eq!(
            error_message(body),
            "container 02f0 has no defined healthcheck"
        );
        assert_eq!(error_message(b"Method Not Allowed\n"), "Method Not Allowed");
    }

    fn raw(transport: &Arc<Transport>) -> Raw<'_> {
        Raw {
            transport,
            base: "http://docker",
            address: "unix:///x",
        }
    }

    #[tokio::test]
    async fn podmans_own_states_are_listed_as_dockers() {
        let (_dir, transport, served) = engine(
            "200 OK",
            r#"[{"Id": "a", "State": "stopped", "Image": "localhost/run-test/busybox:latest"}, {"Id": "b", "State": "running", "Image": "docker.io/library/alpine:3"}, {"Id": "c", "State": "configured"}, {"Id": "d", "State": "unknown"}, {"Id": "e"}]"#,
        )
        .await;
        let list = raw(&transport)
            .list_containers("1.41", Duration::from_secs(10))
            .await
            .unwrap();
        use bollard::models::ContainerSummaryStateEnum as S;
        let states: Vec<_> = list.iter().map(|c| c.state).collect();
        assert_eq!(
            states,
            [
                Some(S::EXITED),
                Some(S::RUNNING),
                Some(S::CREATED),
                Some(S::EMPTY),
                None
            ]
        );
        let images: Vec<_> = list.iter().map(|c| c.image.as_deref()).collect();
        assert_eq!(
            images,
            [
                Some("run-test/busybox:latest"),
                Some("alpine:3"),
                None,
                None,
                None
            ]
        );
        let head = served.await.unwrap();
        assert!(
            head.starts_with("GET /v1.41/containers/json?all=1 HTTP/1.1\r\n"),
            "{head}"
        );
    }

    #[tokio::test]
    async fn a_stopped_container_is_inspected_as_exited() {
        let (_dir, transport, served) = engine(
            "200 OK",
            r#"{"Id": "a", "State": {"Status": "stopped", "Running": false, "ExitCode": 0}, "Config": {"Image": "localhost/run-test/busybox:latest"}}"#,
        )
        .await;
        let id = ContainerId::parse(&"ab".repeat(32)).unwrap();
        let inspect = raw(&transport)
            .inspect_container("1.41", &id, Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(
            inspect.state.unwrap().status,
            Some(bollard::models::ContainerStateStatusEnum::EXITED)
        );
        assert_eq!(
            inspect.config.unwrap().image.as_deref(),
            Some("run-test/busybox:latest")
        );
        let head = served.await.unwrap();
        assert!(
            head.starts_with(&format!(
                "GET /v1.41/containers/{}/json HTTP/1.1\r\n",
                "ab".repeat(32)
            )),
            "{head}"
        );
    }

    /// A one-request engine on a unix socket: answers `status` and `body`,
    /// and hands back the request head it read.
    async fn engine(
        status: &'static str,
        body: &'static str,
    ) -> (
        tempfile::TempDir,
        Arc<Transport>,
        tokio::task::JoinHandle<String>,
    ) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("podman.sock");
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        let served = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = socket.read(&mut buf).await.unwrap();
                assert!(n > 0, "the request ended early");
                head.extend_from_slice(&buf[..n]);
            }
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(answer.as_bytes()).await.unwrap();
            String::from_utf8(head).unwrap()
        });
        let transport =
            Arc::new(Transport::new(&super::super::endpoint::Host::Unix(path), None).unwrap());
        (dir, transport, served)
    }

    #[tokio::test]
    async fn a_health_check_is_one_get_by_id_on_the_engines_socket() {
        let (_dir, transport, served) = engine("200 OK", r#"{"Status":"healthy"}"#).await;
        let id = ContainerId::parse(&"ab".repeat(32)).unwrap();
        raw(&transport)
            .run_health_check(&id, Duration::from_secs(10))
            .await
            .unwrap();
        let head = served.await.unwrap();
        assert!(
            head.starts_with(&format!(
                "GET /v4.0.0/libpod/containers/{}/healthcheck HTTP/1.1\r\n",
                "ab".repeat(32)
            )),
            "{head}"
        );
    }

    #[tokio::test]
    async fn a_container_without_a_check_is_a_conflict_in_podmans_words() {
        let (_dir, transport, _served) = engine(
            "409 Conflict",
            r#"{"cause":"no check","message":"container abab has no defined healthcheck","response":409}"#,
        )
        .await;
        let id = ContainerId::parse(&"ab".repeat(32)).unwrap();
        let error = raw(&transport)
            .run_health_check(&id, Duration::from_secs(10))
            .await
            .unwrap_err();
        assert_eq!(
            error,
            EngineError::Conflict("container abab has no defined healthcheck".into())
        );
    }

    #[tokio::test]
    async fn another_answer_names_the_call_and_the_status() {
        let (_dir, transport, _served) =
            engine("405 Method Not Allowed", "Method Not Allowed").await;
        let id = ContainerId::parse(&"ab".repeat(32)).unwrap();
        let error = raw(&transport)
            .run_health_check(&id, Duration::from_secs(10))
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "Podman's answer to running the health check of container abababababab (GET /v4.0.0/libpod/containers/{}/healthcheck) was HTTP 405: Method Not Allowed",
                "ab".repeat(32)
            )
        );
    }
}
