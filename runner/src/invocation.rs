//! From the process's arguments to the runner's options, the task, and the
//! task's arguments.
//!
//! clap parses the runner's options, but the command line is first split here,
//! with clap's own definitions of the options ([`crate::cli`]), because the
//! task name ends the runner's part and clap's trailing positional would
//! swallow short clusters (`-qj4`) and attached values (`-f../x`) as task names.
//! Splitting here also gives unknown options a did-you-mean instead of a
//! "no task `--bogus`".
//!
//! After the task name, the rule (docs/cli.md) is: a word that is one of the
//! runner's options is the runner's when the task checks its arguments (a
//! plugin task whose plugin declares parameters, or a group task) and the word
//! is not one of those parameters; everything after `--`, and everything given
//! to a task that takes free arguments (a command task, a plugin that declares
//! no parameters), is the task's. Plugin options are checked against the
//! plugin's declared parameters before anything runs.

use std::ffi::OsString;

use clap::{Arg, Command, CommandFactory};

use crate::cli::Cli;
use crate::plugin::descriptors::{Known, ParamKind};

/// A command line that cannot be split: exit code 2, rendered by [`crate::error`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsageError {
    #[error("unknown option `{option}`")]
    UnknownOption {
        option: String,
        suggestion: Option<String>,
    },
    #[error("unknown option `--{name}` for task `{task}` (plugin `{plugin}`)")]
    UnknownParameter {
        task: String,
        plugin: String,
        name: String,
        /// Every parameter the plugin declares, as `--name`/`NAME`.
        declared: Vec<String>,
        suggestion: Option<String>,
    },
    #[error("`--{name}` of task `{task}` needs a value")]
    MissingValue { task: String, name: String },
    #[error("`--{name}` of task `{task}` is a flag and takes no value (got `{value}`)")]
    FlagValue {
        task: String,
        name: String,
        value: String,
    },
}

impl UsageError {
    /// The `= help:` line, if any.
    pub fn help(&self) -> Option<String> {
        match self {
            UsageError::UnknownOption {
                suggestion: Some(s),
                ..
            }
            | UsageError::UnknownParameter {
                suggestion: Some(s),
                ..
            } => Some(format!("did you mean `{s}`?")),
            UsageError::UnknownOption { .. } => {
                Some("see `run --help` for the runner's options".to_owned())
            }
            UsageError::UnknownParameter { declared, .. } if declared.is_empty() => None,
            UsageError::UnknownParameter { declared, .. } => {
                Some(format!("the task takes: {}", declared.join(", ")))
            }
            _ => None,
        }
    }
}

/// The command line, split: the runner's options in canonical form
/// (`--jobs=4`, `--quiet`), and the task with its arguments.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Split {
    pub options: Vec<String>,
    pub invocation: Vec<String>,
}

impl Split {
    /// Parses the options with clap (which prints help, version and bad
    /// values itself, exiting 2 for the latter).
    pub fn parse(&self) -> Cli {
        let argv = std::iter::once("run".to_owned())
            .chain(self.options.iter().cloned())
            .chain(std::iter::once("--".to_owned()))
            .chain(self.invocation.iter().cloned());
        <Cli as clap::Parser>::try_parse_from(argv).unwrap_or_else(|e| e.exit())
    }
}

/// The runner's options, including the generated `--help` and `--version`.
fn runner_command() -> Command {
    let mut command = Cli::command();
    command.build();
    command
}

fn takes_value(arg: &Arg) -> bool {
    arg.get_action().takes_values()
}

