//! `tasks.lock`, beside tasks.toml: the sha256 of every plugin file and
//! download the tasks use. The first run records a plugin; afterwards a plugin
//! whose digest changed is refused, with both digests shown, until its line is
//! removed. Built-in plugins are not recorded: the binary's version pins them.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::model::{Action, PluginSource, Task, TaskFile};
use crate::plugin::Source;

pub const FILE_NAME: &str = "tasks.lock";

const HEADER: &str = "# tasks.lock: the sha256 of every plugin file and download in tasks.toml.\n\
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
