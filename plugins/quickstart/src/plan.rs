//! From the Compose file to what the engine is asked for: engine names for
//! containers, networks and volumes, the dependency graph, and a container
//! spec per service with the labels Compose v2 sets (so `docker compose ps`
//! sees the stack) and a digest that makes a second run idempotent.

use std::collections::BTreeSet;

use run_plugin_sdk::stacks::{
    BindMount, ContainerSpec, Device, HealthSpec, MountSpec, NamespaceMode, NetworkAttachment,
    NetworkMode, PortBinding, Resources, RestartPolicy, TmpfsMount, Ulimit, VolumeMount,
};
use run_plugin_sdk::stacks::{IpamPool, NetworkOptions};
use sha2::{Digest, Sha256};

use crate::compose::{Condition, Healthcheck, LocalVolume, Service, Stack};
use crate::config::Config;

/// Labels on everything the plugin creates: Compose v2's own keys, so `docker
/// compose ps/ls/down` and `containers::list(Filter::ComposeProject(…))` see the stack.
pub const PROJECT_LABEL: &str = "com.docker.compose.project";
pub const SERVICE_LABEL: &str = "com.docker.compose.service";
pub const NUMBER_LABEL: &str = "com.docker.compose.container-number";
pub const ONEOFF_LABEL: &str = "com.docker.compose.oneoff";
pub const NETWORK_LABEL: &str = "com.docker.compose.network";
pub const VOLUME_LABEL: &str = "com.docker.compose.volume";
/// The spec's digest: a container whose digest differs is recreated.
pub const HASH_LABEL: &str = "com.docker.compose.config-hash";

/// One container of a service: a service with `deploy.replicas: N` has N,
/// numbered from 1.
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
    /// Services this one waits for, with the condition (`network_mode:
    /// service:X` adds X as started).
    pub waits_for: Vec<(String, Condition)>,
}

impl Planned {
    /// Seconds `stop` waits after the stop signal before SIGKILL (Compose: 10).
    pub fn grace_seconds(&self) -> u32 {
        self.spec.stop_grace_seconds.unwrap_or(10)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// The key in the file.
    pub key: String,
    pub name: String,
    pub external: bool,
    /// How a network is created (address pools, IPv6); empty for a volume.
    pub options: NetworkOptions,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub project: String,
    /// In dependency order: every service after the ones it depends on; a
    /// service's replicas one after another.
    pub services: Vec<Planned>,
    pub networks: Vec<Named>,
    pub volumes: Vec<Named>,
}

impl Plan {
    /// The service's first container.
    pub fn service(&self, name: &str) -> &Planned {
        self.services
            .iter()
            .find(|p| p.service.name == name)
            .expect("depends_on names were checked when the file was read")
    }

    /// Every container of the service (its replicas).
    pub fn replicas<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Planned> + 'a {
        self.services.iter().filter(move |p| p.service.name == name)
    }

    /// The labels of a network or volume: the project's, and the key (`kind`
    /// is NETWORK_LABEL or VOLUME_LABEL).
    pub fn labels(&self, kind: &str, key: &str) -> Vec<(String, String)> {
        vec![
            (PROJECT_LABEL.into(), self.project.clone()),
            (kind.into(), key.to_owned()),
        ]
    }
}

/// What a service waits for: its `depends_on` present in the stack, and the
/// service whose network it shares.
fn waits_for(stack: &Stack, service: &Service) -> Vec<(String, Condition)> {
    let mut out: Vec<(String, Condition)> = service
        .depends_on
        .iter()
        .filter(|d| stack.services.iter().any(|s| s.name == d.service))
        .map(|d| (d.service.clone(), d.condition))
        .collect();
    // Sharing another service's namespace needs it started first.
    for mode in [&service.network_mode, &service.pid, &service.ipc] {
        if let Some(other) = mode.as_deref().and_then(|m| m.strip_prefix("service:"))
            && !out.iter().any(|(s, _)| s == other)
        {
            out.push((other.to_owned(), Condition::Started));
        }
    }
    out
}

