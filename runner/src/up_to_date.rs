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

/// A task's fingerprint, with what it was taken over: the definition's hash
/// and each source file's, so a dry run can say what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// sha256 over the definition and every source file's path and content.
    pub digest: String,
    /// sha256 of the definition alone.
    definition: String,
    /// Each matching source file (relative, sorted) and its content's sha256.
    files: Vec<(String, String)>,
}

/// What `.run/hashes/TASK` holds: the digest on its first line (all a run
/// compares), then this as one JSON line (what a dry run explains with).
#[derive(serde::Serialize, serde::Deserialize)]
struct Detail {
    definition: String,
    files: Vec<(String, String)>,
}

/// The task's fingerprint now; `plugin_digest` is the plugin's sha256.
pub fn fingerprint(
    file: &TaskFile,
    task: &Task,
    plugin_digest: Option<&str>,
    args: &[String],
) -> std::io::Result<Fingerprint> {
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
    let definition = format!(
        "{definition}\nenv {:?}\nargs {args:?}\ngenerates {:?}\n",
        task.env, task.generates
    );
    hash.write_all(definition.as_bytes())?;
    let mut files = Vec::new();
    for path in matching(&file.root, &set(&task.sources)?)? {
        let mut content = Sha256::new();
        std::io::copy(
            &mut std::fs::File::open(file.root.join(&path))?,
            &mut content,
        )?;
        let content = hex::encode(content.finalize());
        writeln!(hash, "{} {content}", path.display())?;
        files.push((path.display().to_string(), content));
    }
    Ok(Fingerprint {
        digest: hex::encode(hash.finalize()),
        definition: hex::encode(Sha256::digest(definition.as_bytes())),
        files,
    })
}

/// Whether every `generates` pattern matches an existing file; the ones
/// that match nothing.
fn missing_outputs(file: &TaskFile, task: &Task) -> std::io::Result<Vec<String>> {
    let mut missing = Vec::new();
    for pattern in &task.generates {
        if file.root.join(pattern).exists() {
            continue;
        }
        if matching(&file.root, &set(std::slice::from_ref(pattern))?)?.is_empty() {
            missing.push(pattern.clone());
        }
    }
    Ok(missing)
}

/// Whether a task with `sources` would be skipped, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Fresh,
    /// No successful run is recorded.
    NeverRun,
    /// The command, plugin, config, grants, env, arguments or `generates`.
    DefinitionChanged,
    /// Source files changed, new or gone since the recorded run.
    SourcesChanged(Vec<String>),
    /// A record without the detail to say what changed.
    Changed,
    /// `generates` patterns that match no file.
    OutputsMissing(Vec<String>),
    /// The fingerprint or the record cannot be read.
    Unreadable(String),
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        /// At most this many paths are named.
        const SHOWN: usize = 5;
        let list = |items: &[String]| {
            let mut shown = items[..items.len().min(SHOWN)].join(", ");
            if items.len() > SHOWN {
                shown.push_str(&format!(" and {} more", items.len() - SHOWN));
            }
            shown
        };
        match self {
            Status::Fresh => write!(f, "up to date"),
            Status::NeverRun => write!(f, "no successful run recorded"),
            Status::DefinitionChanged => write!(f, "its definition changed"),
            Status::SourcesChanged(paths) => write!(f, "sources changed ({})", list(paths)),
            Status::Changed => write!(f, "sources or definition changed"),
            Status::OutputsMissing(patterns) => {
                write!(f, "generates missing ({})", list(patterns))
            }
            Status::Unreadable(error) => write!(f, "cannot check ({error})"),
        }
    }
}

