//! The output pass: SQL passes through byte for byte; COPY rows are
//! filtered by the sample and their masked fields replaced, or searched and
//! what is found masked in place.
//!
//! Nothing is allocated per row: fields are byte ranges of the input line,
//! masked values go to one scratch buffer, and the output is gathered in a
//! large buffer that is written in one piece. A block with nothing to mask
//! or drop is copied through without being split into rows.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};
use std::io::Write;

use super::dump::{Dump, Event};
use super::find::Span;
use super::ident::TableName;
use super::input::Input;
use super::mask::{Masked, Masker, utf8_chars};
use super::plan::{ColumnPlan, Plan, TablePlan};
use super::policy::Rule;
use super::report::ColumnReport;
use super::sample::{Filter, Selection};
use super::{Error, copy};

/// How many other values are tried when a masked value clashes in a unique
/// column before giving up.
const MAX_ATTEMPTS: u32 = 1000;

/// Output is written in pieces of this size.
const OUTPUT_BUFFER: usize = 1 << 18;

/// Rows per table before and after sampling.
pub type Counts = BTreeMap<TableName, (u64, u64)>;

/// What the pass wrote.
pub struct Written {
    pub counts: Counts,
    pub bytes: u64,
}

/// What the pass needs besides its input and output.
pub struct Context<'a> {
    pub plan: &'a Plan,
    pub masker: &'a Masker,
    pub selection: Option<&'a Selection>,
    /// The number of COPY blocks of each table (to free its state after the
    /// last one).
    pub blocks: BTreeMap<TableName, u32>,
    /// Whether character counts are UTF-8 (else one byte is one character).
    pub utf8: bool,
}

/// The output, gathered into large writes.
struct Output<W> {
    out: W,
    buf: Vec<u8>,
    bytes: u64,
}

impl<W: Write> Output<W> {
    fn push(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if self.buf.len() + bytes.len() > OUTPUT_BUFFER {
            self.flush_buffer()?;
            if bytes.len() > OUTPUT_BUFFER {
                self.bytes += bytes.len() as u64;
                return self.out.write_all(bytes).map_err(write_error);
            }
        }
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    /// After appending to `buf` directly.
    fn maybe_flush(&mut self) -> Result<(), Error> {
        if self.buf.len() >= OUTPUT_BUFFER {
            self.flush_buffer()?;
        }
        Ok(())
    }

    fn flush_buffer(&mut self) -> Result<(), Error> {
        self.bytes += self.buf.len() as u64;
        self.out.write_all(&self.buf).map_err(write_error)?;
        self.buf.clear();
        Ok(())
    }
}

fn write_error(e: std::io::Error) -> Error {
    Error::Write(e.to_string())
}

pub fn rewrite<R: Input, W: Write>(
    input: R,
    out: W,
    cx: &Context,
    report: &mut [ColumnReport],
) -> Result<Written, Error> {
    let mut dump = Dump::new(input);
    let mut out = Output {
        out,
        buf: Vec::with_capacity(OUTPUT_BUFFER + 4096),
        bytes: 0,
    };
    let mut counts = Counts::new();
    let mut states: BTreeMap<TableName, TableState> = BTreeMap::new();
    let mut seen_blocks: BTreeMap<TableName, u32> = BTreeMap::new();
    let mut block: Option<Block> = None;
    let mut row_work = RowWork::default();
    while let Some(event) = dump.next_event()? {
        match event {
            Event::Sql(text) => out.push(text)?,
            Event::Meta(text) => match restrict_line(text) {
                Some(command) => {
                    let line = format!("{command} {}\n", cx.masker.restrict_key());
                    out.push(line.as_bytes())?;
                }
                None => out.push(text)?,
            },
            Event::CopyEnd(text) => {
                out.push(text)?;
                if let Some(b) = block.take() {
                    let count = counts.entry(b.table.clone()).or_default();
                    count.0 += b.rows.0;
                    count.1 += b.rows.1;
                    let seen = seen_blocks.entry(b.table.clone()).or_default();
                    *seen += 1;
                    let last = cx.blocks.get(&b.table).is_none_or(|n| *seen >= *n);
                    if let (Some(state), false) = (b.state, last) {
                        states.insert(b.table, state);
                    }
                }
            }
            Event::CopyStart {
                table, line: text, ..
            } => {
                out.push(text)?;
                let plan = cx.plan.tables.get(&table).filter(|p| p.changes_anything());
                let filter = cx.selection.and_then(|s| s.filter(&table));
                let count = counts.entry(table.clone()).or_default();
                if filter.is_none() && plan.is_none() {
                    // Nothing to do: the block goes through as it is.
                    let rows = dump.pass_rows(|bytes| out.push(bytes))?;
                    count.0 += rows;
                    count.1 += rows;
                    *seen_blocks.entry(table).or_default() += 1;
                    continue;
                }
                let state =
                    plan.map(|p| states.remove(&table).unwrap_or_else(|| TableState::new(p)));
                block = Some(Block {
                    table,
                    plan,
                    filter,
                    state,
                    rows: (0, 0),
                });
            }
            Event::Row(row) => {
                let b = block.as_mut().expect("rows come inside a COPY block");
                b.rows.0 += 1;
                copy::split(row, &mut row_work.ranges);
                if let Some(filter) = &b.filter
                    && !filter.keeps(row, &row_work.ranges)
                {
                    continue;
                }
                b.rows.1 += 1;
                let (Some(plan), Some(state)) = (b.plan, b.state.as_mut()) else {
                    out.push(row)?;
                    out.push(b"\n")?;
                    continue;
                };
                row_work.mask_row(&b.table, plan, state, row, cx, report)?;
                row_work.write_row(row, &mut out.buf);
                out.maybe_flush()?;
            }
        }
    }
    out.flush_buffer()?;
    out.out.flush().map_err(write_error)?;
    Ok(Written {
        counts,
        bytes: out.bytes,
    })
}

/// The COPY block being written, with everything its rows need looked up
/// once.
struct Block<'a> {
    table: TableName,
    plan: Option<&'a TablePlan>,
    filter: Option<Filter<'a>>,
    state: Option<TableState>,
    /// Rows read and written.
    rows: (u64, u64),
}

