//! The task's `config` table: which container (or which members of a
//! replicated cluster, the primary of them chosen when the task runs), where
//! the backups go, how many to keep, and what to do.

use run_plugin_sdk::{Context, Error, names, postgres};
use serde::Deserialize;

/// What a run does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Dump the databases (`pg_dumpall`, or `pg_dump` per listed database).
    #[default]
    Backup,
    /// Load a dump back into the container.
    Restore,
    /// Copy the container's volumes into archives.
    Snapshot,
    /// Replace the container's volumes with archives.
    RestoreSnapshot,
}

/// One volume name or a list of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Volumes {
    One(String),
    Many(Vec<String>),
}

/// Which member of `targets` to act on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The one that is not in recovery (the Patroni leader).
    #[default]
    Primary,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    container: Option<String>,
    targets: Option<Vec<String>>,
    role: Option<Role>,
    #[serde(default = "default_user")]
    user: String,
    #[serde(default = "default_dir")]
    dir: String,
    #[serde(default = "default_keep")]
    keep: usize,
    name: Option<String>,
    #[serde(default)]
    mode: Mode,
    databases: Option<Vec<String>>,
    volume: Option<Volumes>,
    #[serde(default)]
    stop: bool,
}

fn default_user() -> String {
    "postgres".into()
}

fn default_dir() -> String {
    "backups".into()
}

fn default_keep() -> usize {
    10
}

/// The validated config.
#[derive(Debug, Clone)]
pub struct Config {
    /// The container to back up (must be in `allow.containers`). With
    /// `targets`, empty until [`Config::resolve`] names the primary.
    pub container: String,
    /// The members of a replicated cluster, each granted; the run acts on
    /// the one that is the primary when it starts.
    pub targets: Option<Vec<String>>,
    /// The database role pg_dumpall/psql connect as.
    pub user: String,
    /// The directory backups are written to (a write grant) or read from.
    pub dir: String,
    /// How many unpinned backups of each series to keep.
    pub keep: usize,
    /// The prefix of every file name; defaults to the container's name.
    pub name: String,
    pub mode: Mode,
    /// `pg_dump` these databases one file each instead of `pg_dumpall`.
    pub databases: Option<Vec<String>>,
    /// Snapshot these volumes instead of every volume the container mounts.
    pub volumes: Option<Vec<String>>,
    /// Snapshot modes: stop the container rather than pause it.
    pub stop: bool,
}

impl Config {
    pub fn from_context(ctx: &Context) -> Result<Config, Error> {
        let raw: Raw = ctx.config()?;
        let invalid = |field: &str, why: &str| ctx.invalid_config(field, why);
        let (container, targets) = match (raw.container, raw.targets) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "targets",
                    "give either `container` or `targets` (the cluster's members), not both",
                ));
            }
            (None, None) => {
                return Err(invalid(
                    "container",
                    "missing: name the container (`container = \"pg\"`), or the cluster's members (`targets = [\"pg-1\", \"pg-2\"]`)",
                ));
            }
            (Some(container), None) => {
                if raw.role.is_some() {
                    return Err(invalid(
                        "role",
                        "chooses among `targets`; with one `container` there is nothing to choose",
                    ));
                }
                if container.trim().is_empty() {
                    return Err(invalid("container", "must name a container"));
                }
                (container, None)
            }
            (None, Some(targets)) => {
                if targets.is_empty() || targets.iter().any(|t| t.trim().is_empty()) {
                    return Err(invalid(
                        "targets",
                        "must name at least one container, each non-empty",
                    ));
                }
                (String::new(), Some(targets))
            }
        };
        let name = match (raw.name, &targets) {
            (Some(name), _) => name,
            (None, None) => container.clone(),
            // Every member's backups are one series: after a failover the
            // next backup continues it, and --latest finds the newest.
            (None, Some(targets)) => common_stem(targets).ok_or_else(|| {
                invalid(
                    "name",
                    "is needed with `targets` whose names share no prefix: the backups' file name prefix, the same whichever member leads",
                )
            })?,
        };
        // The name, database and volume names become parts of file names.
        names::file_name_part(&name).map_err(|why| invalid("name", &why))?;
        if raw.keep == 0 {
            // keep = 0 would delete the backup just taken.
            return Err(invalid("keep", "must be at least 1"));
        }
        if raw.user.is_empty() || raw.user.starts_with('-') {
            return Err(invalid("user", "must be a database role name"));
        }
        let dir = names::relative_dir(&raw.dir).ok_or_else(|| {
            invalid(
                "dir",
                "must be a relative directory inside the project, granted in allow.write (or allow.read to restore)",
            )
        })?;
        if let Some(databases) = &raw.databases {
            if databases.is_empty() {
                return Err(invalid(
                    "databases",
                    "must list at least one database (leave it out to dump them all)",
                ));
            }
            for db in databases {
                names::file_name_part(db).map_err(|why| invalid("databases", &why))?;
            }
        }
        let volumes = match raw.volume {
            None => None,
            Some(Volumes::One(v)) => Some(vec![v]),
            Some(Volumes::Many(v)) => Some(v),
        };
        if let Some(volumes) = &volumes {
            if volumes.is_empty() {
                return Err(invalid("volume", "must name at least one volume"));
            }
            for v in volumes {
                names::file_name_part(v).map_err(|why| invalid("volume", &why))?;
            }
        }
        Ok(Config {
            container,
            targets,
            user: raw.user,
            dir,
            keep: raw.keep,
            name,
            mode: raw.mode,
            databases: raw.databases,
            volumes,
            stop: raw.stop,
        })
    }

    /// `DIR/FILE`.
    pub fn path(&self, file: &str) -> String {
        format!("{}/{file}", self.dir)
    }

    /// Every container the task must grant: the one container, or every
    /// member of `targets`.
    pub fn containers(&self) -> Vec<String> {
        match &self.targets {
            Some(targets) => targets.clone(),
            None => vec![self.container.clone()],
        }
    }

    /// With `targets`: asks each member whether it is in recovery and
    /// makes the one primary this run's container; fails naming every
    /// member and its role unless exactly one is.
    pub fn resolve(mut self) -> Result<Config, Error> {
        let Some(targets) = &self.targets else {
            return Ok(self);
        };
        let primary = postgres::primary_name(targets, &self.user)?;
        self.container = primary;
        Ok(self)
    }
}

