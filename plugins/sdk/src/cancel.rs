//! Cooperative cancellation. On Ctrl-C or SIGTERM the runner cancels the run;
//! a plugin that uses this module is given a grace period (30 s, or until a
//! second Ctrl-C) to put back what it changed before it is stopped.
//!
//! ```no_run
//! use run_plugin_sdk::cancel;
//! // Hold a fault for 60 s, ending early when the run is cancelled.
//! if cancel::sleep(std::time::Duration::from_secs(60)) {
//!     println!("cancelled: undoing the fault now");
//! }
//! ```

use std::time::Duration;

use crate::__private::bindings::runner::plugin::cancel as wit;

/// Sleeps `duration`, or less when the run is cancelled; true when cancelled.
///
/// ```no_run
/// let cancelled = run_plugin_sdk::cancel::sleep(std::time::Duration::from_millis(100));
/// # let _ = cancelled;
/// ```
pub fn sleep(duration: Duration) -> bool {
    wit::sleep(duration.as_millis().min(u64::MAX as u128) as u64)
}

/// Whether the run has been cancelled (and the plugin should wind down).
///
/// ```no_run
/// if run_plugin_sdk::cancel::cancelled() {
///     return;
/// }
/// ```
pub fn cancelled() -> bool {
    wit::cancelled()
}
