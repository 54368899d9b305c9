//! Reading a plain-format pg_dump line by line: SQL lines pass through,
//! COPY blocks are recognised so their rows can be rewritten, and (when
//! asked) the SQL is cut into whole statements for the schema.
//!
//! A line is a COPY header or a psql meta-command only where a statement
//! starts (see [`sql::Lexer`]), never inside a function body, a comment or
//! a string. Files that are not plain SQL (custom, directory or tar
//! archives, compressed dumps) and data written as INSERT statements are
//! refused with what to do instead.

use super::Error;
use super::ident::{TableName, column_list, table_name};
use super::input::{Input, Lines};
use super::sql::{Lexer, Mark};

/// One line of a dump, classified.
#[derive(Debug)]
pub enum Event<'a> {
    /// A line of SQL (schema, settings, comments), with its newline.
    Sql(&'a [u8]),
    /// A psql meta-command line (`\restrict KEY`), with its newline.
    Meta(&'a [u8]),
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

/// A whole SQL statement and the line it starts on.
#[derive(Debug, Clone)]
pub struct Statement {
    pub line: usize,
    pub text: String,
}

/// A streaming reader of dump lines; only one line is looked at at a time.
pub struct Dump<R> {
    lines: Lines<R>,
    in_copy: Option<TableName>,
    lexer: Lexer,
    /// Collect statements (the schema pass) or not (the other passes).
    collect: bool,
    pending: Vec<u8>,
    pending_line: usize,
    statements: Vec<Statement>,
    checked_format: bool,
}

impl<R: Input> Dump<R> {
    pub fn new(input: R) -> Self {
        Self {
            lines: Lines::new(input),
            in_copy: None,
            lexer: Lexer::default(),
            collect: false,
            pending: Vec::new(),
            pending_line: 0,
            statements: Vec::new(),
            checked_format: false,
        }
    }

    /// Also cut the SQL into statements, handed out by [`Dump::statements`].
    pub fn collecting_statements(mut self) -> Self {
        self.collect = true;
        self
    }

    /// The 1-based number of the line last returned.
    pub fn line(&self) -> usize {
        self.lines.line()
    }

    /// Bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.lines.bytes()
    }

    /// The statements completed by the lines returned so far.
    pub fn statements(&mut self) -> std::vec::Drain<'_, Statement> {
        self.statements.drain(..)
    }

    /// Skips the rest of the current COPY block (after its `CopyStart`):
    /// returns the number of rows skipped.
    pub fn skip_rows(&mut self) -> Result<u64, Error> {
        let Some(table) = self.in_copy.take() else {
            return Ok(0);
        };
        match self.lines.skip_copy_block().map_err(read_error)? {
            Some(rows) => Ok(rows),
            None => Err(cut_short(self.lines.line(), &table)),
        }
    }

    /// Hands the rest of the current COPY block, its `\.` line included,
    /// to `sink` unchanged: returns the number of rows.
    pub fn pass_rows(
        &mut self,
        mut sink: impl FnMut(&[u8]) -> Result<(), Error>,
    ) -> Result<u64, Error> {
        let Some(table) = self.in_copy.take() else {
            return Ok(0);
        };
        let mut failed = None;
        let result = self.lines.pass_copy_block(|bytes| {
            sink(bytes).map_err(|e| {
                failed = Some(e);
                std::io::Error::other("sink")
            })
        });
        if let Some(e) = failed {
            return Err(e);
        }
        match result.map_err(read_error)? {
            Some(rows) => Ok(rows),
            None => Err(cut_short(self.lines.line(), &table)),
        }
    }

    pub fn next_event(&mut self) -> Result<Option<Event<'_>>, Error> {
        if !self.checked_format {
            self.checked_format = true;
            let head = self.lines.peek(512).map_err(read_error)?;
            if let Some(why) = not_plain_sql(head) {
                return Err(Error::Unsupported { line: 1, why });
            }
        }
        let number = self.lines.line() + 1;
        let Some(line) = self.lines.next_line().map_err(read_error)? else {
            if let Some(table) = self.in_copy.take() {
                return Err(cut_short(number - 1, &table));
            }
            return Ok(None);
        };
        if self.in_copy.is_some() {
            let row = line.strip_suffix(b"\n").unwrap_or(line);
            if row == b"\\." {
                self.in_copy = None;
                return Ok(Some(Event::CopyEnd(line)));
            }
            return Ok(Some(Event::Row(row)));
        }
        if self.lexer.at_statement_start() {
            if line.starts_with(b"COPY ") {
                let text = String::from_utf8_lossy(line);
                let Some((table, columns)) = parse_copy(&text) else {
                    return Err(Error::Syntax {
                        line: number,
                        why: format!("cannot read this COPY statement: {}", text.trim_end()),
                    });
                };
                self.in_copy = Some(table.clone());
                return Ok(Some(Event::CopyStart {
                    table,
                    columns,
                    line,
                }));
            }
            if line.starts_with(b"\\") {
                if line.starts_with(b"\\connect") || line.starts_with(b"\\c ") {
                    return Err(Error::Unsupported {
                        line: number,
                        why: "this is a dump of several databases (pg_dumpall); sanitize one database, dumped with pg_dump".into(),
                    });
                }
                return Ok(Some(Event::Meta(line)));
            }
        }
        let marks = self.lexer.feed(line);
        // The part of this line that belongs to the open statement.
        let mut from = 0;
        let mut standard_strings = None;
        for mark in marks {
            match *mark {
                Mark::Start(at) => {
                    if starts_with_word(&line[at..], b"INSERT") {
                        return Err(Error::Unsupported {
                            line: number,
                            why: "the dump holds table data as INSERT statements (pg_dump --inserts, --column-inserts or --rows-per-insert); sanitize reads COPY data: dump again without those options".into(),
                        });
                    }
                    if starts_with_word(&line[at..], b"SET") {
                        let set = String::from_utf8_lossy(&line[at..]).to_ascii_lowercase();
                        if set.starts_with("set standard_conforming_strings") {
                            standard_strings =
                                Some(!(set.contains("off") || set.contains("false")));
                        }
                    }
                    self.pending.clear();
                    self.pending_line = number;
                    from = at;
                }
                Mark::End(at) => {
                    if self.collect {
                        self.pending.extend_from_slice(&line[from..at]);
                        self.statements.push(Statement {
                            line: self.pending_line,
                            text: String::from_utf8_lossy(&self.pending).into_owned(),
                        });
                    }
                    self.pending.clear();
                    self.pending_line = 0;
                }
            }
        }
        if self.collect && self.pending_line != 0 {
            self.pending.extend_from_slice(&line[from..]);
        }
        if let Some(on) = standard_strings {
            self.lexer.standard_strings = on;
        }
        Ok(Some(Event::Sql(line)))
    }
}

