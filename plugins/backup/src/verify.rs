//! `run backup --verify`: restore the backup just taken into a throwaway
//! container of the same image, then compare the row count and a checksum
//! of the rows of every table with the source container.
//!
//! The checksum is the sum, as an exact numeric, of the first 64 bits of
//! the md5 of each row's text: it does not depend on the order rows are
//! read in, so it needs no primary key and no sort, and each table is read
//! once, streamed by the server, with nothing but the sum held. A changed
//! value changes its row's md5 and so the sum. Rows are rendered with fixed
//! settings (UTC, ISO dates, exact floats), so the same data gives the same
//! text in both servers.
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

/// `schema.table<TAB>rows<TAB>checksum` for every table of a database, in
/// one query (see the module doc). `v` is a row alias no column can shadow
/// in `row(v.*)`.
const TABLES: &str = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD';      SET IntervalStyle = 'iso_8601'; SET extra_float_digits = 3; SET bytea_output = 'hex';      SELECT table_schema || '.' || table_name,        (xpath('/row/c/text()', x))[1]::text, (xpath('/row/h/text()', x))[1]::text      FROM (SELECT table_schema, table_name,        query_to_xml(format('select count(*) as c,          coalesce(sum((''x'' || left(md5(row(v.*)::text), 16))::bit(64)::bigint::numeric), 0) as h          from %I.%I v', table_schema, table_name), false, true, '') AS x        FROM information_schema.tables        WHERE table_type = 'BASE TABLE'          AND table_schema NOT IN ('pg_catalog', 'information_schema')) t      ORDER BY 1";

/// What is compared of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Table {
    rows: u64,
    checksum: String,
}

/// Each `schema.table`, per database.
type Counts = BTreeMap<String, BTreeMap<String, Table>>;

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
         needs `{}` in allow.containers) and comparing the row count and \
         checksum of every table with container `{}`, then remove the throwaway",
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

/// Row counts and checksums per table in each of `databases` of
/// `container`; a database that does not exist there has none.
fn counts(config: &Config, container: &Container, databases: &[String]) -> Result<Counts, Error> {
    let existing = list_databases(config, container)?;
    let mut counts = Counts::new();
    for db in databases.iter().filter(|db| existing.contains(db)) {
        let out = psql(config, container, db, TABLES)?;
        let tables = parse_tables(&out).map_err(|line| {
            Error::failed(format!(
                "unexpected table summary `{line}` from database `{db}` of container `{}`",
                container.name()
            ))
        })?;
        counts.insert(db.clone(), tables);
    }
    Ok(counts)
}

/// `schema.table<TAB>rows<TAB>checksum` lines; Err is the line not read.
fn parse_tables(out: &str) -> Result<BTreeMap<String, Table>, String> {
    let mut tables = BTreeMap::new();
    for line in out.lines().filter(|l| !l.is_empty()) {
        let mut fields = line.rsplitn(3, '\t');
        let (Some(checksum), Some(rows), Some(table)) =
            (fields.next(), fields.next(), fields.next())
        else {
            return Err(line.to_owned());
        };
        let rows = rows.parse::<u64>().map_err(|_| line.to_owned())?;
        if checksum.is_empty() || !checksum.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
            return Err(line.to_owned());
        }
        tables.insert(
            table.to_owned(),
            Table {
                rows,
                checksum: checksum.to_owned(),
            },
        );
    }
    Ok(tables)
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
        // Quiet: no `SET` command tags among the rows.
        "-q",
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

/// `db.schema.table: source X, restored Y` (rows), `…: N rows in both, but
/// their contents differ` (checksums), and missing or extra databases and
/// tables, in order.
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
                (Some(s), Some(r)) if s.rows == r.rows => found.push(format!(
                    "{db}.{table}: {} in both, but their contents differ (checksum {} in the source, {} restored)",
                    plural(s.rows as usize, "row"),
                    s.checksum,
                    r.checksum
                )),
                (Some(s), Some(r)) => found.push(format!(
                    "{db}.{table}: source {}, restored {}",
                    s.rows, r.rows
                )),
                (Some(s), None) => {
                    found.push(format!(
                        "{db}.{table}: source {}, missing from the restore",
                        s.rows
                    ));
                }
                (None, Some(r)) => {
                    found.push(format!(
                        "{db}.{table}: not in the source, restored {}",
                        r.rows
                    ));
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
    use super::{Counts, Table, differences, parse_tables, plural};

    fn counts(entries: &[(&str, &str, u64)]) -> Counts {
        let mut counts = Counts::new();
        for (db, table, rows) in entries {
            counts.entry(db.to_string()).or_default().insert(
                table.to_string(),
                Table {
                    rows: *rows,
                    checksum: format!("{}", rows * 1000),
                },
            );
        }
        counts
    }

    #[test]
    fn a_changed_value_is_a_difference_naming_its_table() {
        // Regression: --verify compared row counts only.
        let source = counts(&[("app", "public.a", 3), ("app", "public.b", 5)]);
        let mut restored = source.clone();
        restored
            .get_mut("app")
            .unwrap()
            .get_mut("public.b")
            .unwrap()
            .checksum = "-12".into();
        assert_eq!(
            differences(&source, &restored),
            [
                "app.public.b: 5 rows in both, but their contents differ (checksum 5000 in the source, -12 restored)"
            ]
        );
    }

    #[test]
    fn table_summaries_are_parsed_strictly() {
        let tables =
            parse_tables("public.a\t3\t-9223372036854775808\npublic.\"t\tab\"\t0\t0\n").unwrap();
        assert_eq!(tables["public.a"].rows, 3);
        assert_eq!(tables["public.\"t\tab\""].checksum, "0");
        assert_eq!(
            parse_tables("public.a\t3\n").unwrap_err(),
            "public.a\t3",
            "no checksum"
        );
        assert!(parse_tables("public.a\tx\t1\n").is_err());
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