/// Compares the fingerprint with the recorded one. Anything unreadable means
/// "run it".
pub fn status(file: &TaskFile, task: &Task, now: &Fingerprint) -> Status {
    let stored = match std::fs::read_to_string(store(file, task)) {
        Ok(stored) => stored,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Status::NeverRun,
        Err(e) => return Status::Unreadable(e.to_string()),
    };
    let mut lines = stored.lines();
    if lines.next().map(str::trim) != Some(now.digest.as_str()) {
        let Some(detail) = lines
            .next()
            .and_then(|l| serde_json::from_str::<Detail>(l).ok())
        else {
            return Status::Changed;
        };
        if detail.definition != now.definition {
            return Status::DefinitionChanged;
        }
        let before: std::collections::HashMap<&str, &str> = detail
            .files
            .iter()
            .map(|(p, h)| (p.as_str(), h.as_str()))
            .collect();
        let after: std::collections::HashSet<&str> =
            now.files.iter().map(|(p, _)| p.as_str()).collect();
        let mut changed: Vec<String> = now
            .files
            .iter()
            .filter(|(p, h)| before.get(p.as_str()) != Some(&h.as_str()))
            .map(|(p, _)| p.clone())
            .collect();
        changed.extend(
            detail
                .files
                .iter()
                .filter(|(p, _)| !after.contains(p.as_str()))
                .map(|(p, _)| format!("{p} (gone)")),
        );
        return if changed.is_empty() {
            Status::Changed
        } else {
            Status::SourcesChanged(changed)
        };
    }
    match missing_outputs(file, task) {
        Ok(missing) if missing.is_empty() => Status::Fresh,
        Ok(missing) => Status::OutputsMissing(missing),
        Err(e) => Status::Unreadable(e.to_string()),
    }
}

/// Whether the task can be skipped: its fingerprint is the stored one and its
/// outputs exist.
pub fn is_fresh(file: &TaskFile, task: &Task, now: &Fingerprint) -> bool {
    status(file, task, now) == Status::Fresh
}

/// Records the fingerprint after a successful run (whole or not at all).
pub fn record(file: &TaskFile, task: &Task, fingerprint: &Fingerprint) -> std::io::Result<()> {
    let path = store(file, task);
    let dir = path.parent().expect("under .run/hashes");
    std::fs::create_dir_all(dir)?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    let detail = Detail {
        definition: fingerprint.definition.clone(),
        files: fingerprint.files.clone(),
    };
    writeln!(
        temp,
        "{}\n{}",
        fingerprint.digest,
        serde_json::to_string(&detail)?
    )?;
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
        let print = |f: &TaskFile, digest| {
            fingerprint(f, &f.tasks[0], Some(digest), &[])
                .unwrap()
                .digest
        };
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
        assert_eq!(status(&f, task, &print), Status::NeverRun);
        record(&f, task, &print).unwrap();
        assert!(!is_fresh(&f, task, &print), "output missing");
        assert_eq!(
            status(&f, task, &print).to_string(),
            "generates missing (out/*.bin)"
        );
        std::fs::create_dir(dir.path().join("out")).unwrap();
        std::fs::write(dir.path().join("out/x.bin"), "").unwrap();
        assert!(is_fresh(&f, task, &print));
        let other = Fingerprint {
            digest: "other".into(),
            ..print.clone()
        };
        assert!(!is_fresh(&f, task, &other));
    }

    #[test]
    fn the_status_names_what_changed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.c"), "1").unwrap();
        std::fs::write(dir.path().join("b.c"), "1").unwrap();
        let f = file(
            dir.path(),
            "[tasks.t]\ncommand = \"true\"\nsources = [\"*.c\"]\n",
        );
        let task = &f.tasks[0];
        let now = || fingerprint(&f, task, None, &[]).unwrap();
        record(&f, task, &now()).unwrap();
        assert_eq!(status(&f, task, &now()), Status::Fresh);
        std::fs::write(dir.path().join("b.c"), "2").unwrap();
        std::fs::remove_file(dir.path().join("a.c")).unwrap();
        std::fs::write(dir.path().join("c.c"), "").unwrap();
        assert_eq!(
            status(&f, task, &now()).to_string(),
            "sources changed (b.c, c.c, a.c (gone))"
        );
        // Other arguments are another definition.
        let args = fingerprint(&f, task, None, &["x".into()]).unwrap();
        record(&f, task, &now()).unwrap();
        assert_eq!(status(&f, task, &args), Status::DefinitionChanged);
        // A record from before the detail line.
        std::fs::write(store(&f, task), "0000\n").unwrap();
        assert_eq!(status(&f, task, &now()), Status::Changed);
    }
}
