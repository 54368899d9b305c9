//! From TOML text to tasks: the document's shape, each key's type, and the
//! rules local to one task. Rules spanning tasks (references, aliases,
//! cycles) are in `validate`.
//!
//! Works on `toml`'s `DeTable`, which keeps the span of every key and value,
//! rather than deriving serde types, whose errors cannot point at the text.

use std::borrow::Cow;
use std::path::{Component, Path, PathBuf};

use toml::Spanned as TomlSpanned;
use toml::de::{DeTable, DeValue};

use super::error::{
    ActionKind, ConfigError, ErrorKind, Expected, Found, GrantNameProblem, Key, NameKind,
    PinProblem, Place,
};
use super::model::{Action, EnvSpec, Grants, PluginSource, Span, Spanned, Task};
use super::template::{self, Scope};
use super::{diagnostic, duration, names, network, size, suggest};
use crate::grant::{self, GrantKind, Patterns};

type Item<'i> = TomlSpanned<DeValue<'i>>;
type Result<T, E = ConfigError> = std::result::Result<T, E>;

/// Every key a task table may have, in the order the docs list them.
const TASK_KEYS: &[&str] = &[
    "description",
    "group",
    "aliases",
    "plugin",
    "config",
    "command",
    "depends",
    "before",
    "after",
    "env",
    "timeout",
    "memory",
    "allow",
    "private",
    "dir",
    "vars",
    "params",
    "confirm",
    "finally",
    "sources",
    "generates",
];

/// Keys at the top of the file.
const TOP_KEYS: &[&str] = &["tasks", "vars", "dotenv", "include"];
const TOP_KEY_SYNONYMS: &[(&str, &str)] = &[
    ("env-file", "dotenv"),
    ("env_file", "dotenv"),
    ("env-files", "dotenv"),
    ("variables", "vars"),
    ("includes", "include"),
    ("import", "include"),
    ("imports", "include"),
];

/// Words people reach for from other task runners, mapped to ours; spelling
/// similarity would not find most of them.
const TASK_KEY_SYNONYMS: &[(&str, &str)] = &[
    ("dependencies", "depends"),
    ("deps", "depends"),
    ("needs", "depends"),
    ("requires", "depends"),
    ("cmd", "command"),
    ("cmds", "command"),
    ("commands", "command"),
    ("run", "command"),
    ("script", "command"),
    ("desc", "description"),
    ("help", "description"),
    ("alias", "aliases"),
    ("environment", "env"),
    ("grants", "allow"),
    ("permissions", "allow"),
    ("sandbox", "allow"),
    ("wasm", "plugin"),
    ("settings", "config"),
    ("options", "config"),
    ("hidden", "private"),
    ("internal", "private"),
    ("cwd", "dir"),
    ("workdir", "dir"),
    ("working-directory", "dir"),
    ("working_dir", "dir"),
    ("variables", "vars"),
    ("args", "params"),
    ("arguments", "params"),
    ("parameters", "params"),
    ("prompt", "confirm"),
    ("cleanup", "finally"),
    ("always", "finally"),
    ("defer", "finally"),
];

const ALLOW_KEYS: &[&str] = &[
    "read",
    "write",
    "network",
    "http",
    "env",
    "containers",
    "images",
    "networks",
    "volumes",
    "ports",
    "cap-add",
    "namespaces",
    "devices",
    "security-opts",
    "privileged",
    "sysctls",
    "runtimes",
];
const PLUGIN_KEYS: &[&str] = &["url", "sha256"];

const ALLOW_KEY_SYNONYMS: &[(&str, &str)] = &[
    ("net", "network"),
    ("connect", "network"),
    ("url", "http"),
    ("urls", "http"),
    ("https", "http"),
    ("container", "containers"),
    ("docker", "containers"),
    ("environment", "env"),
    ("image", "images"),
    ("volume", "volumes"),
    ("port", "ports"),
    ("cap_add", "cap-add"),
    ("capabilities", "cap-add"),
    ("security_opt", "security-opts"),
    ("security-opt", "security-opts"),
    ("device", "devices"),
    ("sysctl", "sysctls"),
    ("runtime", "runtimes"),
];

/// What the document holds besides its settings' sources.
pub(crate) struct Parsed {
    pub(crate) tasks: Vec<Task>,
    pub(crate) dotenv: Vec<(String, String)>,
    /// `include = ["ci/tasks.toml"]`, as written.
    pub(crate) includes: Vec<Spanned<String>>,
}

/// Parses the document into tasks, in file order.
pub(crate) fn tasks(source: &str, builtins: &[&str], root: &Path) -> Result<Parsed> {
    let document = DeTable::parse(source).map_err(|e| syntax_error(source, &e))?;
    // Settings first: tasks use them wherever they are written.
    let mut dotenv_files = None;
    let mut vars_table = None;
    let mut task_tables = Vec::new();
    let mut includes = Vec::new();
    for (key, value) in document.get_ref() {
        match key.get_ref().as_ref() {
            "tasks" => task_tables.push(value),
            "include" => includes = non_empty_strings(value, &Key::top("include"))?,
            "dotenv" => dotenv_files = Some(non_empty_strings(value, &Key::top("dotenv"))?),
            "vars" => vars_table = Some(value),
            other => {
                return Err(unknown_key(
                    other,
                    span(key),
                    Place::TopLevel,
                    TOP_KEYS,
                    TOP_KEY_SYNONYMS,
                ));
            }
        }
    }
    let dotenv = load_dotenv(root, dotenv_files)?;
    let file_vars = match vars_table {
        Some(value) => vars(value, &Key::top("vars"), &[], &dotenv, source)?,
        None => Vec::new(),
    };
    let context = Context {
        lines: diagnostic::Lines::new(source),
        builtins,
        root,
        source,
        dotenv: &dotenv,
        vars: &file_vars,
    };
    let mut tasks = Vec::new();
    for value in task_tables {
        for (name, value) in table(value, &Key::top("tasks"))? {
            tasks.push(context.task(name, value)?);
        }
    }
    Ok(Parsed {
        tasks,
        dotenv,
        includes,
    })
}

