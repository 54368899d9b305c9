//! Network faults, made inside the target's network namespace by a helper
//! container (tc, iptables, ip, ss, python3) that the host starts with
//! NET_ADMIN.
//!
//! Everything added is marked: iptables rules live in chains named
//! `RUN-CHAOS-<id>-…` jumped to from the built-in chains, qdiscs carry the
//! handle `c4a0:`, the latency proxy's routing rule the mark `0xc4a0`, and
//! every helper container the fault's id in its name
//! (`run-netns-<target>-<id>-…`). Undo removes exactly those, never anything
//! else.
//!
//! The scripts are built by pure functions, so `run --plan` prints exactly
//! what a run would do. netem is used when the kernel has it (`sch_netem`);
//! otherwise loss falls back to iptables' `statistic` match, latency on TCP
//! ports to a transparent proxy (iptables REDIRECT, the client's address kept),
//! bandwidth uses tbf (htb with u32 filters for a peer or ports), and the
//! faults only netem can make are refused, naming the missing module.

use run_plugin_sdk::containers::Container;
use run_plugin_sdk::{Error, log, network_faults};

/// The handle of every qdisc this plugin adds.
pub const QDISC: &str = "c4a0:";
/// The prefix of every iptables chain this plugin adds.
pub const CHAIN: &str = "RUN-CHAOS-";
/// The firewall mark of the latency proxy's connections to the service, and
/// the routing table (50336 = 0xc4a0) that sends the service's answers back
/// to the proxy instead of to the client whose address the proxy borrowed.
pub const MARK: &str = "0xc4a0";
pub const TABLE: u32 = 0xc4a0;
/// Where the latency proxy listens (one port per proxied port, upwards).
const PROXY_BASE_PORT: u16 = 47100;
/// How long undo waits for connections through the proxy to end (beyond
/// three times the delay) before it removes the proxy.
const DRAIN_MS: u64 = 5000;

const PROXY: &str = include_str!("proxy.py");

/// Non-loopback interfaces of the namespace, for tc.
const IFACES: &str = "ifs=$(ls /sys/class/net | grep -vx lo)";

/// How a network fault was made (reported, and decides what undo removes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Made {
    pub method: String,
    pub qdisc: bool,
    /// A long-lived helper the fault lives in (the stress helper), journaled.
    pub helper: Option<String>,
}

/// Only part of the traffic: to or from these addresses, of these ports
/// (as the target's own port or the remote one). Empty: everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Only {
    pub addresses: Vec<String>,
    pub ports: Vec<u16>,
}

impl Only {
    pub fn is_all(&self) -> bool {
        self.addresses.is_empty() && self.ports.is_empty()
    }

    /// iptables matches for what the target sends (one rule each).
    fn egress_matches(&self) -> Vec<String> {
        let dsts: Vec<String> = if self.addresses.is_empty() {
            vec![String::new()]
        } else {
            self.addresses.iter().map(|a| format!("-d {a} ")).collect()
        };
        let mut out = Vec::new();
        for d in &dsts {
            if self.ports.is_empty() {
                out.push(d.trim_end().to_owned());
            }
            for p in &self.ports {
                for proto in ["tcp", "udp"] {
                    for dir in ["sport", "dport"] {
                        out.push(format!("{d}-p {proto} --{dir} {p}"));
                    }
                }
            }
        }
        out
    }

    /// tc u32 filters sending the matched traffic to class `c4a0:2`.
    fn u32_filters(&self) -> Vec<String> {
        let mut out = Vec::new();
        let filter = "tc filter add dev $d parent c4a0: protocol ip prio 1 u32";
        match (self.addresses.is_empty(), self.ports.is_empty()) {
            (true, true) => {}
            (false, true) => {
                for a in &self.addresses {
                    out.push(format!("{filter} match ip dst {} flowid c4a0:2", cidr(a)));
                }
            }
            (true, false) => {
                for p in &self.ports {
                    for dir in ["sport", "dport"] {
                        out.push(format!("{filter} match ip {dir} {p} 0xffff flowid c4a0:2"));
                    }
                }
            }
            (false, false) => {
                for a in &self.addresses {
                    for p in &self.ports {
                        for dir in ["sport", "dport"] {
                            out.push(format!(
                                "{filter} match ip dst {} match ip {dir} {p} 0xffff flowid c4a0:2",
                                cidr(a)
                            ));
                        }
                    }
                }
            }
        }
        out
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.addresses.is_empty() {
            parts.push(format!("to {}", self.addresses.join(", ")));
        }
        if !self.ports.is_empty() {
            let ports: Vec<String> = self.ports.iter().map(u16::to_string).collect();
            parts.push(format!("of port {}", ports.join(", ")));
        }
        parts.join(" ")
    }
}

