//! Log messages and progress bars, shown through the runner's log filter
//! (`-q`, `-v`, `RUN_LOG`) on its stderr.
//!
//! ```no_run
//! use run_plugin_sdk::log;
//! log::info("starting");
//! let bar = log::Progress::start("copying", Some(2));
//! bar.set(1);
//! bar.finish(Some("copied"));
//! ```

use std::cell::Cell;

use crate::__private::bindings::runner::plugin::log::{self as wit, Level};

/// Logs `message` at trace level.
///
/// ```no_run
/// run_plugin_sdk::log::trace("entering step 2");
/// ```
pub fn trace(message: impl AsRef<str>) {
    wit::log(Level::Trace, message.as_ref());
}

/// Logs `message` at debug level.
///
/// ```no_run
/// run_plugin_sdk::log::debug("using cache at out/.cache");
/// ```
pub fn debug(message: impl AsRef<str>) {
    wit::log(Level::Debug, message.as_ref());
}

/// Logs `message` at info level.
///
/// ```no_run
/// run_plugin_sdk::log::info("wrote 3 files");
/// ```
pub fn info(message: impl AsRef<str>) {
    wit::log(Level::Info, message.as_ref());
}

/// Logs `message` at warn level.
///
/// ```no_run
/// run_plugin_sdk::log::warn("no tests found");
/// ```
pub fn warn(message: impl AsRef<str>) {
    wit::log(Level::Warn, message.as_ref());
}

/// Logs `message` at error level.
///
/// ```no_run
/// run_plugin_sdk::log::error("could not parse report.xml");
/// ```
pub fn error(message: impl AsRef<str>) {
    wit::log(Level::Error, message.as_ref());
}

/// A progress bar (the WIT `progress` resource), finished when dropped so a
/// failing plugin leaves none open.
///
/// ```no_run
/// use run_plugin_sdk::log::Progress;
/// let bar = Progress::start("downloading", Some(100));
/// bar.set(50);
/// bar.set_message("verifying");
/// bar.finish(Some("downloaded"));
/// ```
#[derive(Debug)]
pub struct Progress {
    bar: wit::Progress,
    // The host's update call always takes a position, so a message change
    // must resend the current one.
    position: Cell<u64>,
}

impl Progress {
    /// Starts a bar; `total` is the number of units when known (`None`: a
    /// spinner).
    ///
    /// ```no_run
    /// let bar = run_plugin_sdk::log::Progress::start("indexing", None);
    /// ```
    pub fn start(message: impl AsRef<str>, total: Option<u64>) -> Self {
        Self {
            bar: wit::Progress::new(message.as_ref(), total),
            position: Cell::new(0),
        }
    }

    /// Moves the bar to `position` units.
    ///
    /// ```no_run
    /// # let bar = run_plugin_sdk::log::Progress::start("x", Some(3));
    /// bar.set(2);
    /// ```
    pub fn set(&self, position: u64) {
        self.position.set(position);
        self.bar.update(position, None);
    }

    /// Replaces the bar's message, keeping its position.
    ///
    /// ```no_run
    /// # let bar = run_plugin_sdk::log::Progress::start("x", Some(3));
    /// bar.set_message("step 2: linking");
    /// ```
    pub fn set_message(&self, message: impl AsRef<str>) {
        self.bar.update(self.position.get(), Some(message.as_ref()));
    }

    /// Ends the bar, leaving `message` (if any) as its last line.
    ///
    /// ```no_run
    /// # let bar = run_plugin_sdk::log::Progress::start("x", Some(3));
    /// bar.finish(Some("done"));
    /// ```
    pub fn finish(self, message: Option<&str>) {
        self.bar.finish(message);
    }
}
