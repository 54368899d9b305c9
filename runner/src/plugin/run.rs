//! Runs one plugin task: a fresh store with exactly the task's grants, the
//! capability check against `describe`, then `run`, under memory and time limits.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use wasmtime::Store;
use wasmtime::component::{Component, Linker};
use wasmtime_wasi::WasiCtxBuilder;

use super::bindings::{PluginPre, types};
use super::engine::{self, MAX_MEMORY};
use super::state::{HostState, MemoryLimiter};
use crate::capability::container::StackGrants;
use crate::capability::{
    self, container::ContainerHost, files, lock::LockHost, log::LogHost, network,
    prompt::PromptHost,
};
use crate::config::model::{Grants, Task};
use crate::task_error::TaskError;
use crate::ui::Ui;

/// Everything needed to run one plugin task.
pub struct Invocation<'a> {
    pub task: &'a Task,
    pub root: &'a Path,
    pub plugin: &'a str,
    pub component: Component,
    pub config: &'a serde_json::Value,
    pub args: Vec<String>,
    pub dry_run: bool,
    pub hook_for: Option<String>,
    pub ui: Arc<Ui>,
    /// Where the plugin's stdout goes instead of the runner's (captured output).
    pub stdout: Option<std::fs::File>,
}

/// What a successful run reports.
pub struct Outcome {
    pub descriptor: types::Descriptor,
}

/// One linker for the process: the set of host functions never changes.
fn linker() -> wasmtime::Result<&'static Linker<HostState>> {
    static LINKER: OnceLock<Linker<HostState>> = OnceLock::new();
    if let Some(linker) = LINKER.get() {
        return Ok(linker);
    }
    let mut linker = Linker::new(engine::engine()?);
    capability::add_to_linker(&mut linker)?;
    Ok(LINKER.get_or_init(|| linker))
}