fn cidr(address: &str) -> String {
    if address.contains('/') {
        address.to_owned()
    } else {
        format!("{address}/32")
    }
}

/// Which way a partition cuts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    Both,
    /// What the target receives.
    In,
    /// What the target sends.
    Out,
}

impl Direction {
    pub fn parse(text: &str) -> Result<Direction, Error> {
        match text {
            "both" => Ok(Direction::Both),
            "in" | "ingress" => Ok(Direction::In),
            "out" | "egress" => Ok(Direction::Out),
            other => Err(Error::invalid_input(format!(
                "--direction `{other}`: use in (what the target receives), out (what it sends) or both"
            ))),
        }
    }
}

/// A step of a fault: a script run in a helper.
fn sh(target: &Container, image: &str, tag: &str, script: &str) -> Result<String, Error> {
    let out = network_faults::run_tagged(target, image, ["sh", "-c", script], Some(60), tag)?;
    if out.exit_code != 0 {
        return Err(Error::failed(format!(
            "the network helper in `{}` failed (exit {}): {}",
            target.name(),
            out.exit_code,
            out.output.trim()
        )));
    }
    Ok(out.output)
}

fn chain(id: &str, dir: &str) -> String {
    format!("{CHAIN}{id}-{dir}")
}

/// Adds a root qdisc `spec` on every interface; prints `ok` or the error.
pub fn try_qdisc(spec: &str) -> String {
    format!(
        "{IFACES}; for d in $ifs; do if ! err=$(tc qdisc add dev $d root handle {QDISC} {spec} 2>&1); then \
         for u in $ifs; do tc qdisc del dev $u root handle {QDISC} 2>/dev/null; done; echo \"no: $err\"; exit 0; fi; done; echo ok"
    )
}

/// Why a qdisc could not be added, in the kernel's words.
fn qdisc_missing(output: &str) -> Option<String> {
    let line = output.lines().last().unwrap_or_default().trim();
    line.strip_prefix("no: ").map(str::to_owned)
}

/// What a fault that only netem can make says on a kernel without it.
pub fn netem_refusal(what: &str, why: &str) -> Error {
    Error::unsupported(format!(
        "{what} needs the kernel's netem qdisc (module sch_netem, CONFIG_NET_SCH_NETEM), which this kernel lacks \
         (`tc qdisc add … netem` answered: {why}); nothing was changed. Load it on the host (`modprobe sch_netem`) \
         or run on a kernel that has it"
    ))
}

/// A fault made by a netem qdisc alone (duplicate, corrupt, reorder, loss
/// models and correlations, jitter distributions).
pub fn netem_only(
    target: &Container,
    image: &str,
    id: &str,
    spec: &str,
    what: &str,
) -> Result<Made, Error> {
    let out = sh(target, image, id, &try_qdisc(&format!("netem {spec}")))?;
    match qdisc_missing(&out) {
        None => Ok(Made {
            method: format!("netem {spec}"),
            qdisc: true,
            helper: None,
        }),
        Some(why) => Err(netem_refusal(what, &why)),
    }
}

/// The iptables fallback of loss: a `statistic` DROP on what the target sends.
pub fn loss_script(id: &str, percent: f64, only: &Only) -> String {
    let c = chain(id, "OUT");
    let probability = percent / 100.0;
    let mut script = format!("set -e; iptables -w -N {c}; ");
    for m in only.egress_matches() {
        let m = if m.is_empty() { m } else { format!("{m} ") };
        script.push_str(&format!(
            "iptables -w -A {c} {m}-m statistic --mode random --probability {probability} -j DROP; "
        ));
    }
    script.push_str(&format!(
        "iptables -w -I OUTPUT ! -o lo -m comment --comment run-chaos -j {c}"
    ));
    script
}

