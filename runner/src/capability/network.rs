//! Network grants: `allow.network` lists `host:port` patterns; the WASI socket
//! address check admits exactly those (TCP only). Host names are resolved once,
//! before the plugin starts, because the check sees addresses, not names.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use wasmtime_wasi::WasiCtxBuilder;

pub use crate::config::network::{Host, NetGrant, parse};
use wasmtime_wasi::sockets::SocketAddrUse;

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
