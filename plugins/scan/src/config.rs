//! The task's `config` table and the command line, merged: flags override
//! the table.

use run_plugin_sdk::{Context, Error};
use serde::Deserialize;

use crate::date::parse_age;
use crate::feed::Mirrors;
use crate::policy::Policy;
use crate::report::Format;
use crate::severity::{Severity, parse_list};

/// One string or a list of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Raw {
    advisories: Option<OneOrMany>,
    cache: Option<String>,
    images: Option<Vec<String>>,
    compose: Option<OneOrMany>,
    #[serde(default = "all")]
    containers: String,
    format: Option<String>,
    output: Option<String>,
    severity: Option<OneOrMany>,
    fail_on: Option<String>,
    #[serde(default = "gate")]
    exit_code: u8,
    max_age: Option<String>,
    #[serde(default)]
    ignore_unfixed: bool,
    ignore_file: Option<String>,
    #[serde(default = "yes")]
    hardening: bool,
    #[serde(default = "auto")]
    color: String,
    /// Fetch the published advisory sources (default: when no
    /// `advisories` are given).
    fetch: Option<bool>,
    #[serde(default)]
    offline: bool,
    /// How long fetched data counts as current before it is checked again.
    refresh: Option<String>,
    mirrors: Option<RawMirrors>,
    mirror_dir: Option<String>,
    max_age_action: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawMirrors {
    osv: Option<String>,
    debian_tracker: Option<String>,
    alpine_secdb: Option<String>,
}

fn all() -> String {
    "*".into()
}
fn gate() -> u8 {
    GATE_EXIT
}

/// The default exit code of a failed `--fail-on` gate: not 1, which `run`
/// uses for a scan that broke (a denied grant, a bad archive), nor 2
/// (usage), nor the fail-closed code.
pub const GATE_EXIT: u8 = 3;
fn yes() -> bool {
    true
}
fn auto() -> String {
    "auto".into()
}

/// What to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An image used by a granted container, exported by the host.
    Image(String),
    /// A docker-save archive in a granted directory.
    Archive(String),
    /// An unpacked root filesystem in a granted directory.
    Rootfs(String),
    /// A Compose file, audited statically for hardening.
    Compose(String),
}

#[derive(Debug, Clone)]
pub struct Config {
    pub advisories: Vec<String>,
    pub cache: Option<String>,
    /// Explicit targets (command line, else config); none at all: the
    /// stack's images.
    pub targets: Vec<Target>,
    /// The `container.list` filter naming the stack's containers.
    pub containers: String,
    pub format: Format,
    pub output: Option<(String, Format)>,
    pub policy: Policy,
    pub exit_code: u8,
    /// Advisory data older than this (seconds) fails the scan, or warns
    /// with `max-age-action = "warn"`.
    pub max_age: Option<u64>,
    pub max_age_fails: bool,
    /// Fetch the published sources (or read them from `mirror_dir`).
    pub fetch: bool,
    pub offline: bool,
    /// `--update`: fetch every needed source now.
    pub update: bool,
    /// Seconds after which a fetched source is checked again.
    pub refresh: u64,
    pub mirrors: Mirrors,
    pub mirror_dir: Option<String>,
    pub ignore_file: Option<String>,
    /// Audit the running containers.
    pub hardening: bool,
    pub color: String,
}

/// Options that take a value (so their values are not read as images).
const VALUED: [&str; 13] = [
    "max-age",
    "max-age-action",
    "mirror-dir",
    "compose",
    "input",
    "rootfs",
    "format",
    "output",
    "severity",
    "fail-on",
    "ignore-file",
    "color",
    "advisories",
];

