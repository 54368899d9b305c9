//! `run`: a task runner whose tasks are sandboxed WebAssembly plugins.
//! `main.rs` only calls [`app::main`]; each concern has its own module.

/// `eprintln!` that never panics: a closed stderr (`run … 2>&1 | head -1`)
/// loses the message, and the run goes on to its exit code.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

pub mod app;
pub mod capability;
pub mod cli;
pub mod command;
pub mod command_args;
pub mod completion;
pub mod config;
pub mod describe;
pub mod dry_run;
pub mod error;
pub mod grant;
pub mod graph;
pub mod import;
pub mod invocation;
pub mod list;
pub mod lock;
pub mod logging;
pub mod parameters;
pub mod plugin;
pub mod plugin_command;
pub mod report;
pub mod scheduler;
pub mod task_error;
pub mod task_help;
pub mod ui;
pub mod up_to_date;
pub mod watch;
