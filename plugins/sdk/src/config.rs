//! Reading a task's config, with errors that name the offending field.
//!
//! serde_json's messages name a field only when it is missing or unknown; a
//! wrong type is reported by position. The config is re-printed one value per
//! line, so the position's line identifies the field's path.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::Error;

/// Parses the config JSON `text` of `task` as `T`.
pub(crate) fn parse<T: DeserializeOwned>(task: &str, text: &str) -> Result<T, Error> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        Error::invalid_input(format!(
            "the config of task `{task}` is not valid JSON: {e}"
        ))
    })?;
    let pretty = serde_json::to_string_pretty(&value).expect("a JSON value prints");
    serde_json::from_str(&pretty).map_err(|e| {
        let message = strip_position(&e);
        let path = if e.line() == 0 {
            String::new()
        } else {
            path_at(&pretty, e.line() - 1)
        };
        if path.is_empty() {
            Error::invalid_input(format!("invalid config for task `{task}`: {message}"))
        } else {
            invalid_field(task, &path, message)
        }
    })
}

/// An error about config field `field` of `task`: `why` it is wrong.
pub(crate) fn invalid_field(task: &str, field: &str, why: impl std::fmt::Display) -> Error {
    Error::invalid_input(format!(
        "invalid config for task `{task}`: field `{field}`: {why}"
    ))
}

/// The message without " at line L column C", which would point into the
/// re-printed text rather than anything the person wrote.
fn strip_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_owned()
}

/// The path (`a.b[2]`) of the value on line `index` of pretty-printed JSON.
fn path_at(pretty: &str, index: usize) -> String {
    let lines: Vec<&str> = pretty.lines().collect();
    let Some(mut i) = (index < lines.len()).then_some(index) else {
        return String::new();
    };
    // A closing bracket belongs to the value opened at its indentation above.
    if is_closing(lines[i]) {
        match (0..i).rev().find(|&j| indent(lines[j]) == indent(lines[i])) {
            Some(j) => i = j,
            None => return String::new(),
        }
    }
    let mut segments = Vec::new();
    while indent(lines[i]) > 0 {
        let depth = indent(lines[i]);
        let Some(parent) = (0..i).rev().find(|&j| indent(lines[j]) < depth) else {
            break;
        };
        match key(lines[i]) {
            Some(key) => segments.push(format!(".{key}")),
            None => {
                let position = (parent + 1..i)
                    .filter(|&j| indent(lines[j]) == depth && !is_closing(lines[j]))
                    .count();
                segments.push(format!("[{position}]"));
            }
        }
        i = parent;
    }
    let path: String = segments.into_iter().rev().collect();
    path.strip_prefix('.').unwrap_or(&path).to_owned()
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn is_closing(line: &str) -> bool {
    line.trim_start().starts_with(['}', ']'])
}

/// The key of an object member line (`"key": value`), if it is one.
fn key(line: &str) -> Option<String> {
    let line = line.trim_start();
    let mut stream = serde_json::Deserializer::from_str(line).into_iter::<String>();
    let key = stream.next()?.ok()?;
    line[stream.byte_offset()..].starts_with(':').then_some(key)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::parse;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        port: u16,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Config {
        name: String,
        servers: Vec<Inner>,
    }

    fn message(json: &str) -> String {
        parse::<Config>("t", json).unwrap_err().message().to_owned()
    }

    #[test]
    fn names_the_field_of_a_wrong_type() {
        assert_eq!(
            message(r#"{"name": 3, "servers": []}"#),
            "invalid config for task `t`: field `name`: invalid type: integer `3`, expected a string"
        );
    }

    #[test]
    fn names_nested_fields_and_indices() {
        let m = message(r#"{"name": "a", "servers": [{"port": 1}, {"port": "x"}]}"#);
        assert!(m.contains("field `servers[1].port`"), "{m}");
    }

    #[test]
    fn missing_fields_are_named_by_serde() {
        assert_eq!(
            message(r#"{"servers": []}"#),
            "invalid config for task `t`: missing field `name`"
        );
        let m = message(r#"{"name": "a", "servers": [{}]}"#);
        assert!(
            m.contains("field `servers[0]`: missing field `port`"),
            "{m}"
        );
    }

    #[test]
    fn bad_json_is_invalid_input() {
        assert!(message("{").contains("not valid JSON"));
    }
}