/// The `.env` files' variables: those `dotenv` lists (each must exist), or
/// `.env` beside tasks.toml when it exists. Later files override earlier ones.
fn load_dotenv(root: &Path, files: Option<Vec<Spanned<String>>>) -> Result<Vec<(String, String)>> {
    let files: Vec<(String, Option<Span>)> = match files {
        Some(files) => files.into_iter().map(|f| (f.value, Some(f.span))).collect(),
        None => vec![(".env".to_owned(), None)],
    };
    let mut vars: Vec<(String, String)> = Vec::new();
    for (name, at) in files {
        let path = resolve(root, &name);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if at.is_none() && e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => {
                let kind = ErrorKind::Io {
                    path: PathBuf::from(&name),
                    source,
                };
                return Err(match at {
                    Some(at) => ConfigError::at(kind, at),
                    None => ConfigError::new(kind),
                });
            }
        };
        let parsed = super::dotenv::parse(&text).map_err(|(line, problem)| {
            ConfigError::new(ErrorKind::DotEnv {
                path: PathBuf::from(&name),
                line,
                problem,
            })
        })?;
        for (key, value) in parsed {
            vars.retain(|(k, _)| *k != key);
            vars.push((key, value));
        }
    }
    Ok(vars)
}

/// A `vars` table: strings, each of which may use the variables before it,
/// those of `outer` (the file's, for a task's) and the environment.
fn vars(
    value: &Item<'_>,
    at: &Key,
    outer: &[(String, String)],
    dotenv: &[(String, String)],
    source: &str,
) -> Result<Vec<(String, String)>> {
    let mut vars: Vec<(String, String)> = Vec::new();
    for (name, value) in table(value, at)? {
        let name_span = span(name);
        let name = name.get_ref().as_ref();
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
        if !valid {
            return Err(ConfigError::at(
                ErrorKind::BadVariableName {
                    name: name.to_owned(),
                },
                name_span,
            ));
        }
        let text = spanned_string(value, &at.child(name))?;
        let scope = Scope {
            vars: &vars,
            more_vars: outer,
            dotenv,
        };
        let expanded = expand(source, &text, &scope)?;
        vars.push((name.to_owned(), expanded));
    }
    Ok(vars)
}

/// Expands `{{…}}` in a string read from the file, pointing an error at the
/// `{{…}}` itself when the string is written plainly, else at the string.
fn expand(source: &str, text: &Spanned<String>, scope: &Scope<'_>) -> Result<String> {
    template::expand(&text.value, scope).map_err(|problem| {
        let written = source.get(text.span.start..text.span.end).unwrap_or("");
        let plain = written.len() == text.value.len() + 2
            && written.get(1..written.len() - 1) == Some(text.value.as_str());
        let at = if plain {
            Span {
                start: text.span.start + 1 + problem.at,
                end: text.span.start + 1 + problem.at + problem.len,
            }
        } else {
            text.span
        };
        let kind = match problem.kind {
            template::ProblemKind::Unknown { name, suggestion } => {
                ErrorKind::UnknownVariable { name, suggestion }
            }
            template::ProblemKind::UnsetEnv { name } => ErrorKind::UnsetEnvVariable { name },
            template::ProblemKind::Unclosed { name } => ErrorKind::UnclosedVariable { name },
        };
        ConfigError::at(kind, at)
    })
}

/// `toml`'s own errors, except that duplicates are named: a task defined
/// twice, the duplicate users actually make, in terms of tasks, and any other
/// by its key.
fn syntax_error(source: &str, error: &toml::de::Error) -> ConfigError {
    let Some(range) = error.span() else {
        return ConfigError::new(ErrorKind::Syntax {
            message: error.message().to_owned(),
        });
    };
    let at = Span {
        start: range.start,
        end: range.end,
    };
    if let Some(kind) = duplicate_task(source, error.message(), at) {
        return ConfigError::at(kind, at);
    }
    if error.message().starts_with("duplicate key")
        && let Some(key) = source.get(at.start..at.end).filter(|k| !k.is_empty())
    {
        let key = key.trim_matches(|c| c == '"' || c == '\'').to_owned();
        return ConfigError::at(ErrorKind::DuplicateKey { key }, at);
    }
    ConfigError::at(
        ErrorKind::Syntax {
            message: error.message().to_owned(),
        },
        at,
    )
}

