//! What can be wrong with a tasks.toml. Variants carry the facts (names,
//! spans, what was expected); the wording lives in their `Display` impls and in
//! `diagnostic`, so callers and tests can match on the data.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use super::model::Span;

/// An error reading, parsing or validating a tasks.toml.
#[derive(Debug, thiserror::Error)]
#[error("{kind}")]
pub struct ConfigError {
    /// Boxed: errors travel through every `Result` in the parser, and most
    /// kinds are large.
    pub(crate) kind: Box<ErrorKind>,
    /// The offending text, when the error is about the file's contents.
    pub(crate) span: Option<Span>,
    /// The file the span points into; set by `parse` once the error leaves it.
    pub(crate) origin: Option<Origin>,
}

/// The file an error points into.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    /// The path as shown in diagnostics.
    pub(crate) display: String,
    pub(crate) source: Arc<str>,
}

impl ConfigError {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Self {
            kind: Box::new(kind),
            span: None,
            origin: None,
        }
    }

    pub(crate) fn at(kind: ErrorKind, span: Span) -> Self {
        Self {
            kind: Box::new(kind),
            span: Some(span),
            origin: None,
        }
    }

    /// Sets the file the error points into, unless it already has one (an
    /// error from an included file keeps pointing into that file).
    pub(crate) fn with_origin(mut self, origin: Origin) -> Self {
        self.origin.get_or_insert(origin);
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The offending text in the file, if the error is about its contents.
    pub fn span(&self) -> Option<Span> {
        self.span
    }

    /// 1-based line and column (in characters) of the start of the span.
    pub fn line_column(&self) -> Option<(usize, usize)> {
        let origin = self.origin.as_ref()?;
        Some(super::diagnostic::line_column(
            &origin.source,
            self.span?.start,
        ))
    }

    /// The full multi-line diagnostic, rustc style; `color` adds ANSI styling.
    pub fn render(&self, color: bool) -> String {
        super::diagnostic::render(self, color)
    }
}

