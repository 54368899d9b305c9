//! Network faults, made inside the target's network namespace by a helper
//! container (tc, iptables, python3) that the host starts with NET_ADMIN.
//!
//! Everything added is marked: iptables rules live in chains named
//! `RUN-CHAOS-<id>-…` jumped to from the built-in chains, qdiscs carry the
//! handle `c4a0:`. Undo removes exactly those, never anything else.
//!
//! netem is used when the kernel has it (`sch_netem`); otherwise loss falls
//! back to iptables' `statistic` match, latency to a TCP proxy on the given
//! ports (iptables REDIRECT), and bandwidth always uses tbf.

use run_plugin_sdk::containers::Container;
use run_plugin_sdk::{Error, log, network_faults};

/// The handle of every qdisc this plugin adds.
pub const QDISC: &str = "c4a0:";
/// The prefix of every iptables chain this plugin adds.
pub const CHAIN: &str = "RUN-CHAOS-";
/// Where the latency proxy listens (one port per proxied port, upwards).
const PROXY_BASE_PORT: u16 = 47100;

const PROXY: &str = include_str!("proxy.py");

/// Non-loopback interfaces of the namespace, for tc.
const IFACES: &str = "ifs=$(ls /sys/class/net | grep -vx lo)";

/// How a network fault was made (reported, and decides what undo removes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Made {
    pub method: String,
    pub qdisc: bool,
    pub helper: Option<String>,
}

