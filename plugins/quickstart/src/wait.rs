//! Waiting for a service: started, healthy, completed, or ready by a probe.
//! On failure the error carries what a person needs to fix it: the last
//! health-check output and the container's last log lines.

use std::thread::sleep;
use std::time::{Duration, Instant};

use run_plugin_sdk::containers::{self, Container, ContainerDetails, ContainerState, HealthStatus};
use run_plugin_sdk::{Error, log};

use crate::compose::Condition;
use crate::plan::Planned;
use crate::probe;

const POLL: Duration = Duration::from_millis(250);

/// What a wait ended with, for the log.
pub struct Reached {
    pub how: &'static str,
    pub after: Duration,
}

/// Waits for `condition` on `service` within its timeout.
pub fn condition(
    service: &Planned,
    condition: Condition,
    log_lines: u32,
) -> Result<Reached, Error> {
    let start = Instant::now();
    let deadline = start + Duration::from_millis(service.timeout_ms);
    let container = containers::open(&service.container)?;
    loop {
        if let Some(how) = check(&container, service, condition, log_lines)? {
            return Ok(reached(how, start));
        }
        if Instant::now() >= deadline {
            return Err(timed_out(&container, service, condition, log_lines));
        }
        sleep(POLL);
    }
}

/// Whether `condition` holds now: `Some(how)` when met, `None` while it may
/// still be, an error when it never will.
pub fn check(
    container: &Container,
    service: &Planned,
    condition: Condition,
    log_lines: u32,
) -> Result<Option<&'static str>, Error> {
    if condition == Condition::Healthy {
        // Where the engine leaves health checks to the runner (Podman
        // without systemd), this runs one when it is due.
        container.poll_health()?;
    }
    let details = container.inspect()?;
    let running = details.state.is_running();
    let exited = !running && details.state != ContainerState::Created;
    match condition {
        Condition::Started => {
            if running || (exited && details.exit_code == 0) {
                return Ok(Some("started"));
            }
            if exited {
                return Err(failure(container, service, &details, "exited", log_lines));
            }
        }
        Condition::Healthy => match details.health.status {
            HealthStatus::Healthy => return Ok(Some("healthy")),
            HealthStatus::Unhealthy => {
                return Err(failure(
                    container,
                    service,
                    &details,
                    "unhealthy",
                    log_lines,
                ));
            }
            HealthStatus::None if running => {
                return Err(Error::failed(format!(
                    "service `{}` has no healthcheck, so it can never be service_healthy; give it a `healthcheck` or depend on it with service_started",
                    service.service.name
                )));
            }
            _ if exited => {
                return Err(failure(container, service, &details, "exited", log_lines));
            }
            _ => {}
        },
        Condition::CompletedSuccessfully => {
            if exited && details.exit_code == 0 {
                return Ok(Some("completed"));
            }
            if exited {
                return Err(failure(container, service, &details, "failed", log_lines));
            }
        }
    }
    Ok(None)
}

/// The error for `condition` not met within the service's timeout.
pub fn timed_out(
    container: &Container,
    service: &Planned,
    condition: Condition,
    log_lines: u32,
) -> Error {
    let what = match condition {
        Condition::Started => "not started",
        Condition::Healthy => "not healthy",
        Condition::CompletedSuccessfully => "not finished",
    };
    match container.inspect() {
        Ok(details) => failure(
            container,
            service,
            &details,
            &format!("{what} within {}s", service.timeout_ms / 1000),
            log_lines,
        ),
        Err(e) => e,
    }
}

/// Waits until `service` is ready: completed (one-shot), healthy (with a
/// health check, its own or its image's), and answering its `x-run.ready` probe.
pub fn ready(service: &Planned, log_lines: u32) -> Result<Reached, Error> {
    let start = Instant::now();
    if service.oneshot {
        return condition(service, Condition::CompletedSuccessfully, log_lines);
    }
    let container = containers::open(&service.container)?;
    let details = container.inspect()?;
    let mut how = "running";
    if details.health.status != HealthStatus::None {
        condition(service, Condition::Healthy, log_lines)?;
        how = "healthy";
    }
    let ready = &service.service.ready;
    let probes: Vec<(&str, &String)> = [
        ("http", ready.http.as_ref()),
        ("tcp", ready.tcp.as_ref()),
        ("log", ready.log.as_ref()),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    let deadline = start + Duration::from_millis(service.timeout_ms);
    for (kind, target) in probes {
        loop {
            let passed = match kind {
                "http" => probe::http(target)?,
                "tcp" => probe::tcp(target)?,
                _ => container.logs(500)?.contains(target.as_str()),
            };
            if passed {
                how = match kind {
                    "http" => "http 2xx",
                    "tcp" => "tcp open",
                    _ => "log line seen",
                };
                break;
            }
            let details = container.inspect()?;
            if !details.state.is_running() {
                return Err(failure(&container, service, &details, "exited", log_lines));
            }
            if Instant::now() >= deadline {
                return Err(failure(
                    &container,
                    service,
                    &details,
                    &format!(
                        "not ready within {}s ({kind} probe `{target}` never passed)",
                        service.timeout_ms / 1000
                    ),
                    log_lines,
                ));
            }
            sleep(POLL);
        }
    }
    if how == "running" {
        // No check at all: it must at least stay up.
        condition(service, Condition::Started, log_lines)?;
        let details = container.inspect()?;
        if !details.state.is_running() {
            return Err(failure(&container, service, &details, "exited", log_lines));
        }
    }
    Ok(Reached {
        how,
        after: start.elapsed(),
    })
}

fn reached(how: &'static str, start: Instant) -> Reached {
    Reached {
        how,
        after: start.elapsed(),
    }
}

/// The error for a service that failed: its state, last health checks and logs.
pub fn failure(
    container: &Container,
    service: &Planned,
    details: &ContainerDetails,
    what: &str,
    log_lines: u32,
) -> Error {
    let mut message = format!(
        "service `{}` (container `{}`) is {what}",
        service.service.name, service.container
    );
    if details.state == ContainerState::Exited {
        message.push_str(&format!(" (exit code {})", details.exit_code));
    }
    let checks = &details.health.log;
    if !checks.is_empty() {
        message.push_str("\nlast health checks:");
        for check in checks.iter().rev().take(3).rev() {
            let output = check.output.trim();
            message.push_str(&format!("\n  exit {}: {output}", check.exit_code));
        }
    }
    match container.logs(log_lines) {
        Ok(logs) if !logs.trim().is_empty() => {
            message.push_str(&format!("\nlast {log_lines} log lines:"));
            for line in logs.trim_end().lines() {
                message.push_str(&format!("\n  {line}"));
            }
        }
        Ok(_) => message.push_str("\n(no log output)"),
        Err(e) => log::warn(format!(
            "cannot read the logs of `{}`: {e}",
            service.container
        )),
    }
    Error::failed(message)
}
