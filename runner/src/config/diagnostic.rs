//! Rendering a `ConfigError` the way rustc and just do: a title, the offending
//! line with carets under the offending text, then help. The wording of labels
//! and help lives here, next to the layout, rather than in the error data.

use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};

use super::error::{
    ActionKind, AliasOwner, ConfigError, EnvNameProblem, ErrorKind, Expected, Found, Key,
    NameProblem, Relation,
};
use super::error::{GrantNameProblem, PinProblem};
use super::model::Span;
use crate::grant::name::NameProblem as GrantName;

/// 1-based line and column (counted in characters) of byte `offset` in `source`.
pub(crate) fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    (line, before[line_start..].chars().count() + 1)
}

/// Where each line of a source starts, so that the positions of many tasks
/// are found without reading the file from the start each time.
pub(crate) struct Lines<'a> {
    source: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(source: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines { source, starts }
    }

    /// Same as [`line_column`].
    pub(crate) fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.source.len());
        let line = self.starts.partition_point(|&start| start <= offset);
        let start = self.starts[line - 1];
        (line, self.source[start..offset].chars().count() + 1)
    }
}

pub(crate) fn render(error: &ConfigError, color: bool) -> String {
    let renderer = if color {
        // Hyperlinks would need an absolute path; the display path is relative.
        Renderer::styled().hyperlink(false)
    } else {
        Renderer::plain()
    };
    let title = error.kind.to_string();
    let mut group = Group::with_title(Level::ERROR.primary_title(title));
    if let Some(origin) = &error.origin {
        match error.span {
            Some(span) => {
                let mut snippet = Snippet::source(&*origin.source)
                    .path(origin.display.as_str())
                    .annotation(
                        AnnotationKind::Primary
                            .span(range(span, &origin.source))
                            .label(label(&error.kind)),
                    );
                if let Some((span, text)) = secondary(&error.kind) {
                    snippet = snippet.annotation(
                        AnnotationKind::Context
                            .span(range(span, &origin.source))
                            .label(text),
                    );
                }
                group = group.element(snippet);
            }
            None => group = group.element(Origin::path(origin.display.as_str())),
        }
    }
    let text = |span: Span| {
        error
            .origin
            .as_ref()
            .and_then(|o| o.source.get(span.start..span.end))
    };
    for text in help(&error.kind, error.span.and_then(text)) {
        group = group.element(Level::HELP.message(text));
    }
    renderer.render(&[group])
}

/// The span as a byte range, clamped so a span at the very end of the file
/// (where `toml` reports "unexpected end of input") still renders.
fn range(span: Span, source: &str) -> std::ops::Range<usize> {
    let end = span.end.min(source.len());
    span.start.min(end)..end
}

/// Text beside the primary carets, when the title alone leaves them unclear.
fn label(kind: &ErrorKind) -> Option<String> {
    match kind {
        ErrorKind::Cycle { path, relation } => {
            let [.., from, to] = path.as_slice() else {
                return None;
            };
            Some(match relation {
                Relation::Depends => format!("`{from}` depends on `{to}`, closing the cycle"),
                Relation::Before => format!("`{from}` runs `{to}` before it, closing the cycle"),
                Relation::After => format!("`{from}` runs `{to}` after it, closing the cycle"),
            })
        }
        ErrorKind::WrongType { expected, .. } => Some(format!("expected {expected}")),
        ErrorKind::DuplicateTask { .. } => Some("defined again here".to_owned()),
        _ => None,
    }
}

/// A second place in the file that explains the first.
fn secondary(kind: &ErrorKind) -> Option<(Span, String)> {
    match kind {
        ErrorKind::DuplicateTask { first, .. } => Some((*first, "first defined here".to_owned())),
        ErrorKind::PluginAndCommand {
            first, first_key, ..
        } => Some((*first, format!("`{first_key}` is set here"))),
        ErrorKind::AliasTaken { first, owner, .. } => Some((
            *first,
            match owner {
                AliasOwner::Task => "the task is defined here".to_owned(),
                AliasOwner::Alias { .. } => "first used here".to_owned(),
            },
        )),
        _ => None,
    }
}

