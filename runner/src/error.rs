//! Errors that end an invocation before any task runs, rendered in one place.
//! Every one of them is a usage or configuration error: exit code 2.

use std::path::PathBuf;

use anstyle::{AnsiColor, Style};

use crate::config::ConfigError;
use crate::graph::Deadlock;
use crate::ui::paint;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("no tasks.toml found in {} or any parent directory", .0.display())]
    NoTasksFile(PathBuf),
    #[error("no task `{name}` in {}", file.display())]
    UnknownTask {
        name: String,
        file: PathBuf,
        suggestion: Option<String>,
    },
    /// Arguments that do not fit a command task's `params`.
    #[error(transparent)]
    TaskArgs(#[from] crate::command_args::ArgsError),
    #[error("--watch: none of the tasks to run has `sources` to watch")]
    NothingToWatch,
    /// A private task named on the command line.
    #[error("task `{task}` is private: it only runs as a dependency or hook of another task")]
    PrivateTask { name: String, task: String },
    #[error("--working-directory {}: no such directory", .0.display())]
    NoWorkingDirectory(PathBuf),
    #[error(
        "no task given and tasks.toml has no `default` task; pick one of the tasks listed above"
    )]
    NoTask,
    #[error("unsupported shell `{0}` (use bash, zsh, fish, elvish or powershell)")]
    UnknownShell(String),
    #[error(transparent)]
    Deadlock(#[from] Deadlock),
    #[error(transparent)]
    Lock(#[from] crate::lock::LockError),
    #[error("usage: run plugin inspect FILE.wasm|BUILTIN, or run plugin new NAME")]
    PluginUsage,
    #[error(transparent)]
    PluginNew(#[from] crate::plugin_command::new::NewError),
    #[error(transparent)]
    Import(#[from] crate::import::ImportError),
    #[error("no built-in plugin named `{name}`")]
    UnknownPlugin {
        name: String,
        suggestion: Option<String>,
    },
    /// A plugin could not be loaded or described (`run plugin inspect`).
    #[error("{0}")]
    Task(crate::task_error::TaskError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The command line itself: an unknown option, or a plugin option its
    /// plugin does not declare.
    #[error(transparent)]
    Usage(#[from] crate::invocation::UsageError),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Task(error) => error.exit_code(),
            _ => 2,
        }
    }

    /// The full message for stderr.
    pub fn render(&self, color: bool) -> String {
        if let Error::Config(error) = self {
            return error.render(color);
        }
        let label = paint(
            color,
            Style::new().bold().fg_color(Some(AnsiColor::Red.into())),
            "error",
        );
        let mut out = format!("{label}: {self}");
        if let Error::UnknownTask {
            suggestion: Some(suggestion),
            ..
        }
        | Error::UnknownPlugin {
            suggestion: Some(suggestion),
            ..
        } = self
        {
            out += &format!("\n  = help: did you mean `{suggestion}`?");
        }
        if let Error::Usage(usage) = self
            && let Some(help) = usage.help()
        {
            out += &format!("\n  = help: {help}");
        }
        out
    }
}

/// The closest of `candidates` to `name`, if close enough to be a likely typo.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_owned())
}
