//! `up`: prerequisites, missing images, networks and volumes, then each
//! service in dependency order (after its dependencies meet their
//! conditions), then every service's readiness, then the table. A second run
//! leaves containers whose spec did not change alone.

use std::collections::BTreeSet;

use run_plugin_sdk::containers::{self, ContainerDetails, ContainerState, Filter};
use run_plugin_sdk::{Error, ErrorKind, images, log, stacks, volumes};

use crate::compose::Stack;
use crate::config::Config;
use crate::plan::{HASH_LABEL, PROJECT_LABEL, Plan, Planned};
use crate::{prereq, table, wait};

pub fn run(config: &Config, stack: &Stack, plan: &Plan) -> Result<(), Error> {
    prereq::check(config, stack, plan)?;
    pull_missing(config, plan)?;
    for network in &plan.networks {
        if network.external {
            let exists = stacks::network_list()?
                .iter()
                .any(|n| n.name == network.name);
            if !exists {
                return Err(Error::failed(format!(
                    "external network `{}` does not exist: create it (`docker network create {}`)",
                    network.name, network.name
                )));
            }
        } else if stacks::network_create(&network.name, &plan.labels())? {
            log::info(format!("created network {}", network.name));
        }
    }
    for volume in &plan.volumes {
        if !volume.external && volumes::create(&volume.name, &plan.labels())? {
            log::info(format!("created volume {}", volume.name));
        }
    }
    warn_orphans(plan)?;
    // Services already known to have met their readiness (as a dependency).
    let mut ready: BTreeSet<String> = BTreeSet::new();
    for service in &plan.services {
        for (dependency, condition) in &service.service.depends_on {
            let dep = plan.service(dependency);
            let key = format!("{}/{}", dep.service.name, condition.as_str());
            if ready.contains(&key) {
                continue;
            }
            log::info(format!(
                "{}: waiting for {} ({})",
                service.service.name,
                dependency,
                condition.as_str()
            ));
            let reached = wait::condition(dep, *condition, config.log_lines)?;
            log::info(format!(
                "{dependency}: {} after {:.1}s",
                reached.how,
                reached.after.as_secs_f64()
            ));
            ready.insert(key);
        }
        ensure(plan, service)?;
    }
    for service in &plan.services {
        let reached = wait::ready(service, config.log_lines)?;
        log::info(format!(
            "{}: ready ({}) after {:.1}s",
            service.service.name,
            reached.how,
            reached.after.as_secs_f64()
        ));
    }
    table::print(plan)
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

/// Creates, recreates or starts the service's container as needed.
fn ensure(plan: &Plan, service: &Planned) -> Result<(), Error> {
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
        if label(&details, HASH_LABEL) == Some(service.hash.as_str()) {
            if details.state == ContainerState::Paused {
                container.unpause()?;
                log::info(format!("{}: unpaused", service.service.name));
                return Ok(());
            }
            if details.state.is_running() {
                log::info(format!("{}: up to date", service.service.name));
                return Ok(());
            }
            if service.oneshot && details.state == ContainerState::Exited && details.exit_code == 0
            {
                log::info(format!("{}: already completed", service.service.name));
                return Ok(());
            }
            container.start()?;
            log::info(format!("{}: started", service.service.name));
            return Ok(());
        }
        log::info(format!(
            "{}: its definition changed; recreating {name}",
            service.service.name
        ));
        container.remove()?;
    }
    stacks::create_container(&service.spec)?.start()?;
    log::info(format!(
        "{}: created and started {name}",
        service.service.name
    ));
    Ok(())
}

/// Containers of the project that the file no longer defines: left running
/// (they may hold data), and named so `down` can be run.
fn warn_orphans(plan: &Plan) -> Result<(), Error> {
    for found in containers::list(Filter::ComposeProject(plan.project.clone()))? {
        if !plan.services.iter().any(|s| s.container == found.name) {
            log::warn(format!(
                "container `{}` belongs to project `{}` but to no service of the file (renamed or removed?); `down` removes it",
                found.name, plan.project
            ));
        }
    }
    Ok(())
}
