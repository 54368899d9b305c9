//! Faults: what each one does, how it is undone, and the journal around both.

use std::time::Duration;

use run_plugin_sdk::containers::{self, Container, ContainerState, Signal};
use run_plugin_sdk::time::Timestamp;
use run_plugin_sdk::{Error, ErrorKind, log, network_faults};

use crate::duration;
use crate::journal::{Entry, Journal};
use crate::net::{self, Direction};
use crate::report::Report;
use crate::size;
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
    /// Removes the container (and its anonymous volumes): nothing to undo.
    Remove,
    Loss {
        percent: f64,
        correlation: Option<f64>,
        peer: Option<String>,
        ports: Vec<u16>,
    },
    Delay {
        ms: u64,
        jitter_ms: u64,
        correlation: Option<f64>,
        distribution: Option<String>,
        ports: Vec<u16>,
    },
    Bandwidth {
        rate: String,
        peer: Option<String>,
        ports: Vec<u16>,
    },
    Partition {
        peer: Option<String>,
        reject: bool,
        direction: Direction,
    },
    /// Faults only the netem qdisc makes: the netem arguments.
    Netem {
        name: &'static str,
        spec: String,
    },
    /// CPU and memory load (stress-ng) in a helper in the target's cgroup.
    Stress {
        cpu_workers: u32,
        cpu_load: u8,
        memory_bytes: u64,
        /// stress-ng's own end: the fault's duration and a margin, so a
        /// helper left by a killed runner stops loading the target anyway.
        timeout_seconds: u32,
    },
}

pub const NAMES: &str = "pause, stop, kill, restart, remove, loss, delay, bandwidth, partition, duplicate, corrupt, reorder, stress";

/// How long stress-ng runs past the fault's duration before it ends by
/// itself (undo removes it at the end of the duration anyway).
const STRESS_MARGIN_SECONDS: u64 = 5;
/// The most CPU workers a stress starts (the host's own limit is higher).
const MAX_CPU_WORKERS: u32 = 256;

/// `--percent` of a fault: above 0, at most 100.
fn share(fault: &str, percent: Option<f64>) -> Result<f64, Error> {
    let percent = percent.ok_or_else(|| {
        Error::invalid_input(format!("{fault} needs --percent (e.g. --percent 30)"))
    })?;
    if !(0.0..=100.0).contains(&percent) || percent == 0.0 {
        return Err(Error::invalid_input(format!(
            "--percent {percent} must be above 0 and at most 100"
        )));
    }
    Ok(percent)
}

