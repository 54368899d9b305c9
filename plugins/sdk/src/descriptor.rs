//! What a plugin is: name, version, parameters and wanted capabilities.

use crate::__private::bindings::runner::plugin::types as wit;

/// A plugin's self-description, returned by [`Plugin::describe`](crate::Plugin::describe).
///
/// ```
/// use run_plugin_sdk::{Capability, Descriptor, Parameter};
///
/// let d = Descriptor::new("hello", "1.0.0", "Greets someone")
///     .parameter(Parameter::option("name", "who to greet"))
///     .capability(Capability::Write("out".into()));
/// assert_eq!(d.parameters.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// The plugin's name.
    pub name: String,
    /// The plugin's version, usually `env!("CARGO_PKG_VERSION")`.
    pub version: String,
    /// One line for `run --list`.
    pub summary: String,
    /// Command-line parameters, for `--help` and completions.
    pub parameters: Vec<Parameter>,
    /// What the plugin needs from its task's `allow` table.
    pub capabilities: Vec<Capability>,
}

impl Descriptor {
    /// A descriptor with no parameters and no capabilities.
    ///
    /// ```
    /// let d = run_plugin_sdk::Descriptor::new("hello", env!("CARGO_PKG_VERSION"), "Greets");
    /// assert!(d.capabilities.is_empty());
    /// ```
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        summary: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            summary: summary.into(),
            parameters: Vec::new(),
            capabilities: Vec::new(),
        }
    }

    /// Adds a parameter; positional ones keep their declaration order.
    ///
    /// ```
    /// use run_plugin_sdk::{Descriptor, Parameter};
    /// let d = Descriptor::new("x", "1", "x").parameter(Parameter::flag("latest", "newest only"));
    /// assert_eq!(d.parameters[0].name, "latest");
    /// ```
    pub fn parameter(mut self, parameter: Parameter) -> Self {
        self.parameters.push(parameter);
        self
    }

    /// Adds a wanted capability; the runner checks it against the task's grants.
    ///
    /// ```
    /// use run_plugin_sdk::{Capability, Descriptor};
    /// let d = Descriptor::new("x", "1", "x").capability(Capability::Read("src".into()));
    /// assert_eq!(d.capabilities, [Capability::Read("src".into())]);
    /// ```
    pub fn capability(mut self, capability: Capability) -> Self {
        self.capabilities.push(capability);
        self
    }
}

/// How a [`Parameter`] appears on the command line after the task name.
///
/// ```
/// use run_plugin_sdk::{Parameter, ParameterKind};
/// assert_eq!(Parameter::flag("all", "everything").kind, ParameterKind::Flag);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParameterKind {
    /// `--name`, no value.
    Flag,
    /// `--name VALUE`.
    Option,
    /// A bare value, in declaration order.
    Positional,
}

/// One command-line parameter of a plugin.
///
/// ```
/// use run_plugin_sdk::Parameter;
/// let p = Parameter::option("name", "who to greet").default_value("world");
/// assert_eq!(p.default.as_deref(), Some("world"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    /// The name, without dashes.
    pub name: String,
    /// Flag, option or positional.
    pub kind: ParameterKind,
    /// One line for `--help`.
    pub help: String,
    /// Whether the task fails without it.
    pub required: bool,
    /// The value used when it is absent, shown in `--help`.
    pub default: Option<String>,
}

impl Parameter {
    /// A parameter of any kind; prefer [`flag`](Self::flag),
    /// [`option`](Self::option) or [`positional`](Self::positional).
    ///
    /// ```
    /// use run_plugin_sdk::{Parameter, ParameterKind};
    /// let p = Parameter::new("file", ParameterKind::Positional, "input file");
    /// assert!(!p.required);
    /// ```
    pub fn new(name: impl Into<String>, kind: ParameterKind, help: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            kind,
            help: help.into(),
            required: false,
            default: None,
        }
    }

    /// `--name`, no value.
    ///
    /// ```
    /// let p = run_plugin_sdk::Parameter::flag("latest", "newest only");
    /// assert_eq!(p.name, "latest");
    /// ```
    pub fn flag(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(name, ParameterKind::Flag, help)
    }

    /// `--name VALUE`.
    ///
    /// ```
    /// let p = run_plugin_sdk::Parameter::option("name", "who to greet");
    /// assert_eq!(p.kind, run_plugin_sdk::ParameterKind::Option);
    /// ```
    pub fn option(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(name, ParameterKind::Option, help)
    }

    /// A bare value, in declaration order.
    ///
    /// ```
    /// let p = run_plugin_sdk::Parameter::positional("file", "input file").required();
    /// assert!(p.required);
    /// ```
    pub fn positional(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(name, ParameterKind::Positional, help)
    }

    /// Marks the parameter as required.
    ///
    /// ```
    /// assert!(run_plugin_sdk::Parameter::option("to", "recipient").required().required);
    /// ```
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Sets the value shown in `--help` as the default.
    ///
    /// ```
    /// let p = run_plugin_sdk::Parameter::option("dir", "output").default_value("out");
    /// assert_eq!(p.default.as_deref(), Some("out"));
    /// ```
    pub fn default_value(mut self, value: impl Into<String>) -> Self {
        self.default = Some(value.into());
        self
    }
}

/// Something a plugin needs from its task's grants (`allow` in tasks.toml).
///
/// ```
/// use run_plugin_sdk::Capability;
/// let wanted = [Capability::Write("out".into()), Capability::Env("HOME".into())];
/// assert_eq!(wanted.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    /// Read files under this directory (relative to the project root).
    Read(String),
    /// Create and change files under this directory.
    Write(String),
    /// Open TCP connections to `host:port` (`*` allowed in the port).
    Network(String),
    /// Reach this container (name or glob) through [`container`](crate::container).
    Container(String),
    /// See this host environment variable.
    Env(String),
}

impl From<Descriptor> for wit::Descriptor {
    fn from(d: Descriptor) -> Self {
        Self {
            name: d.name,
            version: d.version,
            summary: d.summary,
            parameters: d.parameters.into_iter().map(Into::into).collect(),
            capabilities: d.capabilities.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<Parameter> for wit::Parameter {
    fn from(p: Parameter) -> Self {
        Self {
            name: p.name,
            kind: match p.kind {
                ParameterKind::Flag => wit::ParameterKind::Flag,
                ParameterKind::Option => wit::ParameterKind::Option,
                ParameterKind::Positional => wit::ParameterKind::Positional,
            },
            help: p.help,
            required: p.required,
            default: p.default,
        }
    }
}

impl From<Capability> for wit::Capability {
    fn from(c: Capability) -> Self {
        match c {
            Capability::Read(s) => Self::Read(s),
            Capability::Write(s) => Self::Write(s),
            Capability::Network(s) => Self::Network(s),
            Capability::Container(s) => Self::Container(s),
            Capability::Env(s) => Self::Env(s),
        }
    }
}