/// Loss: netem on every packet when the kernel has it and nothing narrows
/// the fault; iptables statistic otherwise (it can match a peer or ports).
pub fn loss(
    target: &Container,
    image: &str,
    id: &str,
    percent: f64,
    only: &Only,
) -> Result<Made, Error> {
    if only.is_all() {
        let out = sh(
            target,
            image,
            id,
            &try_qdisc(&format!("netem loss {percent}%")),
        )?;
        let Some(why) = qdisc_missing(&out) else {
            return Ok(Made {
                method: "netem".into(),
                qdisc: true,
                helper: None,
            });
        };
        log::info(format!(
            "netem is not available here ({why}); using iptables statistic for loss"
        ));
    }
    sh(target, image, id, &loss_script(id, percent, only))?;
    let scope = only.describe();
    Ok(Made {
        method: if scope.is_empty() {
            "iptables statistic".into()
        } else {
            format!("iptables statistic, {scope}")
        },
        qdisc: false,
        helper: None,
    })
}

/// `1mbit`, `512kbit`, `10mbps` as bytes per second, for tbf's burst.
pub fn rate_bytes(rate: &str) -> Result<f64, Error> {
    let rate = rate.trim().to_ascii_lowercase();
    let split = rate
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rate.len());
    let number: f64 = rate[..split].parse().map_err(|_| bad_rate(&rate))?;
    let per_bit = match &rate[split..] {
        "bit" => 1.0 / 8.0,
        "kbit" => 1e3 / 8.0,
        "mbit" => 1e6 / 8.0,
        "gbit" => 1e9 / 8.0,
        "bps" => 1.0,
        "kbps" => 1e3,
        "mbps" => 1e6,
        "gbps" => 1e9,
        _ => return Err(bad_rate(&rate)),
    };
    if number <= 0.0 {
        return Err(bad_rate(&rate));
    }
    Ok(number * per_bit)
}

fn bad_rate(rate: &str) -> Error {
    Error::invalid_input(format!(
        "--rate `{rate}` is not a rate: use e.g. 1mbit, 512kbit or 2mbps (bytes)"
    ))
}

/// The qdiscs of a bandwidth limit: tbf on everything, or htb whose class
/// `c4a0:2` (limited) takes what the u32 filters match, the rest unlimited.
pub fn bandwidth_script(rate: &str, only: &Only) -> Result<String, Error> {
    let bytes = rate_bytes(rate)?;
    // tbf needs a bucket of at least rate/HZ; a tenth of a second keeps short
    // transfers honest.
    let burst = (bytes / 10.0).max(4096.0) as u64;
    let rate = rate.trim().to_ascii_lowercase();
    if only.is_all() {
        return Ok(try_qdisc(&format!(
            "tbf rate {rate} burst {burst} latency 400ms"
        )));
    }
    let mut script = format!(
        "set -e; {IFACES}; for d in $ifs; do tc qdisc add dev $d root handle {QDISC} htb default 1 r2q 1000; \
         tc class add dev $d parent {QDISC} classid c4a0:1 htb rate 100gbit; \
         tc class add dev $d parent {QDISC} classid c4a0:2 htb rate {rate} ceil {rate} burst {burst}; "
    );
    for f in only.u32_filters() {
        script.push_str(&f);
        script.push_str("; ");
    }
    script.push_str("done; echo ok");
    Ok(script)
}

