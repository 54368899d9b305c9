//! The built-in `scan` plugin: vulnerability scanning of container images
//! and a runtime-hardening audit of running containers, inside the sandbox.
//!
//! ```toml
//! [tasks.scan]
//! plugin = "scan"
//! config = { advisories = ["advisories"], cache = ".run/scan" }
//! allow = { containers = ["pg-demo"], read = ["advisories"], write = [".run/scan"] }
//! ```
//!
//! The host only hands the plugin the image (`images.export` writes
//! `docker save` into the cache directory) and the containers' inspect
//! documents; the plugin applies the layers, finds the OS and the
//! packages, matches them against the advisories (compiled once into an
//! indexed cache), and writes the reports.

mod advisory;
mod config;
mod cvss;
mod date;
mod feed;
mod finding;
mod hardening;
mod image;
mod matcher;
mod needs;
mod policy;
mod report;
mod scan;
mod severity;
mod version;

use run_plugin_sdk::{Context, Descriptor, Error, Grant, Parameter, Plugin, export_plugin};

struct Scan;

impl Plugin for Scan {
    fn describe() -> Descriptor {
        // The advisory, cache and input directories come from the config
        // and command line: `needs` declares them.
        Descriptor::new(
            "scan",
            env!("CARGO_PKG_VERSION"),
            "Scan container images for vulnerable packages and audit running containers' hardening",
        )
        .parameter(Parameter::positional(
            "image",
            "images to scan (default: the images of the task's containers)",
        ))
        .parameter(Parameter::option(
            "input",
            "a docker-save archive to scan (needs no engine)",
        ))
        .parameter(Parameter::option(
            "rootfs",
            "an unpacked root filesystem to scan (needs no engine)",
        ))
        .parameter(Parameter::option(
            "compose",
            "a Compose file to audit statically for hardening (needs no engine)",
        ))
        .parameter(Parameter::option(
            "severity",
            "show only these severities, e.g. CRITICAL,HIGH",
        ))
        .parameter(Parameter::option(
            "fail-on",
            "exit non-zero when a finding is at or above this severity",
        ))
        .parameter(Parameter::flag(
            "ignore-unfixed",
            "leave out vulnerabilities that have no fix yet",
        ))
        .parameter(Parameter::option(
            "max-age",
            "fail when the advisory data is older than this (7d, 48h, 2w)",
        ))
        .parameter(Parameter::option(
            "max-age-action",
            "fail (default) or warn when the data is older than --max-age",
        ))
        .parameter(Parameter::flag(
            "update",
            "fetch the advisory sources now, even when they are current",
        ))
        .parameter(Parameter::flag(
            "offline",
            "never fetch: use the data already in the cache (fails closed without it)",
        ))
        .parameter(Parameter::option(
            "mirror-dir",
            "read the advisory sources from this directory instead of fetching them",
        ))
        .parameter(Parameter::option(
            "ignore-file",
            "a TOML file of accepted findings, with reasons and expiry dates",
        ))
        .parameter(Parameter::option(
            "format",
            "table (default), json, sarif or cyclonedx",
        ))
        .parameter(Parameter::option(
            "output",
            "also write the full report to this file (format from its name)",
        ))
        .parameter(Parameter::option(
            "advisories",
            "advisory files or directories, comma-separated (overrides config)",
        ))
        .parameter(Parameter::flag(
            "audit",
            "audit the running containers' hardening even with explicit targets",
        ))
        .parameter(Parameter::flag("no-audit", "skip the hardening audit"))
        .parameter(Parameter::option(
            "color",
            "auto (default), always or never",
        ))
    }

    fn needs(ctx: &Context) -> Result<Vec<Grant>, Error> {
        needs::of(&config::Config::from_context(ctx)?)
    }

    fn run(ctx: Context) -> Result<(), Error> {
        let config = config::Config::from_context(&ctx)?;
        scan::run(&ctx, &config)
    }
}

export_plugin!(Scan);

/// The CycloneDX schema check the integration tests use too.
#[cfg(test)]
#[path = "../../../tests/support/cyclonedx.rs"]
mod cyclonedx_schema;

/// The shared test data: `../shared/data` from the workspace root (the
/// nearest ancestor that has it, so nested worktrees find it too).
#[cfg(test)]
fn shared_data(relative: &str) -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.ancestors()
        .map(|dir| dir.join("../shared/data"))
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| panic!("no ../shared/data above {}", root.display()))
        .join(relative)
}
