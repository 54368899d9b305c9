//! A command task's `params`: the words after the task name bound to names.
//!
//! Words fill the parameters in order; `--name VALUE` and `--name=VALUE` set
//! one by name; `--` makes the rest positional; a variadic last parameter
//! takes every remaining word. A flag (`flag = true`) is given by name only:
//! `--name` makes it `true`, `--no-name` `false` again (the last one wins),
//! and it is `false` when absent; flags are shell variables only, never
//! `$1`, `$2`, …. Without `params`, the words pass through as `$1`, `$2`, …
//! unchecked.

use crate::config::model::Task;

/// What the lines of a command task get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    /// `$1`, `$2`, …: the parameters' values in order, a variadic one spread out.
    pub positional: Vec<String>,
    /// Each parameter as a shell variable (a variadic one space-joined).
    pub env: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgsError {
    #[error("task `{task}` has no option `{option}`{}", did_you_mean(suggestion))]
    UnknownOption {
        task: String,
        option: String,
        suggestion: Option<String>,
    },
    #[error("task `{task}` needs `{name}` (usage: {usage})")]
    Missing {
        task: String,
        name: String,
        usage: String,
    },
    #[error("task `{task}` takes no more arguments, got `{word}` (usage: {usage})")]
    Extra {
        task: String,
        word: String,
        usage: String,
    },
    #[error("`--{name}` of task `{task}` needs a value")]
    NoValue { task: String, name: String },
    #[error("`--{name}` of task `{task}` is a flag: it takes no value (got `{option}`)")]
    FlagValue {
        task: String,
        name: String,
        option: String,
    },
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map(|s| format!("; did you mean `--{s}`?"))
        .unwrap_or_default()
}

