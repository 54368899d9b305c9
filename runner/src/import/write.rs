//! The tasks.toml text: one table per task in the Makefile's order, keys in
//! the order the docs list them, strings encoded by `toml_writer` (which picks
//! the plainest TOML string that holds the text), and each target that was
//! not converted kept in place as a comment with its reasons and its rule.

use std::fmt::Write;

use toml_writer::{ToTomlKey, ToTomlValue, TomlKeyBuilder, TomlStringBuilder};

use super::convert::{Entry, Import, Task, TaskLine};

/// The whole file. `invocation` is how it was made, for the header.
pub fn tasks_toml(import: &Import, invocation: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Converted from {} by `{invocation}`.",
        import.makefile
    );
    let _ = writeln!(
        out,
        "# Targets that could not be converted are kept below as comments, with the reasons."
    );
    for entry in &import.entries {
        out.push('\n');
        match entry {
            Entry::Task(task) => task_table(&mut out, task),
            Entry::NotConverted {
                target,
                reasons,
                source,
            } => {
                let _ = writeln!(out, "# Not converted: make target `{target}`:");
                for reason in reasons {
                    let _ = writeln!(out, "#   {}", comment_text(&reason.render(false)));
                }
                let _ = writeln!(out, "# Its rule in the Makefile:");
                for line in source {
                    let _ = writeln!(out, "#   {}", comment_text(line));
                }
            }
        }
    }
    out
}

fn task_table(out: &mut String, task: &Task) {
    let _ = writeln!(out, "[tasks.{}]", key(&task.name));
    if let Some(description) = &task.description {
        let _ = writeln!(out, "description = {}", string(description));
    }
    if let Some(group) = &task.group {
        let _ = writeln!(out, "group = {}", string(group));
    }
    if !task.aliases.is_empty() {
        let _ = writeln!(out, "aliases = {}", inline_array(&task.aliases));
    }
    if !task.depends.is_empty() {
        let _ = writeln!(out, "depends = {}", inline_array(&task.depends));
    }
    if !task.env.is_empty() {
        let pairs: Vec<String> = task
            .env
            .iter()
            .map(|(name, value)| format!("{} = {}", key(name), string(value)))
            .collect();
        let _ = writeln!(out, "env = {{ {} }}", pairs.join(", "));
    }
    let commands: Vec<&String> = task
        .lines
        .iter()
        .filter_map(|l| match l {
            TaskLine::Command(c) => Some(c),
            TaskLine::Comment(_) => None,
        })
        .collect();
    match (commands.as_slice(), task.lines.len()) {
        ([], _) => {}
        ([only], 1) => {
            let _ = writeln!(out, "command = {}", string(only));
        }
        _ => {
            out.push_str("command = [\n");
            for line in &task.lines {
                match line {
                    TaskLine::Command(command) => {
                        let _ = writeln!(out, "    {},", string(command));
                    }
                    TaskLine::Comment(comment) => {
                        let _ = writeln!(out, "    {}", comment_text(comment));
                    }
                }
            }
            out.push_str("]\n");
        }
    }
}

fn key(name: &str) -> String {
    TomlKeyBuilder::new(name).as_default().to_toml_key()
}

fn string(text: &str) -> String {
    TomlStringBuilder::new(text).as_default().to_toml_value()
}

fn inline_array(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|i| string(i)).collect();
    format!("[{}]", items.join(", "))
}

/// Text that is safe on a TOML comment line: one line, no control characters.
fn comment_text(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::report::{Finding, Kind, Place};
    use super::*;

    fn import(entries: Vec<Entry>) -> Import {
        Import {
            entries,
            findings: Vec::new(),
            makefile: Arc::from("Makefile.dev"),
        }
    }

    #[test]
    fn tasks_in_order_with_their_keys() {
        let text = tasks_toml(
            &import(vec![
                Entry::Task(Task {
                    name: "help".into(),
                    description: Some("Show \"this\" help".into()),
                    aliases: vec!["default".into()],
                    lines: vec![TaskLine::Command("run --list".into())],
                    ..Task::default()
                }),
                Entry::Task(Task {
                    name: "ci:lint".into(),
                    group: Some("CI".into()),
                    depends: vec!["help".into()],
                    env: vec![("COMPOSE_PROJECT_NAME".into(), "dev".into())],
                    lines: vec![
                        TaskLine::Comment("# lint it".into()),
                        TaskLine::Command("echo 'a' \\\n  b".into()),
                    ],
                    ..Task::default()
                }),
                Entry::Task(Task {
                    name: "all".into(),
                    depends: vec!["help".into(), "ci:lint".into()],
                    ..Task::default()
                }),
            ]),
            "run import Makefile.dev",
        );
        assert_eq!(
            text,
            r#"# Converted from Makefile.dev by `run import Makefile.dev`.
# Targets that could not be converted are kept below as comments, with the reasons.

[tasks.help]
description = 'Show "this" help'
aliases = ["default"]
command = "run --list"

[tasks."ci:lint"]
group = "CI"
depends = ["help"]
env = { COMPOSE_PROJECT_NAME = "dev" }
command = [
    # lint it
    '''
echo 'a' \
  b''',
]

[tasks.all]
depends = ["help", "ci:lint"]
"#
        );
        let parsed = crate::config::parse(std::path::Path::new("tasks.toml"), &text, &[]).unwrap();
        let lint = parsed.task("ci:lint").unwrap();
        let crate::config::Action::Command { lines } = &lint.action else {
            panic!()
        };
        assert_eq!(lines, &["echo 'a' \\\n  b"]);
    }

    #[test]
    fn a_target_not_converted_is_a_comment_with_its_reasons() {
        let text = tasks_toml(
            &import(vec![Entry::NotConverted {
                target: "dev-backup".into(),
                reasons: vec![Finding::new(
                    Place {
                        file: Arc::from("Makefile.dev"),
                        line: 40,
                    },
                    Some("dev-backup"),
                    Kind::DoubleColon,
                )],
                source: vec!["dev-backup::".into(), "\tpg_dumpall > x".into()],
            }]),
            "run import Makefile.dev",
        );
        assert!(
            text.ends_with(
                "\n# Not converted: make target `dev-backup`:\n#   Makefile.dev:40: not converted: target `dev-backup`: double-colon rule: each `::` rule is its own recipe, and a task has one command list\n# Its rule in the Makefile:\n#   dev-backup::\n#   \tpg_dumpall > x\n"
            ),
            "{text}"
        );
    }
}
