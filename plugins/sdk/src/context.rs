//! What the runner tells a plugin about the task it runs.

use serde::de::DeserializeOwned;

pub use crate::__private::bindings::runner::plugin::types::RunMode;
use crate::__private::bindings::runner::plugin::types::TaskContext;
use crate::{Error, config};

/// The task a plugin runs: its name, arguments, config and mode.
///
/// ```
/// use run_plugin_sdk::Context;
/// let ctx = Context::new("greet", vec!["--name".into(), "Ada".into()], r#"{"dir":"out"}"#);
/// assert_eq!(ctx.task(), "greet");
/// assert_eq!(ctx.option("name"), Some("Ada"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    inner: TaskContext,
}

impl Context {
    /// A context for `task` with `args` and config JSON text, run for real,
    /// not interactive and not a hook: for unit-testing a plugin natively.
    ///
    /// ```
    /// let ctx = run_plugin_sdk::Context::new("t", Vec::new(), "{}");
    /// assert!(!ctx.is_plan());
    /// ```
    pub fn new(task: impl Into<String>, args: Vec<String>, config: impl Into<String>) -> Self {
        Self {
            inner: TaskContext {
                task: task.into(),
                args,
                config: config.into(),
                mode: RunMode::Run,
                interactive: false,
                hook_for: None,
            },
        }
    }

    /// Sets [`mode`](Self::mode).
    ///
    /// ```
    /// use run_plugin_sdk::{Context, RunMode};
    /// assert!(Context::new("t", vec![], "{}").with_mode(RunMode::Plan).is_plan());
    /// ```
    pub fn with_mode(mut self, mode: RunMode) -> Self {
        self.inner.mode = mode;
        self
    }

    /// Sets [`interactive`](Self::interactive).
    ///
    /// ```
    /// assert!(run_plugin_sdk::Context::new("t", vec![], "{}").with_interactive(true).interactive());
    /// ```
    pub fn with_interactive(mut self, interactive: bool) -> Self {
        self.inner.interactive = interactive;
        self
    }

    /// Sets [`hook_for`](Self::hook_for).
    ///
    /// ```
    /// let ctx = run_plugin_sdk::Context::new("t", vec![], "{}").with_hook_for(Some("build".into()));
    /// assert_eq!(ctx.hook_for(), Some("build"));
    /// ```
    pub fn with_hook_for(mut self, hook_for: Option<String>) -> Self {
        self.inner.hook_for = hook_for;
        self
    }

    /// The task's name in tasks.toml.
    ///
    /// ```
    /// assert_eq!(run_plugin_sdk::Context::new("lint", vec![], "{}").task(), "lint");
    /// ```
    pub fn task(&self) -> &str {
        &self.inner.task
    }

    /// Arguments given after the task name on the command line.
    ///
    /// ```
    /// let ctx = run_plugin_sdk::Context::new("t", vec!["a".into()], "{}");
    /// assert_eq!(ctx.args(), ["a"]);
    /// ```
    pub fn args(&self) -> &[String] {
        &self.inner.args
    }

    /// Whether `--NAME` is among the arguments.
    ///
    /// ```
    /// let ctx = run_plugin_sdk::Context::new("t", vec!["--latest".into()], "{}");
    /// assert!(ctx.flag("latest"));
    /// ```
    pub fn flag(&self, name: &str) -> bool {
        self.inner
            .args
            .iter()
            .any(|a| a.strip_prefix("--") == Some(name))
    }

    /// The value of `--NAME VALUE` or `--NAME=VALUE` (the last one wins).
    ///
    /// ```
    /// let ctx = run_plugin_sdk::Context::new("t", vec!["--name=Ada".into()], "{}");
    /// assert_eq!(ctx.option("name"), Some("Ada"));
    /// ```
    pub fn option(&self, name: &str) -> Option<&str> {
        let mut found = None;
        let mut args = self.inner.args.iter();
        while let Some(arg) = args.next() {
            let Some(rest) = arg.strip_prefix("--").and_then(|a| a.strip_prefix(name)) else {
                continue;
            };
            if rest.is_empty() {
                found = args.next().map(String::as_str);
            } else if let Some(value) = rest.strip_prefix('=') {
                found = Some(value);
            }
        }
        found
    }

    /// How the runner runs the task: for real, or under `run --plan`.
    ///
    /// ```
    /// # let ctx = run_plugin_sdk::Context::new("t", vec![], "{}");
    /// assert_eq!(ctx.mode(), run_plugin_sdk::RunMode::Run);
    /// ```
    pub fn mode(&self) -> RunMode {
        self.inner.mode
    }

