//! `tasks.lock`, beside tasks.toml: the sha256 of every plugin file and
//! download the tasks use. The first run records a plugin; afterwards a plugin
//! whose digest changed is refused, with both digests shown, until its line is
//! removed. Built-in plugins are not recorded: the binary's version pins them,
//! and neither are the project's own builds ([`is_local_build`]): their
//! source is in the project, so a pin would only stop the edit-build-run loop.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::model::{Action, PluginSource, Task, TaskFile};
use crate::plugin::Source;

pub const FILE_NAME: &str = "tasks.lock";

const HEADER: &str = "# tasks.lock: the sha256 of every plugin file and download in tasks.toml\n\
# (not of plugins a crate in this project builds into its target/ directory).\n\
# Written by run. A plugin whose digest changes is refused until its line is removed.\n";

#[derive(Debug, Default, Serialize, Deserialize)]
struct LockFile {
    #[serde(default)]
    plugins: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("plugin `{key}` of task `{task}` changed: {} records sha256:{locked}, but it is now sha256:{actual}; if the change is intended, remove its line from {} and run again", lock.display(), lock.display())]
    Changed {
        task: String,
        key: String,
        lock: PathBuf,
        locked: String,
        actual: String,
    },
    #[error("{} is not a valid lock file: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// How a task's plugin is named in the lock: its path as relative to the
/// project as possible, or its URL. None for built-ins.
fn key(file: &TaskFile, source: &PluginSource) -> Option<String> {
    match source {
        PluginSource::Builtin(_) => None,
        PluginSource::Url { url, .. } => Some(url.clone()),
        PluginSource::Path(path) => Some(
            path.strip_prefix(&file.root)
                .unwrap_or(path)
                .display()
                .to_string(),
        ),
    }
}

/// Whether `path` is what a Cargo crate inside the project builds for a wasm
/// target: `CRATE/target/wasm32-…/{debug,release}/NAME.wasm`, with
/// `CRATE/Cargo.toml` beside that `target`, all beneath `root`. Such a file
/// changes with every build of sources that sit in the project, where a pin
/// protects nothing that editing the source could not undo.
pub fn is_local_build(root: &Path, path: &Path) -> bool {
    let Ok(relative) = path.strip_prefix(root) else {
        return false;
    };
    let parts: Vec<&std::ffi::OsStr> = relative.iter().collect();
    // `target`, the target triple, the profile, the file.
    let Some(at) = parts.len().checked_sub(4) else {
        return false;
    };
    let [target, triple, profile, name] = &parts[at..] else {
        return false;
    };
    let text = |s: &std::ffi::OsStr| s.to_str().unwrap_or_default().to_owned();
    if *target != "target"
        || !text(triple).starts_with("wasm32-")
        || !matches!(text(profile).as_str(), "debug" | "release")
        || !text(name).ends_with(".wasm")
        || parts[..at].iter().any(|p| *p == "..")
    {
        return false;
    }
    let crate_dir: PathBuf = parts[..at].iter().collect();
    root.join(crate_dir).join("Cargo.toml").is_file()
}

/// Plugins read (and hashed) while checking the lock, by task index, so a
/// task does not read its plugin twice.
pub type Resolved = HashMap<usize, Source>;

/// Checks the plugins of the tasks at `indices` against the lock and records
/// new ones. `record` is false under --dry-run (nothing is written then).
pub fn check(
    file: &TaskFile,
    indices: impl IntoIterator<Item = usize>,
    record: bool,
) -> Result<Resolved, LockError> {
    let path = file.root.join(FILE_NAME);
    let mut lock = read(&path)?;
    let mut changed = false;
    let mut resolved_sources = HashMap::new();
    for index in indices {
        let task: &Task = &file.tasks[index];
        let Action::Plugin { source, .. } = &task.action else {
            continue;
        };
        let Some(key) = key(file, source) else {
            continue;
        };
        if let PluginSource::Path(path) = source
            && is_local_build(&file.root, path)
        {
            // A line left from before is dropped, not checked.
            changed |= lock.plugins.remove(&key).is_some();
            continue;
        }
        // A plugin that cannot be read is reported when its task runs, naming it.
        let Ok(resolved) = Source::resolve(source) else {
            continue;
        };
        let actual = format!("sha256:{}", resolved.digest);
        match lock.plugins.get(&key) {
            Some(locked) if *locked != actual => {
                return Err(LockError::Changed {
                    task: task.name.clone(),
                    key,
                    lock: path,
                    locked: locked.trim_start_matches("sha256:").to_owned(),
                    actual: resolved.digest,
                });
            }
            Some(_) => {}
            None => {
                lock.plugins.insert(key, actual);
                changed = true;
            }
        }
        resolved_sources.insert(index, resolved);
    }
    if changed && record {
        write(&path, &lock)?;
    }
    Ok(resolved_sources)
}

fn read(path: &Path) -> Result<LockFile, LockError> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|e| LockError::Invalid {
            path: path.to_owned(),
            reason: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(LockFile::default()),
        Err(e) => Err(LockError::Invalid {
            path: path.to_owned(),
            reason: e.to_string(),
        }),
    }
}

/// Written whole to a temp file and renamed: a lock is never half-written.
fn write(path: &Path, lock: &LockFile) -> Result<(), LockError> {
    let failed = |source| LockError::Write {
        path: path.to_owned(),
        source,
    };
    let body = toml::to_string(lock).map_err(|e| failed(std::io::Error::other(e)))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(failed)?;
    std::io::Write::write_all(&mut temp, format!("{HEADER}\n{body}").as_bytes()).map_err(failed)?;
    temp.persist(path).map_err(|e| failed(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::is_local_build;

    #[test]
    fn only_a_wasm_build_of_a_crate_in_the_project_is_a_local_build() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::create_dir_all(r.join("plugins/greet")).unwrap();
        std::fs::write(r.join("plugins/greet/Cargo.toml"), "").unwrap();
        std::fs::write(r.join("Cargo.toml"), "").unwrap();
        for local in [
            "plugins/greet/target/wasm32-wasip2/release/greet.wasm",
            "plugins/greet/target/wasm32-wasip1/debug/greet.wasm",
            "target/wasm32-wasip2/release/greet.wasm",
        ] {
            assert!(is_local_build(r, &r.join(local)), "{local}");
        }
        for pinned in [
            // No crate beside `target`.
            "vendor/target/wasm32-wasip2/release/x.wasm",
            // Not a wasm target, not a profile, not a component file.
            "plugins/greet/target/x86_64-unknown-linux-gnu/release/greet.wasm",
            "plugins/greet/target/wasm32-wasip2/custom/greet.wasm",
            "plugins/greet/target/wasm32-wasip2/release/greet.so",
            // Anything else, and anything outside the project.
            "plugins/greet.wasm",
            "plugins/greet/../greet/target/wasm32-wasip2/release/greet.wasm",
        ] {
            assert!(!is_local_build(r, &r.join(pinned)), "{pinned}");
        }
        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join("Cargo.toml"), "").unwrap();
        let outside = other.path().join("target/wasm32-wasip2/release/x.wasm");
        assert!(!is_local_build(r, &outside));
    }
}
