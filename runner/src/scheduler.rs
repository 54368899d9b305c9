//! Runs a plan: each task once, dependencies first, independent tasks in
//! parallel up to `-j`, with timeouts, `--keep-going` and Ctrl-C handling.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::config::model::{Action, TaskFile};
use crate::graph::Plan;
use crate::plugin;
use crate::report;
use crate::task_error::TaskError;
use crate::ui::Ui;

pub struct Options {
    pub jobs: usize,
    pub keep_going: bool,
    /// `--force`: tasks with `sources` run even when up to date.
    pub force: bool,
    /// `--plan`: plugins run in plan mode, commands are not run.
    pub plan: bool,
    /// Echo command lines (off under -q).
    pub echo: bool,
    /// Capture each task's stdout and print it whole when the task ends, so
    /// parallel tasks' GitHub Actions groups do not interleave.
    pub buffer_output: bool,
    /// Plugins already read and hashed (for the lock check), by task index.
    pub resolved: std::sync::Mutex<crate::lock::Resolved>,
}

/// How each planned task ended.
#[derive(Debug)]
pub enum State {
    Pending,
    Running,
    Done,
    Failed(TaskError),
    /// Not run: something it waits for failed (or the run stopped first).
    Skipped,
}

/// The result of a whole invocation.
pub struct Summary {
    pub states: Vec<State>,
    /// Plan index of the first task to fail, in time.
    pub first_failure: Option<usize>,
    pub interrupted: bool,
    pub elapsed: Duration,
}

impl Summary {
    pub fn exit_code(&self) -> i32 {
        if self.interrupted {
            return 130;
        }
        match self.first_failure.map(|i| &self.states[i]) {
            Some(State::Failed(error)) => error.exit_code(),
            _ => 0,
        }
    }
}