/// Recognises `[tasks.NAME]` appearing twice, by re-parsing the text before
/// the duplicate (which is valid TOML) to find where NAME was first defined.
fn duplicate_task(source: &str, message: &str, at: Span) -> Option<ErrorKind> {
    if !message.starts_with("duplicate key") {
        return None;
    }
    let line_start = source[..at.start].rfind('\n').map_or(0, |i| i + 1);
    let earlier = DeTable::parse(&source[..line_start]).ok()?;
    let duplicate = source.get(at.start..at.end)?;
    let duplicate = duplicate.trim_matches(|c| c == '"' || c == '\'');
    let tasks = earlier.get_ref().get("tasks")?;
    let DeValue::Table(tasks) = tasks.get_ref() else {
        return None;
    };
    let (first, _) = tasks.get_key_value(duplicate)?;
    // Only a whole-task header counts; a duplicate key inside a task stays a
    // plain TOML error.
    let header = &source[line_start..at.start];
    (header.trim_start() == "[tasks.").then(|| ErrorKind::DuplicateTask {
        name: duplicate.to_owned(),
        first: span(first),
    })
}

/// What every task needs to know about the file.
struct Context<'a> {
    lines: diagnostic::Lines<'a>,
    builtins: &'a [&'a str],
    root: &'a Path,
    source: &'a str,
    dotenv: &'a [(String, String)],
    /// The file's `[vars]`.
    vars: &'a [(String, String)],
}

/// The parts of a task that decide, after all its keys are read, what it does.
#[derive(Default)]
struct Parts {
    plugin: Option<(PluginSource, Span)>,
    command: Option<(Vec<String>, Span)>,
    config: Option<serde_json::Value>,
    /// Keys present, with their spans, for rules about combinations.
    keys: Vec<(&'static str, Span)>,
}

impl Context<'_> {
    fn task(&self, name: &TomlSpanned<Cow<'_, str>>, value: &Item<'_>) -> Result<Task> {
        let name_span = span(name);
        let name = name.get_ref().as_ref();
        names::check_task_name(name).map_err(|problem| {
            ConfigError::at(
                ErrorKind::InvalidName {
                    what: NameKind::Task,
                    name: name.to_owned(),
                    problem,
                },
                name_span,
            )
        })?;
        let (line, column) = self.lines.line_column(name_span.start);
        let mut task = Task {
            name: name.to_owned(),
            span: name_span,
            line,
            column,
            description: None,
            group: None,
            aliases: Vec::new(),
            action: Action::Group,
            depends: Vec::new(),
            before: Vec::new(),
            after: Vec::new(),
            env: EnvSpec::default(),
            timeout: None,
            memory: None,
            allow: Grants::default(),
            private: false,
            dir: None,
            params: Vec::new(),
            confirm: None,
            finally: Vec::new(),
            sources: Vec::new(),
            generates: Vec::new(),
        };
        let mut parts = Parts::default();
        let entries = table(value, &Key::top(&format!("tasks.{name}")))?;
        let task_vars = match entries.get("vars") {
            Some(value) => vars(
                value,
                &Key::in_task(name, "vars"),
                self.vars,
                self.dotenv,
                self.source,
            )?,
            None => Vec::new(),
        };
        let scope = Scope {
            vars: &task_vars,
            more_vars: self.vars,
            dotenv: self.dotenv,
        };
        let expand = |text: &Spanned<String>| expand(self.source, text, &scope);
        for (key, value) in entries {
            let key_span = span(key);
            let key = key.get_ref().as_ref();
            let at = Key::in_task(name, key);
            let known = match key {
                "description" => {
                    task.description = Some(expand(&spanned_string(value, &at)?)?);
                    "description"
                }
                "group" => {
                    task.group = Some(string(value, &at)?);
                    "group"
                }
                "aliases" => {
                    task.aliases = aliases(value, &at)?;
                    "aliases"
                }
                "plugin" => {
                    parts.plugin = Some((self.plugin(name, value, &at)?, key_span));
                    "plugin"
                }
                "config" => {
                    table(value, &at)?;
                    parts.config = Some(to_json(value, &at, &expand)?);
                    "config"
                }
                "command" => {
                    let lines = command(name, value, &at)?;
                    let lines = lines.iter().map(&expand).collect::<Result<_>>()?;
                    parts.command = Some((lines, key_span));
                    "command"
                }
                "depends" => {
                    task.depends = non_empty_strings(value, &at)?;
                    "depends"
                }
                "before" => {
                    task.before = non_empty_strings(value, &at)?;
                    "before"
                }
                "after" => {
                    task.after = non_empty_strings(value, &at)?;
                    "after"
                }
                "env" => {
                    task.env = env(value, &at)?;
                    "env"
                }
                "timeout" => {
                    task.timeout = Some(timeout(value, &at)?);
                    "timeout"
                }
                "memory" => {
                    task.memory = Some(memory(value, &at)?);
                    "memory"
                }
                "allow" => {
                    task.allow = grants(name, value, &at)?;
                    "allow"
                }
                "private" => {
                    task.private = match value.get_ref() {
                        DeValue::Boolean(b) => *b,
                        other => return Err(wrong_type(value, other, &at, Expected::Boolean)),
                    };
                    "private"
                }
                "dir" => {
                    task.dir = Some(self.dir(name, value, &at)?);
                    "dir"
                }
                "vars" => "vars",
                "sources" => {
                    task.sources = globs(name, value, &at)?;
                    "sources"
                }
                "generates" => {
                    task.generates = globs(name, value, &at)?;
                    "generates"
                }
                "params" => {
                    task.params = params(name, value, &at)?;
                    "params"
                }
                "confirm" => {
                    task.confirm = Some(expand(&spanned_string(value, &at)?)?);
                    "confirm"
                }
                "finally" => {
                    let lines = command(name, value, &at)?;
                    task.finally = lines.iter().map(&expand).collect::<Result<_>>()?;
                    "finally"
                }
                _ => {
                    return Err(unknown_key(
                        key,
                        key_span,
                        Place::Task(name.to_owned()),
                        TASK_KEYS,
                        TASK_KEY_SYNONYMS,
                    ));
                }
            };
            parts.keys.push((known, key_span));
        }
        task.action = action(&task, parts)?;
        Ok(task)
    }

