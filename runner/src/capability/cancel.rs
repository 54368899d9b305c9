//! The `cancel` interface: cooperative cancellation on Ctrl-C or SIGTERM.
//!
//! The scheduler calls [`request`] on the first interrupt. A plugin that has
//! used this interface (it can learn it was cancelled) counts as *graceful*:
//! while any graceful plugin runs, the scheduler waits up to [`GRACE`] (or a
//! second interrupt) before dropping the stores, so the plugin can put back
//! what it changed (the chaos plugin undoes its faults). Plugins that never
//! call it are stopped at once, as before.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use wasmtime::component::HasData;

use crate::plugin::bindings::cancel::Host;

/// How long the runner waits for graceful plugins after the first interrupt.
pub const GRACE: Duration = Duration::from_secs(30);

static CANCELLED: AtomicBool = AtomicBool::new(false);
static GRACEFUL: AtomicUsize = AtomicUsize::new(0);
static WAKE: Notify = Notify::const_new();

/// Cancels the run: every `sleep` returns at once, `cancelled` says true.
pub fn request() {
    CANCELLED.store(true, Ordering::SeqCst);
    WAKE.notify_waiters();
}

/// Whether the run was cancelled.
pub fn is_cancelled() -> bool {
    CANCELLED.load(Ordering::SeqCst)
}

/// How many running plugins have used the interface (and so wind down themselves).
pub fn graceful_plugins() -> usize {
    GRACEFUL.load(Ordering::SeqCst)
}

/// One plugin store's side of the interface.
#[derive(Default)]
pub struct CancelHost {
    graceful: bool,
}

pub struct Cancel;
impl HasData for Cancel {
    type Data<'a> = &'a mut CancelHost;
}

impl CancelHost {
    fn mark_graceful(&mut self) {
        if !self.graceful {
            self.graceful = true;
            GRACEFUL.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl Drop for CancelHost {
    fn drop(&mut self) {
        if self.graceful {
            GRACEFUL.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Sleeps `duration` or until [`request`]; true when cancelled.
pub async fn sleep(duration: Duration) -> bool {
    let woken = WAKE.notified();
    tokio::pin!(woken);
    // Registered before the flag is read, so a request in between still wakes us.
    woken.as_mut().enable();
    if is_cancelled() {
        return true;
    }
    tokio::select! {
        () = tokio::time::sleep(duration) => is_cancelled(),
        () = woken => true,
    }
}

impl Host for CancelHost {
    async fn sleep(&mut self, millis: u64) -> wasmtime::Result<bool> {
        self.mark_graceful();
        Ok(sleep(Duration::from_millis(millis)).await)
    }

    async fn cancelled(&mut self) -> wasmtime::Result<bool> {
        self.mark_graceful();
        Ok(is_cancelled())
    }
}
