//! Faults: what each one does, how it is undone, and the journal around both.

use std::time::Duration;

use run_plugin_sdk::containers::{self, Container, ContainerState, Signal};
use run_plugin_sdk::time::Timestamp;
use run_plugin_sdk::{Error, ErrorKind, log, network_faults};

use crate::duration;
use crate::journal::{Entry, Journal};
use crate::net;
use crate::report::Report;
use crate::spec::Fields;

/// A fault, validated.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Pause,
    Stop,
    Kill {
        signal: Signal,
    },
    Restart,
    Loss {
        percent: f64,
    },
    Delay {
        ms: u64,
        jitter_ms: u64,
        ports: Vec<u16>,
    },
    Bandwidth {
        rate: String,
    },
    Partition {
        peer: Option<String>,
        reject: bool,
    },
}

pub const NAMES: &str = "pause, stop, kill, restart, loss, delay, bandwidth, partition";

impl Kind {
    pub fn from_fields(f: &Fields) -> Result<Kind, Error> {
        let name = f.fault.as_deref().ok_or_else(|| {
            Error::invalid_input(format!(
                "name a fault ({NAMES}), or use --recover or verify-data"
            ))
        })?;
        let ms = |what: &str, text: &Option<String>| -> Result<u64, Error> {
            match text {
                None => Ok(0),
                Some(t) => duration::parse(t)
                    .map(|d| d.as_millis() as u64)
                    .map_err(|e| Error::invalid_input(format!("--{what}: {e}"))),
            }
        };
        Ok(match name {
            "pause" => Kind::Pause,
            "stop" => Kind::Stop,
            "kill" => Kind::Kill {
                signal: match &f.signal {
                    Some(signal) => signal.parse()?,
                    None => Signal::Sigkill,
                },
            },
            "restart" => Kind::Restart,
            "loss" => {
                let percent = f.percent.ok_or_else(|| {
                    Error::invalid_input("loss needs --percent (e.g. --percent 30)")
                })?;
                if !(0.0..=100.0).contains(&percent) || percent == 0.0 {
                    return Err(Error::invalid_input(format!(
                        "--percent {percent} must be above 0 and at most 100"
                    )));
                }
                Kind::Loss { percent }
            }
            "delay" | "latency" => {
                let ms_value = ms("delay", &f.delay)?;
                if ms_value == 0 {
                    return Err(Error::invalid_input(
                        "delay needs --delay (e.g. --delay 200ms)",
                    ));
                }
                Kind::Delay {
                    ms: ms_value,
                    jitter_ms: ms("jitter", &f.jitter)?,
                    ports: f.port.clone().unwrap_or_default(),
                }
            }
            "bandwidth" | "rate" => {
                let rate = f.rate.clone().ok_or_else(|| {
                    Error::invalid_input("bandwidth needs --rate (e.g. --rate 1mbit)")
                })?;
                net::rate_bytes(&rate)?;
                Kind::Bandwidth { rate }
            }
            "partition" => Kind::Partition {
                peer: f.peer.clone(),
                reject: f.reject.unwrap_or(false),
            },
            other => {
                return Err(Error::invalid_input(format!(
                    "unknown fault `{other}`; faults are {NAMES}"
                )));
            }
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Kind::Pause => "pause",
            Kind::Stop => "stop",
            Kind::Kill { .. } => "kill",
            Kind::Restart => "restart",
            Kind::Loss { .. } => "loss",
            Kind::Delay { .. } => "delay",
            Kind::Bandwidth { .. } => "bandwidth",
            Kind::Partition { .. } => "partition",
        }
    }

    pub fn is_network(&self) -> bool {
        matches!(
            self,
            Kind::Loss { .. }
                | Kind::Delay { .. }
                | Kind::Bandwidth { .. }
                | Kind::Partition { .. }
        )
    }

    fn describe(&self) -> String {
        match self {
            Kind::Pause => "paused".into(),
            Kind::Stop => "stopped".into(),
            Kind::Kill { signal } => format!("killed with {signal}"),
            Kind::Restart => "restarted".into(),
            Kind::Loss { percent } => format!("{percent}% packet loss"),
            Kind::Delay {
                ms,
                jitter_ms,
                ports,
            } => {
                let ports = if ports.is_empty() {
                    String::new()
                } else {
                    format!(" on ports {ports:?}")
                };
                format!("{ms}ms ± {jitter_ms}ms latency{ports}")
            }
            Kind::Bandwidth { rate } => format!("bandwidth limited to {rate}"),
            Kind::Partition { peer: None, .. } => "cut off from its networks".into(),
            Kind::Partition { peer: Some(p), .. } => format!("cut off from {p}"),
        }
    }
}

/// A short unique id: network chains and journal entries carry it.
pub fn new_id() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{:06x}",
        ((nanos >> 10) as u32).wrapping_add(n.wrapping_mul(0x9e37)) & 0xff_ffff
    )
}