/// The kinds of error, each with the data needed to explain it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Not TOML at all; `message` is the `toml` crate's description.
    #[error("invalid TOML: {message}")]
    Syntax { message: String },
    #[error("key `{key}` is defined more than once")]
    DuplicateKey { key: String },
    #[error("task `{name}` is defined more than once")]
    DuplicateTask { name: String, first: Span },
    #[error("unknown key `{key}` {place}")]
    UnknownKey {
        key: String,
        place: Place,
        suggestion: Option<&'static str>,
    },
    #[error("wrong type for {key}: expected {expected}, found {found}")]
    WrongType {
        key: Key,
        expected: Expected,
        found: Found,
    },
    #[error("invalid {what} name `{name}`: {problem}")]
    InvalidName {
        what: NameKind,
        name: String,
        problem: NameProblem,
    },
    #[error("empty string in {key}")]
    EmptyString { key: Key },
    #[error("`command` of task `{task}` has no lines")]
    EmptyCommand { task: String },
    /// A line of a `.env` file that is not `NAME=value`.
    #[error("{}:{line}: {problem}", path.display())]
    DotEnv {
        path: PathBuf,
        line: usize,
        problem: super::dotenv::DotEnvProblem,
    },
    #[error("`{key}` has no effect on task `{task}`: only command tasks take it")]
    CommandOnly { task: String, key: &'static str },
    #[error("parameter of task `{task}`: {problem}")]
    BadParam { task: String, problem: String },
    #[error("bad pattern `{pattern}` in `{key}` of task `{task}`: {problem}")]
    BadGlob {
        task: String,
        key: Key,
        pattern: String,
        problem: String,
    },
    #[error("`include` of `{path}`: {problem}")]
    BadInclude { path: String, problem: String },
    #[error("unknown variable `{name}`")]
    UnknownVariable {
        name: String,
        suggestion: Option<String>,
    },
    #[error("`{{{{env.{name}}}}}` is not set, in the environment nor in .env")]
    UnsetEnvVariable { name: String },
    #[error("`{{{{{name}` has no closing `}}}}`")]
    UnclosedVariable { name: String },
    #[error("`{name}` is not a variable name")]
    BadVariableName { name: String },
    #[error("`dir` has no effect on task `{task}`: only command tasks run in a directory")]
    DirNotCommand { task: String },
    #[error("`dir` of task `{task}` leaves the project: `{dir}`")]
    DirOutside { task: String, dir: String },
    #[error("{}", unknown_task(task, *relation, target))]
    UnknownTask {
        task: String,
        relation: Relation,
        target: String,
        suggestion: Option<String>,
    },
    /// `path` starts and ends with the same task; the span is the reference
    /// that closes it, made by `path[path.len() - 2]`.
    #[error("dependency cycle: {}", cycle(path))]
    Cycle {
        path: Vec<String>,
        relation: Relation,
    },
    #[error("invalid duration `{text}` for {key}: {problem}")]
    BadDuration {
        key: Key,
        text: String,
        problem: DurationProblem,
    },
    #[error("invalid size `{text}` for {key}: {problem}")]
    BadSize {
        key: Key,
        text: String,
        problem: SizeProblem,
    },
    #[error("{key} must be greater than zero")]
    NotPositive { key: Key },
    #[error("unknown built-in plugin `{name}` in task `{task}`")]
    UnknownPlugin {
        task: String,
        name: String,
        suggestion: Option<String>,
        builtins: Vec<String>,
    },
    #[error("bad plugin pin in task `{task}`: {problem}")]
    BadPluginPin { task: String, problem: PinProblem },
    #[error("task `{task}` has both `plugin` and `command`")]
    PluginAndCommand {
        task: String,
        /// The one of the two that comes first, and where.
        first_key: &'static str,
        first: Span,
    },
    /// A key that only makes sense for another kind of task.
    #[error("`{key}` has no effect on task `{task}`")]
    Ineffective {
        task: String,
        key: &'static str,
        action: ActionKind,
    },
    #[error("task `{task}` does nothing")]
    DoesNothing { task: String },
    #[error("{}", alias_taken(task, alias, owner))]
    AliasTaken {
        task: String,
        alias: String,
        owner: AliasOwner,
        /// Where the name was first taken.
        first: Span,
    },
    #[error("invalid network pattern `{pattern}` in {key}: {problem}")]
    BadNetwork {
        key: Key,
        pattern: String,
        problem: NetworkProblem,
    },
    #[error("invalid URL prefix `{prefix}` in {key}: {problem}")]
    BadHttpPrefix {
        key: Key,
        prefix: String,
        problem: crate::capability::http::UrlProblem,
    },
    #[error("invalid port `{pattern}` in {key}: {problem}")]
    BadPortGrant {
        key: Key,
        pattern: String,
        problem: NetworkProblem,
    },
    #[error("invalid environment variable name `{name}` in {key}: {problem}")]
    BadEnvName {
        key: Key,
        name: String,
        problem: EnvNameProblem,
    },
    /// A container, volume or network name or glob outside the engine's grammar.
    #[error("invalid {noun} `{pattern}` in {key}: {problem}")]
    BadGrantName {
        key: Key,
        noun: &'static str,
        pattern: String,
        problem: GrantNameProblem,
    },
    /// An `allow.cap-add`, `namespaces`, `devices` or `security-opts` entry.
    #[error("invalid entry `{value}` in {key}: {problem}")]
    BadGrantOption {
        key: Key,
        value: String,
        problem: crate::grant::OptionProblem,
    },
    /// `allow.privileged` is `true` or absent.
    #[error("{key} must be `true` (leave it out to deny privileged containers)")]
    PrivilegedNotTrue { key: Key },
    /// JSON has no infinities, NaNs or integers beyond 64 bits.
    #[error("{key} holds `{text}`, which cannot be passed to a plugin as JSON")]
    Unrepresentable { key: Key, text: String },
}

/// Why a name grant is refused: the name grammar, or the image reference grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantNameProblem {
    Name(crate::grant::name::NameProblem),
    Image(crate::grant::image::ImageProblem),
    /// Glob syntax (an unclosed `[` or `{`).
    Glob(String),
}