pub fn bandwidth(
    target: &Container,
    image: &str,
    id: &str,
    rate: &str,
    only: &Only,
) -> Result<Made, Error> {
    let script = bandwidth_script(rate, only)?;
    let out = match sh(target, image, id, &script) {
        Ok(out) => out,
        Err(e) => {
            // htb half made on some interface: take it away before failing.
            let _ = sh(target, image, id, &undo_script(id, true));
            return Err(e);
        }
    };
    if let Some(why) = qdisc_missing(&out) {
        return Err(Error::failed(format!(
            "cannot limit bandwidth in `{}`: tc tbf failed: {why}",
            target.name()
        )));
    }
    let scope = only.describe();
    Ok(Made {
        method: if scope.is_empty() {
            "tbf".into()
        } else {
            format!("htb, {scope}")
        },
        qdisc: true,
        helper: None,
    })
}

/// The netem qdisc of a delay (with jitter, correlation and distribution).
pub fn delay_spec(
    delay_ms: u64,
    jitter_ms: u64,
    correlation: Option<f64>,
    distribution: Option<&str>,
) -> String {
    let mut spec = format!("delay {delay_ms}ms {jitter_ms}ms");
    if let Some(c) = correlation {
        spec.push_str(&format!(" {c}%"));
    }
    if let Some(d) = distribution {
        spec.push_str(&format!(" distribution {d}"));
    }
    spec
}

fn proxy_pairs(ports: &[u16]) -> Vec<(u16, u16)> {
    ports
        .iter()
        .enumerate()
        .map(|(i, &p)| (PROXY_BASE_PORT + i as u16, p))
        .collect()
}

/// The latency proxy's command (the script itself is proxy.py).
pub fn proxy_command(delay_ms: u64, jitter_ms: u64, ports: &[u16]) -> Vec<String> {
    let mut command = vec![
        "python3".to_owned(),
        "-c".to_owned(),
        PROXY.to_owned(),
        format!("{}", delay_ms as f64 / 1000.0),
        format!("{}", jitter_ms as f64 / 1000.0),
        MARK.to_owned(),
    ];
    command.extend(proxy_pairs(ports).iter().map(|(l, u)| format!("{l}:{u}")));
    command
}

/// Sends `ports` to the running proxy, keeping clients' addresses: the
/// proxy connects to the service from the client's address (IP_TRANSPARENT)
/// with the mark 0xc4a0; the mark is saved on the connection, put back on
/// the service's answers, and a routing rule delivers marked packets locally
/// (to the proxy) instead of sending them to the client.
pub fn redirect_script(id: &str, ports: &[u16]) -> String {
    let (nat, mangle) = (chain(id, "PRE"), chain(id, "MARK"));
    let mut script = format!(
        "set -e; iptables -w -t mangle -N {mangle}; \
         iptables -w -t mangle -A {mangle} -m mark --mark {MARK} -j CONNMARK --save-mark; \
         iptables -w -t mangle -A {mangle} -m connmark --mark {MARK} -j MARK --set-mark {MARK}; \
         iptables -w -t mangle -I OUTPUT -m comment --comment run-chaos -j {mangle}; \
         ip rule show | grep -q 'fwmark {MARK} lookup {TABLE}' || ip rule add fwmark {MARK} lookup {TABLE} pref 10000; \
         ip route replace local 0.0.0.0/0 dev lo table {TABLE}; \
         iptables -w -t nat -N {nat}; "
    );
    for (listen, upstream) in proxy_pairs(ports) {
        // Wait until the proxy listens, then send the port's traffic to it.
        script.push_str(&format!(
            "python3 -c 'import socket,time,sys\nfor _ in range(100):\n    try:\n        socket.create_connection((\"127.0.0.1\",{listen}),timeout=1).close(); sys.exit(0)\n    except OSError: time.sleep(0.05)\nsys.exit(\"the latency proxy did not start\")'; \
             iptables -w -t nat -A {nat} ! -i lo -p tcp --dport {upstream} -j REDIRECT --to-ports {listen}; "
        ));
    }
    script.push_str(&format!(
        "iptables -w -t nat -I PREROUTING -m comment --comment run-chaos -j {nat}"
    ));
    script
}