/// A number in 0..n, from the clock (good enough to pick a victim).
pub fn pick(n: usize) -> usize {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default() as usize;
    (nanos / 7 + nanos % 1009) % n.max(1)
}

/// Containers a `--target` names: a name, a glob, or `label=KEY=VALUE`, among
/// the granted ones; with `random`, one of them.
pub fn targets(target: &str, random: bool) -> Result<Vec<String>, Error> {
    let mut names: Vec<String> = containers::list(target)?
        .into_iter()
        .map(|c| c.name)
        .collect();
    if names.is_empty() {
        return Err(Error::not_found(format!(
            "no granted container matches --target `{target}` (a name, a glob or label=KEY=VALUE among allow.containers)"
        )));
    }
    if random {
        let chosen = names.swap_remove(pick(names.len()));
        log::info(format!("picked `{chosen}` at random"));
        names = vec![chosen];
    }
    Ok(names)
}

/// The addresses of a peer: a container (its IPs on every network) or an address.
fn peer_addresses(peer: &str) -> Result<Vec<String>, Error> {
    if peer.parse::<std::net::IpAddr>().is_ok() || peer.contains('/') {
        return Ok(vec![peer.to_owned()]);
    }
    addresses(peer)
}

/// A container's IPs on every network (none when it is not running: fails).
pub fn addresses(peer: &str) -> Result<Vec<String>, Error> {
    let ips: Vec<String> = containers::open(peer)?
        .inspect()?
        .networks
        .into_iter()
        .filter_map(|n| n.ip_address)
        .filter(|ip| !ip.is_empty())
        .collect();
    if ips.is_empty() {
        return Err(Error::failed(format!(
            "`{peer}` has no network address (is it running?)"
        )));
    }
    Ok(ips)
}

/// Context every fault needs.
pub struct Env<'a> {
    pub journal: &'a Journal,
    /// The task's directory (write-granted): journal, reports, scratch files.
    pub dir: &'a str,
    pub image: Option<&'a str>,
    pub report: &'a mut Report,
}