/// Advice on fixing the error; `text` is the offending text, if any, for
/// advice that rewrites it.
fn help(kind: &ErrorKind, text: Option<&str>) -> Vec<String> {
    let did_you_mean = |s: &str| format!("did you mean `{s}`?");
    match kind {
        ErrorKind::UnknownKey {
            suggestion: Some(s),
            ..
        } => vec![did_you_mean(s)],
        ErrorKind::UnknownTask {
            suggestion: Some(s),
            ..
        } => vec![did_you_mean(s)],
        ErrorKind::WrongType {
            expected: Expected::StringArray | Expected::StringOrStringArray,
            found: Found::String,
            key,
        } => vec![format!(
            "`{}` takes a list, even of one: `{} = [{}]`",
            key.key,
            key.key,
            text.unwrap_or("\"…\"")
        )],
        ErrorKind::WrongType {
            expected: Expected::Table,
            key: Key { task: None, key },
            ..
        } if key.starts_with("tasks.") => {
            let name = &key["tasks.".len()..];
            vec![format!(
                "a task is a table of settings: write `[tasks.{name}]`, then keys such as `command = \"…\"` on the lines below it"
            )]
        }
        ErrorKind::WrongType {
            expected: Expected::Duration,
            found: Found::Integer | Found::Float,
            ..
        } => vec![DURATION_HELP.to_owned()],
        ErrorKind::WrongType { .. } => vec![],
        ErrorKind::InvalidName {
            problem: NameProblem::Reserved(_),
            ..
        } => vec!["pick another name".to_owned()],
        ErrorKind::InvalidName { .. } => vec![
            "names may contain ASCII letters, digits, `_`, `.`, `:` and `-`, but cannot start with `-`"
                .to_owned(),
        ],
        ErrorKind::BadDuration { .. } => vec![DURATION_HELP.to_owned()],
        ErrorKind::BadSize { .. } => vec![
            "write a number of bytes, or a number with a unit: B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), e.g. `256MiB`"
                .to_owned(),
        ],
        ErrorKind::BadPluginPin {
            problem: PinProblem::MissingSha256 | PinProblem::BadSha256(_),
            ..
        } => vec![
            "pin the download: sha256 = \"<64 hex digits>\"; `run plugin inspect FILE` prints a file's digest".to_owned(),
        ],
        ErrorKind::UnknownPlugin {
            suggestion,
            builtins,
            ..
        } => {
            let mut help: Vec<String> = suggestion.iter().map(|s| did_you_mean(s)).collect();
            help.push(match builtins.as_slice() {
                [] => "this program has no built-in plugins".to_owned(),
                names => format!(
                    "built-in plugins: {}",
                    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                ),
            });
            help.push(
                "to load a plugin file, give a path containing `/` or ending in `.wasm`, e.g. `./plugin.wasm`"
                    .to_owned(),
            );
            help
        }
        ErrorKind::PluginAndCommand { .. } => vec![
            "a task runs either a sandboxed plugin or host commands; use two tasks, one depending on the other"
                .to_owned(),
        ],
        ErrorKind::Ineffective { key, action, task } => vec![match (action, *key) {
            (ActionKind::Command, "allow") => {
                "grants have no effect on host commands: they run unsandboxed".to_owned()
            }
            (ActionKind::Command, "config") => {
                "`config` is passed to plugins; host commands get arguments and `env` instead"
                    .to_owned()
            }
            (ActionKind::Command, _) => {
                format!("`{key}` limits plugins; host commands run unsandboxed")
            }
            (ActionKind::Group, _) => format!(
                "task `{task}` has neither `plugin` nor `command`: it only runs other tasks"
            ),
        }],
        ErrorKind::DoesNothing { .. } => vec![
            "give it a `plugin` or a `command`, or tasks to run with `depends`, `before` or `after`"
                .to_owned(),
        ],
        ErrorKind::Cycle { .. } => vec![
            "tasks in `depends`, `before` and `after` all run when this task does, so none may lead back to it"
                .to_owned(),
        ],
        ErrorKind::AliasTaken { .. } => {
            vec!["each task name and alias must name exactly one task".to_owned()]
        }
        ErrorKind::BadNetwork { .. } => vec![
            "write `host:port`, where the port is a number, a range like `8000-8010`, or `*` for any port"
                .to_owned(),
        ],
        ErrorKind::BadHttpPrefix { .. } => vec![
            "write an http or https URL up to the path the task may reach, like `https://example.org/path/`; a trailing `/` allows everything below it"
                .to_owned(),
        ],
        ErrorKind::BadGrantName {
            problem: GrantNameProblem::Name(GrantName::NetworkMode(mode)),
            ..
        } => vec![format!(
            "a container joins the host's network with `network-mode = host` in its spec, which needs allow.namespaces = [\"host-network\"]; `{mode}` never matches allow.networks"
        )],
        ErrorKind::BadGrantName { noun: "image pattern", .. } => vec![
            "write an image reference like `postgres:15` or `ghcr.io/team/app:*`; `*` may stand for any part"
                .to_owned(),
        ],
        ErrorKind::BadGrantName { .. } => vec![
            "names are what the engine accepts: ASCII letters, digits, `_`, `.` and `-`; `*`, `?` and `[…]` may stand for parts"
                .to_owned(),
        ],
        ErrorKind::BadPortGrant { .. } => vec![
            "write a host port like `8080` or a range like `8000-8010`".to_owned(),
        ],
        ErrorKind::BadEnvName {
            problem: EnvNameProblem::GlobInSet,
            name,
            ..
        } => vec![format!(
            "to pass host variables through, list them instead: `env = [\"{name}\"]`"
        )],
        ErrorKind::Unrepresentable { .. } => vec![
            "JSON has no NaN or infinity, nor integers beyond 64 bits; pass the value as a string instead"
                .to_owned(),
        ],
        ErrorKind::NotPositive { .. } => vec!["leave the key out for no limit".to_owned()],
        ErrorKind::UnknownVariable { suggestion, .. } => {
            let mut help: Vec<String> = suggestion.iter().map(|s| did_you_mean(s)).collect();
            help.push(
                "define it in `[vars]` or the task's `vars`; write `{{{{` for a literal `{{`"
                    .to_owned(),
            );
            help
        }
        ErrorKind::UnsetEnvVariable { name } => vec![format!(
            "set `{name}` in the environment or in .env, or use a variable from `[vars]`"
        )],
        ErrorKind::UnclosedVariable { .. } => {
            vec!["close it with `}}`, or write `{{{{` for a literal `{{`".to_owned()]
        }
        ErrorKind::BadVariableName { .. } => vec![
            "a variable name starts with a letter or `_`, then letters, digits, `_` and `-`"
                .to_owned(),
        ],
        ErrorKind::BadParam { .. } => vec![
            "write `params = [{ name = \"target\", default = \"all\" }, { name = \"files\", variadic = true }]`"
                .to_owned(),
        ],
        ErrorKind::DirNotCommand { .. } => vec![
            "plugins see the project through their `allow.read`/`allow.write` grants; groups run nothing themselves"
                .to_owned(),
        ],
        ErrorKind::DirOutside { .. } => vec![
            "write a directory inside the project, relative to tasks.toml, e.g. `dir = \"web\"`"
                .to_owned(),
        ],
        ErrorKind::EmptyCommand { .. } => {
            vec!["leave out `command` for a task that only runs other tasks".to_owned()]
        }
        _ => vec![],
    }
}

const DURATION_HELP: &str =
    "write a number with a unit, e.g. `500ms`, `30s`, `5m` or `1h30m` (units: ms, s, m, h, d)";

#[cfg(test)]
mod lines_tests {
    use super::*;

    #[test]
    fn the_line_index_agrees_with_counting_from_the_start() {
        let source = "a = 1\n\n[tasks.é]\nx = \"ü\"\nlast";
        let lines = Lines::new(source);
        for offset in (0..=source.len()).filter(|&o| source.is_char_boundary(o)) {
            assert_eq!(
                lines.line_column(offset),
                line_column(source, offset),
                "{offset}"
            );
        }
        assert_eq!(
            lines.line_column(source.len() + 5),
            line_column(source, source.len())
        );
    }
}
