//! `images.pull`: the reference, always with a tag or digest (a bare
//! `fromImage` would pull every tag), as a query parameter; each layer's
//! progress to the task's log; a failure in words that say what to do.

use std::time::{Duration, Instant};

use futures_util::StreamExt;

use crate::capability::engine::backend::{Engine, EngineError};
use crate::capability::engine::{HostError, HostResult};
use crate::capability::log::emit;
use crate::grant::image::ImageRef;
use crate::plugin::bindings::log::Level;

/// How often pull progress is written to the log, at most (plus every status change).
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

pub async fn pull(
    engine: &dyn Engine,
    task: &str,
    reference: &ImageRef,
    limit: Duration,
) -> HostResult<()> {
    let image = reference.familiar();
    let run = async {
        let mut stream = engine.pull_image(&image);
        let mut last_status = String::new();
        let mut last_report = Instant::now();
        while let Some(item) = stream.next().await {
            let info = match item {
                Ok(info) => info,
                Err(EngineError::Failed { message, .. } | EngineError::NotFound(message)) => {
                    return Err(pull_error(engine.address(), &image, &message));
                }
                Err(other) => return Err(other.into()),
            };
            if let Some(detail) = info.error_detail {
                return Err(pull_error(
                    engine.address(),
                    &image,
                    &detail.message.unwrap_or_default(),
                ));
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
            if status != last_status || last_report.elapsed() >= PROGRESS_EVERY {
                emit(task, Level::Info, &line);
                last_status = status;
                last_report = Instant::now();
            }
        }
        Ok(())
    };
    match tokio::time::timeout(limit, run).await {
        Ok(result) => result,
        Err(_) => Err(HostError::Timeout {
            operation: format!("pulling image `{image}`"),
            limit,
        }),
    }
}

/// Why a pull failed, in words that say what to do. The registry failed, not
/// the engine: the answer is a `conflict` carrying the registry's reason (the
/// WIT has no registry failure of its own), without the engine's address.
fn pull_error(address: &str, image: &str, reason: &str) -> HostError {
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
    let message = if offline.iter().any(|p| lower.contains(p)) {
        format!(
            "cannot pull image `{image}`: the registry cannot be reached (offline?): {reason}; \
             build or `docker load` the image on this machine, or connect to the registry"
        )
    } else if unknown.iter().any(|p| lower.contains(p)) {
        format!(
            "cannot pull image `{image}`: the registry has no such image (or denies access): {reason}; \
             check the name and tag, or `docker login`"
        )
    } else {
        format!("cannot pull image `{image}`: {reason}")
    };
    tracing::debug!("pull through the engine at {address}: {reason}");
    HostError::Conflict(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_errors_say_what_to_do() {
        let offline = pull_error(
            "unix:///x",
            "busybox:latest",
            "dial tcp: lookup registry-1.docker.io: no such host",
        );
        assert!(
            offline
                .to_string()
                .contains("the registry cannot be reached (offline?)")
        );
        let unknown = pull_error("unix:///x", "x:1", "manifest unknown");
        assert!(
            unknown
                .to_string()
                .contains("the registry has no such image")
        );
    }
}
