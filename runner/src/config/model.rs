//! The validated contents of a `tasks.toml`: what the rest of the runner works from.
//! Everything here has passed `parse`: names resolve, durations and sizes are
//! numbers, and every task knows where in the file it came from.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A byte range in the tasks.toml source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// A value with the span it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

/// A parsed and validated tasks.toml.
#[derive(Debug, Clone)]
pub struct TaskFile {
    /// Absolute path of the file.
    pub path: PathBuf,
    /// The directory holding the file: relative paths in it are relative to this.
    pub root: PathBuf,
    /// The file's text, kept for diagnostics.
    pub source: Arc<str>,
    /// Tasks in file order.
    pub tasks: Vec<Task>,
    /// Variables from the `.env` files (`dotenv`), later files overriding
    /// earlier ones. Command tasks get those the host environment lacks;
    /// plugins only those their `allow.env` grants.
    pub dotenv: Vec<(String, String)>,
}

/// One `[tasks.NAME]` table.
#[derive(Debug, Clone)]
pub struct Task {
    pub name: String,
    /// The span of the task's name in its header (`[tasks.NAME]`) or key.
    pub span: Span,
    /// 1-based line and column of `span.start`.
    pub line: usize,
    pub column: usize,
    pub description: Option<String>,
    pub group: Option<String>,
    pub aliases: Vec<Spanned<String>>,
    pub action: Action,
    /// Tasks that must finish first (each runs once per invocation).
    pub depends: Vec<Spanned<String>>,
    /// Hook tasks run just before this one (after its `depends`).
    pub before: Vec<Spanned<String>>,
    /// Hook tasks run after this one succeeds.
    pub after: Vec<Spanned<String>>,
    /// Environment the task's plugin or command sees, beyond grants.
    pub env: EnvSpec,
    /// Wall-clock limit for the task's own action.
    pub timeout: Option<Duration>,
    /// Memory limit for a plugin's linear memories and tables, in bytes.
    pub memory: Option<u64>,
    /// What a plugin task may touch. Always empty for command and group tasks.
    pub allow: Grants,
    /// `private = true`: only runs as another task's dependency or hook.
    pub private: bool,
    /// `dir = "sub"`: where a command task's lines run, absolute, inside the
    /// project (checked when parsed); the project root when absent.
    pub dir: Option<PathBuf>,
    /// A command task's named parameters, in order (`params = [...]`).
    pub params: Vec<Param>,
    /// `confirm = "Really …?"`: asked before a command task runs.
    pub confirm: Option<String>,
    /// `finally = "…"`: lines run after the task, whatever its outcome.
    pub finally: Vec<String>,
    /// `sources = ["src/**/*.rs"]`: globs whose files decide whether the task
    /// is up to date (relative to tasks.toml).
    pub sources: Vec<String>,
    /// `generates = ["dist/app"]`: files the task makes; it is not up to date
    /// while one is missing.
    pub generates: Vec<String>,
}

/// One of a command task's `params`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub default: Option<String>,
    /// Takes every remaining argument (only the last may).
    pub variadic: bool,
    /// `--NAME` with no value: the variable is `true` when given, else `false`.
    pub flag: bool,
    pub help: Option<String>,
}

/// What a task does itself (besides its dependencies).
#[derive(Debug, Clone)]
pub enum Action {
    /// Runs a WebAssembly plugin in the sandbox.
    Plugin {
        source: PluginSource,
        /// The `config` table, converted to JSON (`{}` when absent).
        config: serde_json::Value,
    },
    /// Runs host shell lines, unsandboxed (`command = "…"` or `["…", "…"]`),
    /// each with `sh -c LINE TASK ARGS…`, stopping at the first failure.
    Command { lines: Vec<String> },
    /// Only runs its dependencies.
    Group,
}

/// Where a plugin comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PluginSource {
    /// A plugin embedded in the binary, by name.
    Builtin(String),
    /// A `.wasm` component file, absolute (resolved against `TaskFile::root`).
    Path(PathBuf),
    /// `plugin = { url = "…", sha256 = "…" }`: downloaded once, cached by digest,
    /// and refused unless its sha256 is the pinned one.
    Url { url: String, sha256: String },
}

/// Environment for a task: fixed values, plus host variables passed through by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvSpec {
    /// `env = { NAME = "value" }`.
    pub set: Vec<(String, String)>,
    /// `env = ["NAME", "PREFIX_*"]`: host variables passed through when set.
    pub pass: Vec<String>,
}

/// The `allow` table, compiled: everything beyond it is denied.
pub use crate::grant::Grants;

impl TaskFile {
    /// Finds a task by name or alias.
    pub fn task(&self, name: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.name == name).or_else(|| {
            self.tasks
                .iter()
                .find(|t| t.aliases.iter().any(|a| a.value == name))
        })
    }
}

impl PluginSource {
    /// The name people know the plugin by in messages: the built-in's name, the
    /// file's name, or the last part of the URL.
    pub fn display_name(&self) -> String {
        match self {
            PluginSource::Builtin(name) => name.clone(),
            PluginSource::Path(path) => path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            PluginSource::Url { url, .. } => url
                .rsplit('/')
                .next()
                .filter(|n| !n.is_empty())
                .unwrap_or(url)
                .to_owned(),
        }
    }
}

impl Task {
    /// Private tasks (`private = true`, or a name starting with `_`) are
    /// left out of `--list` and completion and cannot be run by name.
    pub fn is_private(&self) -> bool {
        self.private || self.name.starts_with('_')
    }

    /// Command tasks run on the host, outside the sandbox.
    pub fn is_sandboxed(&self) -> bool {
        !matches!(self.action, Action::Command { .. })
    }
}
