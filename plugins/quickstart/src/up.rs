//! `up`: prerequisites, missing images, networks and volumes, then the
//! services as a graph: each is created as soon as the services it depends on
//! meet their conditions, so independent services start together; then every
//! service's readiness, then the table. A second run leaves containers whose
//! spec did not change alone; a changed one is stopped as Compose stops it
//! (its stop signal, its grace period, then SIGKILL) and recreated.

use std::collections::{BTreeMap, BTreeSet};
use std::thread::sleep;
use std::time::{Duration, Instant};

use run_plugin_sdk::containers::{self, ContainerDetails, ContainerState, Filter};
use run_plugin_sdk::{Error, ErrorKind, images, log, stacks, volumes};

use crate::compose::{Condition, Stack};
use crate::config::Config;
use crate::plan::{
    HASH_LABEL, NETWORK_LABEL, PROJECT_LABEL, Plan, Planned, SERVICE_LABEL, VOLUME_LABEL,
};
use crate::{prereq, table, wait};

const POLL: Duration = Duration::from_millis(200);

pub fn run(config: &Config, stack: &Stack, plan: &Plan) -> Result<(), Error> {
    prereq::check(config, stack, plan)?;
    prereq::check_with_engine(plan)?;
    crate::build::run(config, plan, config.build_always)?;
    pull_missing(config, plan)?;
    for network in &plan.networks {
        if network.external {
            prereq::external_network(network)?;
        } else if stacks::network_create_with(
            &network.name,
            &plan.labels(NETWORK_LABEL, &network.key),
            &network.options,
        )? {
            log::info(format!("created network {}", network.name));
        }
    }
    for volume in &plan.volumes {
        if !volume.external
            && volumes::create(&volume.name, &plan.labels(VOLUME_LABEL, &volume.key))?
        {
            log::info(format!("created volume {}", volume.name));
        }
    }
    warn_orphans(plan)?;
    let mut touched = Vec::new();
    let result = start_graph(config, plan, &mut touched).and_then(|()| {
        for service in &plan.services {
            let reached = wait::ready(service, config.log_lines)?;
            log::info(format!(
                "{}: ready ({}) after {:.1}s",
                service.service.name,
                reached.how,
                reached.after.as_secs_f64()
            ));
        }
        Ok(())
    });
    if let Err(e) = result {
        if !touched.is_empty() {
            log::warn(format!(
                "`up` failed; these containers were started and are left as they are for a look: {} (remove the stack with the task's `down`)",
                touched.join(", ")
            ));
        }
        return Err(e);
    }
    table::print(plan)
}

/// Creates (or keeps) every service's containers as soon as what it waits
/// for is met; services whose dependencies are met start together. A
/// condition on a service with replicas holds when it holds for each.
fn start_graph(config: &Config, plan: &Plan, touched: &mut Vec<String>) -> Result<(), Error> {
    // Containers created (or kept), by name.
    let mut started: BTreeSet<&str> = BTreeSet::new();
    // Conditions met, and when each pending one was first awaited.
    let mut met: BTreeSet<(&str, Condition)> = BTreeSet::new();
    let mut awaited: BTreeMap<(&str, Condition), Instant> = BTreeMap::new();
    while started.len() < plan.services.len() {
        let mut progress = false;
        for service in &plan.services {
            if started.contains(service.container.as_str()) {
                continue;
            }
            let ready = service
                .waits_for
                .iter()
                .all(|(d, c)| met.contains(&(d.as_str(), *c)));
            if ready {
                if ensure(plan, service)? {
                    touched.push(service.container.clone());
                }
                started.insert(service.container.as_str());
                progress = true;
            }
        }
        // Every condition a waiting service needs of a started one.
        for service in &plan.services {
            if started.contains(service.container.as_str()) {
                continue;
            }
            for (dependency, condition) in &service.waits_for {
                let key = (dependency.as_str(), *condition);
                let mut replicas = plan.replicas(dependency);
                if met.contains(&key) || !replicas.all(|r| started.contains(r.container.as_str())) {
                    continue;
                }
                let since = *awaited.entry(key).or_insert_with(|| {
                    log::info(format!(
                        "{}: waiting for {dependency} ({})",
                        service.service.name,
                        condition.as_str()
                    ));
                    Instant::now()
                });
                let mut all = true;
                let mut reached = "";
                for dep in plan.replicas(dependency) {
                    let container = containers::open(&dep.container)?;
                    match wait::check(&container, dep, *condition, config.log_lines)? {
                        Some(how) => reached = how,
                        None if since.elapsed() >= Duration::from_millis(dep.timeout_ms) => {
                            return Err(wait::timed_out(
                                &container,
                                dep,
                                *condition,
                                config.log_lines,
                            ));
                        }
                        None => all = false,
                    }
                }
                if all {
                    log::info(format!(
                        "{dependency}: {reached} after {:.1}s",
                        since.elapsed().as_secs_f64()
                    ));
                    met.insert(key);
                    progress = true;
                }
            }
        }
        if !progress {
            sleep(POLL);
        }
    }
    Ok(())
}