/// `target [files...] [--verbose]`-style usage: required names bare,
/// optional ones in brackets, flags last.
pub fn usage(task: &Task) -> String {
    std::iter::once(format!("run {}", task.name))
        .chain(synopsis(task))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Each parameter's part of the usage, positional ones first, then flags.
pub fn synopsis(task: &Task) -> Vec<String> {
    let mut parts = Vec::new();
    for p in task.params.iter().filter(|p| !p.flag) {
        let name = if p.variadic {
            format!("{}...", p.name)
        } else {
            p.name.clone()
        };
        if p.default.is_some() || p.variadic {
            parts.push(format!("[{name}]"));
        } else {
            parts.push(name);
        }
    }
    for p in task.params.iter().filter(|p| p.flag) {
        parts.push(format!("[--{}]", p.name));
    }
    parts
}

pub fn bind(task: &Task, args: &[String]) -> Result<Bound, ArgsError> {
    if task.params.is_empty() {
        return Ok(Bound {
            positional: args.to_vec(),
            env: Vec::new(),
        });
    }
    let params = &task.params;
    let mut values: Vec<Option<Vec<String>>> = vec![None; params.len()];
    let mut words = args.iter();
    let mut options_done = false;
    let mut next = 0;
    while let Some(word) = words.next() {
        if !options_done && word == "--" {
            options_done = true;
            continue;
        }
        if !options_done && let Some(option) = word.strip_prefix("--") {
            let (name, inline) = match option.split_once('=') {
                Some((name, value)) => (name, Some(value.to_owned())),
                None => (option, None),
            };
            // `--no-NAME` turns a flag off.
            let negated = name
                .strip_prefix("no-")
                .and_then(|base| params.iter().position(|p| p.flag && p.name == base));
            let Some(index) = params.iter().position(|p| p.name == name).or(negated) else {
                return Err(ArgsError::UnknownOption {
                    task: task.name.clone(),
                    option: format!("--{name}"),
                    suggestion: crate::error::suggest(name, params.iter().map(|p| p.name.as_str())),
                });
            };
            if params[index].flag {
                if inline.is_some() {
                    return Err(ArgsError::FlagValue {
                        task: task.name.clone(),
                        name: params[index].name.clone(),
                        option: word.clone(),
                    });
                }
                let on = negated.is_none();
                values[index] = Some(vec![on.to_string()]);
                continue;
            }
            let value = match inline.or_else(|| words.next().cloned()) {
                Some(value) => value,
                None => {
                    return Err(ArgsError::NoValue {
                        task: task.name.clone(),
                        name: name.to_owned(),
                    });
                }
            };
            values[index].get_or_insert_with(Vec::new).push(value);
            continue;
        }
        while next < params.len()
            && (params[next].flag || values[next].is_some() && !params[next].variadic)
        {
            next += 1;
        }
        if next == params.len() {
            return Err(ArgsError::Extra {
                task: task.name.clone(),
                word: word.clone(),
                usage: usage(task),
            });
        }
        values[next].get_or_insert_with(Vec::new).push(word.clone());
        if !params[next].variadic {
            next += 1;
        }
    }
    let mut bound = Bound {
        positional: Vec::new(),
        env: Vec::new(),
    };
    for (param, value) in params.iter().zip(values) {
        if param.flag {
            let on = value.is_some_and(|v| v == ["true"]);
            bound.env.push((param.name.clone(), on.to_string()));
            continue;
        }
        let value = match (value, &param.default) {
            (Some(value), _) => value,
            (None, Some(default)) => vec![default.clone()],
            (None, None) if param.variadic => Vec::new(),
            (None, None) => {
                return Err(ArgsError::Missing {
                    task: task.name.clone(),
                    name: param.name.clone(),
                    usage: usage(task),
                });
            }
        };
        bound.env.push((param.name.clone(), value.join(" ")));
        bound.positional.extend(value);
    }
    Ok(bound)
}

/// Whether a command line reads its positional parameters (`$1`…`$9`,
/// `${1}`, `$@`, `$*`, `$#`): if no line of a task without `params` does, the
/// words after its name cannot be meant for it, and the runner's options
/// among them are the runner's (docs/cli.md). `$$` is the shell's PID, not a
/// parameter. A line that reads them in a way this does not see (`eval`) can
/// still be given its arguments after `--`.
pub fn reads_positional(line: &str) -> bool {
    let bytes = line.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] != b'$' {
            at += 1;
            continue;
        }
        let next = bytes.get(at + 1).copied();
        match next {
            Some(b'$') => at += 2,
            Some(b'1'..=b'9' | b'@' | b'*' | b'#') => return true,
            Some(b'{') if matches!(bytes.get(at + 2), Some(b'1'..=b'9' | b'@' | b'*' | b'#')) => {
                return true;
            }
            _ => at += 1,
        }
    }
    false
}

