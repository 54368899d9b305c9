//! Network grants: `allow.network` lists `host:port` patterns; the WASI socket
//! address check admits exactly those (TCP only). Host names are resolved once,
//! before the plugin starts, because the check sees addresses, not names.
//!
//! Name lookups (`wasi:sockets/ip-name-lookup`) are limited the same way: the
//! host's implementation is shadowed by one that resolves only the names the
//! grants name (a lookup is a message to the resolver, so resolving any name
//! would let a plugin granted `db:5432` send data out through DNS queries).
//! The name is first canonicalised as wasmtime-wasi would (case, IDNA,
//! percent-decoding), checked, and then that canonical name is resolved. An
//! IP address needs no lookup and is always answered (connecting to it is
//! still checked). A `*:PORT` grant allows any host, so any name.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use wasmtime::component::{HasData, Linker, Resource};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::p2::SocketError;
use wasmtime_wasi::p2::bindings::sockets::ip_name_lookup::{
    self, HostResolveAddressStream, ResolveAddressStream,
};
use wasmtime_wasi::p2::bindings::sockets::network::{
    self as network_types, ErrorCode, IpAddress, Network,
};
use wasmtime_wasi::sockets::{SocketAddrUse, WasiSocketsCtxView, WasiSocketsView};

pub use crate::config::network::{Host, NetGrant, parse};
use crate::plugin::state::HostState;

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
/// when a grant names a host (and then only of such names: [`Lookups`]), and
/// every address checked (denials logged). Without grants there are no
/// sockets at all.
pub fn apply(builder: &mut WasiCtxBuilder, task: &str, grants: &[NetGrant], allowed: Allowed) {
    builder.allow_tcp(false);
    builder.allow_udp(false);
    builder.allow_ip_name_lookup(false);
    if grants.is_empty() {
        return;
    }
    builder.allow_tcp(true);
    builder.allow_ip_name_lookup(
        grants
            .iter()
            .any(|g| matches!(g.host, Host::Name(_) | Host::Any)),
    );
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

/// The names one plugin may look up: those its network grants name.
#[derive(Debug, Default)]
pub struct Lookups {
    task: String,
    /// A `*:PORT` grant: any host, so any name.
    any: bool,
    /// Granted names, canonical.
    names: Vec<String>,
}

/// What to do with a name a plugin asks to resolve.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Resolve this canonical name (granted).
    Resolve(String),
    /// An IP address or something no resolver would be asked about: the
    /// host's implementation answers it without a query.
    NoQuery(String),
    /// Not granted: no query is made.
    Denied,
}

impl Lookups {
    pub fn new(task: &str, grants: &[NetGrant]) -> Lookups {
        let mut names = Vec::new();
        let mut any = false;
        for grant in grants {
            match &grant.host {
                Host::Any => any = true,
                Host::Ip(_) => {}
                Host::Name(name) => names.extend(canonical_name(name)),
            }
        }
        Lookups {
            task: task.to_owned(),
            any,
            names,
        }
    }

    /// Nothing may be looked up (a task without network grants, `describe`).
    pub fn none(task: &str) -> Lookups {
        Lookups::new(task, &[])
    }

    pub fn check(&self, name: &str) -> Lookup {
        match url::Host::parse(name) {
            Ok(url::Host::Domain(domain)) => {
                if self.any || self.names.contains(&domain) {
                    Lookup::Resolve(domain)
                } else {
                    Lookup::Denied
                }
            }
            Ok(url::Host::Ipv4(_) | url::Host::Ipv6(_)) | Err(_) => {
                Lookup::NoQuery(name.to_owned())
            }
        }
    }
}

/// A granted host name as the resolver will see it; none for an IP address.
fn canonical_name(name: &str) -> Option<String> {
    match url::Host::parse(name) {
        Ok(url::Host::Domain(domain)) => Some(domain),
        _ => None,
    }
}

/// The shadowing `ip-name-lookup` host: the plugin's sockets and its [`Lookups`].
pub struct LookupView<'a> {
    lookups: Arc<Lookups>,
    sockets: WasiSocketsCtxView<'a>,
}

struct NameLookup;
impl HasData for NameLookup {
    type Data<'a> = LookupView<'a>;
}

