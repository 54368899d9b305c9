//! The built-in `chaos` plugin: network faults, pause/stop/kill/restart,
//! failover drills and zero-data-loss checks, always put back.
//!
//! ```toml
//! [tasks.chaos]
//! plugin = "chaos"
//! config = { helper-image = "run-test/chaos-helper:latest" }
//! allow = { containers = ["pg-*"], images = ["run-test/chaos-helper:*"], write = [".chaos"] }
//! ```
//!
//! `run chaos loss --target pg-demo --percent 30 --duration 60s`. Every fault
//! is written to `<dir>/journal.json` before it is applied and removed after it
//! is undone; faults end at the end of their duration, on a failed step, or on
//! Ctrl-C/SIGTERM (the runner gives this plugin a grace period to undo them).
//! `run chaos --recover`, and the start of every chaos task, undoes whatever a
//! killed runner left behind.

mod check;
mod drill;
mod duration;
mod fault;
mod haproxy;
mod journal;
mod load;
mod needs;
mod net;
mod report;
mod sentinel;
mod spec;
mod verify;

use std::fs;

use run_plugin_sdk::{
    Access, Context, Descriptor, Error, Grant, Parameter, Plugin, export_plugin, log,
};

use crate::fault::{Env, Kind};
use crate::journal::Journal;
use crate::report::Report;
use crate::spec::{Fields, Mode, Spec};

struct Chaos;

impl Plugin for Chaos {
    fn describe() -> Descriptor {
        // The containers, helper image and directory come from the task's
        // config and arguments: `needs` declares them.
        Descriptor::new(
            "chaos",
            env!("CARGO_PKG_VERSION"),
            "Faults (network, pause/stop/kill/restart), failover drills and zero-data-loss checks, always undone",
        )
        .parameter(Parameter::positional("fault", "pause, stop, kill, restart, loss, delay, bandwidth, partition; or verify-data, drill, sentinel-drill, scenario"))
        .parameter(Parameter::option("target", "containers: a name, a glob or label=KEY=VALUE"))
        .parameter(Parameter::option("duration", "how long the fault lasts (e.g. 60s)"))
        .parameter(Parameter::option("percent", "loss: percent of packets dropped"))
        .parameter(Parameter::option("delay", "delay: added latency (e.g. 200ms)"))
        .parameter(Parameter::option("jitter", "delay: random variation (e.g. 20ms)"))
        .parameter(Parameter::option("port", "delay: TCP ports to delay through the proxy when the kernel has no netem (e.g. 5432,80)"))
        .parameter(Parameter::option("rate", "bandwidth: limit (e.g. 1mbit, 512kbit)"))
        .parameter(Parameter::option("peer", "partition: cut off only from this container or address"))
        .parameter(Parameter::flag("reject", "partition: refuse connections (TCP reset) instead of dropping packets"))
        .parameter(Parameter::option("signal", "kill: the signal (default SIGKILL)"))
        .parameter(Parameter::flag("random", "apply to one target picked at random"))
        .parameter(Parameter::option("helper-image", "the network helper image (tc, iptables); grant it in allow.images"))
        .parameter(Parameter::flag("recover", "undo every fault a killed run left behind, then stop"))
        .parameter(Parameter::flag("save", "verify-data: save the fingerprints as the baseline"))
        .parameter(Parameter::flag("json", "print the report as JSON on stdout"))
    }

    fn needs(ctx: &Context) -> Result<Vec<Grant>, Error> {
        needs::of(&Spec::from_context(ctx)?)
    }

    fn run(ctx: Context) -> Result<(), Error> {
        let spec = Spec::from_context(&ctx)?;
        if ctx.is_plan() {
            println!(
                "(plan) chaos would run {:?} with {:?}; nothing is changed",
                spec.mode, spec.fields
            );
            return Ok(());
        }
        let journal = Journal::open(&spec.dir)?;
        let mut report = Report::new(ctx.task());
        let result = run(&spec, &journal, &mut report);
        report.outcome = match &result {
            Ok(()) => "ok".into(),
            Err(e) => format!("failed: {}", e.message()),
        };
        finish(&spec, &report)?;
        result
    }
}

