//! Runs one plugin task: a fresh store with exactly the task's grants, the
//! capability check against `describe` and `needs`, then `run`, under memory,
//! handle and time limits. Also previews a plugin (`describe`, `needs`) in a
//! sandbox with nothing granted, for `--dry-run`, `--help` and `inspect`.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use wasmtime::Store;
use wasmtime::component::{Component, Linker};
use wasmtime_wasi::WasiCtxBuilder;

use super::bindings::{PluginPre, types};
use super::engine;
use super::limits;
use super::state::{HostState, Parts};
use crate::capability::{
    self,
    engine::EngineHost,
    files::{self, host::FilesHost},
    http::{self, HttpHost},
    lock::LockHost,
    log::LogHost,
    network,
    prompt::PromptHost,
    stdio::Output,
};
use crate::config::model::{Grants, Task};
use crate::grant::Grant;
use crate::task_error::TaskError;
use crate::ui::Ui;

/// Everything needed to run one plugin task.
pub struct Invocation<'a> {
    pub task: &'a Task,
    pub root: &'a Path,
    /// The `.env` values: a plugin sees one only when `allow.env` grants it
    /// and the host environment does not set it.
    pub dotenv: &'a [(String, String)],
    pub plugin: &'a str,
    pub component: Component,
    pub config: &'a serde_json::Value,
    pub args: Vec<String>,
    /// `run --plan`: the plugin reports what it would do; write grants are
    /// read-only, the network is closed, container changes are refused.
    pub plan: bool,
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
pub(super) fn linker() -> wasmtime::Result<&'static Linker<HostState>> {
    static LINKER: OnceLock<Linker<HostState>> = OnceLock::new();
    if let Some(linker) = LINKER.get() {
        return Ok(linker);
    }
    let mut linker = Linker::new(engine::engine()?);
    capability::add_to_linker(&mut linker)?;
    Ok(LINKER.get_or_init(|| linker))
}