    /// `dir = "sub"`: relative to tasks.toml and never above it.
    fn dir(&self, task: &str, value: &Item<'_>, at: &Key) -> Result<PathBuf> {
        let text = spanned_string(value, at)?;
        if text.value.trim().is_empty() {
            return Err(ConfigError::at(
                ErrorKind::EmptyString { key: at.clone() },
                text.span,
            ));
        }
        let path = Path::new(&text.value);
        let mut depth = 0usize;
        let inside = path.components().all(|c| match c {
            Component::Normal(_) => {
                depth += 1;
                true
            }
            Component::CurDir => true,
            Component::ParentDir => depth.checked_sub(1).map(|d| depth = d).is_some(),
            Component::RootDir | Component::Prefix(_) => false,
        });
        if !inside {
            return Err(ConfigError::at(
                ErrorKind::DirOutside {
                    task: task.to_owned(),
                    dir: text.value,
                },
                text.span,
            ));
        }
        Ok(resolve(self.root, &text.value))
    }

    fn plugin(&self, task: &str, value: &Item<'_>, at: &Key) -> Result<PluginSource> {
        if let DeValue::Table(entries) = value.get_ref() {
            return pinned_plugin(task, entries, span(value), at);
        }
        let name = string(value, at)?;
        if name.trim().is_empty() {
            return Err(ConfigError::at(
                ErrorKind::EmptyString { key: at.clone() },
                span(value),
            ));
        }
        // A path is anything that cannot be a builtin's name, so `./hello`
        // loads a file even when a builtin `hello` exists.
        if name.contains('/') || name.contains('\\') || name.ends_with(".wasm") {
            return Ok(PluginSource::Path(resolve(self.root, &name)));
        }
        if self.builtins.contains(&name.as_str()) {
            return Ok(PluginSource::Builtin(name));
        }
        Err(ConfigError::at(
            ErrorKind::UnknownPlugin {
                task: task.to_owned(),
                suggestion: suggest::closest(&name, self.builtins.iter().copied())
                    .map(str::to_owned),
                name,
                builtins: self.builtins.iter().map(|&b| b.to_owned()).collect(),
            },
            span(value),
        ))
    }
}

/// `plugin = { url = "https://…/x.wasm", sha256 = "…" }`.
fn pinned_plugin(task: &str, entries: &DeTable<'_>, table: Span, at: &Key) -> Result<PluginSource> {
    let pin_error = |problem, at: Span| {
        ConfigError::at(
            ErrorKind::BadPluginPin {
                task: task.to_owned(),
                problem,
            },
            at,
        )
    };
    let (mut url, mut sha256) = (None, None);
    for (key, value) in entries {
        let name = key.get_ref().as_ref();
        match name {
            "url" => url = Some((string(value, &at.child(name))?, span(value))),
            "sha256" => sha256 = Some((string(value, &at.child(name))?, span(value))),
            _ => {
                return Err(unknown_key(
                    name,
                    span(key),
                    Place::Plugin(task.to_owned()),
                    PLUGIN_KEYS,
                    &[],
                ));
            }
        }
    }
    let (url, url_span) = url.ok_or_else(|| pin_error(PinProblem::MissingUrl, table))?;
    let (sha256, sha_span) = sha256.ok_or_else(|| pin_error(PinProblem::MissingSha256, table))?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(pin_error(PinProblem::BadUrl(url), url_span));
    }
    let digest = sha256
        .strip_prefix("sha256:")
        .unwrap_or(&sha256)
        .to_ascii_lowercase();
    if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(pin_error(PinProblem::BadSha256(sha256), sha_span));
    }
    Ok(PluginSource::Url {
        url,
        sha256: digest,
    })
}

