//! The command line, defined once: help text, completions and parsing all come
//! from these definitions.

use std::path::PathBuf;

use clap::{Args, Parser, ValueEnum};
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};

/// Run the tasks of a tasks.toml; plugin tasks run sandboxed in WebAssembly.
#[derive(Debug, Parser)]
#[command(
    name = "run",
    version,
    after_help = "Runner options go before the task name. After it they are the task's, except that a task checking its arguments (a plugin with declared parameters, or a group) leaves the runner's options it does not declare to the runner; `--` ends that. See docs/cli.md.\n`run completions SHELL` prints a completion script (bash, zsh, fish, elvish, powershell); task names are completed live from tasks.toml.\n`run import MAKEFILE` converts a Makefile's targets into a tasks.toml (see `run import --help`).\nExit codes: 0 success, the failing task's code, 1 a task denied (also under -n), 2 usage, tasks.toml or plugin load error, 124 timeout, 130 interrupted."
)]
pub struct Cli {
    #[command(flatten)]
    pub options: Options,

    /// The task to run (a name or an alias), then the arguments passed to it.
    /// [`crate::invocation`] decides which words after the task name are the
    /// runner's and hands clap the rest after a `--`.
    #[arg(
        value_name = "TASK [ARGS]",
        trailing_var_arg = true,
        allow_hyphen_values = true,
        add = ArgValueCandidates::new(task_candidates)
    )]
    pub invocation: Vec<String>,
}

impl Cli {
    /// The task named on the command line, if any.
    pub fn task(&self) -> Option<&str> {
        self.invocation.first().map(String::as_str)
    }

    /// The arguments after the task name.
    pub fn task_args(&self) -> &[String] {
        self.invocation.get(1..).unwrap_or_default()
    }
}

/// Options of the runner itself.
#[derive(Debug, Args)]
pub struct Options {
    /// List the tasks, grouped, with descriptions and aliases.
    #[arg(short, long)]
    pub list: bool,

    /// With --list: print JSON (schema `run.list/v1`, see docs/list-json.md).
    #[arg(long, requires = "list")]
    pub json: bool,

    /// Show the plan and run nothing: order, plugin digests, what each plugin needs
    /// against what its task grants. Plugins only answer `describe` and `needs`, in a
    /// sandbox with nothing granted. Exits 1 if a task would be denied.
    #[arg(short = 'n', long, conflicts_with = "plan")]
    pub dry_run: bool,

    /// Run the tasks in plan mode: plugins report what they would do, with write
    /// grants read-only, no network, and container changes refused; commands are
    /// not run.
    #[arg(long)]
    pub plan: bool,

    /// Run up to N independent tasks at once.
    #[arg(short, long, value_name = "N", default_value_t = default_jobs(), value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,

    /// After the run, run again whenever a file matching the `sources` of a
    /// task in the plan changes, until Ctrl-C.
    #[arg(short, long, conflicts_with_all = ["dry_run", "plan"])]
    pub watch: bool,

    /// Run tasks with `sources` even when they are up to date.
    #[arg(long)]
    pub force: bool,

    /// After a task fails, go on with the tasks that do not depend on it.
    #[arg(short, long)]
    pub keep_going: bool,

    /// Answer yes to every confirmation a task asks.
    #[arg(short, long)]
    pub yes: bool,

    /// Less output (-q: warnings and errors, -qq: errors only).
    #[arg(short, long, action = clap::ArgAction::Count, conflicts_with = "verbose")]
    pub quiet: u8,

    /// More output (-v: debug, -vv: trace).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// When to use colour; NO_COLOR in the environment means never under auto.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Log format on stderr.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// A log filter like RUST_LOG (targets: `runner` for the runner, `plugin` for
    /// plugin logs; e.g. `runner=debug,plugin=warn`); overrides -q/-v.
    #[arg(long, env = "RUN_LOG", value_name = "FILTER")]
    pub log: Option<String>,

    /// Use this tasks.toml instead of searching upwards from the current directory.
    #[arg(short, long, value_name = "PATH")]
    pub file: Option<PathBuf>,

    /// Look for tasks.toml from DIR upwards instead of the current directory
    /// (as if run were started in DIR).
    #[arg(short = 'd', long, value_name = "DIR")]
    pub working_directory: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

fn default_jobs() -> u16 {
    std::thread::available_parallelism()
        .map(|n| n.get().min(u16::MAX as usize) as u16)
        .unwrap_or(1)
}

/// Task names and aliases from the tasks.toml found from the current directory,
/// for dynamic completion. Errors yield no candidates: completion must never fail loudly.
fn task_candidates() -> Vec<CompletionCandidate> {
    let typed = crate::completion::typed_file();
    let Some(path) = typed.or_else(|| crate::config::find(&std::env::current_dir().ok()?)) else {
        return Vec::new();
    };
    let Ok(file) = crate::config::load(&path, &crate::plugin::builtin::names()) else {
        return Vec::new();
    };
    let mut candidates = Vec::new();
    for task in file.tasks.iter().filter(|t| !t.is_private()) {
        let help = task.description.clone().unwrap_or_default();
        candidates.push(CompletionCandidate::new(&task.name).help(Some(help.clone().into())));
        for alias in &task.aliases {
            candidates.push(
                CompletionCandidate::new(&alias.value)
                    .help(Some(format!("alias for {}", task.name).into())),
            );
        }
    }
    candidates
}