/// Runs the plugin. Time limits and Ctrl-C are applied by the caller, which drops
/// this future: the store yields at every epoch tick and every host call
/// (output included) waits asynchronously, so dropping always works.
pub async fn run(inv: Invocation<'_>) -> Result<Outcome, TaskError> {
    let host = |e: wasmtime::Error| TaskError::Host(format!("{e:#}"));
    let task = inv.task;
    let grants = effective_grants(&task.allow, inv.plan, inv.root);

    let stdout = match inv.stdout {
        Some(file) => Output::file(file),
        None => Output::stdout(),
    };
    let stderr = Output::stderr();
    let mut wasi = WasiCtxBuilder::new();
    wasi.stdout(stdout.clone()).stderr(stderr.clone());
    wasi.args(
        &std::iter::once(inv.plugin.to_owned())
            .chain(inv.args.iter().cloned())
            .collect::<Vec<_>>(),
    );
    wasi.envs(&capability::env::environment(
        &task.env,
        &grants,
        std::env::vars().chain(
            inv.dotenv
                .iter()
                .filter(|(k, _)| std::env::var_os(k).is_none())
                .cloned(),
        ),
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

    let state = HostState::new(Parts {
        wasi: wasi.build(),
        memory: limits::memory(task.memory),
        handles: limits::handles(),
        lookups: network::Lookups::new(&task.name, &net_grants),
        log: LogHost::new(&task.name, inv.ui.clone()),
        prompt: PromptHost::new(&task.name, inv.ui.clone()),
        lock: LockHost::new(&task.name, preopens.clone(), inv.plan),
        files: FilesHost::new(&task.name, preopens.clone(), inv.plan),
        http: http_host(&task.name, &grants)?,
        engine: EngineHost::new(&task.name, grants.clone(), preopens, inv.plan)
            .with_planned_writes(if inv.plan {
                task.allow.write.clone()
            } else {
                Vec::new()
            }),
    });
    let mut store = new_store(state)?;
    let pre = prepare(&inv.component, inv.plugin)?;
    let result = async {
        let plugin = pre.instantiate_async(&mut store).await?;
        let handler = plugin.runner_plugin_handler();
        let descriptor = handler.call_describe(&mut store).await?;
        let context = types::TaskContext {
            task: task.name.clone(),
            args: inv.args.clone(),
            config: inv.config.to_string(),
            mode: if inv.plan {
                types::RunMode::Plan
            } else {
                types::RunMode::Run
            },
            interactive: inv.ui.interactive,
            hook_for: inv.hook_for.clone(),
        };
        let needs = match handler.call_needs(&mut store, &context).await? {
            Ok(needs) => needs,
            Err(error) => return Ok(Err(plugin_error(error))),
        };
        // Checked against what tasks.toml grants (under --plan too: a plan
        // whose run would be denied is denied).
        let wanted: Vec<Grant> = descriptor
            .needs
            .iter()
            .chain(&needs)
            .map(super::wit::from_grant)
            .collect();
        let missing = crate::describe::missing_grants(task, &wanted);
        if !missing.is_empty() {
            return Ok(Err(TaskError::Ungranted { missing }));
        }
        let outcome = handler.call_run(&mut store, &context).await?;
        Ok(outcome
            .map(|()| Outcome { descriptor })
            .map_err(plugin_error))
    }
    .await;
    // Everything the plugin wrote comes before the runner's report of it.
    stdout.flush().await;
    stderr.flush().await;
    match result {
        Ok(outcome) => outcome,
        Err(trap) => Err(trap_error(trap, store.data())),
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

/// How long `describe` and `needs` together may take in a preview: they must
/// be free of side effects and quick.
const PREVIEW_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// What a plugin says before it runs: what it is, and what one task of it needs.
pub struct Preview {
    pub descriptor: types::Descriptor,
    /// `needs`' answer, when a task was given; an error it returned is the
    /// task's failure.
    pub needs: Option<Result<Vec<Grant>, TaskError>>,
}

/// Asks a plugin what it is (`describe`) and, given a task's context, what
/// that task needs (`needs`), in a sandbox with nothing granted whatever the
/// task grants: no files, network, environment, containers or locks, no stdin
/// or stdout, and prompts that no one answers. This is all `--dry-run` ever
/// runs of a plugin.
pub async fn preview(
    component: &Component,
    plugin: &str,
    ui: Arc<Ui>,
    context: Option<types::TaskContext>,
) -> Result<Preview, TaskError> {
    let stderr = Output::stderr();
    let mut wasi = WasiCtxBuilder::new();
    wasi.stderr(stderr.clone());
    network::apply(&mut wasi, plugin, &[], network::Allowed::default());
    let unanswered = Arc::new(no_prompts(&ui));
    let state = HostState::new(Parts {
        wasi: wasi.build(),
        memory: limits::memory(None),
        handles: limits::handles(),
        lookups: network::Lookups::none(plugin),
        log: LogHost::new(plugin, ui),
        prompt: PromptHost::new(plugin, unanswered),
        engine: EngineHost::none(plugin),
        lock: LockHost::none(plugin),
        files: FilesHost::none(plugin),
        http: HttpHost::none(plugin),
    });
    let mut store = new_store(state)?;
    let pre = prepare(component, plugin)?;
    let call = async {
        let instance = pre.instantiate_async(&mut store).await?;
        let handler = instance.runner_plugin_handler();
        let descriptor = handler.call_describe(&mut store).await?;
        let needs = match &context {
            Some(context) => Some(
                handler
                    .call_needs(&mut store, context)
                    .await?
                    .map(|needs| needs.iter().map(super::wit::from_grant).collect())
                    .map_err(plugin_error),
            ),
            None => None,
        };
        wasmtime::Result::Ok(Preview { descriptor, needs })
    };
    let result = tokio::time::timeout(PREVIEW_TIMEOUT, async {
        let result = call.await;
        stderr.flush().await;
        result
    })
    .await;
    match result {
        Ok(Ok(preview)) => Ok(preview),
        Ok(Err(trap)) => Err(trap_error(trap, store.data())),
        Err(_) => Err(TaskError::Timeout(PREVIEW_TIMEOUT)),
    }
}

/// The terminal state for a preview: no one answers its prompts (a default
/// is taken, a question without one fails), whatever `--yes` says.
fn no_prompts(ui: &Ui) -> Ui {
    Ui {
        color: ui.color,
        progress: ui.progress.clone(),
        interactive: false,
        assume_yes: false,
        github_actions: ui.github_actions,
        prompt_lock: tokio::sync::Mutex::new(()),
    }
}

/// Under `--plan` nothing may change: write grants become read-only (those
/// not yet created are left out rather than created) and the network is
/// closed.
fn effective_grants(grants: &Grants, plan: bool, root: &Path) -> Grants {
    if !plan {
        return grants.clone();
    }
    let mut grants = grants.clone();
    let existing: Vec<String> = grants
        .write
        .drain(..)
        .filter(|dir| root.join(dir).is_dir())
        .collect();
    grants.read.extend(existing);
    grants.network.clear();
    grants.http.clear();
    grants
}

/// The task's `http` capability; the host's client (TLS roots, limits) is
/// built only for a task that grants some URL.
fn http_host(task: &str, grants: &Grants) -> Result<HttpHost, TaskError> {
    if grants.http.is_empty() {
        return Ok(HttpHost::none(task));
    }
    let client = http::Client::from_env().map_err(|e| TaskError::Host(e.to_string()))?;
    Ok(HttpHost::new(task, grants, Some(Arc::new(client))))
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
        grant: error.grant.as_ref().map(super::wit::from_grant),
    }
}

/// A trap after a refused memory growth is the memory limit, one from a full
/// resource table the handle limit; otherwise report the trap itself (its
/// wasm backtrace only at debug level: users need the reason).
fn trap_error(error: wasmtime::Error, state: &HostState) -> TaskError {
    if state.limits.exceeded {
        return TaskError::MemoryLimit {
            limit: state.limits.limit as u64,
        };
    }
    if HostState::is_handle_limit(&error) {
        return TaskError::HandleLimit {
            limit: state.handle_limit,
        };
    }
    tracing::debug!("plugin trap details: {error:?}");
    let reason = match error.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => trap.to_string(),
        None => error.root_cause().to_string(),
    };
    TaskError::Trap(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_reads_what_exists_and_has_no_network() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("out")).unwrap();
        let grants = Grants {
            read: vec!["src".into()],
            write: vec!["out".into(), "new".into()],
            network: vec!["db:5432".into()],
            http: vec!["https://example.org/".into()],
            env: vec!["HOME".into()],
            ..Grants::default()
        };
        let plan = effective_grants(&grants, true, root.path());
        assert_eq!(plan.read, ["src", "out"]);
        assert!(plan.write.is_empty());
        assert!(plan.network.is_empty());
        assert!(plan.http.is_empty());
        assert_eq!(plan.env, ["HOME"]);
        assert_eq!(effective_grants(&grants, false, root.path()), grants);
    }
}