/// Per-table state while its rows are written.
struct TableState {
    /// Hashes of the values already written, per unique column set.
    seen: Vec<HashSet<u64>>,
}

impl TableState {
    fn new(plan: &TablePlan) -> Self {
        Self {
            seen: vec![HashSet::new(); plan.unique.len()],
        }
    }
}

/// Buffers reused from row to row.
#[derive(Default)]
struct RowWork {
    /// The fields of the row being written.
    ranges: Vec<(usize, usize)>,
    /// Masked fields (escaped), one after the other.
    cells: Vec<u8>,
    /// Per field: its masked form in `cells`, or `None` (unchanged).
    masked: Vec<Option<(usize, usize)>>,
    attempts: Vec<u32>,
    decoded: Vec<u8>,
    value: Vec<u8>,
    spans: Vec<Span>,
}

impl RowWork {
    fn mask_row(
        &mut self,
        table: &TableName,
        plan: &TablePlan,
        state: &mut TableState,
        row: &[u8],
        cx: &Context,
        report: &mut [ColumnReport],
    ) -> Result<(), Error> {
        self.cells.clear();
        self.masked.clear();
        self.attempts.clear();
        self.masked.resize(self.ranges.len(), None);
        self.attempts.resize(self.ranges.len(), 0);
        for (i, column) in plan.columns.iter().enumerate() {
            if column.changes() && i < self.ranges.len() {
                self.masked[i] = self.mask_field(column, row, i, 0, cx, report);
            }
        }
        for (set, unique) in plan.unique.iter().enumerate() {
            loop {
                let changed = unique.positions.iter().any(|&i| self.masked[i].is_some());
                if !unique.every_row && !changed {
                    break;
                }
                let mut hasher = DefaultHasher::new();
                let mut null = false;
                for &i in &unique.positions {
                    let value = self.cell(row, i);
                    null |= value == copy::NULL;
                    value.hash(&mut hasher);
                }
                // NULLs never clash.
                if null || state.seen[set].insert(hasher.finish()) {
                    break;
                }
                // Draw another value for the first column of the set that
                // changes.
                let Some(&i) = unique
                    .positions
                    .iter()
                    .find(|&&i| plan.columns[i].changes() && self.masked[i].is_some())
                else {
                    break;
                };
                self.attempts[i] += 1;
                let column = &plan.columns[i];
                if self.attempts[i] > MAX_ATTEMPTS || matches!(column.rule, Some(Rule::Fixed(_))) {
                    let names: Vec<&str> = unique
                        .positions
                        .iter()
                        .map(|&c| plan.names[c].as_str())
                        .collect();
                    let rule = column.rule.as_ref().map_or("scrub", Rule::name);
                    return Err(Error::Clash {
                        table: table.to_string(),
                        why: format!(
                            "rule `{rule}` cannot give unique values to unique ({}); use `email`, `hash` or `keep` there",
                            names.join(", ")
                        ),
                    });
                }
                let attempt = self.attempts[i];
                self.masked[i] = self.mask_field(column, row, i, attempt, cx, report);
            }
        }
        Ok(())
    }

