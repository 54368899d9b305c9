//! Dynamic shell completion (`run completions SHELL` registers it).
//!
//! clap_complete completes the runner's options and, through the `invocation`
//! positional's candidates, task names. It cannot complete a task's own
//! parameters: everything after the task name is one trailing, hyphen-accepting
//! positional, so `run greet --n<TAB>` would offer nothing. So while the shell
//! asks for completions, and a task has already been typed, the command handed
//! to clap_complete is rebuilt: the runner's options, plus a subcommand named
//! after the typed task whose arguments are the plugin's parameters (from
//! [`crate::parameters`]). clap_complete then completes `--name`, flags and
//! option values the usual way, for every shell it supports.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Arg, ArgAction, Command, CommandFactory};

use crate::cli::{Cli, ColorChoice};
use crate::plugin::descriptors::{Known, ParamKind};

/// The environment variable the shell's registration sets while completing.
pub const ENV: &str = "RUN_COMPLETE";

/// The command to complete against (see the module comment).
pub fn command() -> Command {
    // Only clap_complete calls this, and only while the shell asks for
    // completions (it has already removed `RUN_COMPLETE` from the environment).
    let base = Cli::command();
    let args: Vec<OsString> = std::env::args_os().collect();
    let index = std::env::var("_CLAP_COMPLETE_INDEX")
        .ok()
        .and_then(|i| i.parse().ok());
    let Some(typed) = typed_before_cursor(&args, index) else {
        return base;
    };
    let Some(found) = find_task(&base, &typed) else {
        return base;
    };
    match parameters(&found) {
        Some(known) => with_task(base, &found.task, &known),
        None => base,
    }
}

/// The `--file` typed before the cursor while the shell asks for
/// completions, so task names come from that file.
pub fn typed_file() -> Option<PathBuf> {
    let args: Vec<OsString> = std::env::args_os().collect();
    let index = std::env::var("_CLAP_COMPLETE_INDEX")
        .ok()
        .and_then(|i| i.parse().ok());
    file_option(&typed_before_cursor(&args, index)?)
}

/// The last `--file` among the runner's options in `typed`.
fn file_option(typed: &[String]) -> Option<PathBuf> {
    let split = crate::invocation::split(typed).ok()?;
    split
        .options
        .iter()
        .rev()
        .find_map(|o| o.strip_prefix("--file="))
        .map(PathBuf::from)
}

/// The words before the one being completed, without the program name. The
/// shell calls `run -- run WORD… CURRENT`; bash also says which word is current.
fn typed_before_cursor(args: &[OsString], index: Option<usize>) -> Option<Vec<String>> {
    let separator = args.iter().position(|a| a == "--")?;
    let words: Vec<String> = args[separator + 1..]
        .iter()
        .map(|w| w.to_string_lossy().into_owned())
        .collect();
    let current = index.unwrap_or(words.len().saturating_sub(1));
    Some(words.get(1..current.min(words.len()))?.to_vec())
}

/// A task typed on the command line, and the `--file` given before it.
struct Found {
    task: String,
    file: Option<PathBuf>,
}

/// The first word that is not a runner option or an option's value.
fn find_task(base: &Command, typed: &[String]) -> Option<Found> {
    let takes_value = |arg: &Arg| arg.get_action().takes_values();
    let mut file = None;
    let mut words = typed.iter();
    while let Some(word) = words.next() {
        if word == "--" {
            let task = words.next()?.clone();
            return Some(Found { task, file });
        }
        if let Some(long) = word.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value.to_owned())),
                None => (long, None),
            };
            let arg = base.get_arguments().find(|a| a.get_long() == Some(name))?;
            if takes_value(arg) {
                let value = match inline {
                    Some(value) => value,
                    None => words.next()?.clone(),
                };
                if arg.get_id() == "file" {
                    file = Some(PathBuf::from(value));
                }
            }
        } else if let Some(shorts) = word.strip_prefix('-').filter(|s| !s.is_empty()) {
            for (at, short) in shorts.char_indices() {
                let arg = base
                    .get_arguments()
                    .find(|a| a.get_short() == Some(short))?;
                if takes_value(arg) {
                    let rest = &shorts[at + short.len_utf8()..];
                    let value = if rest.is_empty() {
                        words.next()?.clone()
                    } else {
                        rest.to_owned()
                    };
                    if arg.get_id() == "file" {
                        file = Some(PathBuf::from(value));
                    }
                    break;
                }
            }
        } else {
            return Some(Found {
                task: word.clone(),
                file,
            });
        }
    }
    None
}

