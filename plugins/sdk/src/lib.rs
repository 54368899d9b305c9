//! The guest side of `run`: write a task plugin as a plain Rust type.
//!
//! A plugin is a `wasm32-wasip2` component. It implements [`Plugin`] and
//! exports it with [`export_plugin!`]; the SDK turns the WIT interfaces of the
//! runner into ordinary Rust: a [`Context`] for the task, [`Error`] for
//! failures, and the [`log`], [`prompt`] and [`container`] modules for host
//! services. Files, network and environment go through `std` (WASI), limited
//! to the task's grants.
//!
//! ```no_run
//! use run_plugin_sdk::{Capability, Context, Descriptor, Error, Plugin};
//!
//! struct Greet;
//!
//! impl Plugin for Greet {
//!     fn describe() -> Descriptor {
//!         Descriptor::new("greet", "0.1.0", "Says hello")
//!             .capability(Capability::Write("out".into()))
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
pub mod container;
mod context;
mod descriptor;
mod error;
pub mod lock;
pub mod log;
pub mod names;
pub mod netns;
pub mod prompt;
pub mod stack;
pub mod time;

pub use context::Context;
pub use descriptor::{Capability, Descriptor, Parameter, ParameterKind};
pub use error::{Access, Error, ErrorKind};
/// Re-exported so plugins can name [`serde_json::Value`] (see
/// [`Context::config_value`]) without depending on it themselves.
///
/// ```
/// let value: run_plugin_sdk::serde_json::Value = run_plugin_sdk::serde_json::json!({});
/// assert!(value.is_object());
/// ```
pub use serde_json;

/// A task plugin: what it is and what it does.
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
    /// Name, version, parameters and wanted capabilities. The runner may call
    /// this often (`--list`, `--help`, completions), so it must have no side
    /// effects.
    ///
    /// ```
    /// # use run_plugin_sdk::Descriptor;
    /// fn describe() -> Descriptor {
    ///     Descriptor::new("noop", "0.1.0", "Does nothing")
    /// }
    /// # assert_eq!(describe().name, "noop");
    /// ```
    fn describe() -> Descriptor;

    /// Does the task described by `ctx`.
    ///
    /// ```
    /// # use run_plugin_sdk::{Context, Error};
    /// fn run(ctx: Context) -> Result<(), Error> {
    ///     if ctx.dry_run() {
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
                fn describe() -> $crate::__private::WitDescriptor {
                    $crate::__private::describe::<$plugin>()
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
    pub use bindings::runner::plugin::types::{
        Descriptor as WitDescriptor, PluginError, TaskContext,
    };

    use crate::{Context, Plugin};

    /// Generated from the runner's WIT. `pub_export_macro` makes the export
    /// macro usable from the plugin crate, which is where the component's
    /// type section must be emitted.
    #[allow(missing_docs)]
    pub mod bindings {
        wit_bindgen::generate!({
            path: "../../wit",
            world: "plugin",
            pub_export_macro: true,
        });
    }

    /// The `describe` export.
    pub fn describe<P: Plugin>() -> WitDescriptor {
        P::describe().into()
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
