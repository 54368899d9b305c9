//! A command task's `params`: the words after the task name bound to names.
//!
//! Words fill the parameters in order; `--name VALUE` and `--name=VALUE` set
//! one by name; `--` makes the rest positional; a variadic last parameter
//! takes every remaining word. Without `params`, the words pass through as
//! `$1`, `$2`, … unchecked.

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
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map(|s| format!("; did you mean `--{s}`?"))
        .unwrap_or_default()
}

/// `target [files...]`-style usage: required names bare, optional ones in brackets.
pub fn usage(task: &Task) -> String {
    let mut parts = vec![format!("run {}", task.name)];
    for p in &task.params {
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
    parts.join(" ")
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
            let Some(index) = params.iter().position(|p| p.name == name) else {
                return Err(ArgsError::UnknownOption {
                    task: task.name.clone(),
                    option: format!("--{name}"),
                    suggestion: crate::error::suggest(name, params.iter().map(|p| p.name.as_str())),
                });
            };
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
        while next < params.len() && values[next].is_some() && !params[next].variadic {
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
}
