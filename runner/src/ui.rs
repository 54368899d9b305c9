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

/// `--color`. Under `auto`: never when NO_COLOR is set (non-empty), always
/// when FORCE_COLOR or CLICOLOR_FORCE is (non-empty and not `0`/`false`), else
/// on a terminal.
pub fn use_color(choice: ColorChoice, is_terminal: bool) -> bool {
    color_from(choice, is_terminal, |name| std::env::var_os(name))
}

fn color_from(
    choice: ColorChoice,
    is_terminal: bool,
    var: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> bool {
    let set = |name: &str| var(name).is_some_and(|v| !v.is_empty());
    let on = |name: &str| var(name).is_some_and(|v| !v.is_empty() && v != "0" && v != "false");
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto if set("NO_COLOR") => false,
        ColorChoice::Auto if on("FORCE_COLOR") || on("CLICOLOR_FORCE") => true,
        ColorChoice::Auto => is_terminal,
    }
}

/// CI=true (or any value but `false`/`0`/empty) means no one is at the terminal.
pub fn is_ci() -> bool {
    env_flag("CI")
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Writes `text` to stdout. A closed pipe (`run --list | head -1`) is the
/// reader saying it has seen enough: the text is dropped quietly, never a
/// panic (as `print!` would) and never an error. Other write errors are returned.
pub fn print(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    quiet_pipe(
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush()),
    )
}

/// `result`, with a closed pipe counted as success.
pub fn quiet_pipe(result: std::io::Result<()>) -> std::io::Result<()> {
    match result {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn color(choice: ColorChoice, tty: bool, env: &[(&str, &str)]) -> bool {
        color_from(choice, tty, |name| {
            env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.into())
        })
    }

    #[test]
    fn force_color_and_clicolor_force_turn_colour_on_under_auto() {
        assert!(!color(ColorChoice::Auto, false, &[]));
        assert!(color(ColorChoice::Auto, true, &[]));
        assert!(color(ColorChoice::Auto, false, &[("FORCE_COLOR", "1")]));
        assert!(color(ColorChoice::Auto, false, &[("CLICOLOR_FORCE", "1")]));
        assert!(!color(ColorChoice::Auto, false, &[("FORCE_COLOR", "0")]));
        assert!(!color(ColorChoice::Auto, false, &[("FORCE_COLOR", "")]));
        // NO_COLOR wins over both, and --color over everything.
        assert!(!color(
            ColorChoice::Auto,
            true,
            &[("NO_COLOR", "1"), ("FORCE_COLOR", "1")]
        ));
        assert!(!color(ColorChoice::Never, true, &[("FORCE_COLOR", "1")]));
        assert!(color(ColorChoice::Always, false, &[("NO_COLOR", "1")]));
    }
}
