//! Why one task failed, and the exit code each failure maps to.

use std::time::Duration;

use crate::capability::files::FileGrantError;
use crate::grant::{Grant, allow_table};
use crate::plugin::LoadError;

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// The plugin returned a structured error; a denial may say which grant
    /// would allow what was refused.
    #[error("{kind}: {message}{}", add_grant(grant.as_ref()))]
    Plugin {
        kind: &'static str,
        message: String,
        exit_code: Option<u8>,
        grant: Option<Grant>,
    },
    /// The plugin needs grants (`describe` or `needs`) its task does not give.
    #[error(
        "denied: the plugin needs {}, which the task does not grant; add to the task in tasks.toml: {}",
        describe_missing(missing),
        allow_table(missing)
    )]
    Ungranted { missing: Vec<Grant> },
    /// The plugin trapped (a panic, an `unreachable`, a host failure).
    #[error("trapped: {0}")]
    Trap(String),
    #[error("stopped: it exceeded its memory limit of {}", human_size(*limit))]
    MemoryLimit { limit: u64 },
    /// One of the plugin's resource tables (files, sockets, streams, progress
    /// bars, locks, container handles) was full.
    #[error("stopped: it exceeded its limit of {limit} open handles")]
    HandleLimit { limit: usize },
    #[error("timed out after {}", humantime::format_duration(*.0))]
    Timeout(Duration),
    #[error("interrupted")]
    Interrupted,
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    FileGrant(#[from] FileGrantError),
    #[error("a network grant is malformed: {0}")]
    NetworkGrant(String),
    #[error("`{line}` exited with code {code}")]
    Command { line: String, code: i32 },
    #[error("`{line}` was killed by signal {signal}")]
    CommandSignal { line: String, signal: i32 },
    #[error("cannot start `{line}`: {source}")]
    Spawn {
        line: String,
        source: std::io::Error,
    },
    /// The host itself failed while setting up or running the plugin.
    #[error("{0}")]
    Host(String),
}

impl TaskError {
    /// The documented exit codes (docs/exit-codes.md).
    pub fn exit_code(&self) -> i32 {
        match self {
            // A failed task never exits 0, whatever code the plugin asked for.
            TaskError::Plugin { exit_code, .. } => {
                exit_code.filter(|&c| c != 0).map_or(1, i32::from)
            }
            TaskError::Command { code, .. } => *code,
            TaskError::CommandSignal { signal, .. } => 128 + signal,
            TaskError::Timeout(_) => 124,
            TaskError::Interrupted => 130,
            TaskError::Load(_) | TaskError::NetworkGrant(_) => 2,
            TaskError::Ungranted { .. }
            | TaskError::Trap(_)
            | TaskError::MemoryLimit { .. }
            | TaskError::HandleLimit { .. }
            | TaskError::FileGrant(_)
            | TaskError::Spawn { .. }
            | TaskError::Host(_) => 1,
        }
    }
}

/// `write access to `out`, network access to `db:5432``.
fn describe_missing(missing: &[Grant]) -> String {
    let parts: Vec<String> = missing.iter().map(Grant::describe).collect();
    parts.join(", ")
}

/// `; add to the task in tasks.toml: allow = { containers = ["db"] }`.
fn add_grant(grant: Option<&Grant>) -> String {
    grant.map_or_else(String::new, |g| {
        format!(
            "; add to the task in tasks.toml: {}",
            allow_table(std::slice::from_ref(g))
        )
    })
}

/// `268435456` → `256 MiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0
        && unit < UNITS.len() - 1
        && value.fract() == 0.0
        && (value / 1024.0).fract() == 0.0
    {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value} {}", UNITS[unit])
}
