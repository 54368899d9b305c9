//! The task's `config` table.
//!
//! ```toml
//! [tasks.sanitize]
//! plugin = "sanitize"
//! config = { container = "pg-demo", database = "demo", dir = "snapshots", policy = "sanitize/policy.toml" }
//! allow = { containers = ["pg-demo"], write = ["snapshots"], read = ["sanitize"], env = ["SANITIZE_KEY", "SANITIZED"] }
//! ```

use run_plugin_sdk::serde_json::Value;
use run_plugin_sdk::{Context, Error, names, postgres};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Write a sanitized snapshot.
    #[default]
    Sanitize,
    /// Restore a sanitized snapshot into a database.
    Seed,
}

/// Which member of `targets` to dump from or seed into.
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
    #[serde(default)]
    mode: Mode,
    container: Option<String>,
    targets: Option<Vec<String>>,
    role: Option<Role>,
    database: Option<String>,
    #[serde(default = "default_user")]
    user: String,
    input: Option<String>,
    #[serde(default = "default_dir")]
    dir: String,
    name: Option<String>,
    policy: Option<Value>,
    #[serde(default = "default_key_env")]
    key_env: String,
}

fn default_user() -> String {
    "postgres".into()
}

fn default_dir() -> String {
    "snapshots".into()
}

fn default_key_env() -> String {
    "SANITIZE_KEY".into()
}

/// Where the policy is.
#[derive(Debug, Clone)]
pub enum PolicySource {
    /// A TOML file (path relative to the project, granted in allow.read).
    File(String),
    /// Inline in the task's config.
    Inline(Value),
}

/// Where the dump to sanitize comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// `pg_dump` of `database` run in `container`.
    Container { container: String, database: String },
    /// A plain-format dump file already on disk.
    File(String),
}

#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    /// Sanitize: where the dump comes from. Seed: unused.
    pub source: Option<Source>,
    /// Seed: the container and database to restore into.
    pub target: Option<(String, String)>,
    pub user: String,
    pub dir: String,
    /// The snapshot's name: `DIR/NAME.sql` and `DIR/NAME.sql.manifest.json`.
    pub name: String,
    pub policy: Option<PolicySource>,
    pub key_env: String,
    /// The members of a replicated cluster: the container above is the one
    /// of them that is the primary when the run starts ([`Config::resolve`]).
    pub targets: Option<Vec<String>>,
}

impl Config {
    pub fn from_context(ctx: &Context) -> Result<Config, Error> {
        let raw: Raw = ctx.config()?;
        let invalid = |field: &str, why: &str| ctx.invalid_config(field, why);
        let dir = names::relative_dir(&raw.dir).ok_or_else(|| {
            invalid(
                "dir",
                "must be a relative directory inside the project, granted in allow.write (allow.read to seed)",
            )
        })?;
        if raw.user.is_empty() || raw.user.starts_with('-') {
            return Err(invalid("user", "must be a database role name"));
        }
        if let Some(db) = &raw.database
            && (db.is_empty() || db.starts_with('-'))
        {
            return Err(invalid("database", "must be a database name"));
        }
        // `targets` stands for the container: the primary among them, named
        // when the run starts (until then, empty).
        let targets = raw.targets.clone();
        let container = match (&raw.container, &raw.targets) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "targets",
                    "give either `container` or `targets` (the cluster's members), not both",
                ));
            }
            (None, Some(t)) if t.is_empty() || t.iter().any(|t| t.trim().is_empty()) => {
                return Err(invalid(
                    "targets",
                    "must name at least one container, each non-empty",
                ));
            }
            (None, Some(_)) => Some(String::new()),
            (Some(_), None) if raw.role.is_some() => {
                return Err(invalid(
                    "role",
                    "chooses among `targets`; with one `container` there is nothing to choose",
                ));
            }
            (container, None) => container.clone(),
        };
        let (source, target) = match raw.mode {
            Mode::Sanitize => {
                let source = match (&container, &raw.database, &raw.input) {
                    (Some(_), _, Some(_)) => {
                        return Err(invalid(
                            "input",
                            "give either `input` (a dump file) or `container` and `database`, not both",
                        ));
                    }
                    (Some(container), Some(database), None) => Source::Container {
                        container: container.clone(),
                        database: database.clone(),
                    },
                    (Some(_), None, None) => {
                        return Err(invalid(
                            "database",
                            "name the database to dump (sanitize works on one database)",
                        ));
                    }
                    (None, _, Some(input)) => Source::File(input.clone()),
                    (None, _, None) => {
                        return Err(invalid(
                            "container",
                            "give `container` and `database` to dump, or `input` (a plain pg_dump file)",
                        ));
                    }
                };
                if raw.policy.is_none() {
                    return Err(invalid(
                        "policy",
                        "give a policy file (`policy = \"sanitize/policy.toml\"`) or an inline table (`policy = { columns = { … } }`)",
                    ));
                }
                (Some(source), None)
            }
            Mode::Seed => {
                let (Some(container), Some(database)) = (&container, &raw.database) else {
                    return Err(invalid(
                        "container",
                        "seeding needs `container` and `database` to restore into",
                    ));
                };
                if raw.input.is_some() || raw.policy.is_some() {
                    return Err(invalid(
                        if raw.input.is_some() {
                            "input"
                        } else {
                            "policy"
                        },
                        "is for mode \"sanitize\"; seeding reads the snapshot named by `dir` and `name`",
                    ));
                }
                (None, Some((container.clone(), database.clone())))
            }
        };
        let name = match (&raw.name, &source) {
            (Some(name), _) => name.clone(),
            (None, Some(Source::Container { database, .. })) => database.clone(),
            (None, Some(Source::File(input))) => {
                let file = input.rsplit('/').next().unwrap_or(input);
                file.split('.').next().unwrap_or(file).to_owned()
            }
            (None, None) => {
                return Err(invalid(
                    "name",
                    "name the snapshot to seed from (`name = \"demo\"` for DIR/demo.sql)",
                ));
            }
        };
        names::file_name_part(&name).map_err(|why| invalid("name", &why))?;
        if raw.key_env.is_empty() {
            return Err(invalid("key_env", "must name an environment variable"));
        }
        let policy = raw.policy.map(|p| match p {
            Value::String(path) => PolicySource::File(path),
            other => PolicySource::Inline(other),
        });
        Ok(Config {
            mode: raw.mode,
            source,
            target,
            user: raw.user,
            dir,
            name,
            policy,
            key_env: raw.key_env,
            targets,
        })
    }

    /// Every container the task must grant for its dump or its seed: the
    /// one container, or every member of `targets`.
    pub fn containers(&self) -> Vec<String> {
        if let Some(targets) = &self.targets {
            return targets.clone();
        }
        match (&self.source, &self.target) {
            (Some(Source::Container { container, .. }), _) | (_, Some((container, _))) => {
                vec![container.clone()]
            }
            _ => Vec::new(),
        }
    }

    /// With `targets`: asks each member whether it is in recovery and puts
    /// the one primary in place of the container; fails naming every
    /// member and its role unless exactly one is.
    pub fn resolve(mut self) -> Result<Config, Error> {
        let Some(targets) = &self.targets else {
            return Ok(self);
        };
        let primary = postgres::primary_name(targets, &self.user)?;
        if let Some(Source::Container { container, .. }) = &mut self.source {
            *container = primary.clone();
        }
        if let Some((container, _)) = &mut self.target {
            *container = primary;
        }
        Ok(self)
    }

    /// `DIR/FILE`.
    pub fn path(&self, file: &str) -> String {
        format!("{}/{file}", self.dir)
    }

    /// The snapshot's file name.
    pub fn file(&self) -> String {
        format!("{}.sql", self.name)
    }
}

