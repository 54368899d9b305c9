//! The task's `config` table: which Compose file, the project name, the mode,
//! and the limits the prerequisites and waits use.

use run_plugin_sdk::{Context, Error};
use serde::Deserialize;

/// What a run does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Check prerequisites, pull missing images, create and start, wait, print the table.
    #[default]
    Up,
    /// Print the table.
    Status,
    /// Stop and remove the stack (volumes only with `--volumes`, after a confirmation).
    Down,
}

impl Mode {
    fn parse(word: &str) -> Option<Mode> {
        match word {
            "up" => Some(Mode::Up),
            "status" | "ps" => Some(Mode::Status),
            "down" => Some(Mode::Down),
            _ => None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default = "default_file")]
    file: String,
    project: Option<String>,
    #[serde(default)]
    mode: Mode,
    #[serde(default = "default_timeout")]
    timeout: u64,
    #[serde(default = "default_pull_timeout")]
    pull_timeout: u32,
    #[serde(default = "default_build_timeout")]
    build_timeout: u32,
    #[serde(default = "default_min_free_mb")]
    min_free_mb: u64,
    #[serde(default = "default_min_engine")]
    min_engine_version: String,
    #[serde(default)]
    required_env: Vec<String>,
    #[serde(default)]
    allow_unsupported: bool,
    #[serde(default = "default_log_lines")]
    log_lines: u32,
    #[serde(default)]
    profiles: Vec<String>,
}

fn default_file() -> String {
    "compose.yaml".into()
}
fn default_timeout() -> u64 {
    120
}
fn default_pull_timeout() -> u32 {
    600
}
fn default_build_timeout() -> u32 {
    1800
}
fn default_min_free_mb() -> u64 {
    1024
}
fn default_min_engine() -> String {
    "20.10".into()
}
fn default_log_lines() -> u32 {
    20
}

/// The validated config.
#[derive(Debug, Clone)]
pub struct Config {
    /// The Compose file, relative to the project (read through `allow.read`).
    pub file: String,
    /// Overrides `COMPOSE_PROJECT_NAME`, the file's `name` and the directory's name.
    pub project: Option<String>,
    pub mode: Mode,
    /// `down --volumes`.
    pub remove_volumes: bool,
    /// Per-service readiness limit, unless the service sets `x-run.timeout`.
    pub timeout_ms: u64,
    pub pull_timeout: u32,
    /// Seconds one image build may take.
    pub build_timeout: u32,
    /// `up --build`: build every `build:` image, changed or not.
    pub build_always: bool,
    pub min_free_bytes: u64,
    /// The oldest engine version accepted (`major.minor`).
    pub min_engine_version: (u64, u64),
    /// Variables that must be set, besides those the file uses without default.
    pub required_env: Vec<String>,
    /// Warn about unsupported Compose keys instead of refusing the file.
    pub allow_unsupported: bool,
    /// Log lines shown when a service fails.
    pub log_lines: u32,
    /// Compose profiles to enable (besides `COMPOSE_PROFILES`).
    pub profiles: Vec<String>,
}

impl Config {
    pub fn from_context(ctx: &Context) -> Result<Config, Error> {
        let raw: Raw = ctx.config()?;
        let task = ctx.task();
        let invalid = |field: &str, why: &str| ctx.invalid_config(field, why);
        if raw.file.trim().is_empty() || raw.file.starts_with('/') {
            return Err(invalid(
                "file",
                "must be a Compose file inside the project (granted by allow.read)",
            ));
        }
        if let Some(project) = &raw.project {
            check_project(project).map_err(|why| invalid("project", &why))?;
        }
        if raw.timeout == 0 {
            return Err(invalid("timeout", "must be at least 1 (seconds)"));
        }
        let min_engine_version = parse_version(&raw.min_engine_version)
            .ok_or_else(|| invalid("min_engine_version", "write `major.minor`, e.g. `20.10`"))?;
        let mut mode = raw.mode;
        for arg in ctx.args().iter().filter(|a| !a.starts_with('-')) {
            mode = Mode::parse(arg).ok_or_else(|| {
                Error::invalid_input(format!(
                    "unknown mode `{arg}` for task `{task}`: use up, status or down"
                ))
            })?;
        }
        let remove_volumes = ctx.flag("volumes");
        if remove_volumes && mode != Mode::Down {
            return Err(Error::invalid_input(format!(
                "--volumes removes the stack's volumes with `down`; task `{task}` is not in down mode"
            )));
        }
        let build_always = ctx.flag("build");
        if build_always && mode != Mode::Up {
            return Err(Error::invalid_input(format!(
                "--build builds the stack's images with `up`; task `{task}` is not in up mode"
            )));
        }
        Ok(Config {
            file: raw.file.trim_start_matches("./").to_owned(),
            project: raw.project,
            mode,
            remove_volumes,
            timeout_ms: raw.timeout.saturating_mul(1000),
            pull_timeout: raw.pull_timeout,
            build_timeout: raw.build_timeout.max(1),
            build_always,
            min_free_bytes: raw.min_free_mb.saturating_mul(1 << 20),
            min_engine_version,
            required_env: raw.required_env,
            allow_unsupported: raw.allow_unsupported,
            log_lines: raw.log_lines,
            profiles: raw.profiles,
        })
    }

