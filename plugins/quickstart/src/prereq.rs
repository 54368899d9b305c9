//! Prerequisites, all checked before anything is created, all reported at
//! once, each with what to do: the engine reachable and recent enough, disk
//! space for it, the stack's host ports free, the environment it needs.

use run_plugin_sdk::{Error, ErrorKind, containers, log, stacks};

use crate::compose::Stack;
use crate::config::{Config, parse_version};
use crate::plan::{Named, Plan};

/// Exit code when a prerequisite is missing (nothing was changed).
pub const EXIT_PREREQUISITE: u8 = 3;

/// The oldest Podman accepted: its libpod API v4 runs health checks on
/// demand, which the runner does where no systemd timer does.
const MIN_PODMAN: (u64, u64) = (4, 0);

/// Why the engine is too old, if it is. `min_engine_version` is a Docker
/// Engine version; Podman numbers its releases apart (4.3 is not older
/// than Docker 20.10), so Podman is held to [`MIN_PODMAN`].
fn engine_too_old(min_docker: (u64, u64), product: &str, version: &str) -> Option<String> {
    let (minimum, what) = if product == "podman" {
        (MIN_PODMAN, "upgrade Podman")
    } else {
        (min_docker, "upgrade Docker (or lower `min_engine_version`)")
    };
    let (major, minor) = minimum;
    match parse_version(version) {
        Some(v) if v < minimum => Some(format!(
            "the engine is {product} {version}, older than {major}.{minor}: {what}"
        )),
        _ => None,
    }
}