#[cfg(test)]
mod tests {
    use run_plugin_sdk::Context;

    use super::{Config, Mode, Source};

    fn config(json: &str) -> Result<Config, String> {
        Config::from_context(&Context::new("sanitize", Vec::new(), json)).map_err(|e| e.to_string())
    }

    #[test]
    fn a_container_source_names_the_snapshot_after_the_database() {
        let c = config(r#"{"container": "pg", "database": "shop", "policy": "p.toml"}"#).unwrap();
        assert!(matches!(c.source, Some(Source::Container { .. })));
        assert_eq!((c.name.as_str(), c.dir.as_str()), ("shop", "snapshots"));
        assert_eq!(c.path(&c.file()), "snapshots/shop.sql");
        assert_eq!(c.key_env, "SANITIZE_KEY");
    }

    #[test]
    fn a_file_source_and_seed_mode() {
        let c = config(r#"{"input": "backups/shop.sql", "policy": {"columns": {}}}"#).unwrap();
        assert_eq!(c.name, "shop");
        let c =
            config(r#"{"mode": "seed", "container": "dev", "database": "app", "name": "shop"}"#)
                .unwrap();
        assert_eq!(c.mode, Mode::Seed);
        assert_eq!(c.target, Some(("dev".into(), "app".into())));
    }

    #[test]
    fn targets_stand_for_the_container_in_both_modes() {
        let c = config(
            r#"{"targets": ["ha-patroni-1", "ha-patroni-2"], "role": "primary", "database": "shop", "policy": "p.toml"}"#,
        )
        .unwrap();
        assert_eq!(c.containers(), ["ha-patroni-1", "ha-patroni-2"]);
        assert_eq!(c.name, "shop");
        let c = config(
            r#"{"mode": "seed", "targets": ["a-1", "a-2"], "database": "dev", "name": "shop"}"#,
        )
        .unwrap();
        assert_eq!(c.containers(), ["a-1", "a-2"]);
        let e = config(r#"{"targets": ["a"], "container": "b", "database": "d", "policy": "p"}"#)
            .unwrap_err();
        assert!(e.contains("field `targets`"), "{e}");
        let e = config(r#"{"container": "b", "role": "primary", "database": "d", "policy": "p"}"#)
            .unwrap_err();
        assert!(e.contains("field `role`"), "{e}");
    }

    #[test]
    fn bad_configs_name_the_field() {
        let e = config(r#"{"container": "pg", "policy": "p.toml"}"#).unwrap_err();
        assert!(e.contains("field `database`"), "{e}");
        let e = config(r#"{"container": "pg", "database": "d"}"#).unwrap_err();
        assert!(e.contains("field `policy`"), "{e}");
        let e = config(r#"{"input": "x.sql", "policy": "p", "dir": "../x"}"#).unwrap_err();
        assert!(e.contains("field `dir`"), "{e}");
        let e = config(r#"{"mode": "seed", "container": "dev", "database": "app"}"#).unwrap_err();
        assert!(e.contains("field `name`"), "{e}");
    }
}
