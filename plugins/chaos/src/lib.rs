//! The built-in `chaos` plugin: network faults, pause/stop/kill/restart, CPU
//! and memory stress, failover drills and zero-data-loss checks, always put
//! back.
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
mod plan;
mod report;
mod rounds;
mod sentinel;
mod size;
mod spec;
mod verify;

use run_plugin_sdk::{Context, Descriptor, Error, Grant, Parameter, Plugin, export_plugin, log};

use crate::fault::Env;
use crate::journal::Journal;
use crate::report::Report;
use crate::spec::{Mode, Spec};

struct Chaos;

impl Plugin for Chaos {
    fn describe() -> Descriptor {
        // The containers, helper image and directory come from the task's
        // config and arguments: `needs` declares them.
        Descriptor::new(
            "chaos",
            env!("CARGO_PKG_VERSION"),
            "Faults (network, pause/stop/kill/restart, CPU and memory stress), failover drills and zero-data-loss checks, always undone",
        )
        .parameter(Parameter::positional("fault", "pause, stop, kill, restart, remove, loss, delay, bandwidth, partition, duplicate, corrupt, reorder, stress; or verify-data, drill, sentinel-drill, scenario"))
        .parameter(Parameter::option("target", "containers: a name, a glob or label=KEY=VALUE"))
        .parameter(Parameter::option("duration", "how long the fault lasts (e.g. 60s)"))
        .parameter(Parameter::option("percent", "loss, duplicate, corrupt, reorder: percent of packets"))
        .parameter(Parameter::option("delay", "delay: added latency (e.g. 200ms)"))
        .parameter(Parameter::option("jitter", "delay: random variation (e.g. 20ms)"))
        .parameter(Parameter::option("port", "delay: TCP ports to delay through the proxy when the kernel has no netem (e.g. 5432,80); loss, bandwidth: only traffic of these ports"))
        .parameter(Parameter::option("rate", "bandwidth: limit (e.g. 1mbit, 512kbit)"))
        .parameter(Parameter::option("peer", "partition, loss, bandwidth: only traffic with this container or address"))
        .parameter(Parameter::flag("reject", "partition: refuse connections (TCP reset) instead of dropping packets"))
        .parameter(Parameter::option("signal", "kill: the signal (default SIGKILL)"))
        .parameter(Parameter::flag("random", "apply to one target picked at random"))
        .parameter(Parameter::option("pick", "apply to this many targets (2) or this share of them (50%), picked at random"))
        .parameter(Parameter::option("interval", "repeat the fault every interval (apply, hold --duration, undo) until stopped"))
        .parameter(Parameter::option("direction", "partition: in, out or both (default)"))
        .parameter(Parameter::option("correlation", "netem: percent each random choice depends on the last (needs sch_netem)"))
        .parameter(Parameter::option("distribution", "delay: jitter distribution: uniform, normal, pareto, paretonormal (needs sch_netem)"))
        .parameter(Parameter::option("cpu", "stress: CPU workers (stress-ng --cpu) in the target's cgroup"))
        .parameter(Parameter::option("cpu-load", "stress: each CPU worker's load in percent (default 100)"))
        .parameter(Parameter::option("memory", "stress: memory to allocate and keep touching in the target's cgroup (e.g. 256m, 1g)"))
        .parameter(Parameter::option("helper-image", "the helper image (tc, iptables; stress-ng for stress); grant it in allow.images"))
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
            return plan::show(ctx.task(), &spec);
        }
        // A data check changes nothing: it reads the journal without its
        // lock, and neither waits for a live run nor undoes leftovers.
        let journal = if spec.mode == Mode::VerifyData && !spec.recover {
            Journal::unlocked(&spec.dir)?
        } else {
            Journal::open(&spec.dir)?
        };
        let mut report = Report::new(ctx.task());
        let result = run(&spec, &journal, &mut report);
        report.outcome = match &result {
            Ok(()) => "ok".into(),
            Err(e) => format!("failed: {}", e.message()),
        };
        rounds::finish(&spec, &report)?;
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
    // Leftovers of a killed run are undone before anything else (a data
    // check only says they are there).
    let leftovers = journal.entries()?;
    if spec.mode == Mode::VerifyData && !spec.recover {
        if !leftovers.is_empty() {
            let note = format!(
                "{} fault(s) of an earlier run may still be in force (listed in {}/journal.json): `run chaos --recover` undoes them",
                leftovers.len(),
                spec.dir
            );
            log::warn(&note);
            env.report.event(note);
        }
    } else if !leftovers.is_empty() {
        log::warn(format!(
            "undoing {} fault(s) left by an earlier run",
            leftovers.len()
        ));
        env.report
            .event(format!("recovering {} leftover fault(s)", leftovers.len()));
        let lines = rounds::recover(&mut env, &leftovers)?;
        if spec.recover {
            println!("recovered: {} fault(s) undone", leftovers.len());
            for line in lines {
                println!("  {line}");
            }
        }
    }
    if spec.recover {
        if leftovers.is_empty() {
            println!(
                "recovered: nothing to undo ({}/journal.json lists no fault)",
                spec.dir
            );
        }
        return Ok(());
    }
    match spec.mode {
        Mode::Fault => rounds::one_fault(&spec.fields, &mut env),
        Mode::Scenario => rounds::scenario(spec, &mut env),
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

export_plugin!(Chaos);
