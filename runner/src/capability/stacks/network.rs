//! A network's address pools (Compose's `ipam`), checked before the engine
//! sees them: each subnet a CIDR, its gateway, range and reserved addresses
//! inside it, and no subnet over a route of this machine. The engine's
//! bridge driver checks a subnet it is given only against its own networks;
//! one over the host's LAN (or the route to its DNS server) would send the
//! host's traffic for those addresses into the bridge.

use std::collections::HashMap;
use std::net::IpAddr;

use bollard::models::{Ipam, IpamConfig};
use ipnet::IpNet;

use crate::capability::engine::{HostError, HostResult};
use crate::grant::Object;
use crate::plugin::bindings::stacks::{IpamPool, NetworkOptions};

/// A route of this machine: where it leads, and through which interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub destination: IpNet,
    pub interface: String,
}

fn cidr(text: &str, network: &str, what: &str) -> HostResult<IpNet> {
    text.parse::<IpNet>().map_err(|_| {
        HostError::invalid(
            Object::Network,
            network,
            format!("its {what} `{text}` is not a CIDR (e.g. 172.28.0.0/16)"),
        )
    })
}

fn address_in(subnet: &IpNet, text: &str, network: &str, what: &str) -> HostResult<()> {
    match text.parse::<IpAddr>() {
        Ok(a) if subnet.contains(&a) => Ok(()),
        Ok(_) => Err(HostError::invalid(
            Object::Network,
            network,
            format!("its {what} `{text}` is outside its subnet {subnet}"),
        )),
        Err(_) => Err(HostError::invalid(
            Object::Network,
            network,
            format!("its {what} `{text}` is not an IP address"),
        )),
    }
}

/// The engine's IPAM config for `options`, every pool checked; `None` when
/// there is no pool (the engine chooses).
pub fn ipam(network: &str, options: &NetworkOptions, routes: &[Route]) -> HostResult<Option<Ipam>> {
    if options.ipam.is_empty() {
        return Ok(None);
    }
    let mut seen: Vec<IpNet> = Vec::new();
    let mut config = Vec::new();
    for IpamPool {
        subnet,
        gateway,
        ip_range,
        aux_addresses,
    } in &options.ipam
    {
        let net = cidr(subnet, network, "subnet")?;
        if net != net.trunc() {
            return Err(HostError::invalid(
                Object::Network,
                network,
                format!(
                    "its subnet `{subnet}` has host bits set (the subnet is {})",
                    net.trunc()
                ),
            ));
        }
        if matches!(net, IpNet::V6(_)) && !options.enable_ipv6 {
            return Err(HostError::invalid(
                Object::Network,
                network,
                format!(
                    "its subnet {net} is IPv6, and IPv6 is not enabled on it (enable_ipv6: true)"
                ),
            ));
        }
        if let Some(other) = seen.iter().find(|o| overlaps(o, &net)) {
            return Err(HostError::invalid(
                Object::Network,
                network,
                format!("its subnets {other} and {net} overlap"),
            ));
        }
        if let Some(route) = routes.iter().find(|r| overlaps(&r.destination, &net)) {
            return Err(HostError::Conflict(format!(
                "network `{network}`: subnet {net} overlaps this machine's route to {} (via {}): the host would lose those addresses to the bridge; choose a subnet no route of the host covers",
                route.destination, route.interface
            )));
        }
        seen.push(net);
        if let Some(g) = gateway {
            address_in(&net, g, network, "gateway")?;
        }
        if let Some(r) = ip_range {
            let range = cidr(r, network, "ip_range")?;
            if !net.contains(&range) {
                return Err(HostError::invalid(
                    Object::Network,
                    network,
                    format!("its ip_range {range} is outside its subnet {net}"),
                ));
            }
        }
        let mut aux = HashMap::new();
        for (host, address) in aux_addresses {
            address_in(&net, address, network, "aux_addresses entry")?;
            aux.insert(host.clone(), address.clone());
        }
        config.push(IpamConfig {
            subnet: Some(net.to_string()),
            gateway: gateway.clone(),
            ip_range: ip_range.clone(),
            auxiliary_addresses: (!aux.is_empty()).then_some(aux),
        });
    }
    Ok(Some(Ipam {
        driver: Some("default".into()),
        config: Some(config),
        options: None,
    }))
}

fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// Interfaces of the engines' own networks: their routes are networks the
/// engine already checks a new subnet against.
fn engine_interface(name: &str) -> bool {
    name == "docker0"
        || name.starts_with("br-")
        || name.starts_with("veth")
        || name.starts_with("cni-podman")
        || name.starts_with("podman")
}

/// This machine's routes (IPv4 and IPv6), without default routes and the
/// engines' own bridges. An unreadable table gives no routes.
pub fn host_routes() -> Vec<Route> {
    let v4 = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    let v6 = std::fs::read_to_string("/proc/net/ipv6_route").unwrap_or_default();
    parse_routes(&v4, &v6)
}