/// Pulls the images that are not here, each once.
fn pull_missing(config: &Config, plan: &Plan) -> Result<(), Error> {
    let mut seen = BTreeSet::new();
    for service in &plan.services {
        let image = &service.spec.image;
        if !seen.insert(image.clone()) || images::present(image)? {
            continue;
        }
        log::info(format!(
            "pulling {image} (service `{}`)",
            service.service.name
        ));
        images::pull(image, config.pull_timeout)
            .map_err(|e| e.context(format!("service `{}`", service.service.name)))?;
        log::info(format!("pulled {image}"));
    }
    Ok(())
}

fn label<'a>(details: &'a ContainerDetails, key: &str) -> Option<&'a str> {
    details
        .labels
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Creates, recreates or starts the service's container as needed; true
/// when it started something.
fn ensure(plan: &Plan, service: &Planned) -> Result<bool, Error> {
    let name = &service.container;
    let existing = match containers::open(name) {
        Ok(c) => Some(c),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    if let Some(container) = existing {
        let details = container.inspect()?;
        if label(&details, PROJECT_LABEL) != Some(plan.project.as_str()) {
            return Err(Error::failed(format!(
                "container `{name}` exists but does not belong to project `{}`: remove it (`docker rm -f {name}`) or give the service another `container_name`",
                plan.project
            )));
        }
        // An image rebuilt or pulled under the same tag is a change too.
        let image_now = images::inspect(&service.spec.image)?.id;
        let same_image = details.image_id == image_now;
        if !same_image {
            log::info(format!(
                "{}: image {} changed ({} -> {}); recreating {name}",
                service.service.name,
                service.spec.image,
                short_id(&details.image_id),
                short_id(&image_now)
            ));
        }
        if same_image && label(&details, HASH_LABEL) == Some(service.hash.as_str()) {
            if details.state == ContainerState::Paused {
                container.unpause()?;
                log::info(format!("{}: unpaused", service.service.name));
                return Ok(true);
            }
            if details.state.is_running() {
                log::info(format!("{}: up to date", service.service.name));
                return Ok(false);
            }
            if service.oneshot && details.state == ContainerState::Exited && details.exit_code == 0
            {
                log::info(format!("{}: already completed", service.service.name));
                return Ok(false);
            }
            container.start()?;
            log::info(format!("{}: started", service.service.name));
            return Ok(true);
        }
        if same_image {
            log::info(format!(
                "{}: its definition changed; recreating {name}",
                service.service.name
            ));
        }
        if details.state.is_running() {
            // As Compose: the stop signal, the grace period, then SIGKILL.
            container.stop(Some(service.grace_seconds()))?;
        }
        container.remove()?;
    }
    stacks::create_container(&service.spec)
        .map_err(|e| e.context(format!("service `{}`", service.service.name)))?
        .start()?;
    log::info(format!(
        "{}: created and started {name}",
        service.service.name
    ));
    Ok(true)
}

/// `sha256:0123456789ab…` → `0123456789ab`.
fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}

/// Containers of the project that the file no longer defines: left running
/// (they may hold data), and named so `down` can be run. A replica of a
/// service beyond its `deploy.replicas` (the service was scaled down, or its
/// single container is now numbered) is stopped and removed, as Compose does.
fn warn_orphans(plan: &Plan) -> Result<(), Error> {
    for found in containers::list(Filter::ComposeProject(plan.project.clone()))? {
        if plan.services.iter().any(|s| s.container == found.name) {
            continue;
        }
        let service = found
            .labels
            .iter()
            .find(|(k, _)| k == SERVICE_LABEL)
            .map(|(_, v)| v.as_str());
        if let Some(service) = service
            && let Some(planned) = plan.services.iter().find(|s| s.service.name == service)
        {
            let container = containers::open(&found.id)?;
            if found.state.is_running() {
                container.stop(Some(planned.grace_seconds()))?;
            }
            container.remove()?;
            log::info(format!(
                "{service}: removed {} (the service runs {} container{} now)",
                found.name,
                planned.service.replicas,
                if planned.service.replicas == 1 {
                    ""
                } else {
                    "s"
                }
            ));
            continue;
        }
        log::warn(format!(
            "container `{}` belongs to project `{}` but to no service of the file (renamed or removed?); `down` removes it",
            found.name, plan.project
        ));
    }
    Ok(())
}
