//! bollard's container documents to the WIT's records.

use bollard::models::{
    ContainerInspectResponse, ContainerStateStatusEnum, ContainerSummary as EngineSummary,
    ContainerSummaryStateEnum, HealthStatusEnum, MountPoint, PortMap, PortSummary,
    PortSummaryTypeEnum,
};

use crate::capability::engine::resolve::Listed;
use crate::capability::engine::sorted_labels;
use crate::plugin::bindings::containers::{
    ContainerDetails, ContainerState, ContainerSummary, Endpoint, Health, HealthCheck,
    HealthStatus, Mount, MountedBind, MountedVolume,
};
use crate::plugin::bindings::engine_types::{PortBinding, Protocol};

/// At most this many characters of a health check's output are kept per check.
const HEALTH_OUTPUT_LIMIT: usize = 4096;

pub fn summary_state(state: Option<ContainerSummaryStateEnum>) -> ContainerState {
    use ContainerSummaryStateEnum as S;
    match state {
        Some(S::RUNNING | S::STOPPING) => ContainerState::Running,
        Some(S::PAUSED) => ContainerState::Paused,
        Some(S::RESTARTING) => ContainerState::Restarting,
        Some(S::REMOVING) => ContainerState::Removing,
        Some(S::EXITED) => ContainerState::Exited,
        Some(S::DEAD) => ContainerState::Dead,
        Some(S::CREATED | S::EMPTY) | None => ContainerState::Created,
    }
}

pub fn inspect_state(state: Option<ContainerStateStatusEnum>) -> ContainerState {
    use ContainerStateStatusEnum as S;
    match state {
        Some(S::RUNNING | S::STOPPING) => ContainerState::Running,
        Some(S::PAUSED) => ContainerState::Paused,
        Some(S::RESTARTING) => ContainerState::Restarting,
        Some(S::REMOVING) => ContainerState::Removing,
        Some(S::EXITED) => ContainerState::Exited,
        Some(S::DEAD) => ContainerState::Dead,
        Some(S::CREATED | S::EMPTY) | None => ContainerState::Created,
    }
}

pub fn protocol(text: &str) -> Protocol {
    match text {
        "udp" => Protocol::Udp,
        "sctp" => Protocol::Sctp,
        _ => Protocol::Tcp,
    }
}

pub fn protocol_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
        Protocol::Sctp => "sctp",
    }
}

fn summary_port(port: &PortSummary) -> PortBinding {
    PortBinding {
        container_port: port.private_port,
        protocol: match port.typ {
            Some(PortSummaryTypeEnum::UDP) => Protocol::Udp,
            Some(PortSummaryTypeEnum::SCTP) => Protocol::Sctp,
            _ => Protocol::Tcp,
        },
        host_ip: port.ip.clone().filter(|ip| !ip.is_empty()),
        host_port: port.public_port,
    }
}

pub fn summary(container: &Listed) -> ContainerSummary {
    let s: &EngineSummary = &container.summary;
    let mut ports: Vec<PortBinding> = s.ports.iter().flatten().map(summary_port).collect();
    ports.sort_by_key(|p| (p.container_port, p.host_port, p.host_ip.clone()));
    ContainerSummary {
        id: container.id.as_str().to_owned(),
        name: container.name.clone(),
        image: s.image.clone().unwrap_or_default(),
        image_id: s.image_id.clone().unwrap_or_default(),
        state: summary_state(s.state),
        status: s.status.clone().unwrap_or_default(),
        labels: sorted_labels(s.labels.clone()),
        ports,
    }
}

/// Volume names a listed container mounts.
pub fn summary_volumes(summary: &EngineSummary) -> Vec<String> {
    summary
        .mounts
        .iter()
        .flatten()
        .filter(|m| m.typ.as_deref() == Some("volume"))
        .filter_map(|m| m.name.clone())
        .collect()
}

