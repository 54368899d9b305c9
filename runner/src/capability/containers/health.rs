//! `container.wait-healthy`: looks at the container until it is healthy (or
//! running, without a health check), and fails with what a person needs to
//! see: the last health check's output when it is unhealthy, its exit code
//! and last log lines when it exited, both after the time limit.
//!
//! Docker runs a container's health check itself. Podman leaves the schedule
//! to systemd timers; without systemd (CI containers, most dev containers)
//! no check ever runs and the container stays `starting`. So while waiting on
//! Podman the host runs the check itself, through Podman's libpod API, by ID,
//! at the check's own interval (`schedule.rs`), as Docker would.

use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use tokio::time::Instant;

use super::schedule::{EngineTimes, HealthRuns, Schedule};
use super::{ContainerHandle, POLL, convert};
use crate::capability::engine::backend::{Engine, EngineError};
use crate::capability::engine::stream::Tail;
use crate::capability::engine::{HostError, HostResult};
use crate::grant::Object;
use crate::plugin::bindings::containers::{ContainerState, Health, HealthStatus};

/// Log lines shown when a container exited while being waited for.
const EXIT_LOG_LINES: u32 = 10;
const EXIT_LOG_BYTES: usize = 8 << 10;

pub async fn wait_healthy(
    engine: &dyn Engine,
    runs: &HealthRuns,
    handle: &ContainerHandle,
    limit: Duration,
) -> HostResult<Health> {
    let deadline = Instant::now() + limit;
    // Whether the host runs the checks (Podman), asked once a check is awaited.
    let mut runs_checks: Option<bool> = None;
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
        if health.status == HealthStatus::Starting && running {
            let schedule =
                Schedule::of(inspect.config.as_ref().and_then(|c| c.healthcheck.as_ref()));
            if let Some(schedule) = schedule {
                let host_runs = match runs_checks {
                    Some(known) => known,
                    None => {
                        *runs_checks.insert(engine.product().await?.leaves_health_checks_to_host())
                    }
                };
                let times = EngineTimes::of(&inspect, SystemTime::now());
                if host_runs && runs.start_if_due(&handle.id, &schedule, times, Instant::now()) {
                    match engine.run_health_check(&handle.id, schedule.timeout).await {
                        Ok(()) => continue,
                        // It stopped meanwhile: the next look says how.
                        Err(EngineError::Conflict(_)) => {}
                        Err(e) => return Err(e.on(Object::Container, &handle.name)),
                    }
                }
            }
        }
        if Instant::now() >= deadline {
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