/// One runner option recognised in `words` at the front, as canonical
/// `--long[=VALUE]` words, and how many words it used. `Ok(None)` when the
/// first word is not an option at all (a task name, or a value).
fn option_at(
    command: &Command,
    words: &[String],
) -> Result<Option<(Vec<String>, usize)>, UsageError> {
    let word = &words[0];
    let canonical = |arg: &Arg, value: Option<&str>| {
        let long = arg.get_long().expect("every runner option has a long name");
        match value {
            Some(value) => format!("--{long}={value}"),
            None => format!("--{long}"),
        }
    };
    if let Some(long) = word.strip_prefix("--") {
        let (name, inline) = match long.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (long, None),
        };
        let Some(arg) = command.get_arguments().find(|a| a.get_long() == Some(name)) else {
            return Err(unknown(command, word));
        };
        if !takes_value(arg) {
            // `--quiet=x` is left for clap to refuse.
            return Ok(Some((vec![word.clone()], 1)));
        }
        return Ok(Some(match (inline, words.get(1)) {
            (Some(value), _) => (vec![canonical(arg, Some(value))], 1),
            (None, Some(value)) => (vec![canonical(arg, Some(value))], 2),
            // Left for clap to report the missing value.
            (None, None) => (vec![canonical(arg, None)], 1),
        }));
    }
    let Some(shorts) = word.strip_prefix('-').filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for (at, short) in shorts.char_indices() {
        let Some(arg) = command
            .get_arguments()
            .find(|a| a.get_short() == Some(short))
        else {
            return Err(unknown(command, word));
        };
        if takes_value(arg) {
            let rest = &shorts[at + short.len_utf8()..];
            let rest = rest.strip_prefix('=').unwrap_or(rest);
            if !rest.is_empty() {
                out.push(canonical(arg, Some(rest)));
                return Ok(Some((out, 1)));
            }
            return Ok(Some(match words.get(1) {
                Some(value) => {
                    out.push(canonical(arg, Some(value)));
                    (out, 2)
                }
                None => {
                    out.push(canonical(arg, None));
                    (out, 1)
                }
            }));
        }
        out.push(canonical(arg, None));
    }
    Ok(Some((out, 1)))
}

fn unknown(command: &Command, word: &str) -> UsageError {
    let name = word.trim_start_matches('-');
    let name = name.split_once('=').map_or(name, |(n, _)| n);
    let longs = command.get_arguments().filter_map(Arg::get_long);
    UsageError::UnknownOption {
        option: word.split_once('=').map_or(word, |(o, _)| o).to_owned(),
        suggestion: crate::error::suggest(name, longs).map(|long| format!("--{long}")),
    }
}

/// Splits the arguments after the program name at the task name.
pub fn split(args: &[String]) -> Result<Split, UsageError> {
    let command = runner_command();
    let mut split = Split::default();
    let mut at = 0;
    while at < args.len() {
        if args[at] == "--" {
            split.invocation = args[at + 1..].to_vec();
            return Ok(split);
        }
        // A lone `-` is a task name (as with most tools, not an option).
        match option_at(&command, &args[at..])? {
            Some((words, used)) => {
                split.options.extend(words);
                at += used;
            }
            None => {
                split.invocation = args[at..].to_vec();
                return Ok(split);
            }
        }
    }
    Ok(split)
}

/// The process's arguments (lossily as UTF-8: every option and task name is).
pub fn args() -> Vec<String> {
    std::env::args_os()
        .skip(1)
        .map(|a: OsString| a.to_string_lossy().into_owned())
        .collect()
}

/// Runner options that stay the task's after its name: `run TASK --help`
/// is the task's help.
const TASKS_OWN: [&str; 2] = ["help", "version"];

