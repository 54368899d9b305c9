//! Reading a plain-format pg_dump line by line: SQL lines pass through, COPY
//! blocks are recognised so their rows can be rewritten.

use std::io::BufRead;

use super::Error;
use super::ident::{TableName, column_list, table_name};

/// One line of a dump, classified.
#[derive(Debug)]
pub enum Event<'a> {
    /// A line of SQL (schema, settings, comments), with its newline.
    Sql(&'a [u8]),
    /// `COPY table (columns) FROM stdin;`, with its newline.
    CopyStart {
        table: TableName,
        columns: Vec<String>,
        line: &'a [u8],
    },
    /// One row of the current COPY block, without its newline.
    Row(&'a [u8]),
    /// The `\.` that ends a COPY block, with its newline.
    CopyEnd(&'a [u8]),
}

/// A streaming reader of dump lines; only one line is in memory at a time.
pub struct Dump<R> {
    input: R,
    buffer: Vec<u8>,
    line: usize,
    in_copy: Option<TableName>,
}

impl<R: BufRead> Dump<R> {
    pub fn new(input: R) -> Self {
        Self {
            input,
            buffer: Vec::with_capacity(4096),
            line: 0,
            in_copy: None,
        }
    }

    /// The 1-based number of the line last returned.
    pub fn line(&self) -> usize {
        self.line
    }

    pub fn next_event(&mut self) -> Result<Option<Event<'_>>, Error> {
        self.buffer.clear();
        let n = self
            .input
            .read_until(b'\n', &mut self.buffer)
            .map_err(|e| Error::Read(e.to_string()))?;
        if n == 0 {
            if let Some(table) = self.in_copy.take() {
                return Err(Error::Truncated {
                    line: self.line,
                    why: format!("the data of table {table} is cut short (no `\\.`)"),
                });
            }
            return Ok(None);
        }
        self.line += 1;
        if self.in_copy.is_some() {
            let row = self.buffer.strip_suffix(b"\n").unwrap_or(&self.buffer);
            if row == b"\\." {
                self.in_copy = None;
                return Ok(Some(Event::CopyEnd(&self.buffer)));
            }
            return Ok(Some(Event::Row(row)));
        }
        if self.buffer.starts_with(b"COPY ") {
            let text = String::from_utf8_lossy(&self.buffer);
            let Some((table, columns)) = parse_copy(&text) else {
                return Err(Error::Syntax {
                    line: self.line,
                    why: format!("cannot read this COPY statement: {}", text.trim_end()),
                });
            };
            self.in_copy = Some(table.clone());
            return Ok(Some(Event::CopyStart {
                table,
                columns,
                line: &self.buffer,
            }));
        }
        if self.buffer.starts_with(b"\\connect") || self.buffer.starts_with(b"\\c ") {
            return Err(Error::Unsupported {
                line: self.line,
                why: "this is a dump of several databases (pg_dumpall); sanitize one database, dumped with pg_dump".into(),
            });
        }
        Ok(Some(Event::Sql(&self.buffer)))
    }
}

/// `COPY public.t (a, b) FROM stdin;` → (table, columns).
fn parse_copy(line: &str) -> Option<(TableName, Vec<String>)> {
    let rest = line.strip_prefix("COPY ")?;
    let (table, rest) = table_name(rest)?;
    let (columns, rest) = column_list(rest)?;
    rest.trim()
        .eq_ignore_ascii_case("FROM stdin;")
        .then_some((table, columns))
}

#[cfg(test)]
mod tests {
    use super::{Dump, Event};

    #[test]
    fn copy_blocks_are_recognised() {
        let text = "SET x = 1;\nCOPY public.t (id, \"Name\") FROM stdin;\n1\tA\n\\.\nSELECT 1;\n";
        let mut dump = Dump::new(text.as_bytes());
        let mut seen = Vec::new();
        while let Some(event) = dump.next_event().unwrap() {
            seen.push(match event {
                Event::Sql(l) => format!("sql {}", String::from_utf8_lossy(l).trim_end()),
                Event::CopyStart { table, columns, .. } => {
                    format!("copy {table} {}", columns.join(","))
                }
                Event::Row(r) => format!("row {}", String::from_utf8_lossy(r)),
                Event::CopyEnd(_) => "end".into(),
            });
        }
        assert_eq!(
            seen,
            [
                "sql SET x = 1;",
                "copy public.t id,Name",
                "row 1\tA",
                "end",
                "sql SELECT 1;"
            ]
        );
    }

    #[test]
    fn a_cut_copy_block_is_an_error() {
        let mut dump = Dump::new(&b"COPY t (a) FROM stdin;\n1\n"[..]);
        while let Ok(Some(_)) = dump.next_event() {}
        let mut dump = Dump::new(&b"COPY t (a) FROM stdin;\n1\n"[..]);
        dump.next_event().unwrap();
        dump.next_event().unwrap();
        let e = dump.next_event().unwrap_err();
        assert!(e.to_string().contains("cut short"), "{e}");
    }

    #[test]
    fn pg_dumpall_is_refused() {
        let mut dump = Dump::new(&b"\\connect demo\n"[..]);
        let e = dump.next_event().unwrap_err();
        assert!(e.to_string().contains("pg_dumpall"), "{e}");
    }
}