    /// A path in the Compose file, relative to the file's directory, as the
    /// plugin (and the host's grants) name it: relative to the project.
    pub fn relative_to_file(&self, path: &str) -> String {
        // A host path (or a home directory) is named as written: the host
        // refuses it unless a grant covers it, naming the grant to add.
        if path.starts_with(['/', '~']) {
            return path.to_owned();
        }
        let dir = match self.file.rsplit_once('/') {
            Some((dir, _)) => dir,
            None => "",
        };
        let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
        for part in path.split('/') {
            match part {
                "" | "." => {}
                // Above the project, `..` stays: the host refuses such a path.
                ".." if parts.last().is_none_or(|p| *p == "..") => parts.push(".."),
                ".." => {
                    parts.pop();
                }
                p => parts.push(p),
            }
        }
        if parts.is_empty() {
            ".".into()
        } else {
            parts.join("/")
        }
    }
}

/// The project name Compose derives from a directory's name: lowercased,
/// with everything but `a-z`, `0-9`, `-` and `_` dropped, starting with a
/// letter or digit; `None` when nothing is left.
pub fn project_from_dir(dir: &str) -> Option<String> {
    let name: String = dir
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_'))
        .collect();
    let name = name.trim_start_matches(['-', '_']).to_owned();
    (!name.is_empty()).then_some(name)
}

/// Project names become parts of container, network and volume names.
pub fn check_project(project: &str) -> Result<(), String> {
    let ok = !project.is_empty()
        && project
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_'))
        && project
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{project}` must use lowercase letters, digits, `-` and `_`, starting with a letter or digit"
        ))
    }
}

/// `27.3.1` → (27, 3); `20.10.24+dfsg1` → (20, 10).
pub fn parse_version(text: &str) -> Option<(u64, u64)> {
    let mut parts = text.split(['.', '-', '+']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |m| m.parse().ok())?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use run_plugin_sdk::Context;

    use super::*;

    fn config(json: &str, args: &[&str]) -> Result<Config, Error> {
        Config::from_context(&Context::new(
            "qs",
            args.iter().map(|s| s.to_string()).collect(),
            json,
        ))
    }

    #[test]
    fn defaults_and_modes() {
        let c = config("{}", &[]).unwrap();
        assert_eq!(
            (c.file.as_str(), c.mode, c.timeout_ms),
            ("compose.yaml", Mode::Up, 120_000)
        );
        assert_eq!(
            config(r#"{"mode": "status"}"#, &[]).unwrap().mode,
            Mode::Status
        );
        let c = config("{}", &["down", "--volumes"]).unwrap();
        assert!(c.mode == Mode::Down && c.remove_volumes);
        assert!(config("{}", &["--volumes"]).is_err());
        assert!(config("{}", &["sideways"]).is_err());
    }

    #[test]
    fn bad_values_name_the_field() {
        let e = config(r#"{"project": "Demo"}"#, &[]).unwrap_err();
        assert!(e.message().contains("field `project`"), "{e}");
        let e = config(r#"{"file": "/etc/compose.yaml"}"#, &[]).unwrap_err();
        assert!(e.message().contains("field `file`"), "{e}");
        let e = config(r#"{"fil": "x"}"#, &[]).unwrap_err();
        assert!(e.message().contains("fil"), "{e}");
    }

    #[test]
    fn paths_are_relative_to_the_file() {
        let c = config(r#"{"file": "demo/compose.yaml"}"#, &[]).unwrap();
        assert_eq!(c.relative_to_file("./html"), "demo/html");
        assert_eq!(c.relative_to_file("../data"), "data");
        assert_eq!(c.relative_to_file("../../etc"), "../etc");
        assert_eq!(parse_version("20.10.24+dfsg1"), Some((20, 10)));
        assert_eq!(parse_version("27"), Some((27, 0)));
        assert_eq!(c.relative_to_file("/var/run/x.sock"), "/var/run/x.sock");
    }

    #[test]
    fn the_project_is_named_after_its_directory_as_compose_does() {
        assert_eq!(project_from_dir("My App.v2").as_deref(), Some("myappv2"));
        assert_eq!(
            project_from_dir("_build-test").as_deref(),
            Some("build-test")
        );
        assert_eq!(project_from_dir("..."), None);
    }
}
