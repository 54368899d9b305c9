//! `allow.network` patterns: `host:port`, where the port is a number, a range
//! `a-b`, or `*`. Checked here so a typo fails at load time instead of
//! silently denying every connection at run time.

use super::error::NetworkProblem;

pub(crate) fn check(pattern: &str) -> Result<(), NetworkProblem> {
    if pattern.chars().any(char::is_whitespace) {
        return Err(NetworkProblem::Whitespace);
    }
    let Some((host, port)) = pattern.rsplit_once(':') else {
        return Err(NetworkProblem::MissingPort);
    };
    if host.is_empty() {
        return Err(NetworkProblem::EmptyHost);
    }
    // `::1:80` cannot be split reliably; `[::1]:80` can.
    if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
        return Err(NetworkProblem::UnbracketedIpv6);
    }
    if host == "[]" {
        return Err(NetworkProblem::EmptyHost);
    }
    check_port(port)
}

fn check_port(port: &str) -> Result<(), NetworkProblem> {
    if port == "*" {
        return Ok(());
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
            Ok(())
        }
        None => number(port).map(drop),
    }
}
