//! The output pass: SQL passes through byte for byte; COPY rows are
//! filtered by the sample and their masked fields replaced.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};
use std::io::{BufRead, Write};

use super::dump::{Dump, Event};
use super::ident::TableName;
use super::mask::Masker;
use super::plan::{ColumnPlan, Plan, TablePlan};
use super::sample::Selection;
use super::{Error, copy};

/// How many other values are tried when a masked value clashes in a unique
/// column before giving up.
const MAX_ATTEMPTS: u32 = 1000;

/// Rows per table before and after sampling.
pub type Counts = BTreeMap<TableName, (u64, u64)>;

pub fn rewrite<R: BufRead, W: Write>(
    input: R,
    mut out: W,
    plan: &Plan,
    masker: &Masker,
    selection: Option<&Selection>,
) -> Result<Counts, Error> {
    let mut dump = Dump::new(input);
    let mut counts = Counts::new();
    let mut current: Option<(TableName, TableState)> = None;
    let mut line: Vec<u8> = Vec::with_capacity(4096);
    let write = |out: &mut W, bytes: &[u8]| {
        out.write_all(bytes)
            .map_err(|e| Error::Write(e.to_string()))
    };
    while let Some(event) = dump.next_event()? {
        match event {
            Event::Sql(text) => match restrict_line(text) {
                Some(command) => {
                    let line = format!("{command} {}\n", masker.restrict_key());
                    write(&mut out, line.as_bytes())?;
                }
                None => write(&mut out, text)?,
            },
            Event::CopyEnd(text) => {
                current = None;
                write(&mut out, text)?;
            }
            Event::CopyStart {
                table, line: text, ..
            } => {
                write(&mut out, text)?;
                let state = TableState::new(plan.tables.get(&table));
                counts.entry(table.clone()).or_default();
                current = Some((table, state));
            }
            Event::Row(row) => {
                let (table, state) = current.as_mut().expect("rows come inside a COPY block");
                let count = counts.get_mut(table).expect("entered at CopyStart");
                count.0 += 1;
                if selection.is_some_and(|s| !s.keeps(table, row)) {
                    continue;
                }
                count.1 += 1;
                let Some(table_plan) = state.plan.filter(|p| p.masks_anything()) else {
                    line.clear();
                    line.extend_from_slice(row);
                    line.push(b'\n');
                    write(&mut out, &line)?;
                    continue;
                };
                let fields: Vec<&[u8]> = copy::fields(row).collect();
                let masked = state.mask_row(table, table_plan, &fields, masker)?;
                line.clear();
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        line.push(b'\t');
                    }
                    match masked.get(i).and_then(Option::as_ref) {
                        Some(value) => line.extend_from_slice(value),
                        None => line.extend_from_slice(field),
                    }
                }
                line.push(b'\n');
                write(&mut out, &line)?;
            }
        }
    }
    out.flush().map_err(|e| Error::Write(e.to_string()))?;
    Ok(counts)
}

/// Per-table state while its COPY block is written.
struct TableState<'p> {
    plan: Option<&'p TablePlan>,
    /// Hashes of the masked values already written, per unique column set.
    seen: Vec<HashSet<u64>>,
}

impl<'p> TableState<'p> {
    fn new(plan: Option<&'p TablePlan>) -> Self {
        let seen = plan.map_or(0, |p| p.unique.len());
        Self {
            plan,
            seen: vec![HashSet::new(); seen],
        }
    }

    /// The escaped masked value of each masked column (`None` = unchanged).
    fn mask_row(
        &mut self,
        table: &TableName,
        plan: &TablePlan,
        fields: &[&[u8]],
        masker: &Masker,
    ) -> Result<Vec<Option<Vec<u8>>>, Error> {
        let mut attempts = vec![0u32; fields.len()];
        let mut masked: Vec<Option<Vec<u8>>> = fields
            .iter()
            .zip(&plan.columns)
            .map(|(field, column)| column.as_ref().map(|c| mask_field(c, field, masker, 0)))
            .collect();
        for (set, columns) in plan.unique.iter().enumerate() {
            loop {
                let mut hasher = DefaultHasher::new();
                let mut null = false;
                for &i in columns {
                    let value = masked[i].as_deref().unwrap_or(fields[i]);
                    null |= value == copy::NULL;
                    value.hash(&mut hasher);
                }
                // NULLs never clash.
                if null || self.seen[set].insert(hasher.finish()) {
                    break;
                }
                // Try another value for the first masked column of the set.
                let Some(&i) = columns.iter().find(|&&i| plan.columns[i].is_some()) else {
                    break;
                };
                attempts[i] += 1;
                let column = plan.columns[i].as_ref().expect("masked");
                if attempts[i] > MAX_ATTEMPTS
                    || matches!(column.rule, super::policy::Rule::Fixed(_))
                {
                    let names: Vec<&str> =
                        columns.iter().map(|&c| plan.names[c].as_str()).collect();
                    return Err(Error::Clash {
                        table: table.to_string(),
                        why: format!(
                            "rule `{}` cannot give unique values to unique ({}); use `email`, `hash` or `keep` there",
                            column.rule.name(),
                            names.join(", ")
                        ),
                    });
                }
                masked[i] = Some(mask_field(column, fields[i], masker, attempts[i]));
            }
        }
        Ok(masked)
    }
}

/// `\restrict KEY` / `\unrestrict KEY` (pg_dump 15.14+, 16.10+, 17.6+):
/// psql refuses meta-commands between them, so data in a dump cannot run
/// shell commands on restore. pg_dump draws a random key per dump, which
/// would make every snapshot differ; the key is replaced by one derived from
/// the masking key, as unguessable for whoever controls the data, and the
/// same every run.
fn restrict_line(line: &[u8]) -> Option<&'static str> {
    if line.starts_with(b"\\restrict ") {
        Some("\\restrict")
    } else if line.starts_with(b"\\unrestrict ") {
        Some("\\unrestrict")
    } else {
        None
    }
}

/// One field masked and escaped; NULL stays NULL.
fn mask_field(column: &ColumnPlan, field: &[u8], masker: &Masker, attempt: u32) -> Vec<u8> {
    if field == copy::NULL {
        return copy::NULL.to_vec();
    }
    let value = copy::decode(field);
    let Some(mut masked) = masker.mask(&column.rule, &value, attempt) else {
        return copy::NULL.to_vec();
    };
    if let Some(max) = column.max_chars {
        let text = String::from_utf8_lossy(&masked);
        if text.chars().count() > max {
            masked = text.chars().take(max).collect::<String>().into_bytes();
        }
    }
    let mut out = Vec::with_capacity(masked.len() + 2);
    copy::encode(&masked, &mut out);
    out
}