/// The longest common prefix of `names`, without a trailing member number
/// or separator: `ha-patroni-1`, `ha-patroni-2` → `ha-patroni`.
fn common_stem(names: &[String]) -> Option<String> {
    let first = names.first()?;
    let mut len = first.len();
    for n in &names[1..] {
        len = len.min(
            first
                .bytes()
                .zip(n.bytes())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    let mut stem = &first[..len];
    if names.len() == 1 {
        stem = stem.trim_end_matches(|c: char| c.is_ascii_digit());
    }
    let stem = stem
        .trim_end_matches(|c: char| c.is_ascii_digit())
        .trim_end_matches(['-', '_', '.']);
    (!stem.is_empty()).then(|| stem.to_owned())
}

#[cfg(test)]
mod tests {
    use run_plugin_sdk::{Context, ErrorKind};

    use super::{Config, Mode, common_stem};

    fn config(json: &str) -> Result<Config, run_plugin_sdk::Error> {
        Config::from_context(&Context::new("backup", Vec::new(), json))
    }

    #[test]
    fn defaults_follow_the_container() {
        let c = config(r#"{"container": "pg-demo"}"#).unwrap();
        assert_eq!(
            (c.name.as_str(), c.user.as_str(), c.dir.as_str(), c.keep),
            ("pg-demo", "postgres", "backups", 10)
        );
        assert_eq!(c.mode, Mode::Backup);
        assert_eq!(c.path("x"), "backups/x");
    }

    #[test]
    fn modes_and_volumes_parse() {
        let c =
            config(r#"{"container": "a", "mode": "restore-snapshot", "volume": "data"}"#).unwrap();
        assert_eq!(c.mode, Mode::RestoreSnapshot);
        assert_eq!(c.volumes, Some(vec!["data".to_string()]));
    }

    #[test]
    fn bad_values_name_the_field() {
        let e = config(r#"{"container": "a", "keep": 0}"#).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.message().contains("field `keep`"), "{e}");
        let e = config(r#"{"container": "a", "dir": "../x"}"#).unwrap_err();
        assert!(e.message().contains("field `dir`"), "{e}");
        let e = config(r#"{"container": "a", "name": "a/b"}"#).unwrap_err();
        assert!(e.message().contains("field `name`"), "{e}");
        let e = config(r#"{"user": "x"}"#).unwrap_err();
        assert!(e.message().contains("field `container`"), "{e}");
        let e = config(r#"{"container": "a", "mode": "dump"}"#).unwrap_err();
        assert!(e.message().contains("field `mode`"), "{e}");
    }

    #[test]
    fn targets_name_one_series_after_their_common_stem() {
        let c = config(
            r#"{"targets": ["ha-patroni-1", "ha-patroni-2", "ha-patroni-3"], "role": "primary"}"#,
        )
        .unwrap();
        assert_eq!(c.name, "ha-patroni");
        assert_eq!(c.container, "");
        assert_eq!(
            c.containers(),
            ["ha-patroni-1", "ha-patroni-2", "ha-patroni-3"]
        );
        let s = |v: &[&str]| common_stem(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(s(&["pg-1"]), Some("pg".into()));
        assert_eq!(s(&["db-a", "db-b"]), Some("db".into()));
        assert_eq!(s(&["a1", "b1"]), None);
        let e = config(r#"{"targets": ["x1", "y2"]}"#).unwrap_err();
        assert!(e.message().contains("field `name`"), "{e}");
    }

    #[test]
    fn targets_and_container_exclude_each_other() {
        let e = config(r#"{"container": "a", "targets": ["b"]}"#).unwrap_err();
        assert!(e.message().contains("field `targets`"), "{e}");
        let e = config(r#"{"container": "a", "role": "primary"}"#).unwrap_err();
        assert!(e.message().contains("field `role`"), "{e}");
        let e = config(r#"{"targets": []}"#).unwrap_err();
        assert!(e.message().contains("field `targets`"), "{e}");
        let e = config(r#"{"targets": ["a"], "role": "leader"}"#).unwrap_err();
        assert!(e.message().contains("field `role`"), "{e}");
    }
}