impl fmt::Display for GrantNameProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(problem) => problem.fmt(f),
            Self::Image(problem) => problem.fmt(f),
            Self::Glob(message) => write!(f, "bad glob: {message}"),
        }
    }
}

fn unknown_task(task: &str, relation: Relation, target: &str) -> String {
    match relation {
        Relation::Depends => format!("task `{task}` depends on unknown task `{target}`"),
        Relation::Before => format!("task `{task}` has unknown `before` hook `{target}`"),
        Relation::After => format!("task `{task}` has unknown `after` hook `{target}`"),
    }
}

fn cycle(path: &[String]) -> String {
    let quoted: Vec<String> = path.iter().map(|name| format!("`{name}`")).collect();
    quoted.join(" → ")
}

fn alias_taken(task: &str, alias: &str, owner: &AliasOwner) -> String {
    match owner {
        AliasOwner::Task if alias == task => {
            format!("alias `{alias}` of task `{task}` is the task's own name")
        }
        AliasOwner::Task => format!("alias `{alias}` of task `{task}` is already a task name"),
        AliasOwner::Alias { task: other } if other == task => {
            format!("alias `{alias}` of task `{task}` is listed twice")
        }
        AliasOwner::Alias { task: other } => {
            format!("alias `{alias}` of task `{task}` is already an alias of task `{other}`")
        }
    }
}

/// A key within the file, for messages: `depends` in task `build`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// `None` for top-level keys.
    pub task: Option<String>,
    /// Dotted from the task table: `allow.read`, `config.retries`.
    pub key: String,
}

impl Key {
    pub(crate) fn top(key: &str) -> Self {
        Self {
            task: None,
            key: key.to_owned(),
        }
    }

    pub(crate) fn in_task(task: &str, key: &str) -> Self {
        Self {
            task: Some(task.to_owned()),
            key: key.to_owned(),
        }
    }

    /// The same key one level deeper: `allow` → `allow.read`.
    pub(crate) fn child(&self, key: &str) -> Self {
        Self {
            task: self.task.clone(),
            key: format!("{}.{key}", self.key),
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.task {
            Some(task) => write!(f, "`{}` in task `{task}`", self.key),
            None => write!(f, "`{}`", self.key),
        }
    }
}

/// The table an unknown key was found in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    TopLevel,
    Task(String),
    Allow(String),
    /// The `plugin = { … }` table of a task.
    Plugin(String),
}

/// What is wrong with `plugin = { url = "…", sha256 = "…" }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinProblem {
    MissingUrl,
    MissingSha256,
    /// Not `http://` or `https://`.
    BadUrl(String),
    /// Not 64 hex digits.
    BadSha256(String),
}

impl fmt::Display for PinProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingUrl => f.write_str("`url` is missing"),
            Self::MissingSha256 => {
                f.write_str("`sha256` is missing: a downloaded plugin must be pinned")
            }
            Self::BadUrl(url) => write!(f, "`{url}` is not an http:// or https:// URL"),
            Self::BadSha256(digest) => {
                write!(f, "`{digest}` is not a sha256 digest (64 hex digits)")
            }
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TopLevel => f.write_str("at the top level"),
            Self::Task(task) => write!(f, "in task `{task}`"),
            Self::Allow(task) => write!(f, "in `allow` of task `{task}`"),
            Self::Plugin(task) => write!(f, "in `plugin` of task `{task}`"),
        }
    }
}

/// What a key's value should have been.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    String,
    StringArray,
    StringOrStringArray,
    Table,
    /// `env`: names to pass through, or fixed values.
    Env,
    Duration,
    Size,
    /// `allow.privileged`.
    True,
    Boolean,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::String => "a string",
            Self::StringArray => "an array of strings",
            Self::StringOrStringArray => "a string or an array of strings",
            Self::Table => "a table",
            Self::Env => "an array of variable names or a table of values",
            Self::Duration => "a duration string",
            Self::True => "`true`",
            Self::Boolean => "`true` or `false`",
            Self::Size => "a size string or an integer number of bytes",
        })
    }
}

