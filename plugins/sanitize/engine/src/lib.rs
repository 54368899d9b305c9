//! The sanitizing engine: plain Rust over `BufRead`/`Write`, with no host
//! calls, so it is built natively for unit tests and benchmarks and into
//! the wasm plugin unchanged.
//!
//! [`sanitize`] reads the dump once to learn its schema, checks the policy
//! against it, computes the sample (reading table data again), then writes
//! the output in one streaming pass.

pub mod copy;
pub mod date;
pub mod dump;
pub mod ident;
pub mod mask;
pub mod pii;
pub mod plan;
pub mod policy;
pub mod rewrite;
pub mod sample;
pub mod schema;
mod words;

use std::io::{BufRead, Write};

pub use ident::TableName;
pub use mask::Masker;
pub use policy::{Policy, Rule};

use plan::Plan;
use sample::Selection;
use schema::Schema;

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
}

/// What a run did, for the manifest and the summary.
#[derive(Debug, Clone)]
pub struct Report {
    pub key_id: String,
    pub policy_digest: String,
    /// Rows per table before and after sampling, in name order.
    pub tables: Vec<(TableName, u64, u64)>,
    /// Which columns were masked, and how: `schema.table.column` → rule.
    pub masked: Vec<(String, String)>,
    pub input_bytes: u64,
}

/// Sanitizes the dump that `open` reads (it is called once per pass) into
/// `output`.
pub fn sanitize<R: BufRead, W: Write>(
    mut open: impl FnMut() -> Result<R, Error>,
    output: W,
    policy: &Policy,
    key: &[u8],
) -> Result<Report, Error> {
    let schema = Schema::analyze(open()?)?;
    if !schema.complete {
        return Err(Error::Incomplete);
    }
    let plan = Plan::new(&schema, policy)?;
    let masker = Masker::new(key);
    let selection = match &policy.sample {
        Some(sample) => Some(Selection::compute(&schema, sample, &masker, &mut open)?),
        None => None,
    };
    let counts = rewrite::rewrite(open()?, output, &plan, &masker, selection.as_ref())?;
    let mut masked: Vec<(String, String)> = policy
        .columns
        .iter()
        .filter(|r| r.rule != Rule::Keep)
        .map(|r| {
            (
                format!("{}.{}", r.table, r.column),
                r.rule.name().to_owned(),
            )
        })
        .collect();
    masked.sort();
    Ok(Report {
        key_id: masker.key_id(),
        policy_digest: policy.digest(),
        tables: counts.into_iter().map(|(t, (a, b))| (t, a, b)).collect(),
        masked,
        input_bytes: schema.bytes,
    })
}

#[cfg(test)]
mod tests;