/// Latency: netem on every packet when the kernel has it; otherwise the
/// transparent proxy on the given TCP ports. Options only netem has
/// (correlation, distribution) are refused without it.
#[allow(clippy::too_many_arguments)]
pub fn delay(
    target: &Container,
    image: &str,
    id: &str,
    delay_ms: u64,
    jitter_ms: u64,
    correlation: Option<f64>,
    distribution: Option<&str>,
    ports: &[u16],
) -> Result<Made, Error> {
    let spec = delay_spec(delay_ms, jitter_ms, correlation, distribution);
    let out = sh(target, image, id, &try_qdisc(&format!("netem {spec}")))?;
    let Some(why) = qdisc_missing(&out) else {
        return Ok(Made {
            method: format!("netem {spec}"),
            qdisc: true,
            helper: None,
        });
    };
    if correlation.is_some() || distribution.is_some() {
        return Err(netem_refusal(
            "a delay with a correlation or a distribution",
            &why,
        ));
    }
    if ports.is_empty() {
        return Err(Error::unsupported(format!(
            "this kernel cannot delay packets: it lacks the netem qdisc (module sch_netem; `tc` answered: {why}). \
             Latency can only be added to TCP ports through the proxy: give --port (e.g. --port 5432)"
        )));
    }
    log::info(format!(
        "netem is not available here ({why}); delaying TCP ports {ports:?} through a transparent proxy"
    ));
    network_faults::spawn_tagged(target, image, proxy_command(delay_ms, jitter_ms, ports), id)?;
    // The caller undoes a half-made fault (rules, proxy) by its id.
    sh(target, image, id, &redirect_script(id, ports))?;
    Ok(Made {
        method: "transparent tcp proxy".into(),
        qdisc: false,
        helper: None,
    })
}

/// The rules cutting `target` off from its networks, or only from `peers`
/// (addresses), in one direction or both.
pub fn partition_script(id: &str, peers: &[String], reject: bool, direction: Direction) -> String {
    let (cin, cout) = (chain(id, "IN"), chain(id, "OUT"));
    let verdict = if reject {
        "-p tcp -j REJECT --reject-with tcp-reset; iptables -w -A {C} {M} -j REJECT"
    } else {
        "-j DROP"
    };
    let inbound = direction != Direction::Out;
    let outbound = direction != Direction::In;
    let mut script = String::from("set -e; ");
    if inbound {
        script.push_str(&format!("iptables -w -N {cin}; "));
    }
    if outbound {
        script.push_str(&format!("iptables -w -N {cout}; "));
        if reject && inbound {
            // The resets and ICMP errors REJECT answers with leave through
            // OUTPUT: let them pass, or the other side would see a timeout.
            script.push_str(&format!(
                "iptables -w -A {cout} -p tcp --tcp-flags RST RST -j RETURN; iptables -w -A {cout} -p icmp -j RETURN; "
            ));
        }
    }
    if direction != Direction::Both {
        // One way: the packets of connections the other side started pass
        // (replies to the target's own connections inbound, its answers
        // outbound); those of the cut-off side's connections do not.
        let c = if inbound { &cin } else { &cout };
        script.push_str(&format!(
            "iptables -w -A {c} -m conntrack --ctdir REPLY -j RETURN; "
        ));
    }
    let matches: Vec<(String, String)> = if peers.is_empty() {
        vec![(String::new(), String::new())]
    } else {
        peers
            .iter()
            .map(|p| (format!("-s {p}"), format!("-d {p}")))
            .collect()
    };
    for (src, dst) in &matches {
        let mut pairs = Vec::new();
        if inbound {
            pairs.push((&cin, src));
        }
        if outbound {
            pairs.push((&cout, dst));
        }
        for (c, m) in pairs {
            let v = verdict.replace("{C}", c).replace("{M}", m);
            script.push_str(&format!("iptables -w -A {c} {m} {v}; "));
        }
    }
    let mut jumps = Vec::new();
    if inbound {
        jumps.push(format!(
            "iptables -w -I INPUT ! -i lo -m comment --comment run-chaos -j {cin}"
        ));
    }
    if outbound {
        jumps.push(format!(
            "iptables -w -I OUTPUT ! -o lo -m comment --comment run-chaos -j {cout}"
        ));
    }
    script.push_str(&jumps.join("; "));
    script
}