impl Env<'_> {
    fn image(&self, kind: &Kind) -> Result<String, Error> {
        self.image.map(str::to_owned).ok_or_else(|| {
            Error::invalid_input(format!(
                "the {} fault needs a helper image with tc and iptables: set helper-image in the task's config \
                 (or --helper-image) and grant it in allow.images",
                kind.name()
            ))
        })
    }

    /// Applies `kind` to `target`, journaled first; returns the entry to undo.
    pub fn apply(&mut self, kind: &Kind, target: &str) -> Result<Entry, Error> {
        let image = if kind.is_network() {
            Some(self.image(kind)?)
        } else {
            None
        };
        let mut entry = Entry {
            id: new_id(),
            fault: kind.name().into(),
            target: target.into(),
            detail: kind.describe(),
            image: image.clone(),
            helper: None,
            qdisc: matches!(kind, Kind::Bandwidth { .. }),
            applied_at: Timestamp::now().rfc3339(),
        };
        // A restart has nothing to undo; everything else is journaled before it happens.
        if *kind != Kind::Restart {
            self.journal.record(&entry)?;
        }
        let result =
            containers::open(target).and_then(|c| self.make(kind, &c, &entry.id, image.as_deref()));
        match result {
            Ok(made) => {
                if let Some(made) = made {
                    entry.detail = format!("{} ({})", entry.detail, made.method);
                    entry.qdisc |= made.qdisc;
                    entry.helper = made.helper;
                    self.journal.record(&entry)?;
                }
                if *kind == Kind::Restart {
                    self.report.event(format!("{target}: restarted"));
                } else {
                    self.report.applied(&entry);
                }
                log::info(format!("{target}: {}", entry.detail));
                eprintln!(
                    "chaos: applied {} to {target}: {}",
                    kind.name(),
                    entry.detail
                );
                Ok(entry)
            }
            Err(error) => {
                // Half-made faults (a chain without its jump, a proxy without its
                // rule) are undone at once; the entry goes only if that worked.
                // Refusals (a denied grant, a missing image, an impossible fault)
                // happen before anything changes: there is nothing to undo.
                let nothing_made = matches!(
                    error.kind(),
                    ErrorKind::Denied
                        | ErrorKind::NotFound
                        | ErrorKind::InvalidInput
                        | ErrorKind::Unsupported
                );
                if *kind != Kind::Restart && nothing_made {
                    self.journal.clear(&entry.id)?;
                } else if *kind != Kind::Restart {
                    match undo(&entry) {
                        Ok(()) => self.journal.clear(&entry.id)?,
                        Err(e) => log::warn(format!(
                            "could not undo the failed {} on {target}: {e}",
                            kind.name()
                        )),
                    }
                }
                Err(error.context(format!("cannot apply {} to `{target}`", kind.name())))
            }
        }
    }

    fn make(
        &self,
        kind: &Kind,
        target: &Container,
        id: &str,
        image: Option<&str>,
    ) -> Result<Option<net::Made>, Error> {
        let image = image.unwrap_or_default();
        match kind {
            Kind::Pause => target.pause().map(|()| None),
            Kind::Stop => target.stop(Some(10)).map(|()| None),
            Kind::Kill { signal } => target.kill(*signal).map(|()| None),
            Kind::Restart => target.restart(Some(10)).map(|()| None),
            Kind::Loss { percent } => net::loss(target, image, id, *percent).map(Some),
            Kind::Delay {
                ms,
                jitter_ms,
                ports,
            } => net::delay(target, image, id, *ms, *jitter_ms, ports).map(Some),
            Kind::Bandwidth { rate } => net::bandwidth(target, image, rate).map(Some),
            Kind::Partition { peer, reject } => {
                let peers = match peer {
                    Some(p) => peer_addresses(p)?,
                    None => Vec::new(),
                };
                net::partition(target, image, id, &peers, *reject).map(Some)
            }
        }
    }

    /// Undoes `entry` and forgets it; on failure it stays in the journal.
    pub fn undo(&mut self, entry: &Entry) -> Result<(), Error> {
        match undo(entry) {
            Ok(()) => {
                self.journal.clear(&entry.id)?;
                self.report.undone(entry);
                eprintln!("chaos: undid {} on {}", entry.fault, entry.target);
                Ok(())
            }
            Err(e) => {
                self.report.event(format!(
                    "{}: undoing {} failed: {}",
                    entry.target,
                    entry.fault,
                    e.message()
                ));
                Err(Error::failed(format!(
                    "could not undo {} on `{}`: {} (it stays in the journal: fix the cause and run with --recover)",
                    entry.fault,
                    entry.target,
                    e.message()
                )))
            }
        }
    }

    /// Undoes every entry; returns the first failure after trying them all.
    pub fn undo_all(&mut self, entries: &[Entry]) -> Result<(), Error> {
        let mut first = None;
        for entry in entries.iter().rev() {
            if let Err(e) = self.undo(entry) {
                log::error(e.message());
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }
}

/// Puts back what `entry` did; safe to repeat.
pub fn undo(entry: &Entry) -> Result<(), Error> {
    match undo_on(entry) {
        // A container that no longer exists took its fault (and its network
        // namespace, rules and qdiscs) with it.
        Err(e)
            if e.kind() == ErrorKind::NotFound
                && containers::open(&entry.target)
                    .and_then(|c| c.inspect())
                    .is_err_and(|e| e.kind() == ErrorKind::NotFound) =>
        {
            log::warn(format!(
                "`{}` no longer exists; nothing left to undo for {}",
                entry.target, entry.fault
            ));
            Ok(())
        }
        other => other,
    }
}

fn undo_on(entry: &Entry) -> Result<(), Error> {
    match entry.fault.as_str() {
        "pause" => {
            let target = containers::open(&entry.target)?;
            if target.inspect()?.state == ContainerState::Paused {
                target.unpause()?;
            }
            Ok(())
        }
        "stop" | "kill" => {
            let target = containers::open(&entry.target)?;
            if !target.inspect()?.state.is_running() {
                target.start()?;
            }
            Ok(())
        }
        "restart" => Ok(()),
        _ => {
            let image = entry
                .image
                .as_deref()
                .ok_or_else(|| Error::failed("the journal entry names no helper image"))?;
            if let Some(helper) = &entry.helper
                && let Err(e) = network_faults::remove(helper)
                && e.kind() != ErrorKind::NotFound
            {
                return Err(e);
            }
            let target = containers::open(&entry.target)?;
            match target.inspect()?.state {
                ContainerState::Paused => {
                    target.unpause()?;
                    let result = net::undo(&target, image, Some(&entry.id), entry.qdisc);
                    target.pause()?;
                    result
                }
                state if state.is_running() => {
                    net::undo(&target, image, Some(&entry.id), entry.qdisc)
                }
                // A stopped container's namespace is gone, and its rules with it.
                _ => Ok(()),
            }
        }
    }
}

/// Holds the faults for `hold`, or until the run is cancelled; true if cancelled.
pub fn hold(hold: Duration) -> bool {
    run_plugin_sdk::cancel::sleep(hold)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(json: &str) -> Result<Kind, Error> {
        Kind::from_fields(&serde_json::from_str(json).unwrap())
    }

    #[test]
    fn faults_parse_with_their_options() {
        assert_eq!(
            kind(r#"{"fault":"loss","percent":30}"#).unwrap(),
            Kind::Loss { percent: 30.0 }
        );
        assert_eq!(
            kind(r#"{"fault":"delay","delay":"200ms","jitter":"20ms","port":[80]}"#).unwrap(),
            Kind::Delay {
                ms: 200,
                jitter_ms: 20,
                ports: vec![80]
            }
        );
        assert_eq!(
            kind(r#"{"fault":"kill"}"#).unwrap(),
            Kind::Kill {
                signal: Signal::Sigkill
            }
        );
        assert_eq!(
            kind(r#"{"fault":"kill","signal":"term"}"#).unwrap(),
            Kind::Kill {
                signal: Signal::Sigterm
            }
        );
        assert!(kind(r#"{"fault":"kill","signal":"SIGNOPE"}"#).is_err());
        assert!(
            kind(r#"{"fault":"loss"}"#)
                .unwrap_err()
                .message()
                .contains("--percent")
        );
        assert!(kind(r#"{"fault":"loss","percent":150}"#).is_err());
        assert!(
            kind(r#"{"fault":"explode"}"#)
                .unwrap_err()
                .message()
                .contains("unknown fault")
        );
        assert!(kind(r#"{"fault":"bandwidth","rate":"fast"}"#).is_err());
    }

    #[test]
    fn ids_are_six_hex_digits_and_differ() {
        let (a, b) = (new_id(), new_id());
        assert_eq!(a.len(), 6);
        assert_ne!(a, b);
    }
}