pub fn check(config: &Config, stack: &Stack, plan: &Plan) -> Result<(), Error> {
    let mut problems: Vec<String> = Vec::new();
    match stacks::engine_info() {
        Ok(info) => {
            log::info(format!(
                "engine: {} {} (API {}) at {}",
                info.product, info.version, info.api_version, info.address
            ));
            problems.extend(engine_too_old(
                config.min_engine_version,
                &info.product,
                &info.version,
            ));
            match info.free_bytes {
                Some(free) if free < config.min_free_bytes => problems.push(format!(
                    "only {} free on {} (the engine's data), {} needed: free space (`docker system prune`) or lower `min_free_mb`",
                    mib(free),
                    info.root_dir,
                    mib(config.min_free_bytes)
                )),
                Some(free) => log::debug(format!("{} free on {}", mib(free), info.root_dir)),
                None => log::info(format!(
                    "free space on {} cannot be checked from here (a remote engine?)",
                    info.root_dir
                )),
            }
        }
        Err(e) if e.kind() == ErrorKind::Denied => return Err(e),
        Err(e) => problems.push(format!(
            "the container engine cannot be reached: {}; start Docker (e.g. `sudo systemctl start docker`) or set DOCKER_HOST",
            e.message()
        )),
    }
    problems.extend(variables(config, stack));
    for service in &plan.services {
        let published: Vec<_> = service
            .spec
            .ports
            .iter()
            .filter_map(|p| p.host_port.map(|h| (p, h)))
            .collect();
        if published.is_empty() {
            continue;
        }
        // A container of this stack already holds its own ports (or frees them when recreated).
        match containers::open(&service.container) {
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        for (port, host_port) in published {
            let ip = port.host_ip.as_deref().filter(|ip| !ip.is_empty());
            if !stacks::host_port_free(ip, host_port, port.protocol)? {
                problems.push(format!(
                    "port {host_port} on {} (service `{}`) is already in use: stop what listens there (`ss -ltnp 'sport = :{host_port}'` shows it) or publish another port",
                    ip.unwrap_or("0.0.0.0"),
                    service.service.name
                ));
            }
        }
    }
    report(problems)
}

/// Variables the file uses without a default, and those the config
/// requires, that are not set.
fn variables(config: &Config, stack: &Stack) -> Vec<String> {
    let mut problems = Vec::new();
    for missing in &stack.missing_env {
        let why = missing
            .message
            .as_deref()
            .map(|m| format!(" ({m})"))
            .unwrap_or_default();
        problems.push(format!(
            "{} uses ${{{}}}, which is not set{why}: export {}=… and pass it to the task (`env = [\"{}\"]` in tasks.toml), or set it in the project's .env",
            config.file, missing.name, missing.name, missing.name
        ));
    }
    for name in &config.required_env {
        if std::env::var_os(name).is_none_or(|v| v.is_empty()) {
            problems.push(format!(
                "{name} is required by the task's config but not set: export {name}=… and pass it to the task (`env = [\"{name}\"]` in tasks.toml)"
            ));
        }
    }
    problems
}

/// Under `--plan`: the variables a real run needs.
pub fn check_variables(config: &Config, stack: &Stack) -> Result<(), Error> {
    report(variables(config, stack))
}

/// Every service's spec through the host's checks (names, grants,
/// capabilities, binds, ...), creating nothing: all refusals at once, before
/// anything changes (and under `--plan`).
pub fn check_with_engine(plan: &Plan) -> Result<(), Error> {
    let mut refusals: Vec<Error> = Vec::new();
    // A refusal of a network is also each of its services' (the same
    // grant): said once, with its network.
    let mut said: Vec<String> = Vec::new();
    // Networks first: a service's fixed address needs its network's subnet.
    for network in &plan.networks {
        let checked = if network.external {
            external_network(network)
        } else {
            stacks::check_network(&network.name, &network.options)
        };
        if let Err(e) = checked {
            said.push(e.message().to_owned());
            refusals.push(e.context(format!("network `{}`", network.key)));
        }
    }
    for service in &plan.services {
        if let Err(e) = stacks::check_container(&service.spec)
            && !said.iter().any(|s| s == e.message())
        {
            refusals.push(e.context(format!("service `{}`", service.service.name)));
        }
    }
    match refusals.len() {
        0 => Ok(()),
        1 => Err(refusals.remove(0)),
        n => {
            let mut message = format!("{n} services or networks would be refused:");
            for refusal in &refusals {
                message.push_str("\n  - ");
                message.push_str(refusal.message());
            }
            // The first refusal's kind (a denial stays a denial).
            Err(Error::new(refusals[0].kind(), message))
        }
    }
}

/// An external network must exist: quickstart does not create it.
pub fn external_network(network: &Named) -> Result<(), Error> {
    let exists = stacks::network_list()?
        .iter()
        .any(|n| n.name == network.name);
    if exists {
        return Ok(());
    }
    Err(Error::failed(format!(
        "external network `{}` does not exist: create it (`docker network create {}`)",
        network.name, network.name
    )))
}

fn report(problems: Vec<String>) -> Result<(), Error> {
    if problems.is_empty() {
        return Ok(());
    }
    let mut message = format!(
        "{} prerequisite{} not met (nothing was changed):",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for problem in &problems {
        message.push_str("\n  - ");
        message.push_str(problem);
    }
    Err(Error::failed(message).with_exit_code(EXIT_PREREQUISITE))
}

fn mib(bytes: u64) -> String {
    if bytes >= 10 << 30 {
        format!("{} GiB", bytes >> 30)
    } else {
        format!("{} MiB", bytes >> 20)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podman_is_held_to_its_own_minimum_not_dockers() {
        assert_eq!(engine_too_old((20, 10), "podman", "4.3.1"), None);
        assert_eq!(
            engine_too_old((20, 10), "podman", "3.4.4").as_deref(),
            Some("the engine is podman 3.4.4, older than 4.0: upgrade Podman")
        );
        assert_eq!(engine_too_old((20, 10), "docker", "20.10.24+dfsg1"), None);
        assert_eq!(
            engine_too_old((20, 10), "docker", "19.03.15").as_deref(),
            Some(
                "the engine is docker 19.03.15, older than 20.10: upgrade Docker (or lower `min_engine_version`)"
            )
        );
    }
}
