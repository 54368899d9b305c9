//! Zero data loss: per-table row counts and content checksums, taken with
//! psql through `container.exec`, compared before and after (or with a saved
//! baseline, or between two containers). Any difference fails and is listed.
//!
//! The checksum is order independent and streams in PostgreSQL: the sum of
//! the first 60 bits of each row's md5, so no table is ever held in memory.

use std::collections::BTreeMap;
use std::fs;

use run_plugin_sdk::{Access, Error, log};
use serde::{Deserialize, Serialize};

use crate::check::psql;
use crate::report::Report;
use crate::spec::Spec;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct VerifyConfig {
    /// The PostgreSQL container to read.
    pub container: String,
    #[serde(default = "default_user")]
    pub user: String,
    /// Databases to check (default: every database that accepts connections).
    pub databases: Option<Vec<String>>,
    /// The baseline file in the task's dir (`--save` writes it).
    #[serde(default = "default_baseline")]
    pub baseline: String,
    /// Compare with this container instead of a baseline (e.g. a replica).
    pub against: Option<String>,
}

fn default_user() -> String {
    "postgres".into()
}

fn default_baseline() -> String {
    "baseline.json".into()
}

/// One table's fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSum {
    pub rows: u64,
    pub checksum: String,
}

/// `database.schema.table` → fingerprint.
pub type Snapshot = BTreeMap<String, TableSum>;

pub fn snapshot(
    container: &str,
    user: &str,
    databases: Option<&[String]>,
) -> Result<Snapshot, Error> {
    let databases: Vec<String> = match databases {
        Some(d) => d.to_vec(),
        None => psql(
            container,
            user,
            "postgres",
            "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1",
        )?
        .lines()
        .map(str::to_owned)
        .filter(|l| !l.is_empty())
        .collect(),
    };
    let mut snapshot = Snapshot::new();
    for db in &databases {
        let tables = psql(
            container,
            user,
            db,
            "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables \
             WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
        )?;
        let tables: Vec<&str> = tables.lines().filter(|l| !l.is_empty()).collect();
        if tables.is_empty() {
            continue;
        }
        let sql = tables
            .iter()
            .map(|t| {
                format!(
                    "SELECT {lit}, count(*), coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint), 0)::text FROM {t} t",
                    lit = quote_literal(t)
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        for line in psql(container, user, db, &sql)?
            .lines()
            .filter(|l| !l.is_empty())
        {
            let mut parts = line.rsplitn(3, '|');
            let (Some(sum), Some(rows), Some(table)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(Error::failed(format!(
                    "unexpected psql output from `{container}`: {line}"
                )));
            };
            snapshot.insert(
                format!("{db}.{table}"),
                TableSum {
                    rows: rows.parse().unwrap_or(0),
                    checksum: sum.to_owned(),
                },
            );
        }
    }
    Ok(snapshot)
}

fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Every difference between `before` and `after`, one line each.
pub fn compare(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    let mut differences = Vec::new();
    for (table, b) in before {
        match after.get(table) {
            None => differences.push(format!("{table}: missing ({} rows before)", b.rows)),
            Some(a) if a.rows != b.rows => {
                let change = a.rows as i64 - b.rows as i64;
                differences.push(format!(
                    "{table}: {} rows before, {} after ({change:+})",
                    b.rows, a.rows
                ));
            }
            Some(a) if a.checksum != b.checksum => {
                differences.push(format!(
                    "{table}: same row count ({}) but different contents",
                    a.rows
                ));
            }
            Some(_) => {}
        }
    }
    for (table, a) in after {
        if !before.contains_key(table) {
            differences.push(format!("{table}: new table ({} rows)", a.rows));
        }
    }
    differences
}

/// `run verify-data [--save]`.
pub fn run(spec: &Spec, report: &mut Report) -> Result<(), Error> {
    let config = spec.verify.as_ref().ok_or_else(|| {
        Error::invalid_input("verify-data needs a `verify` table in the task's config: verify = { container = \"db\" }")
    })?;
    let now = snapshot(&config.container, &config.user, config.databases.as_deref())?;
    report.event(format!(
        "{}: {} tables fingerprinted",
        config.container,
        now.len()
    ));
    let path = spec.path(&config.baseline);
    if spec.save {
        let text = serde_json::to_string_pretty(&now).expect("a snapshot serializes");
        let tmp = format!("{path}.tmp");
        fs::write(&tmp, text + "\n").map_err(|e| Error::io(&tmp, Access::Write, e))?;
        fs::rename(&tmp, &path).map_err(|e| Error::io(&path, Access::Write, e))?;
        println!(
            "saved the fingerprints of {} tables of {} to {path}",
            now.len(),
            config.container
        );
        return Ok(());
    }
    let (before, against) = match &config.against {
        Some(other) => (
            snapshot(other, &config.user, config.databases.as_deref())?,
            other.clone(),
        ),
        None => {
            let text = fs::read_to_string(&path).map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    Error::not_found(format!(
                        "no baseline at {path}: run the task with --save first"
                    ))
                } else {
                    Error::io(&path, Access::Read, e)
                }
            })?;
            let before: Snapshot = serde_json::from_str(&text)
                .map_err(|e| Error::failed(format!("{path} is not a chaos baseline: {e}")))?;
            (before, path.clone())
        }
    };
    let differences = compare(&before, &now);
    if differences.is_empty() {
        log::info(format!(
            "{}: no difference from {against}",
            config.container
        ));
        println!(
            "zero data loss: {} tables of {} match {against}",
            now.len(),
            config.container
        );
        return Ok(());
    }
    report.data_differences = differences.clone();
    Err(Error::failed(format!(
        "data differs between {against} and {}:\n  {}",
        config.container,
        differences.join("\n  ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(rows: u64, checksum: &str) -> TableSum {
        TableSum {
            rows,
            checksum: checksum.into(),
        }
    }

    #[test]
    fn every_kind_of_difference_is_listed() {
        let before = Snapshot::from([
            ("app.public.a".into(), sum(10, "1")),
            ("app.public.b".into(), sum(5, "2")),
            ("app.public.c".into(), sum(1, "3")),
        ]);
        let after = Snapshot::from([
            ("app.public.a".into(), sum(9, "0")),
            ("app.public.b".into(), sum(5, "9")),
            ("app.public.d".into(), sum(2, "4")),
        ]);
        assert_eq!(
            compare(&before, &after),
            [
                "app.public.a: 10 rows before, 9 after (-1)",
                "app.public.b: same row count (5) but different contents",
                "app.public.c: missing (1 rows before)",
                "app.public.d: new table (2 rows)",
            ]
        );
        assert!(compare(&before, &before).is_empty());
    }
}
