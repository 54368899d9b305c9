//! `container.wait-healthy`: looks at the container until it is healthy (or
//! running, without a health check), and fails with what a person needs to
//! see: the last health check's output when it is unhealthy, its exit code
//! and last log lines when it exited, both after the time limit.

use std::time::Duration;

use futures_util::StreamExt;

use super::{ContainerHandle, POLL, convert};
use crate::capability::engine::backend::Engine;
use crate::capability::engine::stream::Tail;
use crate::capability::engine::{HostError, HostResult};
use crate::grant::Object;
use crate::plugin::bindings::containers::{ContainerState, Health, HealthStatus};

/// Log lines shown when a container exited while being waited for.
const EXIT_LOG_LINES: u32 = 10;
const EXIT_LOG_BYTES: usize = 8 << 10;

pub async fn wait_healthy(
    engine: &dyn Engine,
    handle: &ContainerHandle,
    limit: Duration,
) -> HostResult<Health> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let inspect = engine
            .inspect_container(&handle.id)
            .await
            .map_err(|e| e.on(Object::Container, &handle.name))?;
        let health = convert::health(&inspect);
        let running = convert::is_running(&inspect);
        let state = convert::inspect_state(inspect.state.as_ref().and_then(|s| s.status));
        let last = health
            .log
            .last()
            .map(|c| c.output.trim().to_owned())
            .unwrap_or_default();
        match health.status {
            HealthStatus::Healthy => return Ok(health),
            HealthStatus::None if running => return Ok(health),
            HealthStatus::Unhealthy => {
                return Err(HostError::Conflict(format!(
                    "container `{}` is unhealthy; last health check: {last}",
                    handle.name
                )));
            }
            _ if !running && state != ContainerState::Created => {
                let code = inspect
                    .state
                    .as_ref()
                    .and_then(|s| s.exit_code)
                    .unwrap_or(-1);
                let logs = last_logs(engine, handle).await;
                return Err(HostError::Conflict(format!(
                    "container `{}` is not running (exit code {code}); last log lines:\n{logs}",
                    handle.name
                )));
            }
            _ => {}
        }
        if tokio::time::Instant::now() >= deadline {
            let status = match health.status {
                HealthStatus::Starting => "starting",
                _ if running => "running",
                _ => "not started",
            };
            return Err(HostError::Timeout {
                operation: format!(
                    "waiting for container `{}` to be healthy (it is {status}; last health check: {last})",
                    handle.name
                ),
                limit,
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn last_logs(engine: &dyn Engine, handle: &ContainerHandle) -> String {
    let mut stream = engine.logs(&handle.id, EXIT_LOG_LINES);
    let mut tail = Tail::new(EXIT_LOG_BYTES);
    while let Some(Ok(chunk)) = stream.next().await {
        tail.push(&chunk);
    }
    tail.into_text()
}
