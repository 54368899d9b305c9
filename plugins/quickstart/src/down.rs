//! `down`: stops the stack's containers as Compose does (the service's stop
//! signal, its grace period, then SIGKILL) and removes them (dependents
//! first, then any other container labelled with the project), then its
//! networks; its volumes only with
//! `--volumes`, after a confirmation.

use run_plugin_sdk::containers::{self, Filter};
use run_plugin_sdk::{Error, ErrorKind, log, prompt, stacks, volumes};

use crate::config::Config;
use crate::plan::{PROJECT_LABEL, Plan};

pub fn run(config: &Config, plan: &Plan) -> Result<(), Error> {
    let volumes: Vec<&str> = plan
        .volumes
        .iter()
        .filter(|v| !v.external)
        .map(|v| v.name.as_str())
        .collect();
    // Asked before anything is removed: a question no one can answer (CI)
    // leaves the whole stack as it was.
    let remove_volumes = config.remove_volumes
        && !volumes.is_empty()
        && prompt::confirm(
            &format!(
                "Remove volume{} {} of project {}? Their data will be lost",
                if volumes.len() == 1 { "" } else { "s" },
                volumes.join(", "),
                plan.project
            ),
            None,
        )?;
    let mut removed = 0;
    for service in plan.services.iter().rev() {
        let name = &service.container;
        let container = match containers::open(name) {
            Ok(c) => c,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let details = container.inspect()?;
        let ours = details
            .labels
            .iter()
            .any(|(k, v)| k == PROJECT_LABEL && v == &plan.project);
        if !ours {
            log::warn(format!(
                "left `{name}` alone: it does not belong to project `{}`",
                plan.project
            ));
            continue;
        }
        if details.state.is_running() {
            // As Compose: the service's stop signal, its grace period, then SIGKILL.
            container.stop(Some(service.grace_seconds()))?;
        }
        container.remove()?;
        println!("removed container {name}");
        removed += 1;
    }
    // Containers of the project no longer in the file (a service renamed or
    // removed since `up`): they carry the label, so they are the stack's too,
    // and the network cannot go while they are attached.
    for orphan in containers::list(Filter::ComposeProject(plan.project.clone()))? {
        let container = containers::open(&orphan.id)?;
        if orphan.state.is_running() {
            // Its own stop signal and grace period (or Compose's 10 s).
            container.stop(None)?;
        }
        container.remove()?;
        println!("removed orphan container {}", orphan.name);
        removed += 1;
    }
    let existing = stacks::network_list()?;
    for network in plan.networks.iter().filter(|n| !n.external) {
        if existing.iter().any(|n| n.name == network.name) {
            stacks::network_remove(&network.name)?;
            println!("removed network {}", network.name);
        }
    }
    if !remove_volumes {
        if !volumes.is_empty() {
            println!(
                "kept volume{} {} (remove with --volumes)",
                if volumes.len() == 1 { "" } else { "s" },
                volumes.join(", ")
            );
        }
        if removed == 0 {
            println!("project {}: nothing was running", plan.project);
        }
        return Ok(());
    }
    for volume in volumes {
        match volumes::remove(volume) {
            Ok(()) => println!("removed volume {volume}"),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