    /// The field as it will be written.
    fn cell<'r>(&'r self, row: &'r [u8], i: usize) -> &'r [u8] {
        match self.masked[i] {
            Some((s, e)) => &self.cells[s..e],
            None => {
                let (s, e) = self.ranges[i];
                &row[s..e]
            }
        }
    }

    /// Masks field `i` into `cells`; `None` when it stays as it is.
    fn mask_field(
        &mut self,
        column: &ColumnPlan,
        row: &[u8],
        i: usize,
        attempt: u32,
        cx: &Context,
        report: &mut [ColumnReport],
    ) -> Option<(usize, usize)> {
        let (s, e) = self.ranges[i];
        let field = &row[s..e];
        if field == copy::NULL {
            return None;
        }
        // Fields without a backslash are their own value: no decoding.
        let escaped = memchr::memchr(b'\\', field).is_some();
        let value: &[u8] = if escaped {
            self.decoded.clear();
            copy::decode_into(field, &mut self.decoded);
            &self.decoded
        } else {
            field
        };
        self.value.clear();
        if let Some(rule) = &column.rule {
            if cx
                .masker
                .mask_into(rule, value, attempt, column.bytea, &mut self.value)
                == Masked::Null
            {
                let start = self.cells.len();
                self.cells.extend_from_slice(copy::NULL);
                if attempt == 0 {
                    report[column.report].changed += 1;
                }
                return Some((start, self.cells.len()));
            }
        } else {
            crate::find::find(value, cx.plan.kinds, &mut self.spans);
            if self.spans.is_empty() {
                return None;
            }
            let mut at = 0;
            for span in &self.spans {
                self.value.extend_from_slice(&value[at..span.start]);
                cx.masker.found_into(
                    span.kind,
                    &value[span.start..span.end],
                    attempt,
                    &mut self.value,
                );
                at = span.end;
                if attempt == 0 {
                    report[column.report].found.add(span.kind);
                }
            }
            self.value.extend_from_slice(&value[at..]);
        }
        if let Some(max) = column.max_chars {
            truncate_chars(&mut self.value, max, cx.utf8);
        }
        if column.rule.is_some() && self.value == value {
            return None;
        }
        if attempt == 0 {
            report[column.report].changed += 1;
        }
        let start = self.cells.len();
        copy::encode(&self.value, &mut self.cells);
        Some((start, self.cells.len()))
    }

    fn write_row(&self, row: &[u8], out: &mut Vec<u8>) {
        for i in 0..self.ranges.len() {
            if i > 0 {
                out.push(b'\t');
            }
            out.extend_from_slice(self.cell(row, i));
        }
        out.push(b'\n');
    }
}

/// Cuts `value` to `max` characters.
fn truncate_chars(value: &mut Vec<u8>, max: usize, utf8: bool) {
    if !utf8 {
        value.truncate(max);
        return;
    }
    if value.len() <= max || utf8_chars(value) <= max {
        return;
    }
    let mut chars = 0;
    for (i, &b) in value.iter().enumerate() {
        if (b as i8) >= -0x40 {
            if chars == max {
                value.truncate(i);
                return;
            }
            chars += 1;
        }
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

#[cfg(test)]
mod tests {
    use super::truncate_chars;

    #[test]
    fn values_are_cut_at_character_boundaries() {
        let mut v = "größe".as_bytes().to_vec();
        truncate_chars(&mut v, 3, true);
        assert_eq!(v, "grö".as_bytes());
        let mut v = b"abcdef".to_vec();
        truncate_chars(&mut v, 4, false);
        assert_eq!(v, b"abcd");
    }
}