pub fn partition(
    target: &Container,
    image: &str,
    id: &str,
    peers: &[String],
    reject: bool,
    direction: Direction,
) -> Result<Made, Error> {
    sh(
        target,
        image,
        id,
        &partition_script(id, peers, reject, direction),
    )?;
    let way = match direction {
        Direction::Both => "",
        Direction::In => ", inbound only",
        Direction::Out => ", outbound only",
    };
    Ok(Made {
        method: format!(
            "{}{way}",
            if reject {
                "iptables REJECT"
            } else {
                "iptables DROP"
            }
        ),
        qdisc: false,
        helper: None,
    })
}

/// Removes the latency proxy's redirect of fault `id` (new connections go
/// straight to the service from then on), then waits for the connections
/// still going through the proxy to end, at most `DRAIN_MS` plus three
/// times the delay. Prints what it did.
pub fn drain_script(id: &str, delay_ms: u64) -> String {
    let nat = chain(id, "PRE");
    let ticks = (DRAIN_MS + 3 * delay_ms) / 100;
    let end = PROXY_BASE_PORT + 100;
    let through =
        format!("ss -Htn state established '( sport >= :{PROXY_BASE_PORT} and sport < :{end} )'");
    format!(
        "iptables-save -t nat | grep '^-A' | grep -e '-j {nat}' | sed 's/^-A /-D /' | while read -r r; do eval \"iptables -w -t nat $r\"; done; \
         if iptables-save -t nat | grep -q '^:{nat} '; then iptables -w -t nat -F {nat}; iptables -w -t nat -X {nat}; echo 'removed the redirect to the proxy (nat chain {nat})'; fi; \
         n0=$({through} | wc -l); i=0; while [ $i -lt {ticks} ] && [ -n \"$({through})\" ]; do sleep 0.1; i=$((i+1)); done; \
         n=$({through} | wc -l); if [ \"$n0\" != 0 ]; then echo \"waited $((i*100))ms for $n0 connection(s) through the proxy to end ($n still open, closed with it)\"; fi"
    )
}

/// Removes the chains of fault `id` (every chain of this plugin when `id` is
/// None), the proxy's routing rule once no proxy's chain is left and, with
/// `qdisc`, the root qdisc with this plugin's handle. Prints what it removed;
/// fails if a rule of `id` is left.
pub fn undo_script(id: &str, qdisc: bool) -> String {
    let pattern = format!("{CHAIN}{id}-");
    let mut script = format!(
        "for t in filter nat mangle; do \
           iptables-save -t $t | grep '^-A' | grep -e '-j {pattern}' | sed 's/^-A /-D /' | while read -r r; do eval \"iptables -w -t $t $r\"; done; \
           iptables-save -t $t | grep '^:{pattern}' | cut -d' ' -f1 | cut -c2- | while read -r c; do iptables -w -t $t -F \"$c\"; iptables -w -t $t -X \"$c\"; echo \"removed $t chain $c\"; done; \
         done; \
         if ! iptables-save -t mangle | grep -q '^:{CHAIN}'; then \
           while ip rule del fwmark {MARK} lookup {TABLE} 2>/dev/null; do echo 'removed the routing rule fwmark {MARK}'; done; \
           if [ -n \"$(ip route show table {TABLE} 2>/dev/null)\" ]; then ip route flush table {TABLE}; fi; \
         fi; "
    );
    if qdisc {
        script.push_str(&format!(
            "{IFACES}; for d in $ifs; do if tc qdisc show dev $d | grep -q ' {QDISC} root'; then tc qdisc del dev $d root handle {QDISC}; echo \"removed qdisc {QDISC} on $d\"; fi; done; "
        ));
    }
    script.push_str(&format!(
        "if iptables-save | grep -q -e '{pattern}'; then echo 'rules left'; exit 1; fi"
    ));
    script
}