/// `--correlation`: how much each random choice of netem depends on the last.
fn correlation(f: &Fields) -> Result<Option<f64>, Error> {
    match f.correlation {
        Some(c) if !(0.0..=100.0).contains(&c) => Err(Error::invalid_input(format!(
            "--correlation {c} must be between 0 and 100 (percent)"
        ))),
        other => Ok(other),
    }
}

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
            "remove" | "rm" => Kind::Remove,
            "loss" => {
                let percent = share("loss", f.percent)?;
                let correlation = correlation(f)?;
                let ports = f.port.clone().unwrap_or_default();
                if correlation.is_some() && (f.peer.is_some() || !ports.is_empty()) {
                    return Err(Error::invalid_input(
                        "loss with --correlation (netem) applies to every packet: leave out --peer and --port",
                    ));
                }
                Kind::Loss {
                    percent,
                    correlation,
                    peer: f.peer.clone(),
                    ports,
                }
            }
            "delay" | "latency" => {
                let ms_value = ms("delay", &f.delay)?;
                if ms_value == 0 {
                    return Err(Error::invalid_input(
                        "delay needs --delay (e.g. --delay 200ms)",
                    ));
                }
                let distribution = match f.distribution.as_deref() {
                    None => None,
                    Some(d @ ("uniform" | "normal" | "pareto" | "paretonormal")) => {
                        Some(d.to_owned())
                    }
                    Some(other) => {
                        return Err(Error::invalid_input(format!(
                            "--distribution `{other}`: use uniform, normal, pareto or paretonormal"
                        )));
                    }
                };
                let jitter_ms = ms("jitter", &f.jitter)?;
                if distribution.is_some() && jitter_ms == 0 {
                    return Err(Error::invalid_input(
                        "--distribution shapes the jitter: give --jitter too",
                    ));
                }
                Kind::Delay {
                    ms: ms_value,
                    jitter_ms,
                    correlation: correlation(f)?,
                    distribution,
                    ports: f.port.clone().unwrap_or_default(),
                }
            }
            "bandwidth" | "rate" => {
                let rate = f.rate.clone().ok_or_else(|| {
                    Error::invalid_input("bandwidth needs --rate (e.g. --rate 1mbit)")
                })?;
                net::rate_bytes(&rate)?;
                Kind::Bandwidth {
                    rate,
                    peer: f.peer.clone(),
                    ports: f.port.clone().unwrap_or_default(),
                }
            }
            "partition" => Kind::Partition {
                peer: f.peer.clone(),
                reject: f.reject.unwrap_or(false),
                direction: match f.direction.as_deref() {
                    Some(d) => Direction::parse(d)?,
                    None => Direction::Both,
                },
            },
            "duplicate" | "corrupt" => {
                let name = if name == "duplicate" {
                    "duplicate"
                } else {
                    "corrupt"
                };
                let mut spec = format!("{name} {}%", share(name, f.percent)?);
                if let Some(c) = correlation(f)? {
                    spec.push_str(&format!(" {c}%"));
                }
                Kind::Netem { name, spec }
            }
            "reorder" => {
                let delay = ms("delay", &f.delay)?;
                if delay == 0 {
                    return Err(Error::invalid_input(
                        "reorder sends --percent of packets at once and delays the others: give --delay (e.g. --delay 10ms)",
                    ));
                }
                let mut spec = format!("delay {delay}ms reorder {}%", share("reorder", f.percent)?);
                if let Some(c) = correlation(f)? {
                    spec.push_str(&format!(" {c}%"));
                }
                Kind::Netem {
                    name: "reorder",
                    spec,
                }
            }
            "stress" => {
                let cpu_workers = f.cpu.unwrap_or(0);
                if cpu_workers > MAX_CPU_WORKERS {
                    return Err(Error::invalid_input(format!(
                        "--cpu {cpu_workers}: at most {MAX_CPU_WORKERS} CPU workers"
                    )));
                }
                let cpu_load = match f.cpu_load {
                    None => 100.0,
                    // `--cpu 0` (no CPU workers) leaves a configured load unused.
                    Some(_) if f.cpu == Some(0) => 100.0,
                    Some(_) if cpu_workers == 0 => {
                        return Err(Error::invalid_input(
                            "--cpu-load is the load of each CPU worker: give --cpu too (e.g. --cpu 2 --cpu-load 80)",
                        ));
                    }
                    Some(l) if (1.0..=100.0).contains(&l) && l.fract() == 0.0 => l,
                    Some(l) => {
                        return Err(Error::invalid_input(format!(
                            "--cpu-load {l} must be a whole percent from 1 to 100"
                        )));
                    }
                };
                // `--memory 0`: no memory worker (over a task's default).
                let memory_bytes = match f.memory.as_deref().map(str::trim) {
                    None | Some("0") => 0,
                    Some(text) => size::bytes(text)?,
                };
                if cpu_workers == 0 && memory_bytes == 0 {
                    return Err(Error::invalid_input(
                        "stress needs --cpu (CPU workers) or --memory (bytes to allocate), or both \
                         (e.g. --cpu 2 --cpu-load 80 --memory 256m)",
                    ));
                }
                let hold = crate::spec::fault_duration(f)?;
                let timeout =
                    hold.as_secs() + u64::from(hold.subsec_nanos() > 0) + STRESS_MARGIN_SECONDS;
                Kind::Stress {
                    cpu_workers,
                    cpu_load: cpu_load as u8,
                    memory_bytes,
                    timeout_seconds: u32::try_from(timeout)
                        .map_err(|_| Error::invalid_input("--duration is too long for a stress"))?,
                }
            }
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
            Kind::Remove => "remove",
            Kind::Loss { .. } => "loss",
            Kind::Delay { .. } => "delay",
            Kind::Bandwidth { .. } => "bandwidth",
            Kind::Partition { .. } => "partition",
            Kind::Netem { name, .. } => name,
            Kind::Stress { .. } => "stress",
        }
    }

    /// Faults made by a helper container from the helper image.
    pub fn needs_helper(&self) -> bool {
        self.is_network() || matches!(self, Kind::Stress { .. })
    }

    /// The host's request for a stress fault (its numbers; the host writes
    /// the command), tagged with the fault's id.
    pub fn stress_request(&self, image: &str, id: &str) -> Option<network_faults::StressRequest> {
        match *self {
            Kind::Stress {
                cpu_workers,
                cpu_load,
                memory_bytes,
                timeout_seconds,
            } => Some(network_faults::StressRequest {
                image: image.to_owned(),
                cpu_workers,
                cpu_load,
                memory_bytes,
                timeout_seconds,
                tag: id.to_owned(),
            }),
            _ => None,
        }
    }

    pub fn is_network(&self) -> bool {
        matches!(
            self,
            Kind::Loss { .. }
                | Kind::Delay { .. }
                | Kind::Bandwidth { .. }
                | Kind::Partition { .. }
                | Kind::Netem { .. }
        )
    }

    /// Faults that leave nothing to undo (and take no --duration).
    pub fn is_instant(&self) -> bool {
        matches!(self, Kind::Restart | Kind::Remove)
    }

    /// The container another fault option names (a peer), if any.
    pub fn peer(&self) -> Option<&str> {
        match self {
            Kind::Loss { peer, .. }
            | Kind::Bandwidth { peer, .. }
            | Kind::Partition { peer, .. } => peer.as_deref(),
            _ => None,
        }
    }

    pub fn describe(&self) -> String {
        let only = |peer: &Option<String>, ports: &[u16]| {
            let mut s = String::new();
            if let Some(p) = peer {
                s.push_str(&format!(" to {p}"));
            }
            if !ports.is_empty() {
                s.push_str(&format!(" on ports {ports:?}"));
            }
            s
        };
        match self {
            Kind::Pause => "paused".into(),
            Kind::Stop => "stopped".into(),
            Kind::Kill { signal } => format!("killed with {signal}"),
            Kind::Restart => "restarted".into(),
            Kind::Remove => "removed".into(),
            Kind::Loss {
                percent,
                correlation,
                peer,
                ports,
            } => {
                let c = correlation.map_or(String::new(), |c| format!(" ({c}% correlated)"));
                format!("{percent}% packet loss{c}{}", only(peer, ports))
            }
            Kind::Delay {
                ms,
                jitter_ms,
                correlation,
                distribution,
                ports,
            } => {
                let mut s = format!("{ms}ms ± {jitter_ms}ms latency");
                if let Some(c) = correlation {
                    s.push_str(&format!(", {c}% correlated"));
                }
                if let Some(d) = distribution {
                    s.push_str(&format!(", {d} distribution"));
                }
                s + &only(&None, ports)
            }
            Kind::Bandwidth { rate, peer, ports } => {
                format!("bandwidth limited to {rate}{}", only(peer, ports))
            }
            Kind::Partition {
                peer, direction, ..
            } => {
                let way = match direction {
                    Direction::Both => "",
                    Direction::In => " (inbound only)",
                    Direction::Out => " (outbound only)",
                };
                match peer {
                    None => format!("cut off from its networks{way}"),
                    Some(p) => format!("cut off from {p}{way}"),
                }
            }
            Kind::Netem { spec, .. } => format!("netem {spec}"),
            Kind::Stress {
                cpu_workers,
                cpu_load,
                memory_bytes,
                ..
            } => {
                let mut parts = Vec::new();
                if *cpu_workers > 0 {
                    parts.push(format!("{cpu_workers} CPU worker(s) at {cpu_load}%"));
                }
                if *memory_bytes > 0 {
                    parts.push(format!("{} of memory", size::show(*memory_bytes)));
                }
                format!("stressed with {}", parts.join(" and "))
            }
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

/// Random numbers from the clock (xorshift): good enough to pick victims.
pub struct Dice(u64);

impl Dice {
    pub fn new() -> Dice {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default();
        Dice(nanos | 1)
    }

    /// A number in 0..n.
    pub fn below(&mut self, n: usize) -> usize {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x % n.max(1) as u64) as usize
    }
}

/// How many of the matching targets a fault hits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pick {
    All,
    /// This many, at random (all if fewer match).
    Count(usize),
    /// This share, at random, rounded up (at least one).
    Percent(f64),
}

