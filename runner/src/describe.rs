//! What a plugin says about itself (`describe`), for `run plugin inspect`,
//! `run TASK --help` and `run --dry-run`, and what one task of it needs
//! (`needs`, for `--dry-run`). Asking compiles the plugin (cached) and calls
//! them in a sandbox with no grants; `run --list` never does, nor does
//! `TASK --help` for a built-in (its descriptor is embedded in the binary).

use std::fmt::Write;
use std::sync::Arc;

use crate::config::model::{Grants, PluginSource, Task};
use crate::grant::Grant;
use crate::plugin::bindings::types::{Descriptor, Parameter, TaskContext};
use crate::plugin::{self, Source};
use crate::task_error::TaskError;
use crate::ui::Ui;

/// A plugin's identity and self-description.
pub struct Described {
    pub source: Source,
    pub wit_version: String,
    pub descriptor: Descriptor,
}

/// Loads the plugin (compiling it once into the cache) and asks it to describe itself.
pub async fn describe(source: &PluginSource, ui: Arc<Ui>) -> Result<Described, TaskError> {
    describe_source(Source::resolve(source)?, ui).await
}

/// What the plugin says about itself: for a built-in, what it said when the
/// binary was built (nothing is loaded or run); else [`describe`].
pub async fn descriptor(source: &PluginSource, ui: Arc<Ui>) -> Result<Descriptor, TaskError> {
    if let PluginSource::Builtin(name) = source
        && let Some(describe) = plugin::builtin::get(name).and_then(|b| b.descriptor)
    {
        return Ok(describe());
    }
    describe(source, ui).await.map(|d| d.descriptor)
}

/// [`describe`] for a plugin whose bytes are already read. What it says is
/// remembered by digest, for `run --list` and completion.
pub async fn describe_source(source: Source, ui: Arc<Ui>) -> Result<Described, TaskError> {
    preview_source(source, ui, None)
        .await
        .map(|(described, _)| described)
}

/// [`describe_source`], then, given a task's context, what that task needs
/// (`needs`), both in the empty sandbox.
pub async fn preview_source(
    source: Source,
    ui: Arc<Ui>,
    context: Option<TaskContext>,
) -> Result<(Described, Option<Result<Vec<Grant>, TaskError>>), TaskError> {
    let (source, loaded) = tokio::task::spawn_blocking(move || {
        let loaded = source.load();
        (source, loaded)
    })
    .await
    .map_err(|e| TaskError::Host(e.to_string()))?;
    let (component, wit_version) = loaded?;
    let preview = plugin::preview(&component, &source.name, ui, context).await?;
    plugin::descriptors::put(&source.digest, &preview.descriptor);
    let described = Described {
        source,
        wit_version,
        descriptor: preview.descriptor,
    };
    Ok((described, preview.needs))
}

/// `--name VALUE`, `--latest`, `BACKUP`.
pub fn usage(parameter: &Parameter) -> String {
    plugin::descriptors::Param::from(parameter).usage()
}

/// The parameter table: usage, help, default, required.
pub fn parameters(parameters: &[Parameter]) -> String {
    let width = parameters.iter().map(|p| usage(p).len()).max().unwrap_or(0);
    let mut out = String::new();
    for p in parameters {
        let mut line = format!("  {:width$}  {}", usage(p), p.help);
        if let Some(default) = &p.default {
            write!(line, " (default: {default})").unwrap();
        }
        if p.required {
            line.push_str(" (required)");
        }
        writeln!(out, "{}", line.trim_end()).unwrap();
    }
    out
}

/// The grants a plugin's `describe` says every task of it needs.
pub fn needs(descriptor: &Descriptor) -> Vec<Grant> {
    descriptor
        .needs
        .iter()
        .map(plugin::wit::from_grant)
        .collect()
}

/// `write out`, `network db:5432`.
pub fn grant(grant: &Grant) -> String {
    format!("{} {}", grant.kind.key(), grant.value)
}

/// The declared needs the task's grants do not cover, as `allow` entries.
pub fn missing(descriptor: &Descriptor, task: &Task) -> Vec<String> {
    missing_grants(task, &needs(descriptor))
        .iter()
        .map(grant)
        .collect()
}

/// The needs the task's grants do not cover. Variables passed through by
/// `env = [...]` are granted as much as `allow.env`.
pub fn missing_grants(task: &Task, needs: &[Grant]) -> Vec<Grant> {
    let mut granted: Grants = task.allow.clone();
    granted.env.extend(task.env.pass.iter().cloned());
    granted.missing(needs)
}
