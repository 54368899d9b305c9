//! What a plugin says about itself (`describe`), for `run plugin inspect`,
//! `run TASK --help` and `run --dry-run`. Asking compiles the plugin (cached)
//! and calls `describe` in a sandbox with no grants; `run --list` never does.

use std::fmt::Write;
use std::sync::Arc;

use crate::config::model::{Grants, PluginSource, Task};
use crate::plugin::bindings::types::{Capability, Descriptor, Parameter};
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

/// [`describe`] for a plugin whose bytes are already read. What it says is
/// remembered by digest, for `run --list` and completion.
pub async fn describe_source(source: Source, ui: Arc<Ui>) -> Result<Described, TaskError> {
    let (source, loaded) = tokio::task::spawn_blocking(move || {
        let loaded = source.load();
        (source, loaded)
    })
    .await
    .map_err(|e| TaskError::Host(e.to_string()))?;
    let (component, wit_version) = loaded?;
    let descriptor = plugin::describe(&component, &source.name, ui).await?;
    plugin::descriptors::put(&source.digest, &descriptor);
    Ok(Described {
        source,
        wit_version,
        descriptor,
    })
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

/// `write out`, `network db:5432`.
pub fn capability(capability: &Capability) -> String {
    match capability {
        Capability::Read(v) => format!("read {v}"),
        Capability::Write(v) => format!("write {v}"),
        Capability::Network(v) => format!("network {v}"),
        Capability::Container(v) => format!("containers {v}"),
        Capability::Env(v) => format!("env {v}"),
    }
}

/// The declared capabilities the task's grants do not cover, as `allow` entries.
pub fn missing(descriptor: &Descriptor, task: &Task) -> Vec<String> {
    let mut granted: Grants = task.allow.clone();
    granted.env.extend(task.env.pass.iter().cloned());
    plugin::missing_grants(&descriptor.capabilities, &granted)
        .into_iter()
        .map(|(kind, value)| format!("{kind} {value}"))
        .collect()
}
