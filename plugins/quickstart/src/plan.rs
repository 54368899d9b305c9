//! From the Compose file to what the engine is asked for: engine names for
//! containers, networks and volumes, the dependency order, and a container
//! spec per service with the labels that make a second run idempotent.

use std::collections::BTreeSet;

use run_plugin_sdk::stacks::{
    BindMount, ContainerSpec, HealthSpec, MountSpec, NetworkAttachment, NetworkMode, PortBinding,
    RestartPolicy, TmpfsMount, VolumeMount,
};
use sha2::{Digest, Sha256};

use crate::compose::{Condition, Healthcheck, Service, Stack};
use crate::config::Config;

/// Labels on everything the plugin creates (Compose's own keys, so `docker
/// compose ls` and `containers::list(Filter::ComposeProject(…))` see the stack too).
pub const PROJECT_LABEL: &str = "com.docker.compose.project";
pub const SERVICE_LABEL: &str = "com.docker.compose.service";
/// The spec's digest: a container whose digest differs is recreated.
pub const HASH_LABEL: &str = "run.quickstart.hash";

#[derive(Debug, Clone)]
pub struct Planned {
    pub service: Service,
    /// The container's engine name.
    pub container: String,
    pub spec: ContainerSpec,
    pub hash: String,
    /// Exits by design: `restart: "no"` and awaited by `service_completed_successfully`.
    pub oneshot: bool,
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub name: String,
    pub external: bool,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub project: String,
    /// In dependency order: every service after the ones it depends on.
    pub services: Vec<Planned>,
    pub networks: Vec<Named>,
    pub volumes: Vec<Named>,
}

impl Plan {
    pub fn service(&self, name: &str) -> &Planned {
        self.services
            .iter()
            .find(|p| p.service.name == name)
            .expect("depends_on names were checked when the file was read")
    }

    pub fn labels(&self) -> Vec<(String, String)> {
        vec![(PROJECT_LABEL.into(), self.project.clone())]
    }
}

