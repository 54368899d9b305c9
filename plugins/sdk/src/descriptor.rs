//! What a plugin is: name, version, parameters and the grants it needs. The
//! types are the WIT's `descriptor`, `parameter` and `parameter-kind`; the SDK
//! adds builders.

pub use crate::__private::bindings::runner::plugin::types::{Descriptor, Parameter, ParameterKind};
use crate::Grant;

impl Descriptor {
    /// A descriptor with no parameters and no needs.
    ///
    /// ```
    /// let d = run_plugin_sdk::Descriptor::new("hello", env!("CARGO_PKG_VERSION"), "Greets");
    /// assert!(d.needs.is_empty());
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
            needs: Vec::new(),
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

    /// Adds a grant every task of the plugin needs; the runner checks it
    /// against the task's `allow` table before `run`. Needs that depend on a
    /// task's config go in [`Plugin::needs`](crate::Plugin::needs).
    ///
    /// ```
    /// use run_plugin_sdk::{Descriptor, Grant};
    /// let d = Descriptor::new("x", "1", "x").need(Grant::read("src"));
    /// assert_eq!(d.needs, [Grant::read("src")]);
    /// ```
    pub fn need(mut self, grant: Grant) -> Self {
        self.needs.push(grant);
        self
    }
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