impl Pick {
    /// `--random` is one; `--pick N` or `--pick P%`.
    pub fn from_fields(f: &Fields) -> Result<Pick, Error> {
        let pick = match f.pick.as_deref() {
            None => Pick::All,
            Some(text) => {
                let bad = || {
                    Error::invalid_input(format!(
                        "--pick `{text}`: give a count of targets (e.g. 2) or a share (e.g. 50%)"
                    ))
                };
                if let Some(p) = text.strip_suffix('%') {
                    let p: f64 = p.trim().parse().map_err(|_| bad())?;
                    if !(p > 0.0 && p <= 100.0) {
                        return Err(bad());
                    }
                    Pick::Percent(p)
                } else {
                    let n: usize = text.trim().parse().map_err(|_| bad())?;
                    if n == 0 {
                        return Err(bad());
                    }
                    Pick::Count(n)
                }
            }
        };
        match (pick, f.random.unwrap_or(false)) {
            (Pick::All, true) => Ok(Pick::Count(1)),
            (pick, true) => Err(Error::invalid_input(format!(
                "give --random (one target) or --pick (here {pick:?}), not both"
            ))),
            (pick, false) => Ok(pick),
        }
    }

    fn how_many(self, matching: usize) -> usize {
        match self {
            Pick::All => matching,
            Pick::Count(n) => n.min(matching),
            Pick::Percent(p) => ((matching as f64 * p / 100.0).ceil() as usize).clamp(1, matching),
        }
    }
}