/// A command task's `params` as the options the command line rule knows
/// ([`crate::invocation::settle`]): each by name, a flag as a flag.
pub fn as_options(
    params: &[crate::config::model::Param],
) -> Vec<crate::plugin::descriptors::Param> {
    use crate::plugin::descriptors::{Param, ParamKind};
    params
        .iter()
        .map(|p| Param {
            name: p.name.clone(),
            kind: if p.flag {
                ParamKind::Flag
            } else {
                ParamKind::Option
            },
            help: p.help.clone().unwrap_or_default(),
            default: p.default.clone(),
            required: false,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> Task {
        let file = crate::config::parse(
            std::path::Path::new("/p/tasks.toml"),
            "[tasks.build]\ncommand = \"true\"\nparams = [{ name = \"target\", default = \"all\" }, { name = \"mode\" }, { name = \"files\", variadic = true }]\n",
            &[],
        )
        .unwrap();
        file.tasks[0].clone()
    }

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn positional_named_default_and_variadic() {
        let bound = bind(&task(), &words(&["web", "fast", "a", "b"])).unwrap();
        assert_eq!(bound.positional, words(&["web", "fast", "a", "b"]));
        assert_eq!(
            bound.env,
            [
                ("target".into(), "web".into()),
                ("mode".into(), "fast".into()),
                ("files".into(), "a b".into())
            ]
        );
        let bound = bind(&task(), &words(&["--mode=slow", "x"])).unwrap();
        assert_eq!(bound.positional, words(&["x", "slow"]));
        let bound = bind(&task(), &words(&["--mode", "m"])).unwrap();
        assert_eq!(bound.positional, words(&["all", "m"]));
    }

    fn flagged() -> Task {
        let file = crate::config::parse(
            std::path::Path::new("/p/tasks.toml"),
            "[tasks.test]\ncommand = \"true\"\nparams = [{ name = \"files\", variadic = true }, { name = \"verbose\", flag = true }]\n",
            &[],
        )
        .unwrap();
        file.tasks[0].clone()
    }

    #[test]
    fn a_flag_is_true_when_given_false_otherwise_and_never_positional() {
        let bound = bind(&flagged(), &words(&["a", "--verbose", "b"])).unwrap();
        assert_eq!(bound.positional, words(&["a", "b"]));
        assert_eq!(
            bound.env,
            [
                ("files".into(), "a b".into()),
                ("verbose".into(), "true".into())
            ]
        );
        let bound = bind(&flagged(), &words(&["a"])).unwrap();
        assert_eq!(bound.env[1], ("verbose".into(), "false".into()));
        // `--no-NAME` turns it off; the last one wins.
        let bound = bind(&flagged(), &words(&["--verbose", "--no-verbose"])).unwrap();
        assert_eq!(bound.env[1], ("verbose".into(), "false".into()));
        let bound = bind(&flagged(), &words(&["--no-verbose", "--verbose"])).unwrap();
        assert_eq!(bound.env[1], ("verbose".into(), "true".into()));
        // After `--`, it is a word.
        let bound = bind(&flagged(), &words(&["--", "--verbose"])).unwrap();
        assert_eq!(bound.positional, words(&["--verbose"]));
        assert_eq!(usage(&flagged()), "run test [files...] [--verbose]");
    }

    #[test]
    fn a_flag_with_a_value_or_misspelt_is_refused() {
        let e = bind(&flagged(), &words(&["--verbose=yes"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`--verbose` of task `test` is a flag: it takes no value (got `--verbose=yes`)"
        );
        let e = bind(&flagged(), &words(&["--verbos"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "task `test` has no option `--verbos`; did you mean `--verbose`?"
        );
        // `--no-` only negates flags.
        assert!(matches!(
            bind(&flagged(), &words(&["--no-files"])),
            Err(ArgsError::UnknownOption { .. })
        ));
    }

    #[test]
    fn missing_unknown_and_valueless_options_are_refused() {
        assert!(matches!(
            bind(&task(), &[]),
            Err(ArgsError::Missing { name, .. }) if name == "mode"
        ));
        let e = bind(&task(), &words(&["--mdoe=x"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "task `build` has no option `--mdoe`; did you mean `--mode`?"
        );
        assert!(matches!(
            bind(&task(), &words(&["--mode"])),
            Err(ArgsError::NoValue { .. })
        ));
        // After `--`, an option-looking word is a value.
        let bound = bind(&task(), &words(&["--", "t", "--mode"])).unwrap();
        assert_eq!(bound.positional, words(&["t", "--mode"]));
    }

    #[test]
    fn positional_parameters_are_seen_where_the_shell_reads_them() {
        for line in [
            "echo $1",
            "cargo test \"$@\"",
            "echo ${2:-none}",
            "echo $*",
            "test $# -gt 0",
            "a=$$; echo $9",
        ] {
            assert!(reads_positional(line), "{line}");
        }
        for line in [
            "cargo test --workspace",
            "echo $$ $HOME ${PATH}",
            "echo $0 costs $",
            "echo '$$1'",
        ] {
            assert!(!reads_positional(line), "{line}");
        }
    }
}
