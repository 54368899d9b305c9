//! Faults in time: one fault (on every target, or some picked at random),
//! held and undone, repeated every `--interval`; scenarios; the recovery of
//! what a killed run left; and the report file.

use std::fs;
use std::time::{Duration, Instant};

use run_plugin_sdk::{Access, Error, log};

use crate::duration;
use crate::fault::{self, Env, Kind, Pick};
use crate::journal::Entry;
use crate::report::Report;
use crate::spec::{self, Fields, Spec};

/// Undoes what a killed run left, saying for each entry what was still in
/// force (rules, qdiscs, helper containers, a paused container) and what was
/// not: a run killed while it set a fault up may have made only part of it.
pub fn recover(env: &mut Env<'_>, leftovers: &[Entry]) -> Result<Vec<String>, Error> {
    let mut lines = Vec::new();
    let mut first = None;
    for entry in leftovers.iter().rev() {
        let head = format!(
            "{} {} on {} (applied {})",
            entry.fault, entry.id, entry.target, entry.applied_at
        );
        match env.undo_saying(entry) {
            Ok(what) if what.is_empty() => {
                lines.push(format!("{head}: nothing of it was in force any more"))
            }
            Ok(what) => lines.push(format!("{head}: {}", what.join("; "))),
            Err(e) => {
                lines.push(format!("{head}: NOT undone: {}", e.message()));
                log::error(e.message());
                first.get_or_insert(e);
            }
        }
    }
    first.map_or(Ok(lines), Err)
}

/// Applies a fault to every target (or those picked), holds it, undoes it;
/// with `--interval`, again every interval until the run is stopped.
pub fn one_fault(fields: &Fields, env: &mut Env<'_>) -> Result<(), Error> {
    let kind = Kind::from_fields(fields)?;
    let hold = if kind.is_instant() {
        Duration::ZERO
    } else {
        spec::fault_duration(fields)?
    };
    let every = spec::interval(fields, hold)?;
    let pick = Pick::from_fields(fields)?;
    let target = fields
        .target
        .as_deref()
        .ok_or_else(|| Error::invalid_input("name the containers with --target"))?;
    let mut round = 0u32;
    loop {
        round += 1;
        let started = Instant::now();
        if every.is_some() {
            env.report.event(format!("round {round}"));
        }
        once(&kind, target, pick, hold, env)?;
        let Some(every) = every else {
            return Ok(());
        };
        let rest = every.saturating_sub(started.elapsed());
        if fault::hold(rest) {
            env.report
                .event(format!("interrupted after {round} round(s)"));
            return Err(Error::failed(format!(
                "interrupted after {round} round(s); every fault was undone"
            )));
        }
    }
}

fn once(
    kind: &Kind,
    target: &str,
    pick: Pick,
    hold: Duration,
    env: &mut Env<'_>,
) -> Result<(), Error> {
    let targets = fault::targets(target, pick)?;
    let mut applied = Vec::new();
    for t in &targets {
        match env.apply(kind, t) {
            Ok(entry) => applied.push(entry),
            Err(e) => {
                env.report.event(format!("{t}: {}", e.message()));
                let _ = env.undo_all(&applied);
                return Err(e);
            }
        }
    }
    if kind.is_instant() {
        return Ok(());
    }
    let held = env.hold(hold, &applied);
    if held.cancelled {
        env.report.event("interrupted: undoing");
    }
    env.undo_all(&applied)?;
    if held.cancelled {
        return Err(Error::failed("interrupted; every fault was undone"));
    }
    if !held.lost.is_empty() {
        let why: Vec<&str> = held.lost.iter().map(|(_, why)| why.as_str()).collect();
        return Err(Error::failed(format!(
            "{} fault(s) did not hold for their duration: {}",
            why.len(),
            why.join("; ")
        )));
    }
    Ok(())
}

/// The `steps` in order: faults (held for their duration), waits and checks.
pub fn scenario(spec: &Spec, env: &mut Env<'_>) -> Result<(), Error> {
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

/// Writes the report as JSON into the task's directory, under a name no
/// other run takes (`report-<time with milliseconds>[-N].json`, created
/// exclusively), and prints it.
pub fn finish(spec: &Spec, report: &Report) -> Result<(), Error> {
    let json = report.json();
    fs::create_dir_all(&spec.dir).map_err(|e| Error::io(&spec.dir, Access::Write, e))?;
    let now = run_plugin_sdk::time::Timestamp::now();
    let stamp = now
        .file_stamp()
        .replace('Z', &format!(".{:03}Z", now.millis() % 1000));
    let mut n = 0;
    let path = loop {
        let path = if n == 0 {
            spec.path(&format!("report-{stamp}.json"))
        } else {
            spec.path(&format!("report-{stamp}-{n}.json"))
        };
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut file) => {
                use std::io::Write;
                file.write_all(format!("{json}\n").as_bytes())
                    .map_err(|e| Error::io(&path, Access::Write, e))?;
                break path;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
            Err(e) => return Err(Error::io(&path, Access::Write, e)),
        }
    };
    if spec.json {
        println!("{json}");
    } else {
        eprint!("{}", report.human());
        eprintln!("report: {path}");
    }
    Ok(())
}