/// Containers a `--target` names: a name, a glob, or `label=KEY=VALUE`, among
/// the granted ones; with a pick, that many of them at random.
pub fn targets(target: &str, pick: Pick) -> Result<Vec<String>, Error> {
    let mut names: Vec<String> = containers::list(target)?
        .into_iter()
        .map(|c| c.name)
        .collect();
    if names.is_empty() {
        return Err(Error::not_found(format!(
            "no granted container matches --target `{target}` (a name, a glob or label=KEY=VALUE among allow.containers)"
        )));
    }
    let n = pick.how_many(names.len());
    if n < names.len() {
        let mut dice = Dice::new();
        let mut chosen = Vec::new();
        for _ in 0..n {
            chosen.push(names.swap_remove(dice.below(names.len())));
        }
        log::info(format!(
            "picked {} at random among the matches of `{target}`",
            chosen.join(", ")
        ));
        names = chosen;
    }
    Ok(names)
}

/// The addresses of a peer: a container (its IPs on every network) or an address.
pub fn peer_addresses(peer: &str) -> Result<Vec<String>, Error> {
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

/// The refusal of a helper fault without a helper image.
pub fn missing_image(kind: &Kind) -> Error {
    let tools = if matches!(kind, Kind::Stress { .. }) {
        "stress-ng"
    } else {
        "tc and iptables"
    };
    Error::invalid_input(format!(
        "the {} fault needs a helper image with {tools}: set helper-image in the task's config \
         (or --helper-image) and grant it in allow.images",
        kind.name()
    ))
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
        self.image
            .map(str::to_owned)
            .ok_or_else(|| missing_image(kind))
    }

    /// Applies `kind` to `target`, journaled first; returns the entry to undo.
    pub fn apply(&mut self, kind: &Kind, target: &str) -> Result<Entry, Error> {
        let image = if kind.needs_helper() {
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
            qdisc: matches!(kind, Kind::Bandwidth { .. } | Kind::Netem { .. }),
            applied_at: Timestamp::now().rfc3339(),
            delay_ms: match kind {
                Kind::Delay { ms, jitter_ms, .. } => Some(ms + jitter_ms),
                _ => None,
            },
            container_id: None,
            started_at: None,
        };
        // What the fault is bound to: a restart gives the container a new
        // network namespace (without the fault) and a new start time; a
        // re-created container has a new cgroup (without the stress).
        let opened = containers::open(target);
        if kind.needs_helper()
            && let Ok(c) = &opened
            && let Ok(details) = c.inspect()
        {
            entry.container_id = Some(details.id);
            entry.started_at = Some(details.started_at);
        }
        // Instant faults have nothing to undo; everything else is journaled
        // before anything happens (a helper carries the entry's id).
        if !kind.is_instant() {
            self.journal.record(&entry)?;
        }
        let result = opened.and_then(|c| self.make(kind, &c, &entry.id, image.as_deref()));
        match result {
            Ok(made) => {
                if let Some(made) = made {
                    entry.detail = format!("{} ({})", entry.detail, made.method);
                    entry.qdisc |= made.qdisc;
                    entry.helper = made.helper.or(entry.helper);
                    self.journal.record(&entry)?;
                }
                if kind.is_instant() {
                    self.report.event(format!("{target}: {}", kind.describe()));
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
                if !kind.is_instant() && nothing_made {
                    self.journal.clear(&entry.id)?;
                } else if !kind.is_instant() {
                    match undo(&entry) {
                        Ok(_) => self.journal.clear(&entry.id)?,
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
        let only = |peer: &Option<String>, ports: &[u16]| -> Result<net::Only, Error> {
            Ok(net::Only {
                addresses: match peer {
                    Some(p) => peer_addresses(p)?,
                    None => Vec::new(),
                },
                ports: ports.to_vec(),
            })
        };
        match kind {
            Kind::Pause => target.pause().map(|()| None),
            // The container's own stop timeout (Compose's `stop_grace_period`,
            // which the quickstart plugin sets), else the engine's 10 s: a
            // Patroni leader gets the time it needs to hand over cleanly.
            Kind::Stop => target.stop(None).map(|()| None),
            Kind::Kill { signal } => target.kill(*signal).map(|()| None),
            Kind::Restart => target.restart(Some(10)).map(|()| None),
            Kind::Remove => target.remove().map(|()| None),
            Kind::Loss {
                percent,
                correlation: Some(c),
                ..
            } => net::netem_only(
                target,
                image,
                id,
                &format!("loss {percent}% {c}%"),
                "loss with a correlation",
            )
            .map(Some),
            Kind::Loss {
                percent,
                peer,
                ports,
                ..
            } => net::loss(target, image, id, *percent, &only(peer, ports)?).map(Some),
            Kind::Delay {
                ms,
                jitter_ms,
                correlation,
                distribution,
                ports,
            } => net::delay(
                target,
                image,
                id,
                *ms,
                *jitter_ms,
                *correlation,
                distribution.as_deref(),
                ports,
            )
            .map(Some),
            Kind::Bandwidth { rate, peer, ports } => {
                net::bandwidth(target, image, id, rate, &only(peer, ports)?).map(Some)
            }
            Kind::Partition {
                peer,
                reject,
                direction,
            } => {
                let peers = match peer {
                    Some(p) => peer_addresses(p)?,
                    None => Vec::new(),
                };
                net::partition(target, image, id, &peers, *reject, *direction).map(Some)
            }
            Kind::Netem { name, spec } => net::netem_only(target, image, id, spec, name).map(Some),
            Kind::Stress { .. } => {
                let request = kind.stress_request(image, id).expect("a stress fault");
                let placed = network_faults::stress(target, &request)?;
                Ok(Some(net::Made {
                    method: format!(
                        "`{}` in helper {}, cgroup {}",
                        placed.command.join(" "),
                        placed.helper,
                        placed.cgroup_parent
                    ),
                    qdisc: false,
                    helper: Some(placed.helper),
                }))
            }
        }
    }

    /// Undoes `entry` and forgets it; on failure it stays in the journal.
    pub fn undo(&mut self, entry: &Entry) -> Result<(), Error> {
        self.undo_saying(entry).map(drop)
    }

    /// [`Env::undo`], returning what was found in force and put back.
    pub fn undo_saying(&mut self, entry: &Entry) -> Result<Vec<String>, Error> {
        match undo(entry) {
            Ok(what) => {
                self.journal.clear(&entry.id)?;
                self.report.undone(entry, &what);
                if what.is_empty() {
                    eprintln!("chaos: undid {} on {}", entry.fault, entry.target);
                } else {
                    eprintln!(
                        "chaos: undid {} on {}: {}",
                        entry.fault,
                        entry.target,
                        what.join("; ")
                    );
                }
                Ok(what)
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

    /// Holds the faults for `hold` (or until the run is cancelled), checking
    /// every second that each still holds: a network fault is lost when its
    /// container restarts (a new namespace, without it), a pause when the
    /// container is unpaused, a stop when it runs again. Lost faults are
    /// reported as they are seen.
    pub fn hold(&mut self, hold: Duration, entries: &[Entry]) -> Held {
        let start = std::time::Instant::now();
        let mut held = Held::default();
        loop {
            let left = hold.saturating_sub(start.elapsed());
            if left.is_zero() {
                return held;
            }
            if run_plugin_sdk::cancel::sleep(left.min(Duration::from_secs(1))) {
                held.cancelled = true;
                return held;
            }
            for entry in entries {
                if held.lost.iter().any(|(id, _)| *id == entry.id) {
                    continue;
                }
                if let Some(why) = lost(entry) {
                    self.report.lost(entry, &why);
                    eprintln!(
                        "chaos: the {} on {} was lost: {why}",
                        entry.fault, entry.target
                    );
                    held.lost.push((
                        entry.id.clone(),
                        format!(
                            "the {} on `{}` did not hold: {why}",
                            entry.fault, entry.target
                        ),
                    ));
                }
            }
        }
    }
}

/// How a hold ended.
#[derive(Debug, Default)]
pub struct Held {
    pub cancelled: bool,
    /// Faults lost on the way: (entry id, why).
    pub lost: Vec<(String, String)>,
}

/// Why `entry` no longer holds, if it does not.
fn lost(entry: &Entry) -> Option<String> {
    let details = match containers::open(&entry.target).and_then(|c| c.inspect()) {
        Ok(d) => d,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Some(format!("`{}` was removed", entry.target));
        }
        Err(_) => return None,
    };
    match entry.fault.as_str() {
        "pause" if details.state != ContainerState::Paused => Some(format!(
            "`{}` was unpaused by someone else ({})",
            entry.target,
            details.state.as_str()
        )),
        "stop" if details.state.is_running() => Some(format!(
            "`{}` was started again (at {})",
            entry.target, details.started_at
        )),
        // A stress is in the container's cgroup, which a restart keeps
        // (the helper runs on in it) and a re-creation replaces.
        "stress"
            if entry.container_id.is_some()
                && entry.container_id.as_deref() != Some(details.id.as_str()) =>
        {
            Some(format!(
                "`{}` is another container now (recreated; the load is in the old one's cgroup)",
                entry.target
            ))
        }
        "stress" if !details.state.is_running() => Some(format!(
            "`{}` stopped ({}); nothing of it runs to be loaded",
            entry.target,
            details.state.as_str()
        )),
        "stress" => None,
        _ if entry.container_id.is_some() => {
            if entry.container_id.as_deref() != Some(details.id.as_str()) {
                Some(format!(
                    "`{}` is another container now (recreated; its network namespace has no fault)",
                    entry.target
                ))
            } else if !details.state.is_running() {
                Some(format!(
                    "`{}` stopped ({}); its network namespace and the fault went with it",
                    entry.target,
                    details.state.as_str()
                ))
            } else if entry.started_at.as_deref() != Some(details.started_at.as_str()) {
                Some(format!(
                    "`{}` restarted at {} (a new network namespace, without the fault)",
                    entry.target, details.started_at
                ))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Puts back what `entry` did; safe to repeat. Says what it found in force.
pub fn undo(entry: &Entry) -> Result<Vec<String>, Error> {
    match undo_on(entry) {
        // A container that no longer exists took its fault (and its network
        // namespace, rules and qdiscs) with it.
        Err(e)
            if e.kind() == ErrorKind::NotFound
                && containers::open(&entry.target)
                    .and_then(|c| c.inspect())
                    .is_err_and(|e| e.kind() == ErrorKind::NotFound) =>
        {
            // A stress helper outlives its target: removed by its name.
            if entry.fault == "stress"
                && let Some(helper) = &entry.helper
            {
                return match network_faults::remove(helper) {
                    Ok(()) => Ok(vec![format!(
                        "`{}` no longer exists; removed helper container {helper}",
                        entry.target
                    )]),
                    Err(e) if e.kind() == ErrorKind::NotFound => Ok(vec![format!(
                        "`{}` no longer exists, nor its helper: nothing was left to undo",
                        entry.target
                    )]),
                    Err(e) => Err(e),
                };
            }
            log::warn(format!(
                "`{}` no longer exists; nothing left to undo for {}",
                entry.target, entry.fault
            ));
            Ok(vec![format!(
                "`{}` no longer exists: nothing was left to undo",
                entry.target
            )])
        }
        other => other,
    }
}

fn undo_on(entry: &Entry) -> Result<Vec<String>, Error> {
    let mut what = Vec::new();
    match entry.fault.as_str() {
        "pause" => {
            let target = containers::open(&entry.target)?;
            if target.inspect()?.state == ContainerState::Paused {
                target.unpause()?;
                what.push("unpaused".to_owned());
            }
        }
        "stop" | "kill" => {
            let target = containers::open(&entry.target)?;
            if !target.inspect()?.state.is_running() {
                target.start()?;
                what.push("started".to_owned());
            }
        }
        "restart" | "remove" => {}
        // The load is the helper: removing it (running or exited) ends it.
        "stress" => {
            let target = containers::open(&entry.target)?;
            what.extend(remove_helpers(&target, entry)?);
        }
        _ => {
            let image = entry
                .image
                .as_deref()
                .ok_or_else(|| Error::failed("the journal entry names no helper image"))?;
            let target = containers::open(&entry.target)?;
            let state = target.inspect()?.state;
            let running = state.is_running() || state == ContainerState::Paused;
            if state == ContainerState::Paused {
                target.unpause()?;
            }
            let result = (|| -> Result<(), Error> {
                // The latency proxy: first no new connection goes to it, then
                // the ones through it end, then it goes (and its routing last).
                if running && (entry.fault == "delay" || entry.helper.is_some()) {
                    what.extend(net::drain(
                        &target,
                        image,
                        &entry.id,
                        entry.delay_ms.unwrap_or(0),
                    )?);
                }
                what.extend(remove_helpers(&target, entry)?);
                // A stopped container's namespace is gone, and its rules with it.
                if running {
                    what.extend(net::undo(&target, image, &entry.id, entry.qdisc)?);
                    // The helper that just ran undo is removed by the host;
                    // one left by a killed run of it is not.
                }
                Ok(())
            })();
            if state == ContainerState::Paused {
                target.pause()?;
            }
            result?;
        }
    }
    Ok(what)
}

/// Holds for `hold`, or until the run is cancelled; true if cancelled.
pub fn hold(hold: Duration) -> bool {
    run_plugin_sdk::cancel::sleep(hold)
}

/// Removes every helper container of `entry`'s fault: the latency proxy, and
/// helpers a killed run left (running or exited). They carry the fault's id.
fn remove_helpers(target: &Container, entry: &Entry) -> Result<Vec<String>, Error> {
    let mut names = network_faults::tagged(target, &entry.id)?;
    if let Some(helper) = &entry.helper
        && !names.contains(helper)
    {
        names.push(helper.clone());
    }
    let mut what = Vec::new();
    for name in names {
        match network_faults::remove(&name) {
            Ok(()) => what.push(format!("removed helper container {name}")),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(what)
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
            Kind::Loss {
                percent: 30.0,
                correlation: None,
                peer: None,
                ports: vec![]
            }
        );
        assert_eq!(
            kind(r#"{"fault":"delay","delay":"200ms","jitter":"20ms","port":[80]}"#).unwrap(),
            Kind::Delay {
                ms: 200,
                jitter_ms: 20,
                correlation: None,
                distribution: None,
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
    fn netem_faults_build_their_specs() {
        assert_eq!(
            kind(r#"{"fault":"duplicate","percent":5,"correlation":25}"#).unwrap(),
            Kind::Netem {
                name: "duplicate",
                spec: "duplicate 5% 25%".into()
            }
        );
        assert_eq!(
            kind(r#"{"fault":"reorder","percent":25,"delay":"10ms"}"#).unwrap(),
            Kind::Netem {
                name: "reorder",
                spec: "delay 10ms reorder 25%".into()
            }
        );
        assert!(kind(r#"{"fault":"reorder","percent":25}"#).is_err());
        assert!(kind(r#"{"fault":"corrupt"}"#).is_err());
        assert!(
            kind(r#"{"fault":"delay","delay":"10ms","distribution":"normal"}"#)
                .unwrap_err()
                .message()
                .contains("--jitter")
        );
        assert!(
            kind(r#"{"fault":"delay","delay":"10ms","jitter":"1ms","distribution":"odd"}"#)
                .is_err()
        );
        assert!(kind(r#"{"fault":"partition","direction":"sideways"}"#).is_err());
    }

    #[test]
    fn stress_takes_cpu_workers_a_load_and_memory_and_refuses_nonsense() {
        assert_eq!(
            kind(r#"{"fault":"stress","cpu":2,"cpu-load":80,"memory":"256m","duration":"30s"}"#)
                .unwrap(),
            Kind::Stress {
                cpu_workers: 2,
                cpu_load: 80,
                memory_bytes: 256 << 20,
                timeout_seconds: 35
            }
        );
        assert_eq!(
            kind(r#"{"fault":"stress","cpu":1,"duration":"1500ms"}"#).unwrap(),
            Kind::Stress {
                cpu_workers: 1,
                cpu_load: 100,
                memory_bytes: 0,
                timeout_seconds: 7
            }
        );
        let refused = |json: &str, says: &str| {
            let e = kind(json).unwrap_err();
            assert!(e.message().contains(says), "{json}: {e}");
        };
        refused(r#"{"fault":"stress","duration":"5s"}"#, "--cpu");
        refused(r#"{"fault":"stress","cpu":1}"#, "--duration");
        refused(
            r#"{"fault":"stress","cpu":1,"cpu-load":0,"duration":"5s"}"#,
            "1 to 100",
        );
        refused(
            r#"{"fault":"stress","cpu":1,"cpu-load":101,"duration":"5s"}"#,
            "1 to 100",
        );
        refused(
            r#"{"fault":"stress","cpu":1,"cpu-load":50.5,"duration":"5s"}"#,
            "whole",
        );
        refused(
            r#"{"fault":"stress","cpu-load":50,"memory":"1m","duration":"5s"}"#,
            "--cpu too",
        );
        refused(
            r#"{"fault":"stress","cpu":100000,"duration":"5s"}"#,
            "at most",
        );
        refused(
            r#"{"fault":"stress","memory":"lots","duration":"5s"}"#,
            "--memory `lots`",
        );
        refused(
            r#"{"fault":"stress","memory":"0","duration":"5s"}"#,
            "stress needs --cpu",
        );
        refused(
            r#"{"fault":"stress","memory":"0b","duration":"5s"}"#,
            "--memory `0b`",
        );
        // A task's defaults switched off on the command line.
        assert_eq!(
            kind(r#"{"fault":"stress","cpu":0,"cpu-load":80,"memory":"1m","duration":"5s"}"#)
                .unwrap(),
            Kind::Stress {
                cpu_workers: 0,
                cpu_load: 100,
                memory_bytes: 1 << 20,
                timeout_seconds: 10
            }
        );
        assert!(
            Kind::from_fields(
                &serde_json::from_str(r#"{"fault":"stress","cpu":1,"duration":"5s"}"#).unwrap()
            )
            .unwrap()
            .needs_helper()
        );
    }

    #[test]
    fn picks_count_or_share_the_matches() {
        let pick = |json: &str| Pick::from_fields(&serde_json::from_str(json).unwrap());
        assert_eq!(pick("{}").unwrap(), Pick::All);
        assert_eq!(pick(r#"{"random":true}"#).unwrap(), Pick::Count(1));
        assert_eq!(pick(r#"{"pick":"2"}"#).unwrap(), Pick::Count(2));
        assert_eq!(pick(r#"{"pick":"50%"}"#).unwrap(), Pick::Percent(50.0));
        assert!(pick(r#"{"pick":"0"}"#).is_err());
        assert!(pick(r#"{"pick":"lots"}"#).is_err());
        assert!(pick(r#"{"pick":"2","random":true}"#).is_err());
        assert_eq!(Pick::Percent(50.0).how_many(3), 2);
        assert_eq!(Pick::Percent(1.0).how_many(3), 1);
        assert_eq!(Pick::Count(5).how_many(3), 3);
        let mut dice = Dice::new();
        assert!((0..100).all(|_| dice.below(3) < 3));
    }

    #[test]
    fn ids_are_six_hex_digits_and_differ() {
        let (a, b) = (new_id(), new_id());
        assert_eq!(a.len(), 6);
        assert_ne!(a, b);
    }
}
