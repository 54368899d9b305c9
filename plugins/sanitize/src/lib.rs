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
//! allow = { containers = ["pg-dev"], read = ["snapshots"], env = ["SANITIZE_KEY"] }
//! ```
//!
//! The work is done by the `sanitize-engine` crate (`engine/`): plain Rust
//! over `BufRead`/`Write`, also built natively for its unit tests and the
//! native benchmark. The plugin around it takes the dump, guards the run and
//! publishes the result with its manifest.

mod config;
mod input;
mod manifest;
mod seed;
mod snapshot;

use run_plugin_sdk::names::dir_of;
use run_plugin_sdk::{Context, Descriptor, Error, Grant, Parameter, Plugin, export_plugin};

use sanitize_engine as engine;

use crate::config::{Config, Mode, PolicySource, Source};

struct Sanitize;

impl Plugin for Sanitize {
    fn describe() -> Descriptor {
        // The container, directories and key variable come from the task's
        // config: `needs` declares them.
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

    /// Sanitizing: the source (the container to dump, or the dump file's
    /// directory), the policy file's directory, the snapshot directory to
    /// write, and the masking key's variable. Seeding: the container to
    /// restore into, the snapshot directory to read, and the masking key's
    /// variable (the manifest's MAC is checked under it). `SANITIZED` is not
    /// declared: `--sanitized` confirms a run as well.
    fn needs(ctx: &Context) -> Result<Vec<Grant>, Error> {
        let config = Config::from_context(ctx)?;
        let mut needs = Vec::new();
        if let Some(Source::Container { .. }) = &config.source {
            needs.extend(config.containers().iter().map(Grant::containers));
        }
        if let Some(Source::File(file)) = &config.source {
            needs.push(Grant::read(dir_of(file)));
        }
        if let Some(PolicySource::File(file)) = &config.policy {
            needs.push(Grant::read(dir_of(file)));
        }
        match &config.target {
            Some(_) => {
                needs.extend(config.containers().iter().map(Grant::containers));
                needs.push(Grant::read(&config.dir));
                needs.push(Grant::env(&config.key_env));
            }
            None => {
                needs.push(Grant::write(&config.dir));
                needs.push(Grant::env(&config.key_env));
            }
        }
        Ok(needs)
    }

    fn run(ctx: Context) -> Result<(), Error> {
        let config = Config::from_context(&ctx)?;
        if let (Some(targets), true) = (&config.targets, ctx.is_plan()) {
            // Which member is the primary is asked with exec, which --plan
            // does not allow: say how it will be chosen.
            println!(
                "would ask {} whether each is in recovery (`SELECT pg_is_in_recovery()`), \
                 refuse unless exactly one is the primary, and {} that one",
                targets
                    .iter()
                    .map(|t| format!("`{t}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                match config.mode {
                    Mode::Sanitize => "dump the database of",
                    Mode::Seed => "seed the database in",
                }
            );
            return Ok(());
        }
        let config = config.resolve()?;
        match config.mode {
            Mode::Sanitize => snapshot::run(&ctx, &config),
            Mode::Seed => seed::run(&ctx, &config),
        }
    }
}

export_plugin!(Sanitize);

#[cfg(test)]
mod tests {
    use run_plugin_sdk::{Context, Grant, Plugin};

    use super::Sanitize;

    fn needs(config: &str) -> Vec<Grant> {
        Sanitize::needs(&Context::new("sanitize", vec![], config)).unwrap()
    }

    #[test]
    fn sanitizing_needs_its_source_policy_directory_and_key() {
        assert_eq!(
            needs(
                r#"{"container": "pg", "database": "demo", "dir": "snapshots", "policy": "examples/sanitize/policy.toml"}"#
            ),
            [
                Grant::containers("pg"),
                Grant::read("examples/sanitize"),
                Grant::write("snapshots"),
                Grant::env("SANITIZE_KEY")
            ]
        );
        assert_eq!(
            needs(
                r#"{"input": "dumps/shop.sql", "dir": "out", "key_env": "K", "policy": {"columns": {}}}"#
            ),
            [Grant::read("dumps"), Grant::write("out"), Grant::env("K")]
        );
    }

    #[test]
    fn seeding_needs_the_container_the_snapshots_and_the_key() {
        assert_eq!(
            needs(
                r#"{"mode": "seed", "container": "dev", "database": "demo", "dir": "snapshots", "name": "demo"}"#
            ),
            [
                Grant::containers("dev"),
                Grant::read("snapshots"),
                Grant::env("SANITIZE_KEY")
            ]
        );
    }
}
