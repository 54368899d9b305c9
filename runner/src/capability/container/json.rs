//! Engine documents (Docker's JSON shape) to the WIT's records.

use serde_json::Value;

use crate::plugin::bindings::container::{
    ContainerDetails, ContainerSummary, Health, HealthCheck, ImageSummary, Mount, PortBinding,
};

fn str_at(v: &Value, pointer: &str) -> String {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn labels(v: Option<&Value>) -> Vec<(String, String)> {
    let mut labels: Vec<(String, String)> = v
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    labels.sort();
    labels
}

/// The container's name without the engine's leading `/`.
pub fn summary_name(v: &Value) -> String {
    v.pointer("/Names/0")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim_start_matches('/')
        .to_owned()
}

pub fn summary(v: &Value) -> ContainerSummary {
    let ports = v
        .get("Ports")
        .and_then(Value::as_array)
        .map(|ports| {
            ports
                .iter()
                .map(|p| PortBinding {
                    container_port: p.get("PrivatePort").and_then(Value::as_u64).unwrap_or(0)
                        as u16,
                    protocol: str_at(p, "/Type"),
                    host_ip: p.get("IP").and_then(Value::as_str).map(str::to_owned),
                    host_port: p
                        .get("PublicPort")
                        .and_then(Value::as_u64)
                        .map(|p| p as u16),
                })
                .collect()
        })
        .unwrap_or_default();
    ContainerSummary {
        id: str_at(v, "/Id"),
        name: summary_name(v),
        image: str_at(v, "/Image"),
        state: str_at(v, "/State"),
        status: str_at(v, "/Status"),
        labels: labels(v.get("Labels")),
        ports,
    }
}

pub fn health(v: &Value) -> Health {
    let health = v.pointer("/State/Health");
    Health {
        status: health
            .map(|h| str_at(h, "/Status"))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "none".into()),
        failing_streak: health
            .and_then(|h| h.get("FailingStreak"))
            .and_then(Value::as_u64)
            .unwrap_or(0) as u32,
        log: health
            .and_then(|h| h.get("Log"))
            .and_then(Value::as_array)
            .map(|log| {
                log.iter()
                    .map(|c| HealthCheck {
                        exit_code: c.get("ExitCode").and_then(Value::as_i64).unwrap_or(-1),
                        output: str_at(c, "/Output"),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

pub fn details(v: &Value) -> ContainerDetails {
    let mut ports = Vec::new();
    if let Some(map) = v
        .pointer("/NetworkSettings/Ports")
        .and_then(Value::as_object)
    {
        for (key, bindings) in map {
            let (port, protocol) = key.split_once('/').unwrap_or((key, "tcp"));
            let port = port.parse().unwrap_or(0);
            match bindings.as_array() {
                Some(bindings) if !bindings.is_empty() => {
                    for b in bindings {
                        ports.push(PortBinding {
                            container_port: port,
                            protocol: protocol.to_owned(),
                            host_ip: b.get("HostIp").and_then(Value::as_str).map(str::to_owned),
                            host_port: b
                                .get("HostPort")
                                .and_then(Value::as_str)
                                .and_then(|p| p.parse().ok()),
                        });
                    }
                }
                _ => ports.push(PortBinding {
                    container_port: port,
                    protocol: protocol.to_owned(),
                    host_ip: None,
                    host_port: None,
                }),
            }
        }
    }
    let mounts = v
        .get("Mounts")
        .and_then(Value::as_array)
        .map(|mounts| {
            mounts
                .iter()
                .map(|m| Mount {
                    kind: str_at(m, "/Type"),
                    source: m
                        .get("Name")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .unwrap_or_else(|| str_at(m, "/Source")),
                    destination: str_at(m, "/Destination"),
                    read_write: m.get("RW").and_then(Value::as_bool).unwrap_or(false),
                })
                .collect()
        })
        .unwrap_or_default();
    ContainerDetails {
        id: str_at(v, "/Id"),
        name: str_at(v, "/Name").trim_start_matches('/').to_owned(),
        image: str_at(v, "/Config/Image"),
        image_id: str_at(v, "/Image"),
        state: str_at(v, "/State/Status"),
        running: v
            .pointer("/State/Running")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        paused: v
            .pointer("/State/Paused")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        exit_code: v
            .pointer("/State/ExitCode")
            .and_then(Value::as_i64)
            .unwrap_or(0),
        started_at: str_at(v, "/State/StartedAt"),
        health: health(v),
        ports,
        mounts,
        labels: labels(v.pointer("/Config/Labels")),
        raw: v.to_string(),
    }
}

/// Volume names a container summary mounts.
pub fn summary_volumes(v: &Value) -> Vec<String> {
    v.get("Mounts")
        .and_then(Value::as_array)
        .map(|m| {
            m.iter()
                .filter(|m| m.get("Type").and_then(Value::as_str) == Some("volume"))
                .filter_map(|m| m.get("Name").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

pub fn image(v: &Value) -> ImageSummary {
    ImageSummary {
        id: str_at(v, "/Id"),
        tags: v
            .get("RepoTags")
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .filter_map(Value::as_str)
                    .filter(|t| *t != "<none>:<none>")
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        size: v.get("Size").and_then(Value::as_u64).unwrap_or(0),
        created: v.get("Created").and_then(Value::as_i64).unwrap_or(0),
    }
}