impl Config {
    pub fn from_context(ctx: &Context) -> Result<Config, Error> {
        let raw: Raw = ctx.config()?;
        let task = ctx.task();
        let invalid = |field: &str, why: &str| ctx.invalid_config(field, why);
        let bad_arg = |flag: &str, why: String| {
            Error::invalid_input(format!("task `{task}`: --{flag}: {why}"))
        };

        let mut advisories = raw.advisories.map(OneOrMany::into_vec).unwrap_or_default();
        if let Some(a) = ctx.option("advisories") {
            advisories = a.split(',').map(str::to_owned).collect();
        }
        let format = match ctx.option("format") {
            Some(f) => Format::parse(f).map_err(|e| bad_arg("format", e))?,
            None => match raw.format.as_deref() {
                Some(f) => Format::parse(f).map_err(|e| invalid("format", &e))?,
                None => Format::Table,
            },
        };
        let output = match ctx.option("output").map(str::to_owned).or(raw.output) {
            None => None,
            Some(path) => {
                let f = Format::from_file_name(&path).unwrap_or(if format == Format::Table {
                    Format::Json
                } else {
                    format
                });
                Some((path, f))
            }
        };
        let severities = match ctx.option("severity") {
            Some(s) => parse_list(s).map_err(|e| bad_arg("severity", e))?,
            None => match raw.severity {
                Some(s) => {
                    parse_list(&s.into_vec().join(",")).map_err(|e| invalid("severity", &e))?
                }
                None => Vec::new(),
            },
        };
        let fail_on: Option<Severity> = match ctx.option("fail-on") {
            Some(s) => Some(s.parse().map_err(|e| bad_arg("fail-on", e))?),
            None => match raw.fail_on {
                Some(s) => Some(s.parse().map_err(|e: String| invalid("fail-on", &e))?),
                None => None,
            },
        };
        if raw.exit_code == 0 {
            return Err(invalid(
                "exit-code",
                "must be 1–255: 0 would hide the failure",
            ));
        }
        if raw.exit_code == crate::scan::NO_DATA_EXIT {
            return Err(invalid(
                "exit-code",
                "4 means \"no usable advisory data\": pick another code for the gate",
            ));
        }
        let max_age = match ctx.option("max-age") {
            Some(a) => Some(parse_age(a).map_err(|e| bad_arg("max-age", e))?),
            None => match raw.max_age.as_deref() {
                Some(a) => Some(parse_age(a).map_err(|e| invalid("max-age", &e))?),
                None => None,
            },
        };
        let max_age_fails = match ctx
            .option("max-age-action")
            .map(|a| (a, true))
            .or(raw.max_age_action.as_deref().map(|a| (a, false)))
        {
            None | Some(("fail", _)) => true,
            Some(("warn", _)) => false,
            Some((_, true)) => {
                return Err(bad_arg("max-age-action", "use fail or warn".into()));
            }
            Some((_, false)) => return Err(invalid("max-age-action", "use fail or warn")),
        };
        let refresh = match raw.refresh.as_deref() {
            Some(a) => parse_age(a).map_err(|e| invalid("refresh", &e))?,
            None => 86_400,
        };
        let mut mirrors = Mirrors::default();
        if let Some(m) = raw.mirrors {
            for (field, value, slot, base) in [
                ("osv", m.osv, &mut mirrors.osv, true),
                (
                    "debian-tracker",
                    m.debian_tracker,
                    &mut mirrors.debian_tracker,
                    false,
                ),
                (
                    "alpine-secdb",
                    m.alpine_secdb,
                    &mut mirrors.alpine_secdb,
                    true,
                ),
            ] {
                let Some(mut url) = value else { continue };
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(invalid(
                        &format!("mirrors.{field}"),
                        &format!("`{url}` is not an http:// or https:// URL"),
                    ));
                }
                if base && !url.ends_with('/') {
                    url.push('/');
                }
                *slot = url;
            }
        }
        let mirror_dir = ctx
            .option("mirror-dir")
            .map(str::to_owned)
            .or(raw.mirror_dir)
            .map(|d| d.trim_end_matches('/').to_owned());
        let offline = raw.offline || ctx.flag("offline");
        let update = ctx.flag("update");
        if offline && update {
            return Err(Error::invalid_input(format!(
                "task `{task}`: --update and --offline contradict each other: --update fetches, --offline never does"
            )));
        }
        let mut targets = Vec::new();
        let mut args = ctx.args().iter();
        while let Some(arg) = args.next() {
            if let Some(flag) = arg.strip_prefix("--") {
                let (name, inline) = match flag.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_owned())),
                    None => (flag, None),
                };
                if VALUED.contains(&name) {
                    let value = inline.or_else(|| args.next().cloned());
                    match (name, value) {
                        ("input", Some(v)) => targets.push(Target::Archive(v)),
                        ("rootfs", Some(v)) => targets.push(Target::Rootfs(v)),
                        ("compose", Some(v)) => targets.push(Target::Compose(v)),
                        (_, None) => return Err(bad_arg(name, "needs a value".into())),
                        _ => {}
                    }
                }
            } else {
                targets.push(Target::Image(arg.clone()));
            }
        }
        if targets.is_empty() {
            targets.extend(raw.images.into_iter().flatten().map(Target::Image));
            targets.extend(
                raw.compose
                    .map(OneOrMany::into_vec)
                    .unwrap_or_default()
                    .into_iter()
                    .map(Target::Compose),
            );
        }
        // A Compose audit alone matches no packages: nothing to fetch.
        let matches_packages =
            targets.is_empty() || targets.iter().any(|t| !matches!(t, Target::Compose(_)));
        let fetch = raw
            .fetch
            .unwrap_or(advisories.is_empty() && matches_packages)
            || mirror_dir.is_some();
        // Archives, root filesystems and Compose files are what the task is
        // about: the stack's containers are audited only with --audit.
        let explicit = targets.iter().any(|t| !matches!(t, Target::Image(_)));
        let hardening = if ctx.flag("no-audit") {
            false
        } else {
            ctx.flag("audit") || (raw.hardening && !explicit)
        };
        let color = ctx.option("color").map(str::to_owned).unwrap_or(raw.color);
        if !matches!(color.as_str(), "auto" | "always" | "never") {
            return Err(invalid("color", "use auto, always or never"));
        }
        Ok(Config {
            advisories,
            cache: raw.cache.map(|c| c.trim_end_matches('/').to_owned()),
            targets,
            containers: raw.containers,
            format,
            output,
            policy: Policy {
                severities,
                ignore_unfixed: raw.ignore_unfixed || ctx.flag("ignore-unfixed"),
                fail_on,
            },
            exit_code: raw.exit_code,
            max_age,
            max_age_fails,
            fetch,
            offline,
            update,
            refresh,
            mirrors,
            mirror_dir,
            ignore_file: ctx
                .option("ignore-file")
                .map(str::to_owned)
                .or(raw.ignore_file),
            hardening,
            color,
        })
    }
}