/// Decides what the task does from `plugin`/`command`, then rejects keys that
/// would be silently ignored for that kind of task.
fn action(task: &Task, parts: Parts) -> Result<Action> {
    let name = &task.name;
    let action = match (parts.plugin, parts.command) {
        (Some((_, plugin)), Some((_, command))) => {
            // Point at whichever came second: that is where the conflict arises.
            let (first_key, first, second) = if plugin.start < command.start {
                ("plugin", plugin, command)
            } else {
                ("command", command, plugin)
            };
            return Err(ConfigError::at(
                ErrorKind::PluginAndCommand {
                    task: name.clone(),
                    first_key,
                    first,
                },
                second,
            ));
        }
        (Some((source, _)), None) => Action::Plugin {
            source,
            config: parts
                .config
                .unwrap_or_else(|| serde_json::Value::Object(serde_json::Map::new())),
        },
        (None, Some((lines, _))) => Action::Command { lines },
        (None, None) => Action::Group,
    };
    if !matches!(action, Action::Command { .. })
        && let Some(&(key, at)) = parts
            .keys
            .iter()
            .find(|(key, _)| matches!(*key, "params" | "confirm"))
    {
        return Err(ConfigError::at(
            ErrorKind::CommandOnly {
                task: name.clone(),
                key,
            },
            at,
        ));
    }
    if matches!(action, Action::Group)
        && let Some(&(key, at)) = parts
            .keys
            .iter()
            .find(|(key, _)| matches!(*key, "finally" | "sources" | "generates"))
    {
        return Err(ConfigError::at(
            ErrorKind::Ineffective {
                task: name.clone(),
                key,
                action: ActionKind::Group,
            },
            at,
        ));
    }
    if let Some(&(_, at)) = parts.keys.iter().find(|(key, _)| *key == "dir")
        && !matches!(action, Action::Command { .. })
    {
        return Err(ConfigError::at(
            ErrorKind::DirNotCommand { task: name.clone() },
            at,
        ));
    }
    let kind = match action {
        Action::Plugin { .. } => return Ok(action),
        Action::Command { .. } => ActionKind::Command,
        Action::Group => ActionKind::Group,
    };
    if kind == ActionKind::Group
        && task.depends.is_empty()
        && task.before.is_empty()
        && task.after.is_empty()
    {
        return Err(ConfigError::at(
            ErrorKind::DoesNothing { task: name.clone() },
            task.span,
        ));
    }
    // Host commands get a timeout and an environment; groups get neither,
    // having nothing of their own to run.
    let ineffective = |key: &str| match kind {
        ActionKind::Command => matches!(key, "config" | "allow" | "memory"),
        ActionKind::Group => matches!(key, "config" | "allow" | "memory" | "timeout" | "env"),
    };
    if let Some(&(key, at)) = parts.keys.iter().find(|(key, _)| ineffective(key)) {
        return Err(ConfigError::at(
            ErrorKind::Ineffective {
                task: name.clone(),
                key,
                action: kind,
            },
            at,
        ));
    }
    Ok(action)
}

/// Joins a plugin path to the file's directory, dropping `.` components so
/// paths read cleanly in messages.
fn resolve(root: &Path, path: &str) -> PathBuf {
    root.join(path)
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

fn unknown_key(
    key: &str,
    at: Span,
    place: Place,
    known: &'static [&'static str],
    synonyms: &'static [(&'static str, &'static str)],
) -> ConfigError {
    let suggestion = synonyms
        .iter()
        .find(|(synonym, _)| synonym.eq_ignore_ascii_case(key))
        .map(|&(_, ours)| ours)
        .or_else(|| suggest::closest(key, known.iter().copied()));
    ConfigError::at(
        ErrorKind::UnknownKey {
            key: key.to_owned(),
            place,
            suggestion,
        },
        at,
    )
}

fn aliases(value: &Item<'_>, at: &Key) -> Result<Vec<Spanned<String>>> {
    let aliases = strings(value, at)?;
    for alias in &aliases {
        names::check_task_name(&alias.value).map_err(|problem| {
            ConfigError::at(
                ErrorKind::InvalidName {
                    what: NameKind::Alias,
                    name: alias.value.clone(),
                    problem,
                },
                alias.span,
            )
        })?;
    }
    Ok(aliases)
}

/// `params = [{ name = "target", default = "all" }, { name = "files", variadic = true }]`.
fn params(task: &str, value: &Item<'_>, at: &Key) -> Result<Vec<super::model::Param>> {
    let DeValue::Array(items) = value.get_ref() else {
        return Err(wrong_type(
            value,
            value.get_ref(),
            at,
            Expected::StringArray,
        ));
    };
    let mut params: Vec<super::model::Param> = Vec::new();
    for item in items {
        let bad = |problem: String| {
            ConfigError::at(
                ErrorKind::BadParam {
                    task: task.to_owned(),
                    problem,
                },
                span(item),
            )
        };
        let mut param = super::model::Param {
            name: String::new(),
            default: None,
            variadic: false,
            flag: false,
            help: None,
        };
        for (key, value) in table(item, at)? {
            let at = at.child(key.get_ref());
            match key.get_ref().as_ref() {
                "name" => param.name = string(value, &at)?,
                "default" => param.default = Some(string(value, &at)?),
                "help" => param.help = Some(string(value, &at)?),
                "variadic" | "flag" => {
                    let set = match value.get_ref() {
                        DeValue::Boolean(b) => *b,
                        other => return Err(wrong_type(value, other, &at, Expected::Boolean)),
                    };
                    if key.get_ref().as_ref() == "flag" {
                        param.flag = set;
                    } else {
                        param.variadic = set;
                    }
                }
                other => {
                    return Err(bad(format!(
                        "unknown key `{other}` (a parameter has `name`, `default`, `variadic`, `flag` and `help`)"
                    )));
                }
            }
        }
        let valid = param
            .name
            .starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && param
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(bad(format!(
                "`{}` is not a parameter name: it becomes a shell variable, so letters, digits and `_`, not starting with a digit",
                param.name
            )));
        }
        if params.iter().any(|p| p.name == param.name) {
            return Err(bad(format!("`{}` is declared twice", param.name)));
        }
        if param.flag && (param.default.is_some() || param.variadic) {
            return Err(bad(format!(
                "`{}` is a flag (`--{}`, no value): it takes no `default` and cannot be `variadic`",
                param.name, param.name
            )));
        }
        // Flags are given by name only, so they may follow the variadic.
        if let Some(last) = params
            .iter()
            .rfind(|p| !p.flag)
            .filter(|p| p.variadic && !param.flag)
        {
            return Err(bad(format!(
                "`{}` comes after the variadic `{}`, which takes every remaining argument",
                param.name, last.name
            )));
        }
        params.push(param);
    }
    Ok(params)
}

