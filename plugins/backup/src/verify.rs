//! `run backup --verify`: restore the backup just taken into a throwaway
//! container of the same image, then compare the row count of every table
//! with the source container.
//!
//! The throwaway is named `CONTAINER-verify-TIMESTAMP` (the task must grant
//! it, e.g. `allow.containers = ["pg-demo", "pg-demo-verify-*"]`), gets the
//! source's environment (so `POSTGRES_PASSWORD` and the like carry over), and
//! is always removed afterwards. A mismatch fails the run but keeps the
//! backup: it may still be good (rows written since the dump differ too), and
//! the message says exactly what differs.

use std::collections::{BTreeMap, BTreeSet};

use run_plugin_sdk::containers::{Container, ContainerDetails, ExecRequest};
use run_plugin_sdk::stacks::{self, ContainerSpec};
use run_plugin_sdk::time::Timestamp;
use run_plugin_sdk::{Error, log};
use serde_json::Value;

use crate::config::Config;
use crate::manifest::Manifest;
use crate::restore::{self, quoted_identifier};

/// How long the throwaway may take to become healthy, and then to accept
/// connections.
const READY_SECONDS: u32 = 120;

/// Connectable, non-template databases, one per line.
const DATABASES: &str = "SELECT datname FROM pg_database \
     WHERE datallowconn AND NOT datistemplate ORDER BY 1";

/// `schema.table<TAB>rows` for every table of a database, in one query.
const ROW_COUNTS: &str = "SELECT table_schema || '.' || table_name, \
     (xpath('/row/c/text()', query_to_xml(format('select count(*) as c from %I.%I', \
       table_schema, table_name), false, true, '')))[1]::text \
     FROM information_schema.tables \
     WHERE table_type = 'BASE TABLE' \
       AND table_schema NOT IN ('pg_catalog', 'information_schema') \
     ORDER BY 1";

/// Rows per `schema.table`, per database.
type Counts = BTreeMap<String, BTreeMap<String, u64>>;

/// The throwaway container's name.
pub fn throwaway(config: &Config, now: Timestamp) -> String {
    format!("{}-verify-{}", config.container, now.file_stamp())
}

/// Every throwaway's name: what the task must grant to verify.
pub fn throwaway_glob(config: &Config) -> String {
    format!("{}-verify-*", config.container)
}

/// Under `run --plan`: what `--verify` would do.
pub fn plan(config: &Config, details: &ContainerDetails, files: &[String], now: Timestamp) {
    println!(
        "would verify {} by restoring {} into a throwaway container `{}` (image `{}`; \
         needs `{}` in allow.containers) and comparing the row counts of every \
         table with container `{}`, then remove the throwaway",
        files.join(", "),
        if files.len() == 1 { "it" } else { "them" },
        throwaway(config, now),
        details.image,
        throwaway_glob(config),
        config.container
    );
}

/// Verifies the dumps just taken (`manifests`, all of one run). Fails on any
/// difference, never removing the backup; always removes the throwaway.
pub fn run(
    config: &Config,
    source: &Container,
    details: &ContainerDetails,
    manifests: &[Manifest],
    now: Timestamp,
) -> Result<(), Error> {
    let files = manifests
        .iter()
        .map(|m| config.path(&m.file))
        .collect::<Vec<_>>()
        .join(", ");
    let name = throwaway(config, now);
    let kept = |e: Error| {
        e.map_message(|m| {
            format!("{m}; {files} was backed up but is not verified (nothing was pruned)")
        })
    };

    // Counted first: as close to the dump as possible.
    let databases = match &config.databases {
        Some(databases) => databases.clone(),
        None => list_databases(config, source).map_err(kept)?,
    };
    let expected = counts(config, source, &databases).map_err(kept)?;

    let mut spec = ContainerSpec::new(&name, &details.image);
    spec.env = source_env(details);
    log::info(format!(
        "verifying {files}: creating throwaway container `{name}` (image `{}`)",
        details.image
    ));
    // A denial names the throwaway and carries the grant for it.
    let failed =
        |e: Error| kept(e.context(format!("creating throwaway container `{name}` failed")));
    let copy = stacks::create_container(&spec).map_err(failed)?;
    if let Err(e) = copy.start() {
        let _ = copy.remove();
        return Err(failed(e));
    }

    let restored = load(config, &copy, manifests, &databases);
    let removed = copy.remove();
    match &removed {
        Ok(()) => log::info(format!("removed throwaway container `{name}`")),
        Err(e) => log::warn(format!(
            "could not remove throwaway container `{name}`: {e}"
        )),
    }
    let leftover = |e: &Error| {
        format!(
            "removing throwaway container `{name}` failed: {e}; remove it with `docker rm -f -v {name}`"
        )
    };
    let source = source.name();
    let actual = match (restored, removed) {
        (Ok(actual), Ok(())) => actual,
        (Err(e), Ok(())) => return Err(kept(e)),
        (Err(e), Err(r)) => {
            return Err(kept(
                e.map_message(|m| format!("{m} (and {})", leftover(&r))),
            ));
        }
        (Ok(actual), Err(r)) => {
            compare(&files, source, &expected, &actual)?;
            return Err(Error::failed(format!(
                "{files} is verified, but {}",
                leftover(&r)
            )));
        }
    };
    compare(&files, source, &expected, &actual)
}

