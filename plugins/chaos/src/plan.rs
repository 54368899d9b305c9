//! `run --plan chaos …`: what the task would do, validated and resolved
//! against the engine, with nothing changed: the faults and their options
//! checked as a run checks them, the targets each one matches (a missing
//! one fails, naming it), peers' addresses, and the exact commands and rules
//! the helper would run, and those that undo them.

use run_plugin_sdk::{Error, containers, network_faults};

use crate::fault::{self, Kind, Pick};
use crate::journal::Journal;
use crate::net::{self, Only};
use crate::spec::{self, Fields, Mode, Spec};

pub fn show(task: &str, spec: &Spec) -> Result<(), Error> {
    let mut out = Vec::new();
    out.push(format!("(plan) chaos task `{task}`, nothing is changed:"));
    let leftovers = Journal::at(&spec.dir).entries()?;
    if !leftovers.is_empty() && (spec.recover || spec.mode != Mode::VerifyData) {
        out.push(format!(
            "  first undo {} fault(s) left in {}/journal.json by a killed run:",
            leftovers.len(),
            spec.dir
        ));
        for e in &leftovers {
            out.push(format!(
                "    {} {} on {} ({}), applied {}",
                e.fault, e.id, e.target, e.detail, e.applied_at
            ));
        }
    }
    if spec.recover {
        if leftovers.is_empty() {
            out.push(format!(
                "  nothing to recover: {}/journal.json lists no fault",
                spec.dir
            ));
        }
    } else {
        match spec.mode {
            Mode::Fault => fault_plan(spec, &spec.fields, "", &mut out)?,
            Mode::Scenario => {
                for (i, step) in spec.steps.iter().enumerate() {
                    let step = spec.fields.overlay(step);
                    let n = i + 1;
                    if let Some(check) = &step.check {
                        if let Some(c) = &check.container {
                            exists(c).map_err(|e| in_step(n, e))?;
                        }
                        out.push(format!("  step {n}: check {}", check.describe()));
                    } else if let Some(wait) = &step.wait {
                        crate::duration::parse(wait)
                            .map_err(|e| Error::invalid_input(format!("step {n}: wait: {e}")))?;
                        out.push(format!("  step {n}: wait {wait}"));
                    } else {
                        fault_plan(spec, &step, &format!("step {n}: "), &mut out)
                            .map_err(|e| in_step(n, e))?;
                    }
                }
            }
            Mode::VerifyData => {
                let verify = spec.verify.as_ref().ok_or_else(|| {
                    Error::invalid_input(
                        "verify-data needs a `verify` table in the task's config (see docs/chaos.md)",
                    )
                })?;
                exists(&verify.container)?;
                let against = match &verify.against {
                    Some(other) => {
                        exists(other)?;
                        format!("container `{other}`")
                    }
                    None => format!("the baseline in {}", spec.dir),
                };
                out.push(format!(
                    "  {} the fingerprints of every table in `{}` (psql in the container){}",
                    if spec.save { "save" } else { "compare" },
                    verify.container,
                    if spec.save {
                        format!(" as the baseline in {}", spec.dir)
                    } else {
                        format!(" with {against}")
                    }
                ));
            }
            Mode::Drill => {
                let drill = spec.drill.as_ref().ok_or_else(|| {
                    Error::invalid_input(
                        "a drill needs a `drill` table in the task's config (see docs/chaos.md)",
                    )
                })?;
                // A drill names its primary, or the members whose leader it
                // finds at run time (Patroni): every named container must exist.
                for c in drill
                    .primary
                    .iter()
                    .chain(&drill.candidates)
                    .chain(&drill.members)
                {
                    exists(c)?;
                }
                let on = match &drill.primary {
                    Some(primary) => format!("`{primary}`"),
                    None => format!("the leader among {}", drill.members.join(", ")),
                };
                out.push(format!(
                    "  a failover drill on {on} (candidates: {}) under a write load; see docs/chaos.md",
                    if drill.candidates.is_empty() { "the other members".to_owned() } else { drill.candidates.join(", ") }
                ));
            }
            Mode::SentinelDrill => {
                let sentinel = spec.sentinel.as_ref().ok_or_else(|| {
                    Error::invalid_input(
                        "a Sentinel drill needs a `sentinel` table in the task's config (see docs/chaos.md)",
                    )
                })?;
                for c in sentinel.sentinels.iter().chain(&sentinel.servers) {
                    exists(c)?;
                }
                out.push(format!(
                    "  a Redis Sentinel failover drill ({}) of the master among {} under a write load, watched by {}; see docs/chaos.md",
                    sentinel.fault,
                    sentinel.servers.join(", "),
                    sentinel.sentinels.join(", ")
                ));
            }
        }
    }
    println!("{}", out.join("\n"));
    Ok(())
}

