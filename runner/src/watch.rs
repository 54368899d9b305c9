//! `run --watch TASK`: run, then run again whenever a file matching the
//! `sources` of a task in the plan changes, until Ctrl-C.

use std::sync::Arc;

use globset::{Glob, GlobSetBuilder};
use notify::{RecursiveMode, Watcher};

use crate::config::model::TaskFile;
use crate::error::Error;
use crate::graph::Plan;
use crate::ui::Ui;
use crate::{report, scheduler};

/// What each run needs besides the file and plan.
pub struct Runs<'a> {
    pub runtime: &'a tokio::runtime::Runtime,
    pub args: Vec<String>,
    pub ui: Arc<Ui>,
    pub options: scheduler::Options,
    pub verbose: bool,
}

/// Runs the plan, then again after each change to a watched source; returns
/// the exit code of an interrupted run, or 130 when interrupted while waiting.
pub fn run(file: Arc<TaskFile>, plan: Arc<Plan>, runs: Runs<'_>) -> Result<i32, Error> {
    let patterns: Vec<&String> = plan
        .nodes
        .iter()
        .flat_map(|n| &file.tasks[n.task].sources)
        .collect();
    if patterns.is_empty() {
        return Err(Error::NothingToWatch);
    }
    let mut builder = GlobSetBuilder::new();
    for pattern in &patterns {
        builder.add(Glob::new(pattern).map_err(std::io::Error::other)?);
    }
    let globs = builder.build().map_err(std::io::Error::other)?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && !event.kind.is_access()
        {
            let _ = tx.send(event.paths);
        }
    })
    .map_err(std::io::Error::other)?;
    watcher
        .watch(&file.root, RecursiveMode::Recursive)
        .map_err(std::io::Error::other)?;
    let Runs {
        runtime,
        args,
        ui,
        options,
        verbose,
    } = runs;
    let (jobs, keep_going, force, plan_mode, echo, buffer_output) = (
        options.jobs,
        options.keep_going,
        options.force,
        options.plan,
        options.echo,
        options.buffer_output,
    );
    let mut first = Some(options);
    loop {
        let options = first.take().unwrap_or_else(|| scheduler::Options {
            jobs,
            keep_going,
            force,
            plan: plan_mode,
            echo,
            buffer_output,
            resolved: std::sync::Mutex::new(Default::default()),
        });
        let summary = runtime.block_on(scheduler::execute(
            file.clone(),
            plan.clone(),
            args.clone(),
            ui.clone(),
            options,
        ));
        report::summary(&file, &plan, &summary, verbose);
        if summary.interrupted {
            return Ok(summary.exit_code());
        }
        ui.progress.suspend(|| {
            eprintln!(
                "run: watching {} pattern(s) for changes (Ctrl-C stops)",
                patterns.len()
            )
        });
        let changed = runtime.block_on(async {
            loop {
                tokio::select! {
                    paths = rx.recv() => {
                        let Some(paths) = paths else { return false };
                        let relevant = paths.iter().any(|p| {
                            p.strip_prefix(&file.root).is_ok_and(|r| {
                                !r.starts_with(".run") && globs.is_match(r)
                            })
                        });
                        if relevant {
                            // Editors write in bursts: settle, then drop the rest.
                            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                            while rx.try_recv().is_ok() {}
                            return true;
                        }
                    }
                    _ = tokio::signal::ctrl_c() => return false,
                }
            }
        });
        if !changed {
            return Ok(130);
        }
    }
}