/// `sources`/`generates`: glob patterns, relative to tasks.toml.
fn globs(task: &str, value: &Item<'_>, at: &Key) -> Result<Vec<String>> {
    let patterns = non_empty_strings(value, at)?;
    for pattern in &patterns {
        let outside = Path::new(&pattern.value).is_absolute()
            || Path::new(&pattern.value)
                .components()
                .any(|c| c == Component::ParentDir);
        let problem = match globset::Glob::new(&pattern.value) {
            Err(e) => Some(e.kind().to_string()),
            Ok(_) if outside => Some("it must stay inside the project".to_owned()),
            Ok(_) => None,
        };
        if let Some(problem) = problem {
            return Err(ConfigError::at(
                ErrorKind::BadGlob {
                    task: task.to_owned(),
                    key: at.clone(),
                    pattern: pattern.value.clone(),
                    problem,
                },
                pattern.span,
            ));
        }
    }
    Ok(patterns.into_iter().map(|p| p.value).collect())
}

/// `command = "line"` or `command = ["line", …]`.
fn command(task: &str, value: &Item<'_>, at: &Key) -> Result<Vec<Spanned<String>>> {
    let lines = match value.get_ref() {
        DeValue::String(_) => vec![spanned_string(value, at)?],
        DeValue::Array(_) => strings(value, at)?,
        other => return Err(wrong_type(value, other, at, Expected::StringOrStringArray)),
    };
    if lines.is_empty() {
        return Err(ConfigError::at(
            ErrorKind::EmptyCommand {
                task: task.to_owned(),
            },
            span(value),
        ));
    }
    lines
        .into_iter()
        .map(|line| {
            if line.value.trim().is_empty() {
                Err(ConfigError::at(
                    ErrorKind::EmptyString { key: at.clone() },
                    line.span,
                ))
            } else {
                Ok(line)
            }
        })
        .collect()
}

/// `env = ["NAME", "PREFIX_*"]` passes host variables through;
/// `env = { NAME = "value" }` sets them.
fn env(value: &Item<'_>, at: &Key) -> Result<EnvSpec> {
    match value.get_ref() {
        DeValue::Array(_) => Ok(EnvSpec {
            set: Vec::new(),
            pass: env_names(value, at)?,
        }),
        DeValue::Table(entries) => {
            let mut set = Vec::new();
            for (name, value) in entries {
                let name_span = span(name);
                let name = name.get_ref().as_ref();
                check_env_name(name, name_span, false, at)?;
                set.push((name.to_owned(), string(value, &at.child(name))?));
            }
            Ok(EnvSpec {
                set,
                pass: Vec::new(),
            })
        }
        other => Err(wrong_type(value, other, at, Expected::Env)),
    }
}

fn env_names(value: &Item<'_>, at: &Key) -> Result<Vec<String>> {
    let names = non_empty_strings(value, at)?;
    for name in &names {
        check_env_name(&name.value, name.span, true, at)?;
    }
    Ok(names.into_iter().map(|n| n.value).collect())
}

fn check_env_name(name: &str, name_span: Span, glob: bool, at: &Key) -> Result<()> {
    if name.is_empty() {
        return Err(ConfigError::at(
            ErrorKind::EmptyString { key: at.clone() },
            name_span,
        ));
    }
    names::check_env_name(name, glob).map_err(|problem| {
        ConfigError::at(
            ErrorKind::BadEnvName {
                key: at.clone(),
                name: name.to_owned(),
                problem,
            },
            name_span,
        )
    })
}

fn timeout(value: &Item<'_>, at: &Key) -> Result<std::time::Duration> {
    let DeValue::String(text) = value.get_ref() else {
        return Err(wrong_type(value, value.get_ref(), at, Expected::Duration));
    };
    let timeout = duration::parse(text).map_err(|problem| {
        ConfigError::at(
            ErrorKind::BadDuration {
                key: at.clone(),
                text: text.to_string(),
                problem,
            },
            span(value),
        )
    })?;
    if timeout.is_zero() {
        return Err(not_positive(value, at));
    }
    Ok(timeout)
}

fn memory(value: &Item<'_>, at: &Key) -> Result<u64> {
    let bytes = match value.get_ref() {
        DeValue::Integer(integer) => {
            let bytes = i128::from_str_radix(integer.as_str(), integer.radix())
                .map_err(|_| not_positive(value, at))?;
            if bytes <= 0 {
                return Err(not_positive(value, at));
            }
            u64::try_from(bytes).map_err(|_| {
                ConfigError::at(
                    ErrorKind::BadSize {
                        key: at.clone(),
                        text: integer.to_string(),
                        problem: super::error::SizeProblem::TooLarge,
                    },
                    span(value),
                )
            })?
        }
        DeValue::String(text) => size::parse(text).map_err(|problem| {
            ConfigError::at(
                ErrorKind::BadSize {
                    key: at.clone(),
                    text: text.to_string(),
                    problem,
                },
                span(value),
            )
        })?,
        other => return Err(wrong_type(value, other, at, Expected::Size)),
    };
    if bytes == 0 {
        return Err(not_positive(value, at));
    }
    Ok(bytes)
}