/// Lines a script printed, as what undo did.
fn said(output: &str) -> Vec<String> {
    output
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

pub fn drain(
    target: &Container,
    image: &str,
    id: &str,
    delay_ms: u64,
) -> Result<Vec<String>, Error> {
    sh(target, image, id, &drain_script(id, delay_ms)).map(|o| said(&o))
}

pub fn undo(target: &Container, image: &str, id: &str, qdisc: bool) -> Result<Vec<String>, Error> {
    sh(target, image, id, &undo_script(id, qdisc)).map(|o| said(&o))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_in_bits_and_bytes() {
        assert_eq!(rate_bytes("1mbit").unwrap(), 125_000.0);
        assert_eq!(rate_bytes("2kbps").unwrap(), 2_000.0);
        assert!(rate_bytes("fast").is_err());
        assert!(rate_bytes("0mbit").is_err());
    }

    #[test]
    fn netem_absence_is_read_from_the_helper() {
        assert_eq!(qdisc_missing("ok\n"), None);
        assert_eq!(
            qdisc_missing("no: Error: Specified qdisc kind is unknown.\n").as_deref(),
            Some("Error: Specified qdisc kind is unknown.")
        );
        let e = netem_refusal("duplicate", "Error: Specified qdisc kind is unknown.");
        assert!(e.message().contains("sch_netem"), "{e}");
    }

    #[test]
    fn loss_can_be_narrowed_to_a_peer_and_ports() {
        let all = loss_script("abc", 30.0, &Only::default());
        assert!(
            all.contains(
                "-A RUN-CHAOS-abc-OUT -m statistic --mode random --probability 0.3 -j DROP"
            ),
            "{all}"
        );
        let only = Only {
            addresses: vec!["10.0.0.2".into()],
            ports: vec![5432],
        };
        let s = loss_script("abc", 50.0, &only);
        assert!(
            s.contains("-A RUN-CHAOS-abc-OUT -d 10.0.0.2 -p tcp --sport 5432 -m statistic"),
            "{s}"
        );
        assert!(s.contains("-d 10.0.0.2 -p udp --dport 5432"), "{s}");
        assert!(!s.contains("-A RUN-CHAOS-abc-OUT -m statistic"), "{s}");
    }

    #[test]
    fn a_narrowed_rate_uses_htb_with_filters() {
        let s = bandwidth_script(
            "1mbit",
            &Only {
                addresses: vec!["10.0.0.2".into()],
                ports: vec![],
            },
        )
        .unwrap();
        assert!(s.contains("htb default 1"), "{s}");
        assert!(s.contains("match ip dst 10.0.0.2/32 flowid c4a0:2"), "{s}");
        assert!(
            bandwidth_script("1mbit", &Only::default())
                .unwrap()
                .contains("tbf rate 1mbit")
        );
    }

    #[test]
    fn one_way_partitions_make_one_chain() {
        let s = partition_script("abc", &[], false, Direction::In);
        assert!(s.contains("-I INPUT") && !s.contains("OUTPUT"), "{s}");
        let s = partition_script("abc", &["10.0.0.9".into()], true, Direction::Out);
        assert!(s.contains("-I OUTPUT") && !s.contains("INPUT"), "{s}");
        assert!(
            s.contains("-A RUN-CHAOS-abc-OUT -d 10.0.0.9 -p tcp -j REJECT"),
            "{s}"
        );
        let s = partition_script("abc", &[], true, Direction::Both);
        assert!(s.contains("--tcp-flags RST RST -j RETURN"), "{s}");
    }

    #[test]
    fn undo_removes_the_redirect_before_the_proxy_and_the_routing_last() {
        let d = drain_script("abc", 300);
        let removed = d.find("-F RUN-CHAOS-abc-PRE").unwrap();
        let waited = d.find("ss -Htn").unwrap();
        assert!(removed < waited, "{d}");
        let u = undo_script("abc", false);
        assert!(u.contains("ip rule del fwmark 0xc4a0"), "{u}");
        assert!(u.contains("for t in filter nat mangle"), "{u}");
    }

    #[test]
    fn netem_specs_carry_correlation_and_distribution() {
        assert_eq!(delay_spec(100, 10, None, None), "delay 100ms 10ms");
        assert_eq!(
            delay_spec(100, 10, Some(25.0), Some("normal")),
            "delay 100ms 10ms 25% distribution normal"
        );
    }
}