#[cfg(test)]
mod tests {
    use run_plugin_sdk::Context;

    use super::*;

    fn config(args: &[&str], json: &str) -> Result<Config, Error> {
        Config::from_context(&Context::new(
            "scan",
            args.iter().map(|a| a.to_string()).collect(),
            json,
        ))
    }

    #[test]
    fn flags_override_the_table() {
        let c = config(
            &[
                "app:1",
                "--severity",
                "CRITICAL,HIGH",
                "--fail-on=critical",
                "--input",
                "x.tar",
                "--output",
                "r.sarif",
            ],
            r#"{"advisories": "adv", "severity": ["LOW"], "format": "json"}"#,
        )
        .unwrap();
        assert_eq!(c.advisories, ["adv"]);
        assert_eq!(
            c.targets,
            [
                Target::Image("app:1".into()),
                Target::Archive("x.tar".into())
            ]
        );
        assert_eq!(c.policy.severities, [Severity::Critical, Severity::High]);
        assert_eq!(c.policy.fail_on, Some(Severity::Critical));
        assert_eq!(c.output, Some(("r.sarif".into(), Format::Sarif)));
        assert_eq!(c.format, Format::Json);
        assert!(
            !c.hardening,
            "explicit archives are not audited unless --audit"
        );
        let c = config(&[], "{}").unwrap();
        assert!(c.hardening && c.targets.is_empty());
        // A Compose file is a target like an archive: no stack, no audit of
        // the containers unless asked.
        let c = config(&["--compose", "deploy/compose.yaml"], "{}").unwrap();
        assert_eq!(c.targets, [Target::Compose("deploy/compose.yaml".into())]);
        assert!(!c.hardening);
        let c = config(&[], r#"{"compose": ["a.yaml", "b.yaml"]}"#).unwrap();
        assert_eq!(c.targets.len(), 2);
        assert!(
            config(&["--compose", "a.yaml", "--audit"], "{}")
                .unwrap()
                .hardening
        );
    }

    #[test]
    fn bad_values_are_named() {
        let e = config(&["--fail-on", "SEVERE"], "{}").unwrap_err();
        assert!(
            e.message().contains("--fail-on: unknown severity `SEVERE`"),
            "{e}"
        );
        let e = config(&[], r#"{"severity": "bad"}"#).unwrap_err();
        assert!(e.message().contains("field `severity`"), "{e}");
        let e = config(&[], r#"{"exit-code": 0}"#).unwrap_err();
        assert!(e.message().contains("field `exit-code`"), "{e}");
        let e = config(&[], r#"{"exit-code": 4}"#).unwrap_err();
        assert!(e.message().contains("no usable advisory data"), "{e}");
        let e = config(&["--max-age", "soon"], "{}").unwrap_err();
        assert!(e.message().contains("--max-age: `soon`"), "{e}");
        let c = config(&["--max-age=2w"], r#"{"max-age": "1d"}"#).unwrap();
        assert_eq!((c.max_age, c.exit_code), (Some(14 * 86_400), GATE_EXIT));
        assert!(c.max_age_fails);
        let c = config(&["--max-age-action", "warn"], r#"{"max-age": "36h"}"#).unwrap();
        assert_eq!((c.max_age, c.max_age_fails), (Some(36 * 3600), false));
        let e = config(&["--max-age-action", "maybe"], "{}").unwrap_err();
        assert!(
            e.message().contains("--max-age-action: use fail or warn"),
            "{e}"
        );
        let e = config(&["--update", "--offline"], "{}").unwrap_err();
        assert!(e.message().contains("contradict"), "{e}");
        let e = config(&[], r#"{"mirrors": {"osv": "ftp://x/"}}"#).unwrap_err();
        assert!(e.message().contains("field `mirrors.osv`"), "{e}");
        assert!(config(&[], "{}").unwrap().fetch);
        assert!(!config(&["--compose", "c.yaml"], "{}").unwrap().fetch);
        assert!(!config(&[], r#"{"advisories": "a"}"#).unwrap().fetch);
        let e = config(&[], r#"{"mirrors": {"nvd": "https://x/"}}"#).unwrap_err();
        assert!(e.message().contains("nvd"), "{e}");
        let e = config(&["--input"], "{}").unwrap_err();
        assert!(e.message().contains("--input: needs a value"), "{e}");
        let e = config(&[], r#"{"advisory": "x"}"#).unwrap_err();
        assert!(e.message().contains("advisory"), "{e}");
    }
}
