//! The guest side of `run`: write a task plugin as a plain Rust type.
//!
//! A plugin is a `wasm32-wasip2` component. It implements [`Plugin`] and
//! exports it with [`export_plugin!`]; the SDK turns the runner's WIT
//! interfaces (`runner:plugin@0.3.0`) into ordinary Rust: a [`Context`] for the
//! task, [`Error`] for failures, [`Grant`]s for what a task needs, and one
//! module per host interface ([`log`], [`prompt`], [`cancel`], [`lock`],
//! [`containers`], [`volumes`], [`images`], [`network_faults`], [`stacks`]),
//! and [`http`] for downloads through the host (`allow.http`); [`postgres`]
//! finds the primary of a set of PostgreSQL containers through [`containers`].
//! Files, network and environment go through `std` (WASI), limited to the
//! task's grants; [`file::NewFile`] is a file the host writes and hashes
//! (the `files` interface).
//!
//! Where a WIT record is already the right Rust type (an exec request, a
//! container's details, a container spec), the SDK re-exports the generated
//! type and adds constructors and helpers to it.
//!
//! ```no_run
//! use run_plugin_sdk::{Context, Descriptor, Error, Grant, Plugin};
//!
//! struct Greet;
//!
//! impl Plugin for Greet {
//!     fn describe() -> Descriptor {
//!         Descriptor::new("greet", "0.1.0", "Says hello").need(Grant::write("out"))
//!     }
//!
//!     fn run(ctx: Context) -> Result<(), Error> {
//!         println!("hello from {}", ctx.task());
//!         Ok(())
//!     }
//! }
//!
//! run_plugin_sdk::export_plugin!(Greet);
//! # fn main() {}
//! ```
#![deny(missing_docs)]

pub mod cancel;
mod config;
pub mod containers;
mod context;
mod descriptor;
mod engine;
mod error;
pub mod file;
mod grant;
pub mod http;
pub mod images;
pub mod lock;
pub mod log;
pub mod names;
pub mod network_faults;
pub mod postgres;
pub mod prompt;
pub mod stacks;
pub mod time;
pub mod volumes;

pub use context::{Context, RunMode};
pub use descriptor::{Descriptor, Parameter, ParameterKind};
pub use error::{Access, Error, ErrorKind};
pub use grant::{Grant, GrantKind};
/// Re-exported so plugins can name [`serde_json::Value`] (see
/// [`Context::config_value`]) without depending on it themselves.
///
/// ```
/// let value: run_plugin_sdk::serde_json::Value = run_plugin_sdk::serde_json::json!({});
/// assert!(value.is_object());
/// ```
pub use serde_json;

/// A task plugin: what it is, what a task of it needs, and what it does.
///
/// ```no_run
/// use run_plugin_sdk::{Context, Descriptor, Error, Plugin};
///
/// struct Noop;
///
/// impl Plugin for Noop {
///     fn describe() -> Descriptor {
///         Descriptor::new("noop", "0.1.0", "Does nothing")
///     }
///
///     fn run(_ctx: Context) -> Result<(), Error> {
///         Ok(())
///     }
/// }
///
/// run_plugin_sdk::export_plugin!(Noop);
/// # fn main() {}
/// ```
pub trait Plugin {
    /// Name, version, parameters and the grants every task of the plugin
    /// needs. The runner may call this often (`--list`, `--help`,
    /// completions) and caches it by the plugin's digest, so it must have no
    /// side effects and depend on nothing.
    ///
    /// ```
    /// # use run_plugin_sdk::Descriptor;
    /// fn describe() -> Descriptor {
    ///     Descriptor::new("noop", "0.1.0", "Does nothing")
    /// }
    /// # assert_eq!(describe().name, "noop");
    /// ```
    fn describe() -> Descriptor;

    /// The grants one task needs beyond [`describe`](Self::describe)'s,
    /// from its config and arguments alone: the container its config names,
    /// the directory it writes to. The runner checks them against the task's
    /// `allow` table before [`run`](Self::run), and shows them under
    /// `run --dry-run`.
    ///
    /// It runs in an empty sandbox: no files, no network, no containers, no
    /// side effects. Declare what the config says for certain; what only the
    /// run can find out is still checked by the host on every call. The
    /// default needs nothing more.
    ///
    /// ```
    /// use run_plugin_sdk::{Context, Error, Grant};
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Config { container: String }
    ///
    /// fn needs(ctx: &Context) -> Result<Vec<Grant>, Error> {
    ///     let config: Config = ctx.config()?;
    ///     Ok(vec![Grant::containers(config.container)])
    /// }
    /// let ctx = Context::new("backup", vec![], r#"{"container": "db"}"#);
    /// assert_eq!(needs(&ctx).unwrap(), [Grant::containers("db")]);
    /// ```
    fn needs(ctx: &Context) -> Result<Vec<Grant>, Error> {
        let _ = ctx;
        Ok(Vec::new())
    }