pub async fn execute(
    file: Arc<TaskFile>,
    plan: Arc<Plan>,
    args: Vec<String>,
    ui: Arc<Ui>,
    options: Options,
) -> Summary {
    let started = Instant::now();
    let args = Arc::new(args);
    let mut states: Vec<State> = plan.nodes.iter().map(|_| State::Pending).collect();
    let mut running: JoinSet<Result<(), TaskError>> = JoinSet::new();
    let mut running_ids = std::collections::HashMap::new();
    let mut first_failure = None;
    let mut interrupted = false;
    let mut stopping = false;
    // Listening starts here and never stops for the run: a second interrupt
    // that comes while the first is being handled is kept, not lost between
    // two listeners (a listener created later would not see it).
    let mut interrupts = Interrupts::listen();

    // Event-driven, so a run is linear in tasks and edges: each task counts
    // the waits not yet done; a finished task updates only its dependents.
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); states.len()];
    let mut waiting: Vec<usize> = Vec::with_capacity(states.len());
    for (i, node) in plan.nodes.iter().enumerate() {
        waiting.push(node.waits_for.len());
        for &w in &node.waits_for {
            dependents[w].push(i);
        }
    }
    // Ready tasks start in plan order, as they always have.
    let mut ready: std::collections::BTreeSet<usize> =
        (0..states.len()).filter(|&i| waiting[i] == 0).collect();

    loop {
        while !stopping && running.len() < options.jobs {
            let Some(i) = ready.pop_first() else { break };
            states[i] = State::Running;
            let job = Job {
                file: file.clone(),
                plan: plan.clone(),
                node: i,
                args: if i == plan.root {
                    args.to_vec()
                } else {
                    Vec::new()
                },
                ui: ui.clone(),
                plan_mode: options.plan,
                force: options.force,
                echo: options.echo,
                buffer_output: options.buffer_output,
                source: options.resolved.lock().unwrap().remove(&plan.nodes[i].task),
            };
            running_ids.insert(running.spawn(job.run()).id(), i);
        }
        if running.is_empty() {
            break;
        }
        tokio::select! {
            Some(joined) = running.join_next_with_id() => {
                // A panicking task is a host bug; it still ends with a report.
                let (i, result) = match joined {
                    Ok((id, result)) => (running_ids[&id], result),
                    Err(panic) => (running_ids[&panic.id()], Err(TaskError::Host(format!("internal error: {panic}")))),
                };
                let task = &file.tasks[plan.nodes[i].task];
                states[i] = match result {
                    Ok(()) => {
                        for &d in &dependents[i] {
                            waiting[d] -= 1;
                            if waiting[d] == 0 && matches!(states[d], State::Pending) {
                                ready.insert(d);
                            }
                        }
                        State::Done
                    }
                    Err(error) => {
                        report::task_failed(&ui, task, &error);
                        if first_failure.is_none() {
                            first_failure = Some(i);
                        }
                        stopping |= !options.keep_going;
                        skip_dependents(i, &dependents, &mut states);
                        State::Failed(error)
                    }
                };
            }
            () = interrupts.next(), if !interrupted => {
                // Plugins that listen for cancellation get a grace period to put
                // things back; then dropping the futures stops plugins at their
                // next epoch tick and kills command children (kill_on_drop).
                interrupted = true;
                grace_period(&ui, &mut interrupts).await;
                running.abort_all();
                while running.join_next().await.is_some() {}
                // `finally` runs even for a task stopped by the interrupt.
                for (i, state) in states.iter().enumerate() {
                    let task = &file.tasks[plan.nodes[i].task];
                    let cleans_up = !task.finally.is_empty() && !options.plan;
                    if matches!(state, State::Running)
                        && cleans_up
                        && let Err(error) = run_finally(&file, task, &ui, options.echo, None).await
                    {
                        report::task_failed(&ui, task, &error);
                    }
                }
                for state in &mut states {
                    if matches!(state, State::Running) {
                        *state = State::Failed(TaskError::Interrupted);
                    } else if matches!(state, State::Pending) {
                        *state = State::Skipped;
                    }
                }
                break;
            }
        }
    }
    for state in &mut states {
        if matches!(state, State::Pending) {
            *state = State::Skipped;
        }
    }
    Summary {
        states,
        first_failure,
        interrupted,
        elapsed: started.elapsed(),
    }
}

/// Marks every task that waits, directly or not, for failed task `failed`
/// as not run. None of them is ready: a ready task waits only for done ones.
fn skip_dependents(failed: usize, dependents: &[Vec<usize>], states: &mut [State]) {
    let mut stack = vec![failed];
    while let Some(i) = stack.pop() {
        for &d in &dependents[i] {
            if matches!(states[d], State::Pending) {
                states[d] = State::Skipped;
                stack.push(d);
            }
        }
    }
}

/// Runs a task's `finally` lines (no arguments, the task's directory and
/// environment).
async fn run_finally(
    file: &TaskFile,
    task: &crate::config::model::Task,
    ui: &Ui,
    echo: bool,
    stdout: Option<&std::fs::File>,
) -> Result<(), TaskError> {
    let stdout = stdout.and_then(|f| f.try_clone().ok());
    crate::command::run(
        task,
        &task.finally,
        &[],
        &file.root,
        &file.dotenv,
        &[],
        ui,
        echo,
        stdout,
    )
    .await
}

/// `confirm = "…"`: `--yes` answers it; without a person at a terminal (CI
/// set, or stdin or stderr not a terminal) the task fails rather than guess.
async fn confirm(ui: &Ui, question: &str) -> Result<(), TaskError> {
    if ui.assume_yes {
        return Ok(());
    }
    if !ui.interactive {
        return Err(TaskError::Host(format!(
            "it asks \"{question}\" and no one can answer here (CI, or no terminal); pass --yes to answer yes"
        )));
    }
    let _one_at_a_time = ui.prompt_lock.lock().await;
    let answer = tokio::task::spawn_blocking({
        let question = question.to_owned();
        move || {
            eprint!("{question} [y/N] ");
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map(|_| line)
        }
    })
    .await
    .map_err(|e| TaskError::Host(e.to_string()))?
    .map_err(|e| TaskError::Host(e.to_string()))?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(TaskError::Host(format!(
            "\"{question}\" was not answered yes"
        )))
    }
}

