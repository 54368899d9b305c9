//! `run plugin inspect FILE.wasm|BUILTIN` prints what a plugin is, the WIT
//! version it targets, its parameters and the capabilities it asks for,
//! without running it (only `describe` is called, with no grants).

use std::fmt::Write;
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::model::PluginSource;
use crate::describe::{self, Described};
use crate::error::Error;
use crate::plugin::builtin;
use crate::ui::Ui;

pub fn run(target: &str, ui: Arc<Ui>) -> Result<i32, Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let described = runtime
        .block_on(describe::describe(&source(target)?, ui))
        .map_err(Error::Task);
    runtime.shutdown_background();
    crate::ui::print(&inspect(&described?))?;
    Ok(0)
}

/// A path when it looks like one, else a built-in's name.
fn source(target: &str) -> Result<PluginSource, Error> {
    if target.contains('/') || target.ends_with(".wasm") {
        let path = PathBuf::from(target);
        let path = if path.is_absolute() {
            path
        } else {
            std::env::current_dir()?.join(path)
        };
        return Ok(PluginSource::Path(path));
    }
    match builtin::get(target) {
        Some(_) => Ok(PluginSource::Builtin(target.to_owned())),
        None => Err(Error::UnknownPlugin {
            name: target.to_owned(),
            suggestion: crate::error::suggest(target, builtin::names()),
        }),
    }
}

pub fn inspect(described: &Described) -> String {
    let d = &described.descriptor;
    let mut out = String::new();
    writeln!(out, "plugin        {} {}", d.name, d.version).unwrap();
    writeln!(out, "summary       {}", d.summary).unwrap();
    writeln!(out, "wit           runner:plugin@{}", described.wit_version).unwrap();
    writeln!(out, "digest        sha256:{}", described.source.digest).unwrap();
    if d.parameters.is_empty() {
        out.push_str("parameters    none\n");
    } else {
        out.push_str("parameters\n");
        out.push_str(&describe::parameters(&d.parameters));
    }
    let needs = describe::needs(d);
    if needs.is_empty() {
        out.push_str("needs         none\n");
    } else {
        out.push_str("needs\n");
        for need in &needs {
            writeln!(out, "  {}", describe::grant(need)).unwrap();
        }
    }
    out
}
