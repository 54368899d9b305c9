//! The sanitizing engine: plain Rust over `Read`/`Write`, with no host
//! calls, so it is built natively for unit tests and benchmarks and into
//! the wasm plugin unchanged.
//!
//! [`sanitize`] reads the dump once to learn its schema, checks the policy
//! against it, computes the sample (reading table data again), then writes
//! the output in one streaming pass. The [`Report`] says what was found
//! and how each column was handled.

pub mod copy;
pub mod date;
pub mod ddl;
pub mod dump;
pub mod find;
pub mod ident;
pub mod input;
pub mod mask;
pub mod pii;
pub mod plan;
pub mod policy;
pub mod report;
pub mod rewrite;
pub mod sample;
pub mod schema;
pub mod sql;
mod words;

use std::collections::BTreeMap;
use std::io::Write;

pub use ident::TableName;
pub use input::{Input, Skipped};
pub use mask::Masker;
pub use policy::{Found, Policy, Rule};
pub use report::{ColumnReport, Handling, Report};

use find::Counts;
use plan::Plan;
use sample::Selection;
use schema::{Schema, Search, TypeClass};

/// The last comment pg_dump writes; without it the dump was cut short.
pub const COMPLETE_MARKER: &str = "-- PostgreSQL database dump complete";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read the dump: {0}")]
    Read(String),
    #[error("cannot write the output: {0}")]
    Write(String),
    #[error("line {line}: {why}")]
    Truncated { line: usize, why: String },
    #[error("line {line}: {why}")]
    Syntax { line: usize, why: String },
    #[error("line {line}: {why}")]
    Unsupported { line: usize, why: String },
    #[error("the dump is incomplete: it does not end with `{COMPLETE_MARKER}`")]
    Incomplete,
    #[error("{at}: {why}")]
    Policy { at: String, why: String },
    #[error("the policy does not fit the dump:\n  - {}", .0.join("\n  - "))]
    Plan(Vec<String>),
    #[error("table {table}: {why}")]
    Clash { table: String, why: String },
    /// `[free-text] found = "stop"` and something was found.
    #[error(
        "personal data found inside columns the policy keeps ([free-text] found = \"stop\"):\n  - {}\ngive each a rule (\"scrub\" masks what is found in place; \"verbatim\" keeps the column as it is), or set found = \"mask\"",
        .0.join("\n  - ")
    )]
    Found(Vec<String>),
}

/// Sanitizes the dump that `open` reads (it is called once per pass) into
/// `output`.
pub fn sanitize<R: Input, W: Write>(
    mut open: impl FnMut() -> Result<R, Error>,
    output: W,
    policy: &Policy,
    key: &[u8],
) -> Result<Report, Error> {
    let stop = policy.free_text.found == Found::Stop;
    // With found = "stop", columns the policy keeps are searched in the
    // first pass, so the run stops before anything is written.
    let searched_in_first_pass = |schema: &Schema, table: &TableName, column: &str| {
        let rule = plan::rule_for(schema, policy, table, column).map(|r| &r.rule);
        let class = schema
            .column(table, column)
            .map_or(TypeClass::Structured, |c| c.class);
        rule != Some(&Rule::Scrub) && plan::searched(rule, class)
    };
    let search = Search {
        kinds: policy.free_text.find,
        columns: &searched_in_first_pass,
    };
    let schema = Schema::analyze(open()?, stop.then_some(&search))?;
    if !schema.complete {
        return Err(Error::Incomplete);
    }
    let plan = Plan::new(&schema, policy)?;
    if stop {
        let found = found_in_first_pass(&schema);
        if !found.is_empty() {
            return Err(Error::Found(found));
        }
    }
    let masker = Masker::new(key);
    let selection = match &policy.sample {
        Some(sample) => Some(Selection::compute(&schema, sample, &masker, &mut open)?),
        None => None,
    };
    let mut columns = plan.report.clone();
    let cx = rewrite::Context {
        plan: &plan,
        masker: &masker,
        selection: selection.as_ref(),
        blocks: schema
            .tables
            .iter()
            .map(|(n, t)| (n.clone(), t.copy_blocks))
            .collect(),
        utf8: true,
    };
    let written = rewrite::rewrite(open()?, output, &cx, &mut columns)?;
    let mut masked: Vec<(String, String)> = columns
        .iter()
        .filter_map(|c| {
            let how = match &c.handling {
                Handling::Rule(rule) => rule.clone(),
                Handling::Scrub | Handling::Searched if c.found.total() > 0 => "scrub".to_owned(),
                _ => return None,
            };
            Some((format!("{}.{}", c.table, c.column), how))
        })
        .collect();
    masked.sort();
    Ok(Report {
        key_id: masker.key_id(),
        policy_digest: policy.digest(),
        tables: written
            .counts
            .into_iter()
            .map(|(t, (a, b))| (t, a, b))
            .collect(),
        masked,
        input_bytes: schema.bytes,
        output_bytes: written.bytes,
        columns,
    })
}

/// `public.orders.note: 12 phone numbers (first at line 345)`, per
/// logical table and column.
fn found_in_first_pass(schema: &Schema) -> Vec<String> {
    let mut by_column: BTreeMap<(TableName, String), (Counts, usize)> = BTreeMap::new();
    for (name, table) in &schema.tables {
        for (column, stats) in table.copy_columns.iter().zip(&table.content) {
            if stats.found.total() == 0 {
                continue;
            }
            let entry = by_column
                .entry((schema.partition_root(name), column.clone()))
                .or_insert((Counts::default(), usize::MAX));
            entry.0.merge(&stats.found);
            entry.1 = entry.1.min(stats.first_line.unwrap_or(usize::MAX));
        }
    }
    by_column
        .into_iter()
        .map(|((table, column), (found, line))| {
            format!("{table}.{column}: {found} (the first at line {line})")
        })
        .collect()
}

#[cfg(test)]
mod tests;