fn read_error(e: std::io::Error) -> Error {
    Error::Read(e.to_string())
}

fn cut_short(line: usize, table: &TableName) -> Error {
    Error::Truncated {
        line,
        why: format!("the data of table {table} is cut short (no `\\.`)"),
    }
}

fn starts_with_word(text: &[u8], word: &[u8]) -> bool {
    text.len() > word.len()
        && text[..word.len()].eq_ignore_ascii_case(word)
        && !text[word.len()].is_ascii_alphanumeric()
        && text[word.len()] != b'_'
}

/// Why the first bytes of a file are not a plain-format dump, if they are
/// not.
fn not_plain_sql(head: &[u8]) -> Option<String> {
    let convert = "convert it with `pg_restore -f dump.sql FILE` (or dump with `pg_dump -Fp`) and sanitize the plain SQL";
    if head.starts_with(b"PGDMP") {
        return Some(format!(
            "this is a pg_dump archive (custom format, -Fc, or the toc.dat of a directory dump); {convert}"
        ));
    }
    if head.len() > 262 && &head[257..262] == b"ustar" {
        return Some(format!("this is a tar archive (pg_dump -Ft); {convert}"));
    }
    let compressed = [
        (&b"\x1f\x8b"[..], "gzip", "gzip -d"),
        (b"\x28\xb5\x2f\xfd", "zstd", "zstd -d"),
        (b"\x04\x22\x4d\x18", "lz4", "lz4 -d"),
        (b"BZh", "bzip2", "bzip2 -d"),
        (b"\xfd7zXZ\x00", "xz", "xz -d"),
    ];
    for (magic, name, tool) in compressed {
        if head.starts_with(magic) {
            return Some(format!(
                "this file is {name}-compressed; decompress it first (`{tool}`): sanitize reads plain-format pg_dump SQL"
            ));
        }
    }
    None
}

/// `COPY public.t (a, b) FROM stdin;` → (table, columns). A table without
/// columns has no list: `COPY public.t  FROM stdin;`.
fn parse_copy(line: &str) -> Option<(TableName, Vec<String>)> {
    let rest = line.strip_prefix("COPY ")?;
    let (table, rest) = table_name(rest)?;
    let (columns, rest) = if rest.trim_start().starts_with('(') {
        column_list(rest)?
    } else {
        (Vec::new(), rest)
    };
    rest.trim()
        .eq_ignore_ascii_case("FROM stdin;")
        .then_some((table, columns))
}

