//! The table of services: state, health and where to reach them.

use run_plugin_sdk::containers::{self, ContainerDetails, ContainerState, HealthStatus, Protocol};
use run_plugin_sdk::{Error, ErrorKind};

use crate::plan::{Plan, Planned};

/// One row per service, in dependency order.
pub fn print(plan: &Plan) -> Result<(), Error> {
    let mut rows = vec![[
        "SERVICE".to_owned(),
        "CONTAINER".to_owned(),
        "STATE".to_owned(),
        "HEALTH".to_owned(),
        "URL".to_owned(),
    ]];
    for service in &plan.services {
        let details = match containers::open(&service.container).and_then(|c| c.inspect()) {
            Ok(d) => Some(d),
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        rows.push([
            service.service.name.clone(),
            service.container.clone(),
            state(details.as_ref()),
            health(service, details.as_ref()),
            urls(service).join(" "),
        ]);
    }
    let widths: Vec<usize> = (0..5)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  ", width = widths[c]));
            }
        }
        println!("{}", line.trim_end());
    }
    Ok(())
}

fn state(details: Option<&ContainerDetails>) -> String {
    match details {
        None => "not created".into(),
        Some(d) if d.state == ContainerState::Exited => format!("exited ({})", d.exit_code),
        Some(d) => d.state.to_string(),
    }
}

fn health(service: &Planned, details: Option<&ContainerDetails>) -> String {
    match details {
        None => "-".into(),
        Some(d) if service.oneshot && d.state == ContainerState::Exited && d.exit_code == 0 => {
            "completed".into()
        }
        Some(d) if d.health.status == HealthStatus::None => "-".into(),
        Some(d) => d.health.status.to_string(),
    }
}

/// `x-run.url`, else one per published port: a URL for well-known
/// protocols, `host:port` otherwise.
pub fn urls(service: &Planned) -> Vec<String> {
    if let Some(url) = &service.service.ready.url {
        return vec![url.clone()];
    }
    service
        .spec
        .ports
        .iter()
        .filter_map(|p| {
            let host_port = p.host_port?;
            let host = match p.host_ip.as_deref() {
                None | Some("" | "0.0.0.0" | "::") => "localhost",
                Some(ip) => ip,
            };
            let scheme = match p.container_port {
                80 | 8080 | 8000 | 3000 | 5000 | 8081 | 8888 | 9000 => Some("http"),
                443 | 8443 => Some("https"),
                5432 => Some("postgresql"),
                6379 => Some("redis"),
                3306 => Some("mysql"),
                27017 => Some("mongodb"),
                _ => None,
            };
            Some(match scheme {
                Some(scheme) if p.protocol == Protocol::Tcp => {
                    format!("{scheme}://{host}:{host_port}")
                }
                _ => format!("{host}:{host_port}/{}", p.protocol),
            })
        })
        .collect()
}
