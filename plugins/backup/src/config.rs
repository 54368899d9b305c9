//! The task's `config` table: which container, where the backups go, how many
//! to keep, and what to do.

use run_plugin_sdk::{Context, Error, names};
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    container: String,
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
    /// The container to back up (must be in `allow.containers`).
    pub container: String,
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
        if raw.container.trim().is_empty() {
            return Err(invalid("container", "must name a container"));
        }
        let name = raw.name.unwrap_or_else(|| raw.container.clone());
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
            container: raw.container,
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
}

#[cfg(test)]
mod tests {
    use run_plugin_sdk::{Context, ErrorKind};

    use super::{Config, Mode};

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
        assert!(e.message().contains("missing field `container`"), "{e}");
        let e = config(r#"{"container": "a", "mode": "dump"}"#).unwrap_err();
        assert!(e.message().contains("field `mode`"), "{e}");
    }
}
