//! The Docker Engine API backend (also Podman's Docker-compatible socket), via
//! bollard. Each method takes a checked identity (`ids.rs`) for the URL path;
//! names go only into query parameters and bodies, which bollard encodes
//! (`serde_urlencoded`, JSON). Every call is bounded (`limits.rs`).

mod api;
pub mod endpoint;
mod libpod;
mod transport;

use std::future::Future;
use std::sync::Arc;

use futures_util::{Stream, TryStreamExt};

use super::backend::{ByteStream, EngineError, Product};
use super::limits::{self, CALL_LIMIT, CLIENT_TIMEOUT, STREAM_IDLE_LIMIT};
use endpoint::{Endpoint, Host, SettingsError};

pub struct Docker {
    client: bollard::Docker,
    /// The endpoint as shown to the user (`tcp://h:2376 (TLS, from DOCKER_HOST)`).
    address: String,
    local: bool,
    /// The same engine for the raw calls bollard has no method for
    /// (`libpod.rs`): the connection of a `tcp://` or `ssh://` engine is
    /// bollard's too; a unix socket gets its own.
    raw: Arc<transport::Transport>,
    /// `http://AUTHORITY` of the raw calls' URIs.
    base: String,
    /// Which program answers, asked once (`Engine::product`).
    product: tokio::sync::OnceCell<Product>,
}

/// The engine the process's settings choose (`endpoint.rs`), without
/// connecting: for `--dry-run` and the errors.
pub fn endpoint() -> Result<Endpoint, SettingsError> {
    endpoint::resolve(&endpoint::Settings::from_env())
}

impl Docker {
    pub async fn connect() -> Result<Docker, EngineError> {
        let endpoint = endpoint().map_err(|e| EngineError::Unreachable {
            address: e.setting.clone(),
            reason: e.problem,
        })?;
        Docker::connect_to(&endpoint).await
    }

    pub async fn connect_to(endpoint: &Endpoint) -> Result<Docker, EngineError> {
        let address = endpoint.to_string();
        let unreachable = |reason: String| EngineError::Unreachable {
            address: address.clone(),
            reason,
        };
        let timeout = CLIENT_TIMEOUT.as_secs();
        let raw = Arc::new(
            transport::Transport::new(&endpoint.host, endpoint.tls.as_ref())
                .map_err(unreachable)?,
        );
        let authority = match &endpoint.host {
            Host::Tcp { host, port } if host.contains(':') => format!("[{host}]:{port}"),
            Host::Tcp { host, port } => format!("{host}:{port}"),
            _ => "docker".to_owned(),
        };
        let base = format!("http://{authority}");
        let client = match &endpoint.host {
            Host::Unix(_) => bollard::Docker::connect_with_host(&endpoint.host.url())
                .map_err(|e| unreachable(e.to_string()))?
                .with_timeout(CLIENT_TIMEOUT),
            _ => {
                let transport = raw.clone();
                bollard::Docker::connect_with_custom_transport(
                    move |request| transport.clone().request(request),
                    Some(base.clone()),
                    timeout,
                    bollard::API_DEFAULT_VERSION,
                )
                .map_err(|e| unreachable(e.to_string()))?
            }
        };
        // The engine may speak an older API than bollard's default.
        let client = limits::within(
            format!("connecting to the container engine at {address}"),
            CALL_LIMIT,
            async {
                client
                    .negotiate_version()
                    .await
                    .map_err(|e| unreachable(e.to_string()))
            },
        )
        .await?;
        Ok(Docker {
            client,
            address,
            local: endpoint.is_local(),
            raw,
            base,
            product: tokio::sync::OnceCell::new(),
        })
    }

    /// The raw calls bollard has no method for (`libpod.rs`).
    fn raw(&self) -> libpod::Raw<'_> {
        libpod::Raw {
            transport: &self.raw,
            base: &self.base,
            address: &self.address,
        }
    }

    fn error(&self, error: bollard::errors::Error) -> EngineError {
        engine_error(&self.address, error)
    }

    /// A request and its answer, bounded by `CALL_LIMIT`.
    async fn call<T>(
        &self,
        operation: impl Into<String>,
        call: impl Future<Output = Result<T, bollard::errors::Error>>,
    ) -> Result<T, EngineError> {
        limits::within(operation, CALL_LIMIT, async {
            call.await.map_err(|e| self.error(e))
        })
        .await
    }

    /// A byte stream from the engine, idle-limited.
    fn bytes<S>(&self, operation: String, stream: S) -> ByteStream
    where
        S: Stream<Item = Result<bytes::Bytes, bollard::errors::Error>> + Send + 'static,
    {
        let address = self.address.clone();
        limits::idle_limited(
            operation,
            STREAM_IDLE_LIMIT,
            stream.map_err(move |e| engine_error(&address, e)),
        )
    }
}