    /// Does the task described by `ctx`.
    ///
    /// ```
    /// # use run_plugin_sdk::{Context, Error};
    /// fn run(ctx: Context) -> Result<(), Error> {
    ///     if ctx.is_plan() {
    ///         println!("would do nothing");
    ///     }
    ///     Ok(())
    /// }
    /// # run(Context::new("t", Vec::new(), "{}")).unwrap();
    /// ```
    fn run(ctx: Context) -> Result<(), Error>;
}

/// Exports a [`Plugin`] implementation as the component's `handler`.
///
/// Use it once per plugin crate (a `cdylib` built for `wasm32-wasip2`).
///
/// ```no_run
/// use run_plugin_sdk::{Context, Descriptor, Error, Plugin};
///
/// struct Noop;
///
/// impl Plugin for Noop {
///     fn describe() -> Descriptor {
///         Descriptor::new("noop", "0.1.0", "Does nothing")
///     }
///     fn run(_ctx: Context) -> Result<(), Error> {
///         Ok(())
///     }
/// }
///
/// run_plugin_sdk::export_plugin!(Noop);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        // wit-bindgen's export macro only accepts an identifier, so a local
        // shim type implements the generated trait by delegating to the plugin.
        const _: () = {
            struct __RunPluginSdkExport;

            impl $crate::__private::Guest for __RunPluginSdkExport {
                fn describe() -> $crate::Descriptor {
                    <$plugin as $crate::Plugin>::describe()
                }

                fn needs(
                    context: $crate::__private::TaskContext,
                ) -> ::core::result::Result<
                    ::std::vec::Vec<$crate::Grant>,
                    $crate::__private::PluginError,
                > {
                    $crate::__private::needs::<$plugin>(context)
                }

                fn run(
                    context: $crate::__private::TaskContext,
                ) -> ::core::result::Result<(), $crate::__private::PluginError> {
                    $crate::__private::run::<$plugin>(context)
                }
            }

            $crate::__private::bindings::export!(
                __RunPluginSdkExport with_types_in $crate::__private::bindings
            );
        };
    };
}

/// Support for [`export_plugin!`]; not part of the public API.
#[doc(hidden)]
pub mod __private {
    use std::io::Write as _;

    pub use bindings::exports::runner::plugin::handler::Guest;
    pub use bindings::runner::plugin::types::{PluginError, TaskContext};

    use crate::{Context, Grant, Plugin};

    /// Generated from the runner's WIT. `pub_export_macro` makes the export
    /// macro usable from the plugin crate, which is where the component's
    /// type section must be emitted. Records and variants also get
    /// `PartialEq`/`Eq` (they already have `Clone` and `Debug`), so the SDK
    /// re-exports them as its own types instead of copying them field by
    /// field; `Default` goes where every field has an obvious one.
    #[allow(missing_docs)]
    pub mod bindings {
        wit_bindgen::generate!({
            path: "../../wit",
            world: "plugin",
            pub_export_macro: true,
            additional_derives: [PartialEq, Eq],
            additional_type_attributes: {
                "runner:plugin/engine-types@0.3.0/compression": [#[derive(Default)]],
                "runner:plugin/containers@0.3.0/exec-request": [#[derive(Default)]],
                "runner:plugin/stacks@0.3.0/namespace-mode": [#[derive(Default)]],
                "runner:plugin/stacks@0.3.0/restart-policy": [#[derive(Default)]],
                "runner:plugin/stacks@0.3.0/health-spec": [#[derive(Default)]],
                "runner:plugin/stacks@0.3.0/resources": [#[derive(Default)]],
                "runner:plugin/images@0.3.0/build-request": [#[derive(Default)]],
            },
            additional_member_attributes: {
                "runner:plugin/engine-types@0.3.0/compression.none": [#[default]],
                "runner:plugin/stacks@0.3.0/namespace-mode.private": [#[default]],
                "runner:plugin/stacks@0.3.0/restart-policy.no": [#[default]],
            },
        });
    }

    /// The `needs` export.
    pub fn needs<P: Plugin>(context: TaskContext) -> Result<Vec<Grant>, PluginError> {
        P::needs(&Context::from(context)).map_err(PluginError::from)
    }

    /// The `run` export.
    pub fn run<P: Plugin>(context: TaskContext) -> Result<(), PluginError> {
        let result = P::run(Context::from(context));
        // A component has no process exit to flush std's line-buffered stdout,
        // so output without a trailing newline would otherwise be lost.
        let _ = std::io::stdout().flush();
        result.map_err(PluginError::from)
    }
}