/// Restores the dumps into the throwaway once it accepts connections, and
/// counts its rows.
fn load(
    config: &Config,
    copy: &Container,
    manifests: &[Manifest],
    databases: &[String],
) -> Result<Counts, Error> {
    wait_ready(config, copy)?;
    if config.databases.is_some() {
        // A per-database dump restores into an existing database.
        let existing = list_databases(config, copy)?;
        for db in databases.iter().filter(|db| !existing.contains(db)) {
            let create = format!("CREATE DATABASE {}", quoted_identifier(db));
            psql(config, copy, "postgres", &create)?;
        }
    }
    for manifest in manifests {
        restore::load(config, copy, &manifest.file, manifest.database.as_deref())?;
    }
    counts(config, copy, databases)
}

/// Healthy (or running, without a health check), and then accepting TCP
/// connections: an image whose entrypoint initialises the data directory
/// through a temporary server listening only on the socket is not ready
/// until that server made way for the real one.
fn wait_ready(config: &Config, copy: &Container) -> Result<(), Error> {
    let name = copy.name();
    copy.wait_healthy(READY_SECONDS).map_err(|e| {
        e.context(format!(
            "throwaway container `{name}` did not become healthy"
        ))
    })?;
    let script = format!(
        r#"i=0
until pg_isready -q -h 127.0.0.1 -U "$1" -d postgres; do
  i=$((i+1))
  [ "$i" -ge {READY_SECONDS} ] && exec pg_isready -h 127.0.0.1 -U "$1" -d postgres
  sleep 1
done"#
    );
    let request = ExecRequest::new(["sh", "-c", &script, "ready", &config.user])
        .timeout_seconds(READY_SECONDS + 30);
    let out = copy.exec(&request)?;
    if !out.success() {
        return Err(Error::failed(format!(
            "PostgreSQL in throwaway container `{name}` does not accept connections after {READY_SECONDS} s: {}{}",
            out.stdout_text().trim(),
            out.stderr_text()
        )));
    }
    Ok(())
}

