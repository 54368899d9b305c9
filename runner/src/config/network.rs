//! `allow.network` patterns: `host:port`, where the port is a number, a range
//! `a-b`, or `*`, and the host a name, an IP (`[…]` for IPv6) or `*`. Parsed
//! here, once: config validation reports the problem at load time (instead of
//! silently denying every connection), and the network capability uses the
//! parsed grant.

use std::net::IpAddr;

use super::error::NetworkProblem;

/// One parsed `host:port` grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetGrant {
    pub host: Host,
    /// Inclusive port range; `*` is 0..=65535.
    pub ports: (u16, u16),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Any,
    Ip(IpAddr),
    /// A host name, lower-cased; resolved when a plugin starts.
    Name(String),
}

/// Parses `127.0.0.1:5432`, `localhost:*`, `db:8000-8010`, `[::1]:80`, `*:443`.
pub fn parse(pattern: &str) -> Result<NetGrant, NetworkProblem> {
    if pattern.chars().any(char::is_whitespace) {
        return Err(NetworkProblem::Whitespace);
    }
    let Some((host, port)) = pattern.rsplit_once(':') else {
        return Err(NetworkProblem::MissingPort);
    };
    if host.is_empty() || host == "[]" {
        return Err(NetworkProblem::EmptyHost);
    }
    // `::1:80` cannot be split reliably; `[::1]:80` can.
    if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
        return Err(NetworkProblem::UnbracketedIpv6);
    }
    let ports = parse_ports(port)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = match host {
        "*" => Host::Any,
        _ => match host.parse::<IpAddr>() {
            Ok(ip) => Host::Ip(ip),
            Err(_) => Host::Name(host.to_ascii_lowercase()),
        },
    };
    Ok(NetGrant { host, ports })
}

/// Validation only, for the parser of tasks.toml.
pub(crate) fn check(pattern: &str) -> Result<(), NetworkProblem> {
    parse(pattern).map(drop)
}

/// An `allow.ports` entry: a port or a range `a-b` (no `*`: publishing any
/// host port is never what a stack needs). Inclusive.
pub fn check_ports(pattern: &str) -> Result<(u16, u16), NetworkProblem> {
    if pattern == "*" {
        return Err(NetworkProblem::BadPort(pattern.to_owned()));
    }
    parse_ports(pattern)
}

fn parse_ports(port: &str) -> Result<(u16, u16), NetworkProblem> {
    if port == "*" {
        return Ok((0, u16::MAX));
    }
    let number = |s: &str| {
        s.parse::<u16>()
            .ok()
            .filter(|&n| n != 0 && s.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| NetworkProblem::BadPort(s.to_owned()))
    };
    match port.split_once('-') {
        Some((start, end)) => {
            let (start, end) = (number(start)?, number(end)?);
            if start > end {
                return Err(NetworkProblem::BackwardsRange { start, end });
            }
            Ok((start, end))
        }
        None => number(port).map(|p| (p, p)),
    }
}