/// The services in dependency order (file order among independent ones), or
/// the cycle that prevents one.
pub fn order(stack: &Stack) -> Result<Vec<usize>, String> {
    let services = &stack.services;
    let mut placed: Vec<usize> = Vec::new();
    let mut done = BTreeSet::new();
    while placed.len() < services.len() {
        let next = services.iter().enumerate().find(|(i, s)| {
            !done.contains(i)
                && waits_for(stack, s)
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

/// The name of the service's container number `n`: `container_name`, else
/// `PROJECT-SERVICE` for a single container, else `PROJECT-SERVICE-N` for
/// each of its replicas, as Compose names them.
fn replica_name(project: &str, service: &Service, n: u32) -> String {
    match &service.container_name {
        Some(name) => name.clone(),
        None if service.replicas > 1 => format!("{project}-{}-{n}", service.name),
        None => format!("{project}-{}", service.name),
    }
}

/// The container another service's namespace joins: its first.
fn container_name(project: &str, service: &Service) -> String {
    replica_name(project, service, 1)
}

pub fn build(stack: &Stack, config: &Config, project: &str) -> Result<Plan, String> {
    let order = order(stack)?;
    let uses_default = stack.services.iter().any(|s| {
        s.network_mode.is_none()
            && (s.networks.is_empty() || s.networks.iter().any(|(n, _)| n == "default"))
    });
    let mut networks: Vec<Named> = stack
        .networks
        .iter()
        .filter(|(key, _)| key.as_str() != "default")
        .map(|(key, def)| Named {
            key: key.clone(),
            name: network_name(project, stack, key),
            external: def.external,
            options: network_options(def),
        })
        .collect();
    if uses_default {
        networks.insert(
            0,
            Named {
                key: "default".into(),
                name: network_name(project, stack, "default"),
                external: stack.networks.get("default").is_some_and(|d| d.external),
                options: stack
                    .networks
                    .get("default")
                    .map(network_options)
                    .unwrap_or_else(|| network_options(&Default::default())),
            },
        );
    }
    // A local volume with `driver_opts` is mounted as what it is (a host
    // directory or a tmpfs): no engine volume is created for it.
    let volumes = stack
        .volumes
        .iter()
        .filter(|(_, def)| def.local.is_none())
        .map(|(key, def)| Named {
            key: key.clone(),
            name: volume_name(project, stack, key),
            external: def.external,
            options: network_options(&Default::default()),
        })
        .collect();
    let mut services = Vec::new();
    for i in order {
        let service = &stack.services[i];
        let awaited_to_finish = stack.services.iter().any(|s| {
            s.depends_on.iter().any(|d| {
                d.service == service.name && d.condition == Condition::CompletedSuccessfully
            })
        });
        for number in 1..=service.replicas {
            let container = replica_name(project, service, number);
            let mut spec = spec(stack, config, project, service, &container, number);
            let hash = digest(&spec);
            spec.labels.push((HASH_LABEL.into(), hash.clone()));
            services.push(Planned {
                service: service.clone(),
                container,
                spec,
                hash,
                oneshot: awaited_to_finish && service.restart == RestartPolicy::No,
                timeout_ms: service.ready.timeout_ms.unwrap_or(config.timeout_ms),
                waits_for: waits_for(stack, service),
            });
        }
    }
    Ok(Plan {
        project: project.to_owned(),
        services,
        networks,
        volumes,
    })
}

/// The service's image: `image`, else (a `build` without it) PROJECT-SERVICE,
/// as Compose v2 tags what it builds (lowercased: a reference is).
pub fn image_name(project: &str, service: &Service) -> String {
    if service.image.is_empty() {
        format!("{project}-{}", service.name.to_ascii_lowercase())
    } else {
        service.image.clone()
    }
}

/// How a network is created: its `ipam` pools and `enable_ipv6`.
fn network_options(def: &crate::compose::ResourceDef) -> NetworkOptions {
    NetworkOptions {
        ipam: def
            .ipam
            .iter()
            .map(|p| IpamPool {
                subnet: p.subnet.clone(),
                gateway: p.gateway.clone(),
                ip_range: p.ip_range.clone(),
                aux_addresses: p.aux_addresses.clone(),
            })
            .collect(),
        enable_ipv6: def.enable_ipv6,
    }
}

/// The container spec of `service`; every value was checked when the file was read.
fn spec(
    stack: &Stack,
    config: &Config,
    project: &str,
    service: &Service,
    container: &str,
    number: u32,
) -> ContainerSpec {
    let mut spec = ContainerSpec::new(container, image_name(project, service));
    spec.entrypoint = service.entrypoint.clone();
    spec.command = service.command.clone();
    spec.env = service.environment.clone();
    spec.labels = service.labels.clone();
    let number = number.to_string();
    for (key, value) in [
        (PROJECT_LABEL, project),
        (SERVICE_LABEL, service.name.as_str()),
        (NUMBER_LABEL, number.as_str()),
        (ONEOFF_LABEL, "False"),
    ] {
        spec.labels.push((key.into(), value.into()));
    }
    for p in &service.ports {
        spec.ports.push(PortBinding {
            container_port: p.container_port,
            protocol: p.protocol.parse().expect("protocols are checked when read"),
            host_ip: p.host_ip.clone(),
            host_port: p.host_port,
        });
    }
    for mount in &service.volumes {
        let destination = mount.target.clone();
        let read_only = mount.read_only;
        spec.mounts.push(match mount.kind.as_str() {
            "volume" if mount.source.is_empty() => MountSpec::Anonymous(destination),
            "volume" => match stack
                .volumes
                .get(&mount.source)
                .and_then(|v| v.local.clone())
            {
                // `type: none, o: bind, device: DIR`: a bind of DIR in
                // disguise, so checked by the host as one (allow.read for
                // `:ro`, allow.write otherwise; outside, refused naming it).
                Some(LocalVolume::Bind(device)) => MountSpec::Bind(BindMount {
                    source: config.relative_to_file(&device),
                    destination,
                    read_only,
                }),
                Some(LocalVolume::Tmpfs { size_bytes }) => MountSpec::Tmpfs(TmpfsMount {
                    destination,
                    size_bytes,
                    mode: None,
                }),
                None => MountSpec::Volume(VolumeMount {
                    volume: volume_name(project, stack, &mount.source),
                    destination,
                    read_only,
                }),
            },
            // Checked by the host against the task's read or write grants;
            // outside them, the refusal names the grant to add.
            "bind" => MountSpec::Bind(BindMount {
                source: config.relative_to_file(&mount.source),
                destination,
                read_only,
            }),
            _ => MountSpec::Tmpfs(TmpfsMount {
                destination,
                size_bytes: mount.size_bytes,
                mode: None,
            }),
        });
    }
    // Secrets and configs are their files, mounted read-only.
    for (files, defined, dir) in [
        (&service.secrets, &stack.secrets, "/run/secrets/"),
        (&service.configs, &stack.configs, "/"),
    ] {
        for file in files {
            let Some(path) = defined.get(&file.source) else {
                continue;
            };
            let destination = match &file.target {
                Some(t) if t.starts_with('/') => t.clone(),
                Some(t) => format!("{dir}{t}"),
                None => format!("{dir}{}", file.source),
            };
            spec.mounts.push(MountSpec::Bind(BindMount {
                source: config.relative_to_file(path),
                destination,
                read_only: true,
            }));
        }
    }
    // Every service is reachable by its name, as under Compose.
    let attach = |key: &str, aliases: &[String]| {
        let fixed = service.addresses.iter().find(|(k, _, _)| k == key);
        NetworkAttachment {
            network: network_name(project, stack, key),
            aliases: std::iter::once(service.name.clone())
                .chain(aliases.iter().cloned())
                .collect(),
            ipv4_address: fixed.and_then(|(_, v4, _)| v4.clone()),
            ipv6_address: fixed.and_then(|(_, _, v6)| v6.clone()),
        }
    };
    spec.network_mode = match service.network_mode.as_deref() {
        Some("host") => NetworkMode::Host,
        Some("none") => NetworkMode::None,
        Some("bridge") => NetworkMode::Networks(Vec::new()),
        Some(other) => match other.split_once(':') {
            Some(("service", name)) => match stack.services.iter().find(|s| s.name == name) {
                Some(s) => NetworkMode::Container(container_name(project, s)),
                None => NetworkMode::Container(name.to_owned()),
            },
            Some((_, name)) => NetworkMode::Container(name.to_owned()),
            None => NetworkMode::None,
        },
        None if service.networks.is_empty() => NetworkMode::Networks(vec![attach("default", &[])]),
        None => NetworkMode::Networks(
            service
                .networks
                .iter()
                .map(|(key, aliases)| attach(key, aliases))
                .collect(),
        ),
    };
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
            start_interval_ms,
        }) => Some(HealthSpec {
            test: test.clone(),
            interval_ms: *interval_ms,
            timeout_ms: *timeout_ms,
            retries: *retries,
            start_period_ms: *start_period_ms,
            start_interval_ms: *start_interval_ms,
        }),
    };
    spec.restart = service.restart;
    spec.user = service.user.clone();
    spec.workdir = service.working_dir.clone();
    spec.hostname = service.hostname.clone();
    spec.domainname = service.domainname.clone();
    spec.stop_signal = service.stop_signal;
    spec.stop_grace_seconds = service
        .stop_grace_ms
        .map(|ms| u32::try_from(ms.div_ceil(1000)).unwrap_or(u32::MAX));
    spec.cap_add = service.cap_add.clone();
    spec.cap_drop = service.cap_drop.clone();
    spec.security_opt = service.security_opt.clone();
    spec.privileged = service.privileged;
    spec.read_only_rootfs = service.read_only;
    spec.init = service.init;
    spec.ulimits = service
        .ulimits
        .iter()
        .map(|u| Ulimit {
            name: u.name.clone(),
            soft: u.soft,
            hard: u.hard,
        })
        .collect();
    spec.resources = Resources {
        memory_bytes: service.limits.memory_bytes,
        memory_reservation_bytes: service.limits.memory_reservation_bytes,
        nano_cpus: service.limits.nano_cpus,
        pids_limit: service.limits.pids,
        shm_size_bytes: service.limits.shm_size_bytes,
    };
    spec.extra_hosts = service.extra_hosts.clone();
    spec.platform = service.platform.clone();
    spec.sysctls = service.sysctls.clone();
    spec.runtime = service.runtime.clone();
    spec.mac_address = service.mac_address.clone();
    let namespace = |mode: &Option<String>| match mode.as_deref() {
        Some("host") => NamespaceMode::Host,
        Some(other) => match other.split_once(':') {
            Some(("service", name)) => match stack.services.iter().find(|s| s.name == name) {
                Some(s) => NamespaceMode::Container(container_name(project, s)),
                None => NamespaceMode::Container(name.to_owned()),
            },
            Some((_, name)) => NamespaceMode::Container(name.to_owned()),
            // `private` and `shareable`: the container's own.
            None => NamespaceMode::Private,
        },
        None => NamespaceMode::Private,
    };
    spec.pid_mode = namespace(&service.pid);
    spec.ipc_mode = namespace(&service.ipc);
    spec.devices = service
        .devices
        .iter()
        .map(|(host, container, permissions)| Device {
            host_path: host.clone(),
            container_path: container.clone(),
            permissions: permissions.clone(),
        })
        .collect();
    spec
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

    use run_plugin_sdk::stacks::TmpfsMount;

    use super::*;
    use crate::compose::{Sources, parse};

    fn plan(yaml: &str) -> Result<Plan, String> {
        let stack = parse(
            yaml,
            &Sources {
                lookup: &|_| None,
                read: &|p| Err(p.to_owned()),
            },
        )
        .map_err(|e| e.join("\n"))?;
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
                key: "default".into(),
                name: "demo-default".into(),
                external: false,
                options: NetworkOptions {
                    ipam: Vec::new(),
                    enable_ipv6: false
                },
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
                aliases: vec!["web".into()],
                ipv4_address: None,
                ipv6_address: None,
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
            e.starts_with("services.a.ports[0]: unknown protocol `icmp`"),
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

    /// Issue 15: `docker compose ps` showed nothing (no `oneoff=False`).
    #[test]
    fn containers_carry_the_labels_compose_sets() {
        let p = plan(STACK).unwrap();
        let labels = &p.service("db").spec.labels;
        for (key, value) in [
            (PROJECT_LABEL, "demo"),
            (SERVICE_LABEL, "db"),
            (NUMBER_LABEL, "1"),
            (ONEOFF_LABEL, "False"),
        ] {
            assert!(
                labels.contains(&(key.to_string(), value.to_string())),
                "{key}={value} in {labels:?}"
            );
        }
        assert!(
            labels
                .iter()
                .any(|(k, v)| k == HASH_LABEL && v == &p.service("db").hash)
        );
        assert_eq!(
            p.labels(NETWORK_LABEL, "default"),
            [
                (PROJECT_LABEL.to_string(), "demo".to_string()),
                (NETWORK_LABEL.to_string(), "default".to_string())
            ]
        );
    }

    #[test]
    fn anonymous_volumes_secrets_binds_and_shared_networks() {
        let p = plan(
            r#"
services:
  app:
    image: x
    volumes: ["/cache", "../outside:/o:ro"]
    secrets: [token]
    configs: [{source: conf, target: /etc/app.conf}]
    stop_grace_period: 1500ms
  sidecar:
    image: x
    network_mode: "service:app"
secrets:
  token: {file: ./token.txt}
configs:
  conf: {file: app.conf}
"#,
        )
        .unwrap();
        let app = p.service("app");
        assert_eq!(
            app.spec.mounts,
            [
                MountSpec::Anonymous("/cache".into()),
                MountSpec::Bind(BindMount {
                    source: "outside".into(),
                    destination: "/o".into(),
                    read_only: true
                }),
                MountSpec::Bind(BindMount {
                    source: "demo/token.txt".into(),
                    destination: "/run/secrets/token".into(),
                    read_only: true
                }),
                MountSpec::Bind(BindMount {
                    source: "demo/app.conf".into(),
                    destination: "/etc/app.conf".into(),
                    read_only: true
                }),
            ]
        );
        assert_eq!(app.grace_seconds(), 2);
        let sidecar = p.service("sidecar");
        assert_eq!(
            sidecar.spec.network_mode,
            NetworkMode::Container("demo-app".into())
        );
        assert_eq!(sidecar.waits_for, [("app".to_string(), Condition::Started)]);
        let shared = plan(
            "services:\n  a: {image: x, pid: host, ipc: \"service:b\", devices: [\"/dev/fuse:/dev/fuse:rw\"]}\n  b: {image: x}\n",
        )
        .unwrap();
        let a = &shared.service("a").spec;
        assert_eq!(a.pid_mode, NamespaceMode::Host);
        assert_eq!(a.ipc_mode, NamespaceMode::Container("demo-b".into()));
        assert_eq!(a.devices[0].host_path, "/dev/fuse");
        assert_eq!(a.devices[0].permissions, "rw");
        assert_eq!(p.service("app").grace_seconds(), 2);
        assert_eq!(
            plan("services:\n  a: {image: x}\n")
                .unwrap()
                .service("a")
                .grace_seconds(),
            10
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

    /// Issue 15: `deploy.replicas: 2` was refused; now N containers, named
    /// and numbered as Compose names them.
    #[test]
    fn replicas_are_containers_named_and_numbered_as_compose_does() {
        let p = plan(
            "services:\n  w: {image: x, deploy: {replicas: 3}}\n  s: {image: x, network_mode: \"service:w\", depends_on: [w]}\n",
        )
        .unwrap();
        let names: Vec<_> = p.replicas("w").map(|r| r.container.as_str()).collect();
        assert_eq!(names, ["demo-w-1", "demo-w-2", "demo-w-3"]);
        for (i, r) in p.replicas("w").enumerate() {
            let number = (i + 1).to_string();
            assert!(r.spec.labels.contains(&(NUMBER_LABEL.to_string(), number)));
        }
        assert_eq!(
            p.service("s").spec.network_mode,
            NetworkMode::Container("demo-w-1".into())
        );
        assert_eq!(p.services.last().unwrap().container, "demo-s");
        let scale = plan("services:\n  w: {image: x, scale: 2}\n").unwrap();
        assert_eq!(scale.replicas("w").count(), 2);
        let e = plan(
            "services:\n  w: {image: x, container_name: one, ports: [\"8080:80\", \"81\"], scale: 3, deploy: {replicas: 2}}\n",
        )
        .unwrap_err();
        assert!(
            e.contains("services.w.scale: 3 and services.w.deploy.replicas: 2 disagree"),
            "{e}"
        );
        assert!(
            e.contains("services.w.container_name: `one` names one container"),
            "{e}"
        );
        assert!(
            e.contains("host port 8080 can be published by one of the 2 replicas only"),
            "{e}"
        );
        assert!(!e.contains("81"), "{e}");
        let e = plan("services:\n  w: {image: x, deploy: {replicas: many}}\n").unwrap_err();
        assert!(e.contains("`many` is not a number of containers"), "{e}");
    }

    /// Issue 15: a local volume with `driver_opts` was refused. A bind in
    /// disguise is now a bind (the host checks its grant), a tmpfs a tmpfs.
    #[test]
    fn local_volumes_with_driver_opts_are_what_they_mount() {
        let p = plan(
            r#"
services:
  a:
    image: x
    volumes: ["data:/data", "mem:/mem", "plain:/p:ro"]
volumes:
  data: {driver: local, driver_opts: {type: none, o: bind, device: ./shared}}
  mem: {driver_opts: {type: tmpfs, device: tmpfs, o: "size=64m"}}
  plain:
"#,
        )
        .unwrap();
        assert_eq!(
            p.service("a").spec.mounts,
            [
                MountSpec::Bind(BindMount {
                    source: "demo/shared".into(),
                    destination: "/data".into(),
                    read_only: false
                }),
                MountSpec::Tmpfs(TmpfsMount {
                    destination: "/mem".into(),
                    size_bytes: Some(64 << 20),
                    mode: None
                }),
                MountSpec::Volume(VolumeMount {
                    volume: "demo-plain".into(),
                    destination: "/p".into(),
                    read_only: true
                }),
            ]
        );
        let names: Vec<_> = p.volumes.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(
            names,
            ["demo-plain"],
            "no engine volume for a bind or a tmpfs"
        );
        let nfs = parse(
            "services:\n  a: {image: x, volumes: [\"n:/n\"]}\nvolumes:\n  n: {driver_opts: {type: nfs, o: \"addr=10.0.0.1\", device: \":/export\"}}\n",
            &Sources {
                lookup: &|_| None,
                read: &|p| Err(p.to_owned()),
            },
        )
        .unwrap();
        assert!(
            nfs.unsupported[0].starts_with(
                "volumes.n.driver_opts (type `nfs`: the engine's host would mount a network share"
            ),
            "{:?}",
            nfs.unsupported
        );
        let e = plan(
            "services:\n  a: {image: x, volumes: [\"m:/m\"], scale: 2}\nvolumes:\n  m: {driver_opts: {type: tmpfs, device: tmpfs}}\n",
        )
        .unwrap_err();
        assert!(e.contains("volumes.m: a tmpfs volume is mounted as each container's own memory, and 2 containers (`a`)"), "{e}");
        let e = plan(
            "services:\n  a: {image: x, volumes: [\"m:/m\"]}\nvolumes:\n  m: {driver_opts: {type: none, o: bind}}\n",
        )
        .unwrap_err();
        assert!(
            e.contains("volumes.m.driver_opts: a bind (`o: bind`) needs `device`"),
            "{e}"
        );
    }
}
