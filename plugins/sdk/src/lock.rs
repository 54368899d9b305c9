//! Exclusive locks between runs, for plugins that keep state on disk which two
//! runs must not change at once (the chaos plugin's journal of live faults).
//!
//! The runner takes an operating-system file lock on a file in a
//! write-granted directory and holds it until the [`Guard`] is dropped or the
//! task ends; the lock also goes away when the runner dies, so a crash never
//! leaves a stale one. Under `run --plan` nothing is locked.
//!
//! ```no_run
//! # fn main() -> Result<(), run_plugin_sdk::Error> {
//! use std::time::Duration;
//! // Fails at once, naming the holder, when another run has it.
//! let _journal = run_plugin_sdk::lock::acquire("state/journal.lock", Duration::ZERO)?;
//! // ... change the state; the lock is released when `_journal` goes.
//! # Ok(()) }
//! ```

use std::time::Duration;

use crate::__private::bindings::runner::plugin::lock::{self as wit, Holder, LockError};
use crate::Error;

/// A lock this task holds, released when dropped.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let guard = run_plugin_sdk::lock::acquire(".state/run.lock", std::time::Duration::ZERO)?;
/// assert_eq!(guard.path(), ".state/run.lock");
/// drop(guard); // released
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "the lock is released when the guard is dropped"]
pub struct Guard {
    held: wit::HeldLock,
}

impl Guard {
    /// The path the lock was taken on, as given to [`acquire`].
    ///
    /// ```no_run
    /// # fn main() -> Result<(), run_plugin_sdk::Error> {
    /// let guard = run_plugin_sdk::lock::acquire("out/x.lock", std::time::Duration::ZERO)?;
    /// println!("holding {}", guard.path());
    /// # Ok(()) }
    /// ```
    pub fn path(&self) -> String {
        self.held.path()
    }
}

/// Takes the exclusive lock on `path` (a file in a write-granted directory,
/// created when missing, never through a symlink), waiting up to `wait` for
/// another run to let go. Held until the [`Guard`] is dropped.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let _lock = run_plugin_sdk::lock::acquire(".state/run.lock", std::time::Duration::from_secs(10))?;
/// # Ok(()) }
/// ```
pub fn acquire(path: &str, wait: Duration) -> Result<Guard, Error> {
    let millis = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
    let held = wit::acquire(path, millis).map_err(|e| match e {
        LockError::Denied(denial) => Error::from(denial),
        LockError::Held(Holder { pid, task, since }) => Error::failed(format!(
            "`{path}` is locked by pid {pid}, task {task}, since {since}"
        )),
        LockError::Io((path, reason)) => Error::failed(format!("cannot lock `{path}`: {reason}")),
    })?;
    Ok(Guard { held })
}