fn in_step(n: usize, e: Error) -> Error {
    Error::new(e.kind(), format!("step {n}: {}", e.message()))
}

/// Fails, naming it, when `name` is no granted container.
fn exists(name: &str) -> Result<(), Error> {
    containers::open(name)?.inspect().map(drop)
}

/// One fault: validated, its targets resolved, its commands shown.
fn fault_plan(
    spec: &Spec,
    fields: &Fields,
    prefix: &str,
    out: &mut Vec<String>,
) -> Result<(), Error> {
    let kind = Kind::from_fields(fields)?;
    let hold = if kind.is_instant() {
        None
    } else {
        Some(spec::fault_duration(fields)?)
    };
    let every = spec::interval(fields, hold.unwrap_or_default())?;
    let pick = Pick::from_fields(fields)?;
    let target = fields
        .target
        .as_deref()
        .ok_or_else(|| Error::invalid_input("name the containers with --target"))?;
    let matches = fault::targets(target, Pick::All)?;
    let image = if kind.needs_helper() {
        Some(
            spec.helper_image
                .clone()
                .ok_or_else(|| fault::missing_image(&kind))?,
        )
    } else {
        None
    };
    let list = matches
        .iter()
        .map(|m| format!("`{m}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let on = match pick {
        Pick::All => list,
        Pick::Count(n) => format!("{n} picked at random at run time among {list}"),
        Pick::Percent(p) => format!("{p}% picked at random at run time among {list}"),
    };
    let when = match (hold, every) {
        (None, _) => String::new(),
        (Some(h), None) => format!(" for {}", crate::duration::show(h)),
        (Some(h), Some(e)) => format!(
            " for {} every {} until the run is stopped",
            crate::duration::show(h),
            crate::duration::show(e)
        ),
    };
    out.push(format!(
        "  {prefix}{} ({}) on {on}{when}",
        kind.name(),
        kind.describe()
    ));
    let peers = match kind.peer() {
        Some(p) => {
            let addresses = fault::peer_addresses(p)?;
            out.push(format!("    peer `{p}`: {}", addresses.join(", ")));
            addresses
        }
        None => Vec::new(),
    };
    let id = fault::new_id();
    let mut lines = Vec::new();
    match &kind {
        Kind::Pause => lines.push("engine: pause (cgroup freezer); undo: unpause".to_owned()),
        Kind::Stop => {
            lines.push("engine: stop (SIGTERM, SIGKILL after 10 s); undo: start".to_owned())
        }
        Kind::Kill { signal } => lines.push(format!(
            "engine: kill with {signal}; undo: start if it is not running"
        )),
        Kind::Restart => lines.push("engine: restart (stop with a 10 s grace, start)".to_owned()),
        Kind::Remove => {
            lines.push("engine: remove, with its anonymous volumes (cannot be undone)".to_owned())
        }
        Kind::Stress { .. } => {
            let image = image.as_deref().unwrap_or_default();
            stress_lines(&kind, image, &id, &matches, &mut lines)?;
        }
        _ => network_lines(&kind, &id, &peers, &mut lines)?,
    }
    if let Some(image) = &image
        && kind.is_network()
    {
        out.push(format!(
            "    in helper containers from `{image}` joining each target's network namespace (NET_ADMIN only), \
             named run-netns-<target>-{id}-… (the id differs at run time):"
        ));
    }
    out.extend(lines.into_iter().map(|l| format!("    {l}")));
    Ok(())
}

/// Each target's cgroup, resolved by the host as a run would (refused where
/// the engine cannot place a helper there), and stress-ng's exact command.
fn stress_lines(
    kind: &Kind,
    image: &str,
    id: &str,
    targets: &[String],
    lines: &mut Vec<String>,
) -> Result<(), Error> {
    let request = kind.stress_request(image, id).expect("a stress fault");
    lines.push(format!(
        "in a helper container from `{image}` per target, placed in the target's cgroup (no network, \
         no capabilities, user nobody), named run-stress-<target>-{id}-… (the id differs at run time):"
    ));
    for target in targets {
        let placed = network_faults::plan_stress(&containers::open(target)?, &request)
            .map_err(|e| e.context(format!("cannot stress `{target}`")))?;
        lines.push(format!("`{target}`: cgroup {}", placed.cgroup_parent));
        lines.push(format!("  {}", placed.command.join(" ")));
    }
    lines.push(format!(
        "undo: remove the helper containers named run-stress-<target>-{id}-… (stress-ng also ends by itself after {} s)",
        request.timeout_seconds
    ));
    Ok(())
}

fn script(label: &str, text: &str, lines: &mut Vec<String>) {
    lines.push(format!("{label}:"));
    for part in text.split("; ") {
        lines.push(format!("  {part}"));
    }
}

fn network_lines(
    kind: &Kind,
    id: &str,
    peers: &[String],
    lines: &mut Vec<String>,
) -> Result<(), Error> {
    let netem_only = |spec: &str, lines: &mut Vec<String>| {
        script(
            "apply (netem)",
            &net::try_qdisc(&format!("netem {spec}")),
            lines,
        );
        lines.push("  (refused if the kernel has no sch_netem; nothing is changed then)".into());
    };
    let mut qdisc = false;
    let mut delay_ms = None;
    match kind {
        Kind::Loss {
            percent,
            correlation: Some(c),
            ..
        } => {
            netem_only(&format!("loss {percent}% {c}%"), lines);
            qdisc = true;
        }
        Kind::Loss { percent, ports, .. } => {
            let only = Only {
                addresses: peers.to_vec(),
                ports: ports.clone(),
            };
            if only.is_all() {
                script(
                    "apply (netem, if the kernel has sch_netem)",
                    &net::try_qdisc(&format!("netem loss {percent}%")),
                    lines,
                );
                qdisc = true;
            }
            script(
                if only.is_all() { "otherwise" } else { "apply" },
                &net::loss_script(id, *percent, &only),
                lines,
            );
        }
        Kind::Delay {
            ms,
            jitter_ms,
            correlation,
            distribution,
            ports,
        } => {
            let spec = net::delay_spec(*ms, *jitter_ms, *correlation, distribution.as_deref());
            script(
                "apply (netem, if the kernel has sch_netem)",
                &net::try_qdisc(&format!("netem {spec}")),
                lines,
            );
            qdisc = true;
            if correlation.is_some() || distribution.is_some() {
                lines.push(
                    "  (refused if the kernel has no sch_netem: only netem shapes jitter)".into(),
                );
            } else if ports.is_empty() {
                lines.push("  (refused if the kernel has no sch_netem: without it, give --port for the proxy)".into());
            } else {
                let command = net::proxy_command(*ms, *jitter_ms, ports);
                lines.push(format!(
                    "otherwise: a detached helper runs the transparent proxy (proxy.py): python3 -c <proxy.py> {}",
                    command[3..].join(" ")
                ));
                script("then", &net::redirect_script(id, ports), lines);
                delay_ms = Some(ms + jitter_ms);
            }
        }
        Kind::Bandwidth { rate, ports, .. } => {
            let only = Only {
                addresses: peers.to_vec(),
                ports: ports.clone(),
            };
            script("apply", &net::bandwidth_script(rate, &only)?, lines);
            qdisc = true;
        }
        Kind::Partition {
            reject, direction, ..
        } => {
            script(
                "apply",
                &net::partition_script(id, peers, *reject, *direction),
                lines,
            );
        }
        Kind::Netem { spec, .. } => {
            netem_only(spec, lines);
            qdisc = true;
        }
        _ => {}
    }
    if let Some(d) = delay_ms {
        script(
            "undo, first (the proxy, if it was used)",
            &net::drain_script(id, d),
            lines,
        );
    }
    lines.push(format!(
        "undo: remove the helper containers named run-netns-<target>-{id}-…"
    ));
    script("undo", &net::undo_script(id, qdisc), lines);
    Ok(())
}