/// The source container's environment (`Config.Env` of its inspect
/// document), for the throwaway.
fn source_env(details: &ContainerDetails) -> Vec<(String, String)> {
    let raw = match details.raw_json() {
        Ok(raw) => raw,
        Err(e) => {
            log::warn(format!("{e}; the throwaway gets no environment"));
            return Vec::new();
        }
    };
    raw.pointer("/Config/Env")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn list_databases(config: &Config, container: &Container) -> Result<Vec<String>, Error> {
    let out = psql(config, container, "postgres", DATABASES)?;
    Ok(out.lines().map(str::to_owned).collect())
}

/// Row counts per table in each of `databases` of `container`; a database
/// that does not exist there has none.
fn counts(config: &Config, container: &Container, databases: &[String]) -> Result<Counts, Error> {
    let existing = list_databases(config, container)?;
    let mut counts = Counts::new();
    for db in databases.iter().filter(|db| existing.contains(db)) {
        let out = psql(config, container, db, ROW_COUNTS)?;
        let mut tables = BTreeMap::new();
        for line in out.lines().filter(|l| !l.is_empty()) {
            let parsed = line
                .rsplit_once('\t')
                .and_then(|(table, rows)| Some((table, rows.parse::<u64>().ok()?)));
            let Some((table, rows)) = parsed else {
                return Err(Error::failed(format!(
                    "unexpected row count `{line}` from database `{db}` of container `{}`",
                    container.name()
                )));
            };
            tables.insert(table.to_owned(), rows);
        }
        counts.insert(db.clone(), tables);
    }
    Ok(counts)
}

/// Runs one query with psql in `container` and returns its unaligned,
/// tab-separated output.
fn psql(
    config: &Config,
    container: &Container,
    database: &str,
    sql: &str,
) -> Result<String, Error> {
    let request = ExecRequest::new([
        "psql",
        "-X",
        "-U",
        &config.user,
        "-v",
        "ON_ERROR_STOP=1",
        "-At",
        "-F",
        "\t",
        "-d",
        database,
        "-c",
        sql,
    ]);
    let out = container.exec(&request)?;
    if !out.success() {
        return Err(Error::failed(format!(
            "psql in database `{database}` of container `{}` failed with exit code {}: {}",
            container.name(),
            out.exit_code,
            out.stderr_text()
        )));
    }
    Ok(out.stdout_text())
}

/// Succeeds when every database and table has the same rows in both, and
/// logs so; otherwise fails listing each difference.
fn compare(files: &str, source: &str, expected: &Counts, actual: &Counts) -> Result<(), Error> {
    let differences = differences(expected, actual);
    if differences.is_empty() {
        let tables: usize = expected.values().map(BTreeMap::len).sum();
        log::info(format!(
            "verified {files}: {} in {} match {source}",
            plural(tables, "table"),
            plural(expected.len(), "database")
        ));
        return Ok(());
    }
    Err(Error::failed(format!(
        "verifying {files} failed: restored into a throwaway container, it differs from container `{source}` in {}:\n  {}\n\
         The backup is kept: it may still be good if `{source}` changed since the dump (nothing was pruned).",
        plural(differences.len(), "place"),
        differences.join("\n  ")
    )))
}

/// `db.schema.table: source X, restored Y`, and missing or extra databases
/// and tables, in order.
fn differences(expected: &Counts, actual: &Counts) -> Vec<String> {
    let empty = BTreeMap::new();
    let mut found = Vec::new();
    for (db, source) in expected {
        let restored = actual.get(db).unwrap_or(&empty);
        if !actual.contains_key(db) {
            found.push(format!("database `{db}`: missing from the restore"));
        }
        let tables: BTreeSet<&String> = source.keys().chain(restored.keys()).collect();
        for table in tables {
            match (source.get(table), restored.get(table)) {
                (Some(s), Some(r)) if s == r => {}
                (Some(s), Some(r)) => found.push(format!("{db}.{table}: source {s}, restored {r}")),
                (Some(s), None) => {
                    found.push(format!(
                        "{db}.{table}: source {s}, missing from the restore"
                    ));
                }
                (None, Some(r)) => {
                    found.push(format!("{db}.{table}: not in the source, restored {r}"));
                }
                (None, None) => {}
            }
        }
    }
    found
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::{Counts, differences, plural};

    fn counts(entries: &[(&str, &str, u64)]) -> Counts {
        let mut counts = Counts::new();
        for (db, table, rows) in entries {
            counts
                .entry(db.to_string())
                .or_default()
                .insert(table.to_string(), *rows);
        }
        counts
    }

    #[test]
    fn identical_counts_have_no_differences() {
        let c = counts(&[("app", "public.items", 3), ("postgres", "public.t", 0)]);
        assert!(differences(&c, &c.clone()).is_empty());
        assert_eq!(plural(1, "table"), "1 table");
        assert_eq!(plural(2, "table"), "2 tables");
    }

    #[test]
    fn every_difference_is_listed() {
        let source = counts(&[
            ("app", "public.a", 3),
            ("app", "public.b", 5),
            ("gone", "public.x", 1),
        ]);
        let restored = counts(&[("app", "public.a", 2), ("app", "public.c", 7)]);
        assert_eq!(
            differences(&source, &restored),
            [
                "app.public.a: source 3, restored 2",
                "app.public.b: source 5, missing from the restore",
                "app.public.c: not in the source, restored 7",
                "database `gone`: missing from the restore",
                "gone.public.x: source 1, missing from the restore",
            ]
        );
    }
}
