//! The limits every plugin runs under, whatever its grants: memory, open
//! handles, plugin file size, and the output it may have waiting.
//!
//! Each limit is per plugin instance, so with `-j N` up to N times as much is
//! in use at once; docs/sandbox.md lists them.

use std::sync::atomic::{AtomicUsize, Ordering};

/// A plugin's linear memory unless its task sets `memory`.
pub const DEFAULT_MEMORY: u64 = 512 << 20;

/// The most `memory` may raise it to: what the engine reserves per memory.
pub use super::engine_config::MAX_MEMORY;

/// Open handles a plugin may hold at once in each of its resource tables
/// (WASI: files, directories, sockets, streams, pollables; and the runner's
/// own: progress bars, locks, container handles), unless the process's
/// open-file limit cannot give every parallel plugin that many.
pub const MAX_HANDLES: usize = 1024;

/// The fewest handles a plugin is ever given: enough for any real plugin's
/// stdio, preopens and a few files.
const MIN_HANDLES: usize = 32;

/// File descriptors kept back for the runner itself (its runtime, the
/// compile cache, lock files, command pipes, the engine's socket).
const RUNNER_FDS: u64 = 128;

/// The largest plugin file accepted, from a path or a URL. The largest real
/// plugins (a Python interpreter componentized with its standard library) are
/// about 40 MB.
pub const MAX_PLUGIN_FILE: u64 = 128 << 20;

/// Bytes of a plugin's stdout or stderr the runner holds while the reader is
/// slow; a plugin writing more waits (asynchronously, so timeouts still fire).
pub const OUTPUT_BUFFER: usize = 64 << 10;

static HANDLES: AtomicUsize = AtomicUsize::new(MAX_HANDLES);

/// The memory limit of a task that asks for `memory` (or not).
pub fn memory(requested: Option<u64>) -> usize {
    let bytes = requested.unwrap_or(DEFAULT_MEMORY).min(MAX_MEMORY);
    usize::try_from(bytes).unwrap_or(usize::MAX)
}

/// The per-plugin handle limit for this process, set by [`init`].
pub fn handles() -> usize {
    HANDLES.load(Ordering::Relaxed)
}

/// Prepares the process for `jobs` plugins at once: raises the soft limit on
/// open files to the hard limit, then fixes the per-plugin handle limit so
/// that `jobs` plugins at their limit still leave room for the runner (one
/// plugin can never starve a sibling of descriptors).
pub fn init(jobs: usize) {
    let open_files = raise_open_file_limit();
    let per_plugin = handles_for(open_files, jobs);
    if per_plugin < MAX_HANDLES {
        tracing::debug!(
            "open-file limit {open_files} for {jobs} parallel plugins: each may hold {per_plugin} handles"
        );
    }
    HANDLES.store(per_plugin, Ordering::Relaxed);
}

/// What each of `jobs` plugins may hold when the process may open `open_files`.
fn handles_for(open_files: u64, jobs: usize) -> usize {
    let jobs = jobs.max(1) as u64;
    let share = open_files.saturating_sub(RUNNER_FDS) / jobs;
    usize::try_from(share)
        .unwrap_or(usize::MAX)
        .clamp(MIN_HANDLES, MAX_HANDLES)
}

/// Raises RLIMIT_NOFILE's soft limit to its hard limit; returns the soft
/// limit in force afterwards.
fn raise_open_file_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass and nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return 1024;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit reads the struct we pass and nothing else.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit.rlim_cur = limit.rlim_max;
        }
    }
    limit.rlim_cur
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_plugins_share_what_the_process_may_open() {
        assert_eq!(handles_for(1 << 20, 64), MAX_HANDLES);
        assert_eq!(handles_for(4096, 2), MAX_HANDLES);
        // 8 plugins in 1024 descriptors: (1024 - 128) / 8 each.
        assert_eq!(handles_for(1024, 8), 112);
        assert_eq!(handles_for(256, 64), MIN_HANDLES);
        assert_eq!(handles_for(0, 0), MIN_HANDLES);
    }

    #[test]
    fn memory_defaults_and_is_capped() {
        assert_eq!(memory(None), 512 << 20);
        assert_eq!(memory(Some(64 << 20)), 64 << 20);
        assert_eq!(memory(Some(64 << 30)), 4 << 30);
    }
}