/// The TOML type actually found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    String,
    Integer,
    Float,
    Boolean,
    Datetime,
    Array,
    Table,
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::String => "a string",
            Self::Integer => "an integer",
            Self::Float => "a float",
            Self::Boolean => "a boolean",
            Self::Datetime => "a datetime",
            Self::Array => "an array",
            Self::Table => "a table",
        })
    }
}

/// Whether a bad name is a task's or an alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    Task,
    Alias,
}

impl fmt::Display for NameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Task => "task",
            Self::Alias => "alias",
        })
    }
}

/// Why a task name or alias is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameProblem {
    Empty,
    /// It would be taken for a command-line option.
    LeadingDash,
    BadChar(char),
    /// The runner takes this word itself; the reason says for what.
    Reserved(&'static str),
}

impl fmt::Display for NameProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("names cannot be empty"),
            Self::LeadingDash => f.write_str("names cannot start with `-`"),
            Self::BadChar(c) => write!(f, "{c:?} is not allowed in names"),
            Self::Reserved(reason) => write!(f, "the name is reserved: {reason}"),
        }
    }
}

/// The key through which one task names another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Depends,
    Before,
    After,
}

impl Relation {
    pub fn key(self) -> &'static str {
        match self {
            Self::Depends => "depends",
            Self::Before => "before",
            Self::After => "after",
        }
    }
}

/// What kind of task a key was misplaced on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    Command,
    Group,
}

/// Who already has the name an alias wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AliasOwner {
    /// A task is called that.
    Task,
    /// It is an alias of `task` (possibly the same task, listed twice).
    Alias { task: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DurationProblem {
    Empty,
    /// A number with nothing after it: `30`.
    MissingUnit,
    UnknownUnit(String),
    /// Something other than a digit where a number should start.
    ExpectedNumber(char),
    TooLarge,
}

impl fmt::Display for DurationProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("it is empty"),
            Self::MissingUnit => f.write_str("the number has no unit"),
            Self::UnknownUnit(unit) => write!(f, "unknown unit `{unit}`"),
            Self::ExpectedNumber(c) => write!(f, "expected a number, found {c:?}"),
            Self::TooLarge => f.write_str("it is too large"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SizeProblem {
    Empty,
    UnknownUnit(String),
    /// Not a number where one should start.
    ExpectedNumber,
    TooLarge,
}

impl fmt::Display for SizeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("it is empty"),
            Self::UnknownUnit(unit) => write!(f, "unknown unit `{unit}`"),
            Self::ExpectedNumber => f.write_str("it does not start with a number"),
            Self::TooLarge => f.write_str("it does not fit in 64 bits"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkProblem {
    MissingPort,
    EmptyHost,
    /// An IPv6 address without brackets, where its colons are ambiguous.
    UnbracketedIpv6,
    Whitespace,
    BadPort(String),
    /// A range whose start is after its end.
    BackwardsRange {
        start: u16,
        end: u16,
    },
}

impl fmt::Display for NetworkProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingPort => f.write_str("missing `:port`"),
            Self::EmptyHost => f.write_str("the host is empty"),
            Self::UnbracketedIpv6 => f.write_str("IPv6 addresses must be in brackets"),
            Self::Whitespace => f.write_str("it contains whitespace"),
            Self::BadPort(port) => write!(f, "`{port}` is not a port"),
            Self::BackwardsRange { start, end } => {
                write!(f, "the port range {start}-{end} is backwards")
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvNameProblem {
    ContainsEquals,
    ContainsNul,
    /// Globs select host variables to pass through; a fixed value needs one name.
    GlobInSet,
}

impl fmt::Display for EnvNameProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ContainsEquals => "names cannot contain `=`",
            Self::ContainsNul => "names cannot contain NUL",
            Self::GlobInSet => "a fixed value needs an exact name, not a glob",
        })
    }
}