fn sh(target: &Container, image: &str, script: &str) -> Result<String, Error> {
    let out = network_faults::run(target, image, ["sh", "-c", script], Some(60))?;
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
fn try_qdisc(spec: &str) -> String {
    format!(
        "{IFACES}; for d in $ifs; do if ! err=$(tc qdisc add dev $d root handle {QDISC} {spec} 2>&1); then \
         for u in $ifs; do tc qdisc del dev $u root handle {QDISC} 2>/dev/null; done; echo \"no: $err\"; exit 0; fi; done; echo ok"
    )
}

/// Why netem could not be used, in the kernel's words.
fn netem_missing(output: &str) -> Option<String> {
    let line = output.lines().last().unwrap_or_default().trim();
    line.strip_prefix("no: ").map(str::to_owned)
}

pub fn loss(target: &Container, image: &str, id: &str, percent: f64) -> Result<Made, Error> {
    let out = sh(target, image, &try_qdisc(&format!("netem loss {percent}%")))?;
    let Some(why) = netem_missing(&out) else {
        return Ok(Made {
            method: "netem".into(),
            qdisc: true,
            helper: None,
        });
    };
    log::info(format!(
        "netem is not available here ({why}); using iptables statistic for loss"
    ));
    let c = chain(id, "OUT");
    let probability = percent / 100.0;
    sh(
        target,
        image,
        &format!(
            "set -e; iptables -w -N {c}; iptables -w -A {c} -m statistic --mode random --probability {probability} -j DROP; \
             iptables -w -I OUTPUT ! -o lo -m comment --comment run-chaos -j {c}"
        ),
    )?;
    Ok(Made {
        method: "iptables statistic".into(),
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

pub fn bandwidth(target: &Container, image: &str, rate: &str) -> Result<Made, Error> {
    let bytes = rate_bytes(rate)?;
    // tbf needs a bucket of at least rate/HZ; a tenth of a second keeps short
    // transfers honest.
    let burst = (bytes / 10.0).max(4096.0) as u64;
    let rate = rate.trim().to_ascii_lowercase();
    let out = sh(
        target,
        image,
        &try_qdisc(&format!("tbf rate {rate} burst {burst} latency 400ms")),
    )?;
    if let Some(why) = netem_missing(&out) {
        return Err(Error::failed(format!(
            "cannot limit bandwidth in `{}`: tc tbf failed: {why}",
            target.name()
        )));
    }
    Ok(Made {
        method: "tbf".into(),
        qdisc: true,
        helper: None,
    })
}

pub fn delay(
    target: &Container,
    image: &str,
    id: &str,
    delay_ms: u64,
    jitter_ms: u64,
    ports: &[u16],
) -> Result<Made, Error> {
    let out = sh(
        target,
        image,
        &try_qdisc(&format!("netem delay {delay_ms}ms {jitter_ms}ms")),
    )?;
    let Some(why) = netem_missing(&out) else {
        return Ok(Made {
            method: "netem".into(),
            qdisc: true,
            helper: None,
        });
    };
    if ports.is_empty() {
        return Err(Error::unsupported(format!(
            "this kernel cannot delay packets (netem: {why}); latency can only be added to TCP ports \
             through the proxy: give --port (e.g. --port 5432)"
        )));
    }
    log::info(format!(
        "netem is not available here ({why}); delaying TCP ports {ports:?} through a proxy"
    ));
    let mut command = vec![
        "python3".to_owned(),
        "-c".to_owned(),
        PROXY.to_owned(),
        format!("{}", delay_ms as f64 / 1000.0),
        format!("{}", jitter_ms as f64 / 1000.0),
    ];
    let pairs: Vec<(u16, u16)> = ports
        .iter()
        .enumerate()
        .map(|(i, &p)| (PROXY_BASE_PORT + i as u16, p))
        .collect();
    command.extend(pairs.iter().map(|(l, u)| format!("{l}:{u}")));
    let helper = network_faults::spawn(target, image, command)?;
    let made = Made {
        method: "tcp proxy".into(),
        qdisc: false,
        helper: Some(helper.clone()),
    };
    let c = chain(id, "PRE");
    let mut script = format!("set -e; iptables -w -t nat -N {c}; ");
    for (listen, upstream) in &pairs {
        // Wait until the proxy listens, then send the port's traffic to it.
        script.push_str(&format!(
            "python3 -c 'import socket,time,sys\nfor _ in range(100):\n    try:\n        socket.create_connection((\"127.0.0.1\",{listen}),timeout=1).close(); sys.exit(0)\n    except OSError: time.sleep(0.05)\nsys.exit(\"the latency proxy did not start\")'; \
             iptables -w -t nat -A {c} -p tcp --dport {upstream} -j REDIRECT --to-ports {listen}; "
        ));
    }
    script.push_str(&format!(
        "iptables -w -t nat -I PREROUTING -m comment --comment run-chaos -j {c}"
    ));
    if let Err(e) = sh(target, image, &script) {
        let _ = network_faults::remove(&helper);
        return Err(e);
    }
    Ok(made)
}

/// Cuts `target` off from its networks, or only from `peer` (addresses).
pub fn partition(
    target: &Container,
    image: &str,
    id: &str,
    peers: &[String],
    reject: bool,
) -> Result<Made, Error> {
    let (cin, cout) = (chain(id, "IN"), chain(id, "OUT"));
    let verdict = if reject {
        "-p tcp -j REJECT --reject-with tcp-reset; iptables -w -A {C} {M} -j REJECT"
    } else {
        "-j DROP"
    };
    let mut script = format!("set -e; iptables -w -N {cin}; iptables -w -N {cout}; ");
    if reject {
        // The resets and ICMP errors REJECT answers with leave through OUTPUT:
        // let them pass, or the other side would see a timeout, not a refusal.
        script.push_str(&format!(
            "iptables -w -A {cout} -p tcp --tcp-flags RST RST -j RETURN; iptables -w -A {cout} -p icmp -j RETURN; "
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
        for (c, m) in [(&cin, src), (&cout, dst)] {
            let v = verdict.replace("{C}", c).replace("{M}", m);
            script.push_str(&format!("iptables -w -A {c} {m} {v}; "));
        }
    }
    script.push_str(&format!(
        "iptables -w -I INPUT ! -i lo -m comment --comment run-chaos -j {cin}; \
         iptables -w -I OUTPUT ! -o lo -m comment --comment run-chaos -j {cout}"
    ));
    sh(target, image, &script)?;
    Ok(Made {
        method: if reject {
            "iptables REJECT"
        } else {
            "iptables DROP"
        }
        .into(),
        qdisc: false,
        helper: None,
    })
}

/// Removes the chains of fault `id` (every chain of this plugin when `id` is
/// None) and, with `qdisc`, the root qdisc with this plugin's handle.
pub fn undo(target: &Container, image: &str, id: Option<&str>, qdisc: bool) -> Result<(), Error> {
    let pattern = match id {
        Some(id) => format!("{CHAIN}{id}-"),
        None => CHAIN.to_owned(),
    };
    let mut script = format!(
        "for t in filter nat; do \
           iptables-save -t $t | grep '^-A' | grep -e '-j {pattern}' | sed 's/^-A /-D /' | while read -r r; do eval \"iptables -w -t $t $r\"; done; \
           iptables-save -t $t | grep '^:{pattern}' | cut -d' ' -f1 | cut -c2- | while read -r c; do iptables -w -t $t -F \"$c\"; iptables -w -t $t -X \"$c\"; done; \
         done; "
    );
    if qdisc {
        script.push_str(&format!(
            "{IFACES}; for d in $ifs; do if tc qdisc show dev $d | grep -q ' {QDISC} root'; then tc qdisc del dev $d root handle {QDISC}; fi; done; "
        ));
    }
    script.push_str(&format!(
        "if iptables-save | grep -q -e '{pattern}'; then echo 'rules left'; exit 1; fi"
    ));
    sh(target, image, &script).map(drop)
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
        assert_eq!(netem_missing("ok\n"), None);
        assert_eq!(
            netem_missing("no: Error: Specified qdisc kind is unknown.\n").as_deref(),
            Some("Error: Specified qdisc kind is unknown.")
        );
    }
}
