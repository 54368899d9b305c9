//! `sources`/`generates`: a task whose source files, definition and outputs
//! are unchanged since its last successful run is skipped.
//!
//! The fingerprint is a sha256 over the task's definition (command lines and
//! `dir`, or the plugin's digest, config and grants, plus `env` and params'
//! arguments) and, for every file matching `sources` (sorted by path), its
//! path and its content's sha256. It is stored in `.run/hashes/TASK` after a
//! successful run; `--force` runs the task anyway.

use std::io::Write;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use sha2::{Digest, Sha256};

use crate::config::model::{Action, Task, TaskFile};

/// Where fingerprints live, inside the project.
pub fn store(file: &TaskFile, task: &Task) -> PathBuf {
    file.root.join(".run").join("hashes").join(&task.name)
}

fn set(patterns: &[String]) -> std::io::Result<GlobSet> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        builder.add(Glob::new(pattern).map_err(std::io::Error::other)?);
    }
    builder.build().map_err(std::io::Error::other)
}

/// Files under `root` matching `globs`, relative and sorted; `.git` and
/// `.run` are never looked into.
fn matching(root: &Path, globs: &GlobSet) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            let kind = entry.file_type()?;
            let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            if kind.is_dir() {
                if !matches!(entry.file_name().to_str(), Some(".git" | ".run")) {
                    dirs.push(path);
                }
            } else if globs.is_match(&relative) {
                found.push(relative);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The task's fingerprint now; `plugin_digest` is the plugin's sha256.
pub fn fingerprint(
    file: &TaskFile,
    task: &Task,
    plugin_digest: Option<&str>,
    args: &[String],
) -> std::io::Result<String> {
    let mut hash = Sha256::new();
    let definition = match &task.action {
        Action::Command { lines } => format!("command {lines:?} dir {:?}", task.dir),
        Action::Plugin { config, .. } => format!(
            "plugin {} config {config} allow {:?}",
            plugin_digest.unwrap_or(""),
            task.allow
        ),
        Action::Group => "group".to_owned(),
    };
    writeln!(
        hash,
        "{definition}\nenv {:?}\nargs {args:?}\ngenerates {:?}",
        task.env, task.generates
    )?;
    for path in matching(&file.root, &set(&task.sources)?)? {
        let mut content = Sha256::new();
        std::io::copy(
            &mut std::fs::File::open(file.root.join(&path))?,
            &mut content,
        )?;
        writeln!(
            hash,
            "{} {}",
            path.display(),
            hex::encode(content.finalize())
        )?;
    }
    Ok(hex::encode(hash.finalize()))
}

/// Whether every `generates` pattern matches an existing file.
fn outputs_exist(file: &TaskFile, task: &Task) -> std::io::Result<bool> {
    for pattern in &task.generates {
        if file.root.join(pattern).exists() {
            continue;
        }
        if matching(&file.root, &set(std::slice::from_ref(pattern))?)?.is_empty() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether the task can be skipped: its fingerprint is the stored one and its
/// outputs exist. Anything unreadable means "run it".
pub fn is_fresh(file: &TaskFile, task: &Task, fingerprint: &str) -> bool {
    let stored = std::fs::read_to_string(store(file, task)).unwrap_or_default();
    stored.trim() == fingerprint && outputs_exist(file, task).unwrap_or(false)
}

/// Records the fingerprint after a successful run (whole or not at all).
pub fn record(file: &TaskFile, task: &Task, fingerprint: &str) -> std::io::Result<()> {
    let path = store(file, task);
    let dir = path.parent().expect("under .run/hashes");
    std::fs::create_dir_all(dir)?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    writeln!(temp, "{fingerprint}")?;
    temp.persist(&path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &Path, toml: &str) -> TaskFile {
        let path = dir.join("tasks.toml");
        std::fs::write(&path, toml).unwrap();
        crate::config::load(&path, &["hello"]).unwrap()
    }

    #[test]
    fn the_fingerprint_covers_sources_definition_plugin_digest_config_and_grants() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/a.txt"), "one").unwrap();
        let plugin = |extra: &str| {
            file(
                dir.path(),
                &format!("[tasks.t]\nplugin = \"hello\"\nsources = [\"src/*.txt\"]\n{extra}"),
            )
        };
        let base = plugin("");
        let print = |f: &TaskFile, digest| fingerprint(f, &f.tasks[0], Some(digest), &[]).unwrap();
        let first = print(&base, "d1");
        assert_eq!(first, print(&base, "d1"));
        assert_ne!(first, print(&base, "d2"), "plugin digest");
        assert_ne!(
            first,
            print(&plugin("config = { a = 1 }\n"), "d1"),
            "config"
        );
        assert_ne!(
            first,
            print(&plugin("allow = { env = [\"X\"] }\n"), "d1"),
            "grants"
        );
        std::fs::write(dir.path().join("src/a.txt"), "two").unwrap();
        assert_ne!(first, print(&base, "d1"), "source content");
        std::fs::write(dir.path().join("src/a.txt"), "one").unwrap();
        std::fs::write(dir.path().join("src/b.txt"), "").unwrap();
        assert_ne!(first, print(&base, "d1"), "a new source file");
        std::fs::write(dir.path().join("src/b.rs"), "").unwrap();
        std::fs::remove_file(dir.path().join("src/b.txt")).unwrap();
        assert_eq!(first, print(&base, "d1"), "files not matched do not count");
    }

    #[test]
    fn fresh_needs_the_stored_fingerprint_and_every_output() {
        let dir = tempfile::tempdir().unwrap();
        let f = file(
            dir.path(),
            "[tasks.t]\ncommand = \"true\"\nsources = [\"*.toml\"]\ngenerates = [\"out/*.bin\"]\n",
        );
        let task = &f.tasks[0];
        let print = fingerprint(&f, task, None, &[]).unwrap();
        assert!(!is_fresh(&f, task, &print));
        record(&f, task, &print).unwrap();
        assert!(!is_fresh(&f, task, &print), "output missing");
        std::fs::create_dir(dir.path().join("out")).unwrap();
        std::fs::write(dir.path().join("out/x.bin"), "").unwrap();
        assert!(is_fresh(&f, task, &print));
        assert!(!is_fresh(&f, task, "other"));
    }
}