fn not_positive(value: &Item<'_>, at: &Key) -> ConfigError {
    ConfigError::at(ErrorKind::NotPositive { key: at.clone() }, span(value))
}

fn grants(task: &str, value: &Item<'_>, at: &Key) -> Result<Grants> {
    let mut grants = Grants::default();
    for (key, value) in table(value, at)? {
        let key_span = span(key);
        let key = key.get_ref().as_ref();
        let at = at.child(key);
        let Some(kind) = GrantKind::from_key(key) else {
            return Err(unknown_key(
                key,
                key_span,
                Place::Allow(task.to_owned()),
                ALLOW_KEYS,
                ALLOW_KEY_SYNONYMS,
            ));
        };
        if kind == GrantKind::Privileged {
            match value.get_ref() {
                DeValue::Boolean(true) => grants.privileged = true,
                DeValue::Boolean(false) => {
                    return Err(ConfigError::at(
                        ErrorKind::PrivilegedNotTrue { key: at.clone() },
                        span(value),
                    ));
                }
                other => return Err(wrong_type(value, other, &at, Expected::True)),
            }
            continue;
        }
        if kind == GrantKind::Env {
            grants.env = env_names(value, &at)?;
            continue;
        }
        let entries = non_empty_strings(value, &at)?;
        let values = || entries.iter().map(|e| e.value.clone()).collect::<Vec<_>>();
        match kind {
            GrantKind::Read => grants.read = values(),
            GrantKind::Write => grants.write = values(),
            GrantKind::Network => {
                for pattern in &entries {
                    network::check(&pattern.value).map_err(|problem| {
                        ConfigError::at(
                            ErrorKind::BadNetwork {
                                key: at.clone(),
                                pattern: pattern.value.clone(),
                                problem,
                            },
                            pattern.span,
                        )
                    })?;
                }
                grants.network = values();
            }
            GrantKind::Http => {
                for prefix in &entries {
                    crate::capability::http::url::check(&prefix.value).map_err(|problem| {
                        ConfigError::at(
                            ErrorKind::BadHttpPrefix {
                                key: at.clone(),
                                prefix: prefix.value.clone(),
                                problem,
                            },
                            prefix.span,
                        )
                    })?;
                }
                grants.http = values();
            }
            GrantKind::Ports => {
                for pattern in &entries {
                    network::check_ports(&pattern.value).map_err(|problem| {
                        ConfigError::at(
                            ErrorKind::BadPortGrant {
                                key: at.clone(),
                                pattern: pattern.value.clone(),
                                problem,
                            },
                            pattern.span,
                        )
                    })?;
                }
                grants.ports = values();
            }
            GrantKind::Containers => grants.containers = name_patterns(&entries, &at, kind)?,
            GrantKind::Images => grants.images = name_patterns(&entries, &at, kind)?,
            GrantKind::Networks => grants.networks = name_patterns(&entries, &at, kind)?,
            GrantKind::Volumes => grants.volumes = name_patterns(&entries, &at, kind)?,
            GrantKind::CapAdd => {
                check_options(&entries, &at, grant::check_capability)?;
                grants.cap_add = entries
                    .iter()
                    .map(|e| {
                        let upper = e.value.to_ascii_uppercase();
                        upper.strip_prefix("CAP_").unwrap_or(&upper).to_owned()
                    })
                    .collect();
            }
            GrantKind::Namespaces => {
                check_options(&entries, &at, |v| {
                    grant::Namespace::parse(v)
                        .map(drop)
                        .ok_or(grant::OptionProblem::UnknownNamespace)
                })?;
                grants.namespaces = entries
                    .iter()
                    .filter_map(|e| grant::Namespace::parse(&e.value))
                    .collect();
            }
            GrantKind::Devices => {
                check_options(&entries, &at, grant::check_device)?;
                grants.devices = values();
            }
            GrantKind::SecurityOpts => {
                check_options(&entries, &at, grant::check_security_opt)?;
                grants.security_opts = values();
            }
            GrantKind::Sysctls => {
                check_options(&entries, &at, |v| {
                    grant::check_sysctl_grant(v).map_err(grant::OptionProblem::Sysctl)
                })?;
                grants.sysctls = values();
            }
            GrantKind::Runtimes => {
                check_options(&entries, &at, |v| {
                    grant::check_runtime_name(v).map_err(grant::OptionProblem::Runtime)
                })?;
                grants.runtimes = values();
            }
            GrantKind::Env | GrantKind::Privileged => unreachable!("handled above"),
        }
    }
    Ok(grants)
}

/// Container, volume, network or image grants: each checked against its
/// grammar where it is written, then compiled once.
fn name_patterns(entries: &[Spanned<String>], at: &Key, kind: GrantKind) -> Result<Patterns> {
    let noun = match kind {
        GrantKind::Containers => "container pattern",
        GrantKind::Images => "image pattern",
        GrantKind::Networks => "network pattern",
        _ => "volume pattern",
    };
    let bad = |entry: &Spanned<String>, problem| {
        ConfigError::at(
            ErrorKind::BadGrantName {
                key: at.clone(),
                noun,
                pattern: entry.value.clone(),
                problem,
            },
            entry.span,
        )
    };
    for entry in entries {
        let checked = if kind == GrantKind::Images {
            grant::image::check_image_pattern(&entry.value).map_err(GrantNameProblem::Image)
        } else if kind == GrantKind::Networks {
            grant::name::check_name_pattern(&entry.value)
                .and_then(|()| match entry.value.as_str() {
                    "host" | "none" | "bridge" => grant::name::check_network_name(&entry.value),
                    _ => Ok(()),
                })
                .map_err(GrantNameProblem::Name)
        } else {
            grant::name::check_name_pattern(&entry.value).map_err(GrantNameProblem::Name)
        };
        checked.map_err(|problem| bad(entry, problem))?;
        Patterns::new(vec![entry.value.clone()])
            .map_err(|e| bad(entry, GrantNameProblem::Glob(e.kind().to_string())))?;
    }
    Ok(
        Patterns::new(entries.iter().map(|e| e.value.clone()).collect())
            .expect("each pattern compiled on its own"),
    )
}

