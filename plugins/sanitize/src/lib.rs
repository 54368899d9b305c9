//! The built-in `sanitize` plugin: PII masking and foreign-key-closed
//! down-sampling of a PostgreSQL dump, and seeding a dev database from the
//! result.
//!
//! ```toml
//! [tasks.sanitize]
//! plugin = "sanitize"
//! config = { container = "pg-demo", database = "demo", dir = "snapshots", policy = "sanitize/policy.toml" }
//! allow = { containers = ["pg-demo"], write = ["snapshots"], read = ["sanitize"], env = ["SANITIZE_KEY", "SANITIZED"] }
//!
//! [tasks.seed-from-snapshot]
//! plugin = "sanitize"
//! config = { mode = "seed", container = "pg-dev", database = "demo", dir = "snapshots", name = "demo" }
//! allow = { containers = ["pg-dev"], read = ["snapshots"] }
//! ```
//!
//! The work is done by the `sanitize-engine` crate (`engine/`): plain Rust
//! over `BufRead`/`Write`, also built natively for its unit tests and the
//! native benchmark. The plugin around it takes the dump, guards the run and
//! publishes the result with its manifest.

mod config;
mod manifest;
mod seed;
mod snapshot;

use run_plugin_sdk::{Context, Descriptor, Error, Parameter, Plugin, export_plugin};

use sanitize_engine as engine;

use crate::config::{Config, Mode};

struct Sanitize;

impl Plugin for Sanitize {
    fn describe() -> Descriptor {
        // No capabilities are declared: the container, directories and key
        // variable come from the task's config; every call is checked
        // against the task's grants anyway.
        Descriptor::new(
            "sanitize",
            env!("CARGO_PKG_VERSION"),
            "Mask personal data in a PostgreSQL dump, down-sample it, and seed dev databases from it",
        )
        .parameter(Parameter::flag(
            "sanitized",
            "sanitize: confirm the run (instead of SANITIZED=1)",
        ))
    }

    fn run(ctx: Context) -> Result<(), Error> {
        let config = Config::from_context(&ctx)?;
        match config.mode {
            Mode::Sanitize => snapshot::run(&ctx, &config),
            Mode::Seed => seed::run(&ctx, &config),
        }
    }
}

export_plugin!(Sanitize);
