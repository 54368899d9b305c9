//! Network grants: `allow.network` lists `host:port` patterns; the WASI socket
//! address check admits exactly those (TCP only). Host names are resolved once,
//! before the plugin starts, because the check sees addresses, not names.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::sockets::SocketAddrUse;

/// One parsed `host:port` grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetGrant {
    pub host: Host,
    pub ports: (u16, u16),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Any,
    Ip(IpAddr),
    Name(String),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NetGrantError {
    #[error("network grant `{0}` is not `host:port` (port: a number, a range a-b, or *)")]
    Malformed(String),
}

/// Parses `127.0.0.1:5432`, `localhost:*`, `db:8000-8010`, `[::1]:80`, `*:443`.
pub fn parse(pattern: &str) -> Result<NetGrant, NetGrantError> {
    let malformed = || NetGrantError::Malformed(pattern.to_owned());
    let (host, port) = pattern.rsplit_once(':').ok_or_else(malformed)?;
    let ports = match port {
        "*" => (0, u16::MAX),
        _ => match port.split_once('-') {
            Some((a, b)) => (
                a.parse().map_err(|_| malformed())?,
                b.parse().map_err(|_| malformed())?,
            ),
            None => {
                let p = port.parse().map_err(|_| malformed())?;
                (p, p)
            }
        },
    };
    if ports.0 > ports.1 {
        return Err(malformed());
    }
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = match host {
        "" => return Err(malformed()),
        "*" => Host::Any,
        _ => match host.parse::<IpAddr>() {
            Ok(ip) => Host::Ip(ip),
            Err(_) => Host::Name(host.to_ascii_lowercase()),
        },
    };
    Ok(NetGrant { host, ports })
}

/// Grants with names resolved to addresses: what the socket check consults.
#[derive(Debug, Clone, Default)]
pub struct Allowed {
    rules: Vec<(Option<IpAddr>, (u16, u16))>,
}

impl Allowed {
    /// Resolves every named host (a name that does not resolve grants nothing).
    pub async fn resolve(grants: &[NetGrant]) -> Allowed {
        let mut rules = Vec::new();
        for grant in grants {
            match &grant.host {
                Host::Any => rules.push((None, grant.ports)),
                Host::Ip(ip) => rules.push((Some(*ip), grant.ports)),
                Host::Name(name) => match tokio::net::lookup_host((name.as_str(), 0)).await {
                    Ok(addrs) => rules.extend(addrs.map(|a| (Some(a.ip()), grant.ports))),
                    Err(error) => {
                        tracing::warn!("network grant `{name}` does not resolve: {error}")
                    }
                },
            }
        }
        Allowed { rules }
    }

    pub fn permits(&self, addr: SocketAddr) -> bool {
        let ip = canonical(addr.ip());
        self.rules.iter().any(|(host, (low, high))| {
            host.is_none_or(|h| canonical(h) == ip) && (*low..=*high).contains(&addr.port())
        })
    }
}

/// A `connect` first binds the socket to the wildcard address and port 0 (the OS
/// picks a local port): that reaches nothing, so it needs no grant. Listening
/// still does, because `listen` is checked with the real address.
pub fn is_implicit_bind(addr: SocketAddr, use_: SocketAddrUse) -> bool {
    matches!(use_, SocketAddrUse::TcpBind) && addr.ip().is_unspecified() && addr.port() == 0
}

/// `::ffff:127.0.0.1` is 127.0.0.1.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Configures WASI sockets: TCP only when something is granted, name lookups only
/// when a grant names a host, and every address checked (denials logged).
pub fn apply(builder: &mut WasiCtxBuilder, task: &str, grants: &[NetGrant], allowed: Allowed) {
    if grants.is_empty() {
        return;
    }
    builder.allow_tcp(true);
    builder.allow_udp(false);
    builder.allow_ip_name_lookup(grants.iter().any(|g| matches!(g.host, Host::Name(_))));
    let allowed = Arc::new(allowed);
    let task = task.to_owned();
    builder.socket_addr_check(move |addr, use_| {
        let permitted = is_implicit_bind(addr, use_) || allowed.permits(addr);
        if !permitted {
            tracing::warn!(task = %task, "network access to {addr} denied: not in allow.network");
        }
        Box::pin(async move { permitted })
    });
}