#[cfg(test)]
mod tests {
    use super::{Dump, Event};

    fn events(text: &str) -> Vec<String> {
        let mut dump = Dump::new(text.as_bytes());
        let mut seen = Vec::new();
        while let Some(event) = dump.next_event().unwrap() {
            seen.push(match event {
                Event::Sql(l) => format!("sql {}", String::from_utf8_lossy(l).trim_end()),
                Event::Meta(l) => format!("meta {}", String::from_utf8_lossy(l).trim_end()),
                Event::CopyStart { table, columns, .. } => {
                    format!("copy {table} {}", columns.join(","))
                }
                Event::Row(r) => format!("row {}", String::from_utf8_lossy(r)),
                Event::CopyEnd(_) => "end".into(),
            });
        }
        seen
    }

    #[test]
    fn copy_blocks_are_recognised() {
        let text = "SET x = 1;\nCOPY public.t (id, \"Name\") FROM stdin;\n1\tA\n\\.\nSELECT 1;\nCOPY public.empty  FROM stdin;\n\\.\n";
        assert_eq!(
            events(text),
            [
                "sql SET x = 1;",
                "copy public.t id,Name",
                "row 1\tA",
                "end",
                "sql SELECT 1;",
                "copy public.empty ",
                "end"
            ]
        );
    }

    #[test]
    fn copy_and_meta_lines_inside_statements_are_sql() {
        let text = "CREATE FUNCTION f() RETURNS void\n    LANGUAGE plpgsql\n    AS $$\nbegin\nCOPY customers FROM stdin;\n\\connect x\nend $$;\nCOMMENT ON TABLE t IS 'a\nCOPY x FROM stdin;';\n\\restrict abc\n";
        let seen = events(text);
        assert!(seen.contains(&"sql COPY customers FROM stdin;".to_owned()));
        assert!(seen.contains(&"sql \\connect x".to_owned()));
        assert!(seen.contains(&"sql COPY x FROM stdin;';".to_owned()));
        assert_eq!(seen.last().unwrap(), "meta \\restrict abc");
    }

    #[test]
    fn statements_are_collected_whole() {
        let text = "-- head\nSET a = 1; SET b = 2;\nCREATE TABLE t (\n    a text DEFAULT 'x;'\n);\nCOPY t (a) FROM stdin;\nx\n\\.\nALTER TABLE t\n    ADD CONSTRAINT k PRIMARY KEY (a);\n";
        let mut dump = Dump::new(text.as_bytes()).collecting_statements();
        let mut statements = Vec::new();
        while dump.next_event().unwrap().is_some() {
            statements.extend(dump.statements().map(|s| (s.line, s.text)));
        }
        assert_eq!(
            statements,
            [
                (2, "SET a = 1;".to_owned()),
                (2, "SET b = 2;".to_owned()),
                (
                    3,
                    "CREATE TABLE t (\n    a text DEFAULT 'x;'\n);".to_owned()
                ),
                (
                    9,
                    "ALTER TABLE t\n    ADD CONSTRAINT k PRIMARY KEY (a);".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn a_cut_copy_block_is_an_error() {
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

    #[test]
    fn archives_compressed_files_and_inserts_are_refused() {
        for (head, says) in [
            (&b"PGDMP\x01\x0e\x00"[..], "pg_restore -f dump.sql"),
            (b"\x1f\x8b\x08\x00", "gzip-compressed"),
            (b"\x28\xb5\x2f\xfd\x00", "zstd-compressed"),
        ] {
            let mut dump = Dump::new(head);
            let e = dump.next_event().unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
        }
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        let e = Dump::new(&tar[..]).next_event().unwrap_err().to_string();
        assert!(e.contains("tar archive"), "{e}");
        let mut dump = Dump::new(&b"SET a = 1;\nINSERT INTO public.t VALUES (1);\n"[..]);
        dump.next_event().unwrap();
        let e = dump.next_event().unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("--inserts"), "{e}");
    }

    #[test]
    fn rows_are_skipped_to_the_end_of_their_block() {
        let text = "COPY t (a) FROM stdin;\n1\n2\n\\.\nSELECT 1;\n";
        let mut dump = Dump::new(text.as_bytes());
        assert!(matches!(
            dump.next_event().unwrap(),
            Some(Event::CopyStart { .. })
        ));
        assert_eq!(dump.skip_rows().unwrap(), 2);
        assert!(matches!(dump.next_event().unwrap(), Some(Event::Sql(_))));
        assert_eq!(dump.line(), 5);
    }
}