/// What a task says about its arguments, for the rule after the task name.
pub enum Takes<'a> {
    /// Free arguments (`$1 $2` of a command, a plugin without declared parameters).
    Anything,
    /// Nothing of its own: a group task.
    Nothing,
    /// A plugin's declared parameters.
    Declared(&'a Known),
    /// A command task's `params` (as options and flags): the runner's
    /// options are taken, every other word is left for the task's own
    /// binding, which reports unknown ones.
    Params(&'a [crate::plugin::descriptors::Param]),
}

/// Moves the runner's options found after the task name (under the rule in
/// the module comment) into `split.options`, and checks the rest against the
/// task's declared parameters. `plugin` names the plugin in errors.
pub fn settle(split: &mut Split, takes: Takes<'_>, plugin: &str) -> Result<(), UsageError> {
    if matches!(takes, Takes::Anything) || split.invocation.is_empty() {
        return Ok(());
    }
    let command = runner_command();
    let task = split.invocation[0].clone();
    let args = split.invocation.split_off(1);
    let params: &[crate::plugin::descriptors::Param] = match takes {
        Takes::Declared(known) => &known.parameters,
        Takes::Params(params) => params,
        _ => &[],
    };
    let mut at = 0;
    while at < args.len() {
        let word = &args[at];
        if word == "--" {
            split.invocation.extend(args[at..].iter().cloned());
            break;
        }
        if let Some(long) = word.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (long, None),
            };
            if let Some(param) = params.iter().find(|p| {
                p.kind != ParamKind::Positional
                    && (p.name == name
                        // A command task's flag is turned off with `--no-NAME`.
                        || (matches!(takes, Takes::Params(_))
                            && p.kind == ParamKind::Flag
                            && name.strip_prefix("no-") == Some(p.name.as_str())))
            }) {
                let used = match (param.kind, inline) {
                    // A command task's own binding checks its words and
                    // words its errors (command_args): only step over them.
                    (ParamKind::Option, None) if matches!(takes, Takes::Params(_)) => {
                        (args.len() - at).min(2)
                    }
                    _ if matches!(takes, Takes::Params(_)) => 1,
                    (ParamKind::Option, None) => {
                        if at + 1 >= args.len() {
                            return Err(UsageError::MissingValue {
                                task,
                                name: name.to_owned(),
                            });
                        }
                        2
                    }
                    (ParamKind::Flag, Some(value)) if !matches!(value, "true" | "false") => {
                        return Err(UsageError::FlagValue {
                            task,
                            name: name.to_owned(),
                            value: value.to_owned(),
                        });
                    }
                    _ => 1,
                };
                split.invocation.extend(args[at..at + used].iter().cloned());
                at += used;
                continue;
            }
            if command.get_arguments().any(|a| a.get_long() == Some(name))
                && !TASKS_OWN.contains(&name)
            {
                let (words, used) = option_at(&command, &args[at..])?.expect("a long option");
                split.options.extend(words);
                at += used;
                continue;
            }
            if !matches!(takes, Takes::Declared(_)) || TASKS_OWN.contains(&name) {
                // A group's arguments go nowhere, and `--help` is answered
                // by the runner for the task: they are left as they were.
                split.invocation.push(word.clone());
                at += 1;
                continue;
            }
            let declared: Vec<&str> = params
                .iter()
                .filter(|p| p.kind != ParamKind::Positional)
                .map(|p| p.name.as_str())
                .collect();
            return Err(UsageError::UnknownParameter {
                task,
                plugin: plugin.to_owned(),
                name: name.to_owned(),
                declared: params.iter().map(|p| p.usage()).collect(),
                suggestion: crate::error::suggest(name, declared).map(|s| format!("--{s}")),
            });
        }
        // A short cluster made only of runner options is the runner's; any
        // other word (a value, `-5`) is the task's.
        if word.len() > 1
            && word.starts_with('-')
            && let Ok(Some((words, used))) = option_at(&command, &args[at..])
            && !words.iter().any(|w| {
                TASKS_OWN
                    .iter()
                    .any(|own| w.strip_prefix("--") == Some(own))
            })
        {
            split.options.extend(words);
            at += used;
            continue;
        }
        split.invocation.push(word.clone());
        at += 1;
    }
    Ok(())
}

