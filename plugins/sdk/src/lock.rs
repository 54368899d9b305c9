//! Exclusive locks between runs, for plugins that keep state on disk which two
//! runs must not change at once (the chaos plugin's journal of live faults).
//!
//! The runner takes an operating-system file lock on a file in a
//! write-granted directory and holds it until the task ends; the lock also
//! goes away when the runner dies, so a crash never leaves a stale one.
//!
//! ```no_run
//! # fn main() -> Result<(), run_plugin_sdk::Error> {
//! use std::time::Duration;
//! // Fails at once, naming the holder, when another run has it.
//! run_plugin_sdk::lock::acquire("state/journal.lock", Duration::ZERO)?;
//! # Ok(()) }
//! ```

use std::time::Duration;

use crate::__private::bindings::runner::plugin::lock::{self as wit, LockError};
use crate::Error;

/// Takes the exclusive lock on `path` (a file in a write-granted directory,
/// created when missing), waiting up to `wait` for another run to release it.
/// Held until the task ends.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// run_plugin_sdk::lock::acquire(".state/run.lock", std::time::Duration::from_secs(10))?;
/// # Ok(()) }
/// ```
pub fn acquire(path: &str, wait: Duration) -> Result<(), Error> {
    let millis = wait.as_millis().min(u64::MAX as u128) as u64;
    wit::acquire(path, millis).map_err(|e| match e {
        LockError::Denied(reason) => Error::denied(reason),
        LockError::Held(holder) => Error::failed(format!("`{path}` is locked by {holder}")),
        LockError::Io(reason) => Error::failed(reason),
    })
}
