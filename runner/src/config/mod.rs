//! `tasks.toml`: finding it, parsing it, and validating it into a [`TaskFile`].
//!
//! Parsing goes through `toml`'s span-preserving document tree rather than
//! serde, so every error can point at the exact text that caused it, and the
//! first error found in file order is the one reported.

mod diagnostic;
pub mod dotenv;
pub(crate) mod duration;
mod error;
pub mod model;
mod names;
pub(crate) use names::{RESERVED, check_task_name};
pub mod network;
mod parse;
pub(crate) mod size;
mod suggest;
mod template;
mod validate;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use error::{
    ActionKind, AliasOwner, ConfigError, DurationProblem, EnvNameProblem, ErrorKind, Expected,
    Found, Key, NameKind, NameProblem, NetworkProblem, PinProblem, Place, Relation, SizeProblem,
};
pub use model::{Action, EnvSpec, Grants, Param, PluginSource, Span, Spanned, Task, TaskFile};

/// The name `find` looks for.
pub const FILE_NAME: &str = "tasks.toml";

/// Parses and validates the text of a tasks.toml.
///
/// `path` is where `source` was read from: relative paths in the file (plugin
/// files) resolve against its directory, and errors name it as given (made
/// relative to the current directory when it lies under it).
/// `builtins` are the names of the plugins embedded in the binary.
pub fn parse(path: &Path, source: &str, builtins: &[&str]) -> Result<TaskFile, ConfigError> {
    let origin = error::Origin {
        display: display_path(path),
        source: Arc::from(source),
    };
    let path = absolute_file_path(path);
    let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let parsed = parse::tasks(source, builtins, &root)
        .and_then(|mut parsed| {
            for include in std::mem::take(&mut parsed.includes) {
                parsed.tasks.extend(included(&root, &include, builtins)?);
            }
            validate::check(&parsed.tasks).map(|()| parsed)
        })
        .map_err(|e| e.with_origin(origin.clone()))?;
    Ok(TaskFile {
        path,
        root,
        source: origin.source,
        tasks: parsed.tasks,
        dotenv: parsed.dotenv,
    })
}

/// How deep includes may nest: a file including itself stops here.
const MAX_INCLUDE_DEPTH: usize = 8;

/// The tasks of an included file, namespaced: `include = ["ci/tasks.toml"]`
/// makes its `lint` into `ci:lint` (the directory's name, or the file's stem
/// when it is not called tasks.toml). The file is loaded and checked on its
/// own first, so its errors point into it; its relative paths (command
/// directories, `allow.read`/`allow.write`) stay relative to it.
fn included(
    root: &Path,
    include: &Spanned<String>,
    builtins: &[&str],
) -> Result<Vec<Task>, ConfigError> {
    let bad = |problem: String| {
        ConfigError::at(
            ErrorKind::BadInclude {
                path: include.value.clone(),
                problem,
            },
            include.span,
        )
    };
    let relative = Path::new(&include.value);
    let inside = !relative.is_absolute()
        && !relative
            .components()
            .any(|c| c == std::path::Component::ParentDir);
    if !inside {
        return Err(bad(
            "it must be inside the project, relative to this file".to_owned()
        ));
    }
    let namespace = if relative.file_name() == Some(FILE_NAME.as_ref()) {
        relative.parent().and_then(Path::file_name)
    } else {
        relative.file_stem()
    }
    .and_then(|n| n.to_str())
    .filter(|n| check_task_name(n).is_ok())
    .ok_or_else(|| bad("no namespace: name it `DIR/tasks.toml` or `NAME.toml`".to_owned()))?
    .to_owned();
    let path = root.join(relative);
    if !path.is_file() {
        return Err(bad("no such file".to_owned()));
    }
    thread_local!(static DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) });
    if DEPTH.get() >= MAX_INCLUDE_DEPTH {
        return Err(bad(format!(
            "includes nest more than {MAX_INCLUDE_DEPTH} deep (does a file include itself?)"
        )));
    }
    DEPTH.set(DEPTH.get() + 1);
    let file = load(&path, builtins);
    DEPTH.set(DEPTH.get() - 1);
    let file = file?;
    let dir = relative.parent().unwrap_or(Path::new(""));
    let prefix = |name: &str| format!("{namespace}:{name}");
    let mut tasks = file.tasks;
    for task in &mut tasks {
        // `_prep` stays private as `ci:_prep`.
        task.private = task.is_private();
        task.name = prefix(&task.name);
        for list in [
            &mut task.aliases,
            &mut task.depends,
            &mut task.before,
            &mut task.after,
        ] {
            for entry in list.iter_mut() {
                entry.value = prefix(&entry.value);
            }
        }
        if matches!(task.action, Action::Command { .. }) && task.dir.is_none() {
            task.dir = Some(file.root.clone());
        }
        for grant in task
            .allow
            .read
            .iter_mut()
            .chain(task.allow.write.iter_mut())
        {
            if Path::new(grant.as_str()).is_relative() {
                *grant = dir.join(&*grant).display().to_string();
            }
        }
        task.sources = task
            .sources
            .iter()
            .map(|s| dir.join(s).display().to_string())
            .collect();
        task.generates = task
            .generates
            .iter()
            .map(|s| dir.join(s).display().to_string())
            .collect();
    }
    Ok(tasks)
}

/// Reads `path` and parses it; a file that cannot be read is a `ConfigError`
/// naming the path.
pub fn load(path: &Path, builtins: &[&str]) -> Result<TaskFile, ConfigError> {
    let source = std::fs::read_to_string(path).map_err(|source| {
        ConfigError::new(ErrorKind::Io {
            path: PathBuf::from(display_path(path)),
            source,
        })
    })?;
    parse(path, &source, builtins)
}

/// Looks for a tasks.toml in `start` and then each of its ancestors, the way
/// `just` finds a justfile, so tasks can be run from any subdirectory.
pub fn find(start: &Path) -> Option<PathBuf> {
    // A relative start would stop at its first component, not at `/`.
    let start = std::path::absolute(start).ok()?;
    start
        .ancestors()
        .map(|dir| dir.join(FILE_NAME))
        .find(|candidate| candidate.is_file())
}

/// The path as the user would recognise it: relative to the current directory
/// when it lies under it (so `find`'s absolute result still reads `tasks.toml`),
/// otherwise exactly as given.
fn display_path(path: &Path) -> String {
    let relative = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .filter(|p| !p.as_os_str().is_empty());
    relative.as_deref().unwrap_or(path).display().to_string()
}

/// The file's absolute path with its directory canonicalized. The file itself
/// need not exist (`parse` may be given text from elsewhere), so when the
/// directory cannot be canonicalized either, it is only made absolute.
fn absolute_file_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| FILE_NAME.into(), ToOwned::to_owned);
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dir = dir
        .canonicalize()
        .or_else(|_| std::path::absolute(&dir))
        .unwrap_or(dir);
    dir.join(name)
}