    /// True under `run --plan`: report what would happen and change nothing.
    /// The host enforces it (write grants are read-only, the network is
    /// closed, container calls that change something are refused); the
    /// plugin's part is to say what it would do.
    ///
    /// ```
    /// # let ctx = run_plugin_sdk::Context::new("t", vec![], "{}");
    /// if ctx.is_plan() {
    ///     println!("would write out/report.txt");
    /// }
    /// ```
    pub fn is_plan(&self) -> bool {
        self.inner.mode == RunMode::Plan
    }

    /// True when a person can answer [`prompt`](crate::prompt)s.
    ///
    /// ```
    /// # let ctx = run_plugin_sdk::Context::new("t", vec![], "{}");
    /// let careful = !ctx.interactive();
    /// # assert!(careful);
    /// ```
    pub fn interactive(&self) -> bool {
        self.inner.interactive
    }

    /// The task this one runs for as a `before`/`after` hook, if any.
    ///
    /// ```
    /// # let ctx = run_plugin_sdk::Context::new("t", vec![], "{}");
    /// assert_eq!(ctx.hook_for(), None);
    /// ```
    pub fn hook_for(&self) -> Option<&str> {
        self.inner.hook_for.as_deref()
    }

    /// The task's `config` table as the JSON text the runner sent.
    ///
    /// ```
    /// let ctx = run_plugin_sdk::Context::new("t", vec![], r#"{"a":1}"#);
    /// assert_eq!(ctx.config_json(), r#"{"a":1}"#);
    /// ```
    pub fn config_json(&self) -> &str {
        &self.inner.config
    }

    /// The task's `config` table as `T`. A config that does not fit gives an
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) error
    /// naming the offending field.
    ///
    /// ```
    /// #[derive(Debug, serde::Deserialize)]
    /// struct Config { dir: String }
    ///
    /// let ctx = run_plugin_sdk::Context::new("t", vec![], r#"{"dir":"out"}"#);
    /// assert_eq!(ctx.config::<Config>().unwrap().dir, "out");
    ///
    /// let ctx = run_plugin_sdk::Context::new("t", vec![], r#"{"dir":3}"#);
    /// let err = ctx.config::<Config>().unwrap_err();
    /// assert!(err.message().contains("field `dir`: invalid type"), "{err}");
    /// ```
    pub fn config<T: DeserializeOwned>(&self) -> Result<T, Error> {
        config::parse(&self.inner.task, self.config_text())
    }

    /// An error about field `field` of the task's config, worded like the
    /// errors of [`config`](Self::config): for checks serde cannot make.
    ///
    /// ```
    /// let ctx = run_plugin_sdk::Context::new("backup", vec![], "{}");
    /// let err = ctx.invalid_config("keep", "must be at least 1");
    /// assert_eq!(err.message(), "invalid config for task `backup`: field `keep`: must be at least 1");
    /// ```
    pub fn invalid_config(&self, field: &str, why: impl std::fmt::Display) -> Error {
        config::invalid_field(&self.inner.task, field, why)
    }

    /// The task's `config` table as a JSON value.
    ///
    /// ```
    /// let ctx = run_plugin_sdk::Context::new("t", vec![], r#"{"jobs":4}"#);
    /// assert_eq!(ctx.config_value().unwrap()["jobs"], 4);
    /// ```
    pub fn config_value(&self) -> Result<serde_json::Value, Error> {
        self.config()
    }

    /// The config text, with an absent config read as an empty table.
    fn config_text(&self) -> &str {
        if self.inner.config.trim().is_empty() {
            "{}"
        } else {
            &self.inner.config
        }
    }
}

impl From<TaskContext> for Context {
    fn from(inner: TaskContext) -> Self {
        Self { inner }
    }
}

#[cfg(test)]
mod tests {
    use super::Context;

    fn ctx(args: &[&str]) -> Context {
        Context::new("t", args.iter().map(|a| a.to_string()).collect(), "")
    }

    #[test]
    fn options_take_the_next_argument_or_an_equals_value() {
        assert_eq!(ctx(&["--name", "Ada"]).option("name"), Some("Ada"));
        assert_eq!(
            ctx(&["--name=Ada", "--name", "Bo"]).option("name"),
            Some("Bo")
        );
        assert_eq!(ctx(&["--named", "Ada"]).option("name"), None);
        assert_eq!(ctx(&["--name"]).option("name"), None);
    }

    #[test]
    fn flags_match_whole_names() {
        assert!(ctx(&["x", "--all"]).flag("all"));
        assert!(!ctx(&["--allow"]).flag("all"));
    }

    #[test]
    fn an_empty_config_is_an_empty_table() {
        assert_eq!(ctx(&[]).config_value().unwrap(), serde_json::json!({}));
    }
}