pub fn health(inspect: &ContainerInspectResponse) -> Health {
    let health = inspect.state.as_ref().and_then(|s| s.health.as_ref());
    let status = match health.and_then(|h| h.status) {
        Some(HealthStatusEnum::STARTING) => HealthStatus::Starting,
        Some(HealthStatusEnum::HEALTHY) => HealthStatus::Healthy,
        Some(HealthStatusEnum::UNHEALTHY) => HealthStatus::Unhealthy,
        _ => HealthStatus::None,
    };
    Health {
        status,
        failing_streak: health
            .and_then(|h| h.failing_streak)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0),
        log: health
            .and_then(|h| h.log.as_ref())
            .map(|log| {
                log.iter()
                    .map(|check| HealthCheck {
                        exit_code: check.exit_code.unwrap_or(-1),
                        output: truncate(check.output.clone().unwrap_or_default()),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn truncate(mut text: String) -> String {
    if text.len() > HEALTH_OUTPUT_LIMIT {
        let mut cut = HEALTH_OUTPUT_LIMIT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

fn inspect_ports(ports: Option<&PortMap>) -> Vec<PortBinding> {
    let mut out = Vec::new();
    for (key, bindings) in ports.into_iter().flatten() {
        let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
        let Ok(port) = port.parse() else { continue };
        let bindings = bindings.as_deref().unwrap_or_default();
        if bindings.is_empty() {
            out.push(PortBinding {
                container_port: port,
                protocol: protocol(proto),
                host_ip: None,
                host_port: None,
            });
        }
        for binding in bindings {
            out.push(PortBinding {
                container_port: port,
                protocol: protocol(proto),
                host_ip: binding.host_ip.clone().filter(|ip| !ip.is_empty()),
                host_port: binding.host_port.as_deref().and_then(|p| p.parse().ok()),
            });
        }
    }
    out.sort_by_key(|p| (p.container_port, p.host_port, p.host_ip.clone()));
    out
}

fn mount(point: &MountPoint) -> Option<Mount> {
    let destination = point.destination.clone().unwrap_or_default();
    let read_write = point.rw.unwrap_or(false);
    match point.typ.as_deref() {
        Some("volume") => Some(Mount::Volume(MountedVolume {
            name: point.name.clone().unwrap_or_default(),
            destination,
            read_write,
        })),
        Some("bind") => Some(Mount::Bind(MountedBind {
            source: point.source.clone().unwrap_or_default(),
            destination,
            read_write,
        })),
        Some("tmpfs") => Some(Mount::Tmpfs(destination)),
        _ => None,
    }
}

pub fn details(inspect: &ContainerInspectResponse, name: &str) -> ContainerDetails {
    let state = inspect.state.as_ref();
    let id = inspect.id.clone().unwrap_or_default();
    let mut networks: Vec<Endpoint> = inspect
        .network_settings
        .as_ref()
        .and_then(|n| n.networks.as_ref())
        .into_iter()
        .flatten()
        .map(|(network, endpoint)| Endpoint {
            network: network.clone(),
            ip_address: endpoint.ip_address.clone().filter(|ip| !ip.is_empty()),
            aliases: endpoint
                .aliases
                .iter()
                .flatten()
                // Its own name, and its short ID older engines add.
                .filter(|a| a.as_str() != name && !(a.len() >= 12 && id.starts_with(a.as_str())))
                .cloned()
                .collect(),
        })
        .collect();
    networks.sort_by(|a, b| a.network.cmp(&b.network));
    ContainerDetails {
        id: id.clone(),
        name: name.to_owned(),
        image: inspect
            .config
            .as_ref()
            .and_then(|c| c.image.clone())
            .unwrap_or_default(),
        image_id: inspect.image.clone().unwrap_or_default(),
        state: inspect_state(state.and_then(|s| s.status)),
        exit_code: state.and_then(|s| s.exit_code).unwrap_or(0),
        started_at: state.and_then(|s| s.started_at.clone()).unwrap_or_default(),
        finished_at: state
            .and_then(|s| s.finished_at.clone())
            .unwrap_or_default(),
        restart_count: inspect
            .restart_count
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0),
        health: health(inspect),
        ports: inspect_ports(
            inspect
                .network_settings
                .as_ref()
                .and_then(|n| n.ports.as_ref()),
        ),
        mounts: inspect.mounts.iter().flatten().filter_map(mount).collect(),
        networks,
        labels: sorted_labels(inspect.config.as_ref().and_then(|c| c.labels.clone())),
        raw: serde_json::to_string(inspect).unwrap_or_default(),
    }
}

pub fn is_running(inspect: &ContainerInspectResponse) -> bool {
    inspect
        .state
        .as_ref()
        .and_then(|s| s.running)
        .unwrap_or(false)
}