/// Replaces wasmtime-wasi's `ip-name-lookup` (added with the rest of WASI)
/// by the checked one. Call after `wasmtime_wasi::p2::add_to_linker_async`.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let added = ip_name_lookup::add_to_linker::<HostState, NameLookup>(linker, |state| {
        let lookups = state.lookups.clone();
        LookupView {
            lookups,
            sockets: state.sockets(),
        }
    });
    linker.allow_shadowing(false);
    added
}

impl ip_name_lookup::Host for LookupView<'_> {
    fn resolve_addresses(
        &mut self,
        network: Resource<Network>,
        name: String,
    ) -> Result<Resource<ResolveAddressStream>, SocketError> {
        let task = &self.lookups.task;
        match self.lookups.check(&name) {
            Lookup::Resolve(canonical) => {
                tracing::debug!(task = %task, "resolving `{canonical}` (named by allow.network)");
                ip_name_lookup::Host::resolve_addresses(&mut self.sockets, network, canonical)
            }
            Lookup::NoQuery(name) => {
                ip_name_lookup::Host::resolve_addresses(&mut self.sockets, network, name)
            }
            Lookup::Denied => {
                tracing::warn!(
                    task = %task,
                    "name lookup of `{name}` denied: no allow.network grant names that host"
                );
                Err(ErrorCode::AccessDenied.into())
            }
        }
    }
}

// `ip-name-lookup` uses `network`'s types; these only delegate.
impl network_types::Host for LookupView<'_> {
    fn convert_error_code(&mut self, error: SocketError) -> wasmtime::Result<ErrorCode> {
        network_types::Host::convert_error_code(&mut self.sockets, error)
    }

    fn network_error_code(
        &mut self,
        error: Resource<wasmtime::Error>,
    ) -> wasmtime::Result<Option<ErrorCode>> {
        network_types::Host::network_error_code(&mut self.sockets, error)
    }
}

impl network_types::HostNetwork for LookupView<'_> {
    fn drop(&mut self, network: Resource<Network>) -> wasmtime::Result<()> {
        network_types::HostNetwork::drop(&mut self.sockets, network)
    }
}

impl HostResolveAddressStream for LookupView<'_> {
    fn resolve_next_address(
        &mut self,
        stream: Resource<ResolveAddressStream>,
    ) -> Result<Option<IpAddress>, SocketError> {
        HostResolveAddressStream::resolve_next_address(&mut self.sockets, stream)
    }

    fn subscribe(
        &mut self,
        stream: Resource<ResolveAddressStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        HostResolveAddressStream::subscribe(&mut self.sockets, stream)
    }

    fn drop(&mut self, stream: Resource<ResolveAddressStream>) -> wasmtime::Result<()> {
        HostResolveAddressStream::drop(&mut self.sockets, stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookups(grants: &[&str]) -> Lookups {
        let grants: Vec<NetGrant> = grants.iter().map(|g| parse(g).unwrap()).collect();
        Lookups::new("t", &grants)
    }

    #[test]
    fn only_granted_names_are_resolved_in_their_canonical_form() {
        let granted = lookups(&["db:5432", "127.0.0.1:80"]);
        assert_eq!(granted.check("db"), Lookup::Resolve("db".into()));
        assert_eq!(granted.check("DB"), Lookup::Resolve("db".into()));
        for name in [
            "secret.attacker.example",
            "db.attacker.example",
            "db.",
            "xn--db-ubb",
            "dб",
            "localhost",
            "",
        ] {
            assert_ne!(
                std::mem::discriminant(&granted.check(name)),
                std::mem::discriminant(&Lookup::Resolve(String::new())),
                "{name:?}"
            );
        }
        assert_eq!(granted.check("secret.attacker.example"), Lookup::Denied);
        // Percent-encoding decodes to the granted name, and is resolved as that.
        assert_eq!(granted.check("d%62"), Lookup::Resolve("db".into()));
    }

    #[test]
    fn addresses_need_no_query_and_any_host_allows_any_name() {
        let granted = lookups(&["db:5432"]);
        assert_eq!(
            granted.check("10.0.0.1"),
            Lookup::NoQuery("10.0.0.1".into())
        );
        assert_eq!(granted.check("::1"), Lookup::NoQuery("::1".into()));
        assert_eq!(Lookups::none("t").check("db"), Lookup::Denied);
        assert_eq!(
            lookups(&["*:443"]).check("anything.example"),
            Lookup::Resolve("anything.example".into())
        );
    }
}
