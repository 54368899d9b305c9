//! Terminal state shared by every running task: colour, progress bars, whether a
//! person can answer prompts, and GitHub Actions annotations.

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressDrawTarget};

use crate::cli::ColorChoice;

pub struct Ui {
    /// Colour on stderr.
    pub color: bool,
    /// Progress bars; drawn only when stderr is a terminal.
    pub progress: MultiProgress,
    /// A person can answer prompts: stdin and stderr are terminals and CI is not set.
    pub interactive: bool,
    /// `--yes`: confirmations are answered yes.
    pub assume_yes: bool,
    /// Running under GitHub Actions: task output in `::group::`s, failures as `::error::`.
    pub github_actions: bool,
    /// One prompt at a time, even with parallel tasks.
    pub prompt_lock: tokio::sync::Mutex<()>,
}

impl Ui {
    pub fn new(color: ColorChoice, assume_yes: bool, quiet: bool) -> Ui {
        let stderr_tty = std::io::stderr().is_terminal();
        let progress = if stderr_tty && !quiet {
            MultiProgress::new()
        } else {
            MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
        };
        Ui {
            color: use_color(color, stderr_tty),
            progress,
            interactive: std::io::stdin().is_terminal() && stderr_tty && !is_ci(),
            assume_yes,
            github_actions: env_flag("GITHUB_ACTIONS"),
            prompt_lock: tokio::sync::Mutex::new(()),
        }
    }
}

impl Ui {
    /// `text` in `style` when colour is on.
    pub fn paint(&self, style: anstyle::Style, text: &str) -> String {
        paint(self.color, style, text)
    }
}

/// `text` in `style` when `color`.
pub fn paint(color: bool, style: anstyle::Style, text: &str) -> String {
    if color {
        format!("{style}{text}{style:#}")
    } else {
        text.to_owned()
    }
}

/// `--color`, with NO_COLOR (any non-empty value) meaning never under `auto`.
pub fn use_color(choice: ColorChoice, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// CI=true (or any value but `false`/`0`/empty) means no one is at the terminal.
pub fn is_ci() -> bool {
    env_flag("CI")
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}
