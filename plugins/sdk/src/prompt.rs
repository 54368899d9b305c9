//! Questions for the person at the terminal.
//!
//! With `--yes` a confirmation is answered yes; without a terminal (or under
//! CI) the default is taken, and a question without one fails instead of
//! blocking.
//!
//! ```no_run
//! # fn main() -> Result<(), run_plugin_sdk::Error> {
//! if run_plugin_sdk::prompt::confirm("Delete out/?", Some(false))? {
//!     // ...
//! }
//! # Ok(()) }
//! ```

use crate::__private::bindings::runner::plugin::prompt::{self as wit, PromptError};
use crate::Error;

/// The exit code for a cancelled question, as for a shell interrupted by Ctrl-C.
const CANCELLED_EXIT_CODE: u8 = 130;

/// Asks a yes/no question; `default` is taken when no one can answer.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let go = run_plugin_sdk::prompt::confirm("Proceed?", Some(true))?;
/// # Ok(()) }
/// ```
pub fn confirm(question: &str, default: Option<bool>) -> Result<bool, Error> {
    wit::confirm(question, default).map_err(|e| error(question, e))
}

/// Asks to pick one of `options`; returns its index.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let envs = ["staging", "production"];
/// let picked = run_plugin_sdk::prompt::select("Deploy to", &envs, Some(0))?;
/// println!("deploying to {}", envs[picked]);
/// # Ok(()) }
/// ```
pub fn select(
    question: &str,
    options: &[impl AsRef<str>],
    default: Option<usize>,
) -> Result<usize, Error> {
    let options: Vec<String> = options.iter().map(|o| o.as_ref().to_owned()).collect();
    // An index past u32 cannot name an option anyway; saturating keeps it invalid.
    let default = default.map(|d| u32::try_from(d).unwrap_or(u32::MAX));
    let picked = wit::select(question, &options, default).map_err(|e| error(question, e))?;
    Ok(picked as usize)
}

fn error(question: &str, e: PromptError) -> Error {
    match e {
        PromptError::NoAnswer(reason) => {
            Error::failed(format!("no answer to `{question}`: {reason}"))
        }
        PromptError::Cancelled => {
            Error::failed(format!("`{question}` was cancelled")).with_exit_code(CANCELLED_EXIT_CODE)
        }
    }
}