/// Runs the plugin. Time limits and Ctrl-C are applied by the caller, which drops
/// this future: the store yields at every epoch tick, so dropping always works.
pub async fn run(inv: Invocation<'_>) -> Result<Outcome, TaskError> {
    let host = |e: wasmtime::Error| TaskError::Host(format!("{e:#}"));
    let task = inv.task;
    let grants = effective_grants(&task.allow, inv.dry_run, inv.root);

    let mut wasi = WasiCtxBuilder::new();
    match inv.stdout {
        Some(file) => wasi.stdout(wasmtime_wasi::cli::OutputFile::new(file)),
        None => wasi.inherit_stdout(),
    };
    wasi.inherit_stderr();
    wasi.args(
        &std::iter::once(inv.plugin.to_owned())
            .chain(inv.args.iter().cloned())
            .collect::<Vec<_>>(),
    );
    wasi.envs(&capability::env::environment(
        &task.env,
        &grants,
        std::env::vars(),
    ));
    let preopens = files::preopens(inv.root, &grants)?;
    files::apply(&mut wasi, &preopens).map_err(host)?;
    let net_grants = grants
        .network
        .iter()
        .map(|g| network::parse(g).map_err(|e| TaskError::NetworkGrant(format!("`{g}`: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let allowed = network::Allowed::resolve(&net_grants).await;
    network::apply(&mut wasi, &task.name, &net_grants, allowed);

    let memory_limit = task
        .memory
        .map_or(MAX_MEMORY, |m| m.min(MAX_MEMORY as u64) as usize);
    let state = HostState {
        wasi: wasi.build(),
        table: Default::default(),
        limits: MemoryLimiter::new(memory_limit),
        log: LogHost::new(&task.name, inv.ui.clone()),
        prompt: PromptHost::new(&task.name, inv.ui.clone()),
        lock: LockHost::new(&task.name, preopens.clone(), inv.dry_run),
        container: ContainerHost::new(&task.name, &grants.containers, preopens, inv.dry_run)
            .map_err(|e| TaskError::Host(format!("bad container grant: {e}")))?
            .with_stack(StackGrants::new(&grants).map_err(TaskError::Host)?),
        cancel: Default::default(),
    };
    let mut store = new_store(state)?;
    let pre = prepare(&inv.component, inv.plugin)?;
    let result = async {
        let plugin = pre.instantiate_async(&mut store).await?;
        let handler = plugin.runner_plugin_handler();
        let descriptor = handler.call_describe(&mut store).await?;
        // Variables passed through by `env = [...]` are granted as much as `allow.env`.
        let mut granted = grants.clone();
        granted.env.extend(task.env.pass.iter().cloned());
        let missing = super::missing_grants(&descriptor.capabilities, &granted);
        if !missing.is_empty() && !inv.dry_run {
            return Ok(Err(TaskError::Ungranted { missing }));
        }
        let context = types::TaskContext {
            task: task.name.clone(),
            args: inv.args.clone(),
            config: inv.config.to_string(),
            dry_run: inv.dry_run,
            interactive: inv.ui.interactive,
            hook_for: inv.hook_for.clone(),
        };
        let outcome = handler.call_run(&mut store, &context).await?;
        Ok(outcome
            .map(|()| Outcome { descriptor })
            .map_err(plugin_error))
    }
    .await;
    match result {
        Ok(outcome) => outcome,
        Err(trap) => Err(trap_error(trap, &store.data().limits)),
    }
}

/// A store for one plugin instance: memory limited, yielding at every epoch tick.
fn new_store(state: HostState) -> Result<Store<HostState>, TaskError> {
    let engine = engine::engine().map_err(|e| TaskError::Host(format!("{e:#}")))?;
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limits);
    store.set_epoch_deadline(1);
    store.epoch_deadline_async_yield_and_update(1);
    Ok(store)
}

fn prepare(component: &Component, plugin: &str) -> Result<PluginPre<HostState>, TaskError> {
    linker()
        .and_then(|l| l.instantiate_pre(component))
        .and_then(PluginPre::new)
        .map_err(|e| TaskError::Host(format!("cannot link plugin `{plugin}`: {e:#}")))
}

/// How long `describe` may take: it must be free of side effects and quick.
const DESCRIBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Asks a plugin what it is, in a sandbox with no grants at all (no files,
/// network, environment or containers, and no stdout), as `describe` promises
/// to have no side effects.
pub async fn describe(
    component: &Component,
    plugin: &str,
    ui: Arc<Ui>,
) -> Result<types::Descriptor, TaskError> {
    let mut wasi = WasiCtxBuilder::new();
    wasi.inherit_stderr();
    let state = HostState {
        wasi: wasi.build(),
        table: Default::default(),
        limits: MemoryLimiter::new(MAX_MEMORY),
        log: LogHost::new(plugin, ui.clone()),
        prompt: PromptHost::new(plugin, ui),
        container: ContainerHost::new(plugin, &[], Vec::new(), true)
            .map_err(|e| TaskError::Host(e.to_string()))?,
        cancel: Default::default(),
        lock: LockHost::none(plugin),
    };
    let mut store = new_store(state)?;
    let pre = prepare(component, plugin)?;
    let call = async {
        let instance = pre.instantiate_async(&mut store).await?;
        instance
            .runner_plugin_handler()
            .call_describe(&mut store)
            .await
    };
    match tokio::time::timeout(DESCRIBE_TIMEOUT, call).await {
        Ok(Ok(descriptor)) => Ok(descriptor),
        Ok(Err(trap)) => Err(trap_error(trap, &store.data().limits)),
        Err(_) => Err(TaskError::Timeout(DESCRIBE_TIMEOUT)),
    }
}

/// Under `--dry-run` nothing may change: write grants become read-only, and
/// those not yet created are left out rather than created.
fn effective_grants(grants: &Grants, dry_run: bool, root: &Path) -> Grants {
    if !dry_run {
        return grants.clone();
    }
    let mut grants = grants.clone();
    let existing: Vec<String> = grants
        .write
        .drain(..)
        .filter(|dir| root.join(dir).is_dir())
        .collect();
    grants.read.extend(existing);
    grants
}

fn plugin_error(error: types::PluginError) -> TaskError {
    let kind = match error.kind {
        types::ErrorKind::Failed => "failed",
        types::ErrorKind::Denied => "denied",
        types::ErrorKind::InvalidInput => "invalid input",
        types::ErrorKind::Unsupported => "unsupported",
        types::ErrorKind::NotFound => "not found",
    };
    TaskError::Plugin {
        kind,
        message: error.message,
        exit_code: error.exit_code,
    }
}

/// A trap after a refused memory growth is the memory limit; otherwise report the
/// trap itself (its wasm backtrace only at debug level: users need the reason).
fn trap_error(error: wasmtime::Error, limits: &MemoryLimiter) -> TaskError {
    if limits.exceeded {
        return TaskError::MemoryLimit {
            limit: limits.limit as u64,
        };
    }
    tracing::debug!("plugin trap details: {error:?}");
    let reason = match error.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => trap.to_string(),
        None => error.root_cause().to_string(),
    };
    TaskError::Trap(reason)
}