/// After the first interrupt: cancels the run and, while plugins that listen
/// for cancellation are still running, waits for them to finish cleaning up,
/// at most `cancel::GRACE` or until a second interrupt. Other tasks are not
/// waited for: the caller stops them as soon as this returns.
async fn grace_period(ui: &Ui, interrupts: &mut Interrupts) {
    use crate::capability::cancel;
    cancel::request();
    let waiting = cancel::graceful_plugins();
    if waiting == 0 {
        return;
    }
    ui.progress.suspend(|| {
        crate::say!(
            "run: interrupted; waiting up to {}s for {waiting} plugin(s) to clean up (interrupt again to stop now)",
            cancel::GRACE.as_secs()
        )
    });
    // The tasks run on the runtime by themselves; a plugin's store (and its
    // count) goes away when its task ends.
    let cleaned_up = async {
        while cancel::graceful_plugins() > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::select! {
        () = cleaned_up => {}
        () = tokio::time::sleep(cancel::GRACE) => {
            ui.progress.suspend(|| crate::say!("run: the grace period is over; stopping"));
        }
        () = interrupts.next() => {
            let left = cancel::graceful_plugins();
            ui.progress.suspend(|| crate::say!(
                "run: interrupted again; stopping now, without waiting for {left} plugin(s) still cleaning up"
            ));
        }
    }
}

/// Ctrl-C (SIGINT) and SIGTERM, listened for from the start of the run.
/// Each listener remembers a signal delivered while nobody was waiting on
/// it, so [`Interrupts::next`] sees every interrupt after the previous one.
struct Interrupts {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Interrupts {
    fn listen() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        Interrupts {
            interrupt: signal(SignalKind::interrupt()).expect("cannot listen for SIGINT"),
            terminate: signal(SignalKind::terminate()).expect("cannot listen for SIGTERM"),
        }
    }

    /// Resolves on the next Ctrl-C or SIGTERM. Cancel-safe: dropped while
    /// waiting, it loses no signal.
    async fn next(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

/// One task's run, owning what it needs so it can be spawned.
struct Job {
    file: Arc<TaskFile>,
    plan: Arc<Plan>,
    node: usize,
    args: Vec<String>,
    ui: Arc<Ui>,
    /// `--plan`.
    plan_mode: bool,
    /// `--force`: run tasks even when up to date.
    force: bool,
    echo: bool,
    buffer_output: bool,
    /// The plugin, when it was already read for the lock check.
    source: Option<plugin::Source>,
}

impl Job {
    async fn run(mut self) -> Result<(), TaskError> {
        let file = self.file.clone();
        let task = &file.tasks[self.plan.nodes[self.node].task];
        // Without a capture file the output streams live (a failure to make one
        // only costs the grouping, never the output).
        let capture = if self.buffer_output {
            tempfile::tempfile().ok()
        } else {
            None
        };
        let fingerprint = self.fingerprint(task);
        if let Some(fingerprint) = &fingerprint
            && !self.force
            && crate::up_to_date::is_fresh(&self.file, task, fingerprint)
        {
            if self.echo {
                self.ui
                    .progress
                    .suspend(|| eprintln!("run: `{}` is up to date", task.name));
            }
            return Ok(());
        }
        report::task_started(&self.ui, task, capture.is_some());
        let source = self.source.take();
        let action = self.action(capture.as_ref(), source);
        let result = match task.timeout {
            Some(limit) => tokio::time::timeout(limit, action)
                .await
                .unwrap_or(Err(TaskError::Timeout(limit))),
            None => action.await,
        };
        let result = self.finally(task, result, capture.as_ref()).await;
        if let (Ok(()), Some(fingerprint)) = (&result, &fingerprint)
            && let Err(error) = crate::up_to_date::record(&self.file, task, fingerprint)
        {
            self.ui.progress.suspend(|| {
                eprintln!(
                    "run: warning: cannot record that `{}` is up to date: {error}",
                    task.name
                )
            });
        }
        report::task_finished(&self.ui, task, capture);
        result
    }

    /// The fingerprint of a task with `sources` (not under `--plan`), taken
    /// before it runs; `None` when it has none or it cannot be taken (then
    /// the task runs and nothing is recorded).
    fn fingerprint(
        &mut self,
        task: &crate::config::model::Task,
    ) -> Option<crate::up_to_date::Fingerprint> {
        if task.sources.is_empty() || self.plan_mode {
            return None;
        }
        let digest = match &task.action {
            Action::Plugin { source, .. } => {
                if self.source.is_none() {
                    self.source = plugin::Source::resolve(source).ok();
                }
                Some(self.source.as_ref()?.digest.clone())
            }
            _ => None,
        };
        crate::up_to_date::fingerprint(&self.file, task, digest.as_deref(), &self.args).ok()
    }

    /// The task's `finally` lines, after its action whatever the outcome. A
    /// failing `finally` fails a task that had succeeded; after a failure the
    /// first error is the one reported.
    async fn finally(
        &self,
        task: &crate::config::model::Task,
        result: Result<(), TaskError>,
        stdout: Option<&std::fs::File>,
    ) -> Result<(), TaskError> {
        if task.finally.is_empty() || self.plan_mode {
            return result;
        }
        let cleanup = run_finally(&self.file, task, &self.ui, self.echo, stdout).await;
        match (result, cleanup) {
            (Ok(()), cleanup) => cleanup,
            (Err(error), Ok(())) => Err(error),
            (Err(error), Err(cleanup)) => {
                report::task_failed(&self.ui, task, &cleanup);
                Err(error)
            }
        }
    }

    /// Runs the task's own action; `stdout`, when given, receives its output.
    async fn action(
        &self,
        stdout: Option<&std::fs::File>,
        resolved: Option<plugin::Source>,
    ) -> Result<(), TaskError> {
        let stdout = || stdout.and_then(|f| f.try_clone().ok());
        let task = &self.file.tasks[self.plan.nodes[self.node].task];
        match &task.action {
            Action::Group => Ok(()),
            Action::Command { lines } => {
                if self.plan_mode {
                    for line in lines {
                        self.ui
                            .progress
                            .suspend(|| crate::say!("(plan, not run) {line}"));
                    }
                    return Ok(());
                }
                let bound = crate::command_args::bind(task, &self.args)
                    .map_err(|e| TaskError::Host(e.to_string()))?;
                if let Some(question) = &task.confirm {
                    confirm(&self.ui, question).await?;
                }
                crate::command::run(
                    task,
                    lines,
                    &bound.positional,
                    &self.file.root,
                    &self.file.dotenv,
                    &bound.env,
                    &self.ui,
                    self.echo,
                    stdout(),
                )
                .await
            }
            Action::Plugin { source, config } => {
                let source = match resolved {
                    Some(resolved) => resolved,
                    None => plugin::Source::resolve(source)?,
                };
                let (source, component) = tokio::task::spawn_blocking(move || {
                    let component = source.load();
                    (source, component)
                })
                .await
                .map_err(|e| TaskError::Host(e.to_string()))?;
                plugin::run(plugin::Invocation {
                    task,
                    root: &self.file.root,
                    dotenv: &self.file.dotenv,
                    plugin: &source.name,
                    component: component?.0,
                    config,
                    args: self.args.clone(),
                    plan: self.plan_mode,
                    hook_for: self.plan.nodes[self.node].hook_for.clone(),
                    ui: self.ui.clone(),
                    stdout: stdout(),
                })
                .await
                .map(|outcome| plugin::descriptors::put(&source.digest, &outcome.descriptor))
            }
        }
    }
}