/// One mapping of bollard's errors for every call and stream.
fn engine_error(address: &str, error: bollard::errors::Error) -> EngineError {
    use bollard::errors::Error as E;
    match error {
        E::DockerResponseServerError {
            status_code: 404,
            message,
        } => EngineError::NotFound(message),
        E::DockerResponseServerError {
            status_code: 409,
            message,
        } => EngineError::Conflict(message),
        E::DockerResponseServerError { message, .. } => EngineError::Failed {
            address: address.to_owned(),
            message,
        },
        E::HyperResponseError { .. }
        | E::IOError { .. }
        | E::RequestTimeoutError
        | E::HyperLegacyError { .. }
        | E::SocketNotFoundError(_) => EngineError::Unreachable {
            address: address.to_owned(),
            reason: error.to_string(),
        },
        other => EngineError::Failed {
            address: address.to_owned(),
            message: other.to_string(),
        },
    }
}

/// Whether an engine error is "not modified" (start of a running container,
/// stop of a stopped one), which the calls treat as success.
fn not_modified(error: &bollard::errors::Error) -> bool {
    matches!(
        error,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 304,
            ..
        }
    )
}

/// The process's engine connection, made on first use so tasks that never
/// touch containers never need an engine. A failed connection is not kept:
/// the next call tries again.
pub async fn shared() -> Result<std::sync::Arc<dyn super::backend::Engine>, EngineError> {
    static ENGINE: tokio::sync::OnceCell<std::sync::Arc<dyn super::backend::Engine>> =
        tokio::sync::OnceCell::const_new();
    ENGINE
        .get_or_try_init(|| async {
            let engine = Docker::connect().await?;
            Ok(std::sync::Arc::new(engine) as std::sync::Arc<dyn super::backend::Engine>)
        })
        .await
        .cloned()
}

/// `names` and, for each `localhost/PATH...` (Podman's name for an image
/// built or loaded without a registry), `PATH...` too: the name Podman itself
/// resolves to it (`podman run run-test/postgres:15`), and the one a
/// tasks.toml written for Docker uses. A path whose first part looks like a
/// registry (`localhost/registry.io/x`) gets no short name: it would name
/// another registry.
fn with_short_names(names: &[String]) -> Vec<String> {
    let mut all = names.to_vec();
    for name in names {
        if let Some(short) = super::backend::podman_local_short_name(name)
            && !all.iter().any(|n| n == short)
        {
            all.push(short.to_owned());
        }
    }
    all
}

/// The PID a process has inside its innermost PID namespace, from
/// `/proc/PID/status` (`NSpid: 30387 7` -> 7), when this machine can see it.
fn pid_in_namespace(host_pid: i64) -> Option<i64> {
    let status = std::fs::read_to_string(format!("/proc/{host_pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("NSpid:"))?;
    line.split_whitespace().last()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_found_in_its_own_namespace() {
        let pid = i64::from(std::process::id());
        assert!(pid_in_namespace(pid).is_some());
        assert_eq!(pid_in_namespace(-1), None);
    }

    #[test]
    fn podmans_local_images_are_also_found_by_their_short_names() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            with_short_names(&names(&["localhost/run-test/postgres:15"])),
            names(&["localhost/run-test/postgres:15", "run-test/postgres:15"])
        );
        assert_eq!(
            with_short_names(&names(&["localhost/busybox@sha256:ab"])),
            names(&["localhost/busybox@sha256:ab", "busybox@sha256:ab"])
        );
        // Another registry's path, or a name that is not Podman's local one: as is.
        for kept in [
            "localhost/registry.example.com/app:1",
            "localhost/localhost:5000/app:1",
            "docker.io/library/busybox:latest",
            "quay.io/localhost/app:1",
        ] {
            assert_eq!(with_short_names(&names(&[kept])), names(&[kept]));
        }
    }

    #[test]
    fn engine_errors_keep_the_engine_words() {
        let error = engine_error(
            "unix:///x",
            bollard::errors::Error::DockerResponseServerError {
                status_code: 409,
                message: "volume is in use".into(),
            },
        );
        assert_eq!(error, EngineError::Conflict("volume is in use".into()));
    }
}