fn run(spec: &Spec, journal: &Journal, report: &mut Report) -> Result<(), Error> {
    let mut env = Env {
        journal,
        dir: &spec.dir,
        image: spec.helper_image.as_deref(),
        report,
    };
    // Leftovers of a killed run are undone before anything else.
    let leftovers = journal.entries()?;
    if !leftovers.is_empty() {
        log::warn(format!(
            "undoing {} fault(s) left by an earlier run",
            leftovers.len()
        ));
        env.report
            .event(format!("recovering {} leftover fault(s)", leftovers.len()));
        env.undo_all(&leftovers)?;
    }
    if spec.recover {
        println!("recovered: {} fault(s) undone", leftovers.len());
        return Ok(());
    }
    match spec.mode {
        Mode::Fault => one_fault(&spec.fields, &mut env),
        Mode::Scenario => scenario(spec, &mut env),
        Mode::VerifyData => verify::run(spec, env.report),
        Mode::Drill => {
            let config = spec.drill.as_ref().ok_or_else(|| {
                Error::invalid_input(
                    "a drill needs a `drill` table in the task's config (see docs/chaos.md)",
                )
            })?;
            drill::run(config, &mut env)
        }
        Mode::SentinelDrill => {
            let config = spec.sentinel.as_ref().ok_or_else(|| {
                Error::invalid_input(
                    "a Sentinel drill needs a `sentinel` table in the task's config (see docs/chaos.md)",
                )
            })?;
            sentinel::run(config, &mut env)
        }
    }
}

/// Applies a fault to every target, holds it, undoes it.
fn one_fault(fields: &Fields, env: &mut Env<'_>) -> Result<(), Error> {
    let kind = Kind::from_fields(fields)?;
    let hold = if kind == Kind::Restart {
        std::time::Duration::ZERO
    } else {
        spec::fault_duration(fields)?
    };
    let target = fields
        .target
        .as_deref()
        .ok_or_else(|| Error::invalid_input("name the containers with --target"))?;
    let targets = fault::targets(target, fields.random.unwrap_or(false))?;
    let mut applied = Vec::new();
    for t in &targets {
        match env.apply(&kind, t) {
            Ok(entry) => applied.push(entry),
            Err(e) => {
                env.report.event(format!("{t}: {}", e.message()));
                let _ = env.undo_all(&applied);
                return Err(e);
            }
        }
    }
    if kind == Kind::Restart {
        return Ok(());
    }
    let cancelled = fault::hold(hold);
    if cancelled {
        env.report.event("interrupted: undoing");
    }
    env.undo_all(&applied)?;
    if cancelled {
        return Err(Error::failed("interrupted; every fault was undone"));
    }
    Ok(())
}

/// The `steps` in order: faults (held for their duration), waits and checks.
fn scenario(spec: &Spec, env: &mut Env<'_>) -> Result<(), Error> {
    for (i, step) in spec.steps.iter().enumerate() {
        let n = i + 1;
        if run_plugin_sdk::cancel::cancelled() {
            return Err(Error::failed(format!("interrupted before step {n}")));
        }
        let step = spec.fields.overlay(step);
        if let Some(check) = &step.check {
            check.run_on(None).map_err(|e| {
                env.report.event(format!("step {n}: check failed: {e}"));
                Error::failed(format!("step {n}: check {} failed: {e}", check.describe()))
            })?;
            env.report
                .event(format!("step {n}: check {} passed", check.describe()));
        } else if let Some(wait) = &step.wait {
            let d = duration::parse(wait)
                .map_err(|e| Error::invalid_input(format!("step {n}: wait: {e}")))?;
            env.report.event(format!("step {n}: wait {wait}"));
            if fault::hold(d) {
                return Err(Error::failed(format!("interrupted in step {n}")));
            }
        } else {
            one_fault(&step, env)
                .map_err(|e| Error::new(e.kind(), format!("step {n}: {}", e.message())))?;
        }
    }
    Ok(())
}

/// Prints the report and writes it as JSON into the task's directory.
fn finish(spec: &Spec, report: &Report) -> Result<(), Error> {
    let json = report.json();
    let path = spec.path(&format!(
        "report-{}.json",
        run_plugin_sdk::time::Timestamp::now().file_stamp()
    ));
    fs::write(&path, format!("{json}\n")).map_err(|e| Error::io(&path, Access::Write, e))?;
    if spec.json {
        println!("{json}");
    } else {
        eprint!("{}", report.human());
        eprintln!("report: {path}");
    }
    Ok(())
}

export_plugin!(Chaos);