fn parse_routes(v4: &str, v6: &str) -> Vec<Route> {
    let mut routes = Vec::new();
    // Iface Destination Gateway Flags RefCnt Use Metric Mask ...; addresses
    // in the kernel's byte order, as hex.
    for line in v4.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(iface), Some(dest), Some(mask)) = (f.first(), f.get(1), f.get(7)) else {
            continue;
        };
        let (Ok(dest), Ok(mask)) = (u32::from_str_radix(dest, 16), u32::from_str_radix(mask, 16))
        else {
            continue;
        };
        let prefix = mask.count_ones() as u8;
        let dest = std::net::Ipv4Addr::from(dest.to_le_bytes());
        if prefix == 0 || engine_interface(iface) {
            continue;
        }
        if let Ok(net) = ipnet::Ipv4Net::new(dest, prefix) {
            routes.push(Route {
                destination: IpNet::V4(net.trunc()),
                interface: (*iface).to_owned(),
            });
        }
    }
    // dest prefix src src-prefix next-hop metric refcnt use flags iface.
    for line in v6.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(dest), Some(prefix), Some(iface)) = (f.first(), f.get(1), f.get(9)) else {
            continue;
        };
        let (Ok(dest), Ok(prefix)) = (
            u128::from_str_radix(dest, 16),
            u8::from_str_radix(prefix, 16),
        ) else {
            continue;
        };
        let dest = std::net::Ipv6Addr::from(dest);
        // Multicast and link-local routes sit on every interface.
        let everywhere =
            dest.segments()[0] & 0xff00 == 0xff00 || dest.segments()[0] & 0xffc0 == 0xfe80;
        if prefix == 0 || everywhere || engine_interface(iface) {
            continue;
        }
        if let Ok(net) = ipnet::Ipv6Net::new(dest, prefix) {
            routes.push(Route {
                destination: IpNet::V6(net.trunc()),
                interface: (*iface).to_owned(),
            });
        }
    }
    routes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(subnet: &str) -> IpamPool {
        IpamPool {
            subnet: subnet.into(),
            gateway: None,
            ip_range: None,
            aux_addresses: Vec::new(),
        }
    }

    fn options(pools: Vec<IpamPool>) -> NetworkOptions {
        NetworkOptions {
            ipam: pools,
            enable_ipv6: false,
        }
    }

    fn problem(pools: Vec<IpamPool>, routes: &[Route]) -> String {
        match ipam("n", &options(pools), routes) {
            Err(HostError::InvalidName { reason, .. }) => reason,
            Err(HostError::Conflict(text)) => text,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn routes_are_read_from_the_kernel_tables() {
        let v4 = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                  eth0\t00000000\t0111A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
                  eth0\t0011A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
                  docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";
        let v6 = "fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0\n\
                  fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0\n";
        let routes = parse_routes(v4, v6);
        let shown: Vec<String> = routes
            .iter()
            .map(|r| format!("{} {}", r.destination, r.interface))
            .collect();
        assert_eq!(shown, ["192.168.17.0/24 eth0", "fd00::/64 eth0"]);
    }

    #[test]
    fn pools_are_checked_before_the_engine_sees_them() {
        let lan = parse_routes(
            "h\neth0\t0011A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n",
            "",
        );
        let ok = ipam(
            "n",
            &options(vec![IpamPool {
                subnet: "172.28.0.0/16".into(),
                gateway: Some("172.28.0.1".into()),
                ip_range: Some("172.28.5.0/24".into()),
                aux_addresses: vec![("printer".into(), "172.28.1.5".into())],
            }]),
            &lan,
        )
        .unwrap()
        .unwrap();
        let config = &ok.config.unwrap()[0];
        assert_eq!(config.subnet.as_deref(), Some("172.28.0.0/16"));
        assert_eq!(config.gateway.as_deref(), Some("172.28.0.1"));
        assert!(ipam("n", &options(Vec::new()), &lan).unwrap().is_none());

        assert!(problem(vec![pool("172.28.0.0")], &lan).contains("not a CIDR"));
        assert!(problem(vec![pool("172.28.0.1/16")], &lan).contains("host bits"));
        assert!(problem(vec![pool("fd00:1::/64")], &lan).contains("IPv6 is not enabled"));
        assert!(
            problem(vec![pool("10.1.0.0/16"), pool("10.1.2.0/24")], &lan)
                .contains("subnets 10.1.0.0/16 and 10.1.2.0/24 overlap")
        );
        let over = problem(vec![pool("192.168.0.0/16")], &lan);
        assert!(
            over.contains("overlaps this machine's route to 192.168.17.0/24 (via eth0)"),
            "{over}"
        );
        let mut outside = pool("172.28.0.0/16");
        outside.gateway = Some("172.29.0.1".into());
        assert!(problem(vec![outside], &lan).contains("gateway `172.29.0.1` is outside"));
        let mut range = pool("172.28.0.0/16");
        range.ip_range = Some("172.0.0.0/8".into());
        assert!(problem(vec![range], &lan).contains("ip_range 172.0.0.0/8 is outside"));
        let mut aux = pool("172.28.0.0/16");
        aux.aux_addresses = vec![("h".into(), "nope".into())];
        assert!(problem(vec![aux], &lan).contains("is not an IP address"));
    }
}