/// The services in dependency order (file order among independent ones), or
/// the cycle that prevents one.
pub fn order(services: &[Service]) -> Result<Vec<usize>, String> {
    let mut placed: Vec<usize> = Vec::new();
    let mut done = BTreeSet::new();
    while placed.len() < services.len() {
        let next = services.iter().enumerate().find(|(i, s)| {
            !done.contains(i)
                && s.depends_on
                    .iter()
                    .all(|(d, _)| done.contains(&index(services, d)))
        });
        match next {
            Some((i, _)) => {
                placed.push(i);
                done.insert(i);
            }
            None => {
                let stuck: Vec<&str> = services
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !done.contains(i))
                    .map(|(_, s)| s.name.as_str())
                    .collect();
                return Err(format!(
                    "depends_on has a cycle among services {}",
                    stuck
                        .iter()
                        .map(|s| format!("`{s}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    Ok(placed)
}

fn index(services: &[Service], name: &str) -> usize {
    services
        .iter()
        .position(|s| s.name == name)
        .unwrap_or(usize::MAX)
}

pub fn network_name(project: &str, stack: &Stack, key: &str) -> String {
    match stack.networks.get(key).and_then(|n| n.name.clone()) {
        Some(name) => name,
        None => format!("{project}-{key}"),
    }
}

pub fn volume_name(project: &str, stack: &Stack, key: &str) -> String {
    match stack.volumes.get(key).and_then(|v| v.name.clone()) {
        Some(name) => name,
        None => format!("{project}-{key}"),
    }
}

pub fn build(stack: &Stack, config: &Config, project: &str) -> Result<Plan, String> {
    let order = order(&stack.services)?;
    let uses_default = stack
        .services
        .iter()
        .any(|s| s.networks.is_empty() || s.networks.iter().any(|(n, _)| n == "default"));
    let mut networks: Vec<Named> = stack
        .networks
        .iter()
        .filter(|(key, _)| key.as_str() != "default")
        .map(|(key, def)| Named {
            name: network_name(project, stack, key),
            external: def.external,
        })
        .collect();
    if uses_default {
        networks.insert(
            0,
            Named {
                name: network_name(project, stack, "default"),
                external: stack.networks.get("default").is_some_and(|d| d.external),
            },
        );
    }
    let volumes = stack
        .volumes
        .iter()
        .map(|(key, def)| Named {
            name: volume_name(project, stack, key),
            external: def.external,
        })
        .collect();
    let mut services = Vec::new();
    for i in order {
        let service = &stack.services[i];
        let awaited_to_finish = stack.services.iter().any(|s| {
            s.depends_on
                .iter()
                .any(|(d, c)| d == &service.name && *c == Condition::CompletedSuccessfully)
        });
        let restart_no = service.restart.as_deref().is_none_or(|r| r == "no");
        let container = service
            .container_name
            .clone()
            .unwrap_or_else(|| format!("{project}-{}", service.name));
        let spec = spec(stack, config, project, service, &container)?;
        let hash = digest(&spec);
        let mut spec = spec;
        spec.labels.push((HASH_LABEL.into(), hash.clone()));
        services.push(Planned {
            service: service.clone(),
            container,
            spec,
            hash,
            oneshot: awaited_to_finish && restart_no,
            timeout_ms: service.ready.timeout_ms.unwrap_or(config.timeout_ms),
        });
    }
    Ok(Plan {
        project: project.to_owned(),
        services,
        networks,
        volumes,
    })
}

fn spec(
    stack: &Stack,
    config: &Config,
    project: &str,
    service: &Service,
    container: &str,
) -> Result<ContainerSpec, String> {
    let at = format!("services.{}", service.name);
    let mut spec = ContainerSpec::new(container, service.image.clone());
    spec.entrypoint = service.entrypoint.clone();
    spec.command = service.command.clone();
    spec.env = service.environment.clone();
    spec.labels = service.labels.clone();
    spec.labels.push((PROJECT_LABEL.into(), project.to_owned()));
    spec.labels
        .push((SERVICE_LABEL.into(), service.name.clone()));
    for p in &service.ports {
        spec.ports.push(PortBinding {
            container_port: p.container_port,
            protocol: p.protocol.parse().map_err(|e| format!("{at}.ports: {e}"))?,
            host_ip: p.host_ip.clone(),
            host_port: p.host_port,
        });
    }
    for mount in &service.volumes {
        let destination = mount.target.clone();
        let read_only = mount.read_only;
        spec.mounts.push(match mount.kind.as_str() {
            "volume" if mount.source.is_empty() => {
                return Err(format!(
                    "{at}.volumes: anonymous volume at `{}`: name it under top-level `volumes` so `down --volumes` can remove it",
                    mount.target
                ));
            }
            "volume" => MountSpec::Volume(VolumeMount {
                volume: volume_name(project, stack, &mount.source),
                destination,
                read_only,
            }),
            "bind" if mount.source.starts_with('~') || mount.source.starts_with('/') => {
                return Err(format!(
                    "{at}.volumes: bind mount `{}` is outside the project; bind a directory of the project (granted by allow.read or allow.write)",
                    mount.source
                ));
            }
            "bind" => MountSpec::Bind(BindMount {
                source: config.relative_to_file(&mount.source),
                destination,
                read_only,
            }),
            "tmpfs" => MountSpec::Tmpfs(TmpfsMount {
                destination,
                size_bytes: None,
                mode: None,
            }),
            // Reported as unsupported when the file was read (and ignored
            // with `allow_unsupported`).
            _ => continue,
        });
    }
    // Every service is reachable by its name, as under Compose.
    let attach = |key: &str, aliases: &[String]| NetworkAttachment {
        network: network_name(project, stack, key),
        aliases: std::iter::once(service.name.clone())
            .chain(aliases.iter().cloned())
            .collect(),
    };
    spec.network_mode = NetworkMode::Networks(if service.networks.is_empty() {
        vec![attach("default", &[])]
    } else {
        service
            .networks
            .iter()
            .map(|(key, aliases)| attach(key, aliases))
            .collect()
    });
    spec.healthcheck = match &service.healthcheck {
        None => None,
        Some(Healthcheck::Disabled) => Some(HealthSpec {
            test: vec!["NONE".into()],
            ..Default::default()
        }),
        Some(Healthcheck::Check {
            test,
            interval_ms,
            timeout_ms,
            retries,
            start_period_ms,
        }) => Some(HealthSpec {
            test: test.clone(),
            interval_ms: *interval_ms,
            timeout_ms: *timeout_ms,
            retries: *retries,
            start_period_ms: *start_period_ms,
            start_interval_ms: None,
        }),
    };
    if let Some(restart) = &service.restart {
        spec.restart = restart
            .parse::<RestartPolicy>()
            .map_err(|e| format!("{at}.restart: {e}"))?;
    }
    spec.user = service.user.clone();
    spec.workdir = service.working_dir.clone();
    Ok(spec)
}

/// A stable digest of everything the container is created from.
fn digest(spec: &ContainerSpec) -> String {
    let text = format!("{spec:?}");
    let hash = Sha256::digest(text.as_bytes());
    hash.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use run_plugin_sdk::Context;

    use super::*;
    use crate::compose::parse;

    fn plan(yaml: &str) -> Result<Plan, String> {
        let stack = parse(yaml, &|_| None)?;
        let config = Config::from_context(&Context::new(
            "qs",
            vec![],
            r#"{"file": "demo/compose.yaml"}"#,
        ))
        .unwrap();
        build(&stack, &config, "demo")
    }

    const STACK: &str = r#"
services:
  web:
    image: busybox
    depends_on:
      init: { condition: service_completed_successfully }
    volumes: ["./html:/www:ro"]
  init:
    image: busybox
    depends_on: [db]
  db:
    image: postgres
    volumes: [data:/var/lib/postgresql/data]
volumes:
  data:
"#;

    #[test]
    fn dependencies_come_first() {
        let p = plan(STACK).unwrap();
        let names: Vec<_> = p.services.iter().map(|s| s.container.as_str()).collect();
        assert_eq!(names, ["demo-db", "demo-init", "demo-web"]);
        assert!(p.service("init").oneshot && !p.service("db").oneshot);
        assert_eq!(
            p.networks,
            [Named {
                name: "demo-default".into(),
                external: false
            }]
        );
        assert_eq!(p.volumes[0].name, "demo-data");
        let web = &p.service("web").spec;
        assert_eq!(
            web.mounts,
            [MountSpec::Bind(BindMount {
                source: "demo/html".into(),
                destination: "/www".into(),
                read_only: true
            })]
        );
        assert_eq!(
            web.network_mode,
            NetworkMode::Networks(vec![NetworkAttachment {
                network: "demo-default".into(),
                aliases: vec!["web".into()]
            }])
        );
        assert!(matches!(
            &p.service("db").spec.mounts[0],
            MountSpec::Volume(v) if v.volume == "demo-data"
        ));
    }

    #[test]
    fn protocols_and_restart_policies_are_checked() {
        let e = plan("services:\n  a: {image: x, ports: [\"80/icmp\"]}\n").unwrap_err();
        assert!(
            e.starts_with("services.a.ports: unknown protocol `icmp`"),
            "{e}"
        );
        let e = plan("services:\n  a: {image: x, restart: sometimes}\n").unwrap_err();
        assert!(
            e.starts_with("services.a.restart: restart policy `sometimes`"),
            "{e}"
        );
        let p = plan("services:\n  a: {image: x, restart: on-failure:2}\n").unwrap();
        assert_eq!(
            p.service("a").spec.restart,
            RestartPolicy::OnFailure(Some(2))
        );
    }

    #[test]
    fn cycles_are_named() {
        let e =
            plan("services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n")
                .unwrap_err();
        assert_eq!(e, "depends_on has a cycle among services `a`, `b`");
    }

    #[test]
    fn the_digest_follows_the_spec() {
        let a = plan(STACK).unwrap();
        let b = plan(&STACK.replace("image: postgres", "image: postgres:16")).unwrap();
        assert_eq!(a.service("web").hash, b.service("web").hash);
        assert_ne!(a.service("db").hash, b.service("db").hash);
    }
}