/// Whether any argument after the task name looks like an option, so that
/// [`settle`] has work to do (it may need the plugin's parameters).
pub fn has_options(split: &Split) -> bool {
    split
        .invocation
        .iter()
        .skip(1)
        .any(|a| a.starts_with('-') && a.len() > 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::descriptors::Param;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn split_of(list: &[&str]) -> (Vec<String>, Vec<String>) {
        let split = split(&words(list)).unwrap();
        (split.options, split.invocation)
    }

    #[test]
    fn short_clusters_and_attached_values_are_options_not_task_names() {
        assert_eq!(
            split_of(&["-j4", "t"]),
            (words(&["--jobs=4"]), words(&["t"]))
        );
        assert_eq!(
            split_of(&["-qj4", "t"]),
            (words(&["--quiet", "--jobs=4"]), words(&["t"]))
        );
        assert_eq!(
            split_of(&["-f../x", "t", "a"]),
            (words(&["--file=../x"]), words(&["t", "a"]))
        );
        assert_eq!(
            split_of(&["-kj", "2", "t"]),
            (words(&["--keep-going", "--jobs=2"]), words(&["t"]))
        );
        assert_eq!(
            split_of(&["--jobs", "3"]),
            (words(&["--jobs=3"]), words(&[]))
        );
        assert_eq!(
            split_of(&["--file=-odd"]),
            (words(&["--file=-odd"]), words(&[]))
        );
        assert_eq!(
            split_of(&["-n", "--", "-t", "-v"]),
            (words(&["--dry-run"]), words(&["-t", "-v"]))
        );
        assert_eq!(split_of(&["-h"]), (words(&["--help"]), words(&[])));
    }

    #[test]
    fn unknown_options_get_a_did_you_mean() {
        let error = split(&words(&["--dryrun", "t"])).unwrap_err();
        assert_eq!(
            error,
            UsageError::UnknownOption {
                option: "--dryrun".into(),
                suggestion: Some("--dry-run".into())
            }
        );
        assert_eq!(error.to_string(), "unknown option `--dryrun`");
        let error = split(&words(&["--bogus"])).unwrap_err();
        assert_eq!(
            error,
            UsageError::UnknownOption {
                option: "--bogus".into(),
                suggestion: None
            }
        );
        assert!(matches!(
            split(&words(&["-x", "t"])),
            Err(UsageError::UnknownOption { option, .. }) if option == "-x"
        ));
        assert!(matches!(
            split(&words(&["--colour=never"])),
            Err(UsageError::UnknownOption { option, suggestion: Some(s) }) if option == "--colour" && s == "--color"
        ));
    }

    fn restore() -> Known {
        let param = |name: &str, kind| Param {
            name: name.into(),
            kind,
            help: String::new(),
            default: None,
            required: false,
        };
        Known::for_tests(vec![
            param("backup", ParamKind::Positional),
            param("latest", ParamKind::Flag),
            param("name", ParamKind::Option),
            param("yes", ParamKind::Option),
        ])
    }

    fn settled(list: &[&str], takes: Takes<'_>) -> Result<(Vec<String>, Vec<String>), UsageError> {
        let mut split = split(&words(list)).unwrap();
        settle(&mut split, takes, "p")?;
        Ok((split.options, split.invocation))
    }

    #[test]
    fn runner_options_after_a_plugin_task_are_the_runners_unless_declared() {
        let known = restore();
        assert_eq!(
            settled(
                &["restore", "--latest", "-k", "--jobs", "2", "b1"],
                Takes::Declared(&known)
            )
            .unwrap(),
            (
                words(&["--keep-going", "--jobs=2"]),
                words(&["restore", "--latest", "b1"])
            )
        );
        // `--yes` is the plugin's own option here; the values of options are
        // never the runner's.
        assert_eq!(
            settled(
                &["restore", "--yes", "-v", "--name", "-q"],
                Takes::Declared(&known)
            )
            .unwrap(),
            (
                words(&[]),
                words(&["restore", "--yes", "-v", "--name", "-q"])
            )
        );
        // After `--` everything is the task's.
        assert_eq!(
            settled(
                &["restore", "--", "--yes", "--nope"],
                Takes::Declared(&known)
            )
            .unwrap(),
            (words(&[]), words(&["restore", "--", "--yes", "--nope"]))
        );
    }

    #[test]
    fn help_after_the_task_name_is_the_tasks() {
        let known = restore();
        for help in ["--help", "-h", "-V"] {
            assert_eq!(
                settled(&["restore", help], Takes::Declared(&known)).unwrap(),
                (words(&[]), words(&["restore", help]))
            );
        }
    }

    #[test]
    fn a_group_task_leaves_runner_options_to_the_runner() {
        assert_eq!(
            settled(&["ci", "-k", "--yes"], Takes::Nothing).unwrap(),
            (words(&["--keep-going", "--yes"]), words(&["ci"]))
        );
    }

    #[test]
    fn free_arguments_are_all_the_tasks() {
        assert_eq!(
            settled(&["show", "-v", "--list", "--nope"], Takes::Anything).unwrap(),
            (words(&[]), words(&["show", "-v", "--list", "--nope"]))
        );
    }

    #[test]
    fn undeclared_plugin_options_are_refused_with_a_did_you_mean() {
        let known = restore();
        let error = settled(&["greet", "--nme", "Ada"], Takes::Declared(&known)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown option `--nme` for task `greet` (plugin `p`)"
        );
        assert_eq!(error.help().unwrap(), "did you mean `--name`?");
        let error = settled(&["greet", "--zzz"], Takes::Declared(&known)).unwrap_err();
        assert_eq!(
            error.help().unwrap(),
            "the task takes: BACKUP, --latest, --name VALUE, --yes VALUE"
        );
        assert_eq!(
            settled(&["greet", "--name"], Takes::Declared(&known)).unwrap_err(),
            UsageError::MissingValue {
                task: "greet".into(),
                name: "name".into()
            }
        );
        assert!(matches!(
            settled(&["greet", "--latest=soon"], Takes::Declared(&known)),
            Err(UsageError::FlagValue { .. })
        ));
        assert!(
            settled(
                &["greet", "--latest=false", "--name=x"],
                Takes::Declared(&known)
            )
            .is_ok()
        );
    }
}