/// The parameters of the typed task's plugin, if it is a plugin task.
fn parameters(found: &Found) -> Option<Known> {
    let path = match &found.file {
        Some(path) => path.clone(),
        None => crate::config::find(&std::env::current_dir().ok()?)?,
    };
    let file = crate::config::load(&path, &crate::plugin::builtin::names()).ok()?;
    let task = file
        .tasks
        .iter()
        .find(|t| t.name == found.task || t.aliases.iter().any(|a| a.value == found.task))?;
    // Completion must stay silent: plugin logs would land in the shell.
    let ui = Arc::new(crate::ui::Ui::new(ColorChoice::Never, false, true));
    crate::parameters::Lookup::new(ui).task(task)
}

/// The runner's options plus a subcommand `task` taking the plugin's parameters.
fn with_task(base: Command, task: &str, known: &Known) -> Command {
    let mut subcommand = Command::new(task.to_owned()).about(known.summary.clone());
    let mut seen = std::collections::HashSet::new();
    for param in &known.parameters {
        // Whatever a plugin declares, clap must accept the command: odd or
        // repeated names are left out of completion rather than panicking.
        let valid = param
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && !param.name.starts_with('-')
            && !param.name.is_empty();
        if !valid || param.name == "help" || !seen.insert(param.name.clone()) {
            continue;
        }
        let arg = Arg::new(param.name.clone()).help(param.help.clone());
        subcommand = subcommand.arg(match param.kind {
            ParamKind::Flag => arg.long(param.name.clone()).action(ArgAction::SetTrue),
            ParamKind::Option => arg
                .long(param.name.clone())
                .value_name("VALUE")
                .action(ArgAction::Set),
            ParamKind::Positional => arg.value_name(param.name.to_uppercase()),
        });
    }
    let mut command = Command::new(base.get_name().to_owned())
        .args(
            base.get_arguments()
                .filter(|a| a.get_id() != "invocation")
                .cloned(),
        )
        .subcommand(subcommand);
    if let Some(about) = base.get_about() {
        command = command.about(about.clone());
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn task(typed: &[&str]) -> Option<(String, Option<PathBuf>)> {
        find_task(&Cli::command(), &words(typed)).map(|f| (f.task, f.file))
    }

    #[test]
    fn the_task_is_the_first_word_that_is_not_a_runner_option() {
        assert_eq!(task(&["greet"]).unwrap().0, "greet");
        assert_eq!(task(&["-v", "-k", "greet"]).unwrap().0, "greet");
        assert_eq!(task(&["-j", "4", "greet"]).unwrap().0, "greet");
        assert_eq!(task(&["-j4", "greet"]).unwrap().0, "greet");
        assert_eq!(task(&["--color", "never", "greet"]).unwrap().0, "greet");
        assert_eq!(task(&["--color=never", "greet"]).unwrap().0, "greet");
        assert_eq!(task(&["-vkj", "2", "greet"]).unwrap().0, "greet");
        assert_eq!(task(&["--", "greet"]).unwrap().0, "greet");
    }

    #[test]
    fn file_options_are_remembered() {
        assert_eq!(
            task(&["-f", "x/tasks.toml", "greet"]).unwrap().1,
            Some(PathBuf::from("x/tasks.toml"))
        );
        assert_eq!(
            task(&["--file=y.toml", "greet"]).unwrap().1,
            Some(PathBuf::from("y.toml"))
        );
    }

    #[test]
    fn no_task_yet_or_an_unknown_option_gives_none() {
        assert!(task(&[]).is_none());
        assert!(task(&["-v"]).is_none());
        assert!(task(&["-j"]).is_none());
        assert!(task(&["--bogus", "greet"]).is_none());
    }

    #[test]
    fn the_file_for_task_names_is_the_one_typed() {
        assert_eq!(
            file_option(&words(&["-f", "a.toml"])),
            Some("a.toml".into())
        );
        assert_eq!(file_option(&words(&["-kfb.toml"])), Some("b.toml".into()));
        assert_eq!(
            file_option(&words(&["--file=c.toml", "-v"])),
            Some("c.toml".into())
        );
        assert_eq!(file_option(&words(&["-v"])), None);
    }

    #[test]
    fn words_before_the_cursor() {
        let args: Vec<OsString> = ["run", "--", "run", "greet", "--n"]
            .iter()
            .map(OsString::from)
            .collect();
        assert_eq!(typed_before_cursor(&args, None).unwrap(), words(&["greet"]));
        assert_eq!(typed_before_cursor(&args, Some(1)).unwrap(), words(&[]));
        assert_eq!(
            typed_before_cursor(&args, Some(3)).unwrap(),
            words(&["greet", "--n"])
        );
    }
}