fn check_options(
    entries: &[Spanned<String>],
    at: &Key,
    check: impl Fn(&str) -> std::result::Result<(), grant::OptionProblem>,
) -> Result<()> {
    for entry in entries {
        check(&entry.value).map_err(|problem| {
            ConfigError::at(
                ErrorKind::BadGrantOption {
                    key: at.clone(),
                    value: entry.value.clone(),
                    problem,
                },
                entry.span,
            )
        })?;
    }
    Ok(())
}

/// The `config` table as JSON, the form plugins receive it in.
/// Strings in it have their `{{…}}` expanded by `expand`.
fn to_json(
    value: &Item<'_>,
    at: &Key,
    expand: &dyn Fn(&Spanned<String>) -> Result<String>,
) -> Result<serde_json::Value> {
    use serde_json::Value;
    let unrepresentable = |text: String| {
        ConfigError::at(
            ErrorKind::Unrepresentable {
                key: at.clone(),
                text,
            },
            span(value),
        )
    };
    Ok(match value.get_ref() {
        DeValue::String(s) => Value::String(expand(&Spanned {
            value: s.to_string(),
            span: span(value),
        })?),
        DeValue::Integer(integer) => {
            let text = integer.as_str();
            let radix = integer.radix();
            if let Ok(n) = i64::from_str_radix(text, radix) {
                Value::from(n)
            } else if let Ok(n) = u64::from_str_radix(text, radix) {
                Value::from(n)
            } else {
                return Err(unrepresentable(integer.to_string()));
            }
        }
        DeValue::Float(float) => float
            .as_str()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| unrepresentable(float.to_string()))?,
        DeValue::Boolean(b) => Value::Bool(*b),
        // JSON has no datetimes; RFC 3339 text is what a plugin would parse.
        DeValue::Datetime(datetime) => Value::String(datetime.to_string()),
        DeValue::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| to_json(item, at, expand))
                .collect::<Result<_>>()?,
        ),
        DeValue::Table(entries) => Value::Object(
            entries
                .iter()
                .map(|(key, item)| {
                    let key = key.get_ref().to_string();
                    let value = to_json(item, &at.child(&key), expand)?;
                    Ok((key, value))
                })
                .collect::<Result<_>>()?,
        ),
    })
}

fn span<T>(item: &TomlSpanned<T>) -> Span {
    let range = item.span();
    Span {
        start: range.start,
        end: range.end,
    }
}

fn found(value: &DeValue<'_>) -> Found {
    match value {
        DeValue::String(_) => Found::String,
        DeValue::Integer(_) => Found::Integer,
        DeValue::Float(_) => Found::Float,
        DeValue::Boolean(_) => Found::Boolean,
        DeValue::Datetime(_) => Found::Datetime,
        DeValue::Array(_) => Found::Array,
        DeValue::Table(_) => Found::Table,
    }
}

fn wrong_type(item: &Item<'_>, value: &DeValue<'_>, at: &Key, expected: Expected) -> ConfigError {
    ConfigError::at(
        ErrorKind::WrongType {
            key: at.clone(),
            expected,
            found: found(value),
        },
        span(item),
    )
}

fn table<'a, 'i>(item: &'a Item<'i>, at: &Key) -> Result<&'a DeTable<'i>> {
    match item.get_ref() {
        DeValue::Table(table) => Ok(table),
        other => Err(wrong_type(item, other, at, Expected::Table)),
    }
}

fn string(item: &Item<'_>, at: &Key) -> Result<String> {
    spanned_string(item, at).map(|s| s.value)
}

fn spanned_string(item: &Item<'_>, at: &Key) -> Result<Spanned<String>> {
    match item.get_ref() {
        DeValue::String(s) => Ok(Spanned {
            value: s.to_string(),
            span: span(item),
        }),
        other => Err(wrong_type(item, other, at, Expected::String)),
    }
}

/// An array of strings, each with its span.
fn strings(item: &Item<'_>, at: &Key) -> Result<Vec<Spanned<String>>> {
    match item.get_ref() {
        DeValue::Array(items) => items.iter().map(|item| spanned_string(item, at)).collect(),
        other => Err(wrong_type(item, other, at, Expected::StringArray)),
    }
}

/// An array of strings, none of them empty: names, paths and patterns.
fn non_empty_strings(item: &Item<'_>, at: &Key) -> Result<Vec<Spanned<String>>> {
    let strings = strings(item, at)?;
    if let Some(empty) = strings.iter().find(|s| s.value.is_empty()) {
        return Err(ConfigError::at(
            ErrorKind::EmptyString { key: at.clone() },
            empty.span,
        ));
    }
    Ok(strings)
}
