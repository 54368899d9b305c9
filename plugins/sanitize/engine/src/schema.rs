//! What the first pass learns from a dump: tables and their column types
//! (CREATE TABLE), the column order of their data (COPY), keys and foreign
//! keys (ALTER TABLE … ADD CONSTRAINT, CREATE UNIQUE INDEX, which pg_dump
//! writes after the data), row counts, and what sampled values look like.

use std::collections::BTreeMap;
use std::io::BufRead;

use super::dump::{Dump, Event};
use super::ident::{TableName, column_list, identifier, table_name};
use super::pii::ContentStats;
use super::{Error, copy};

/// How a column's values can be masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeClass {
    /// text, varchar(n), char(n), citext: any string of at most `max_chars`.
    Text { max_chars: Option<usize> },
    /// date: `YYYY-MM-DD`.
    Date,
    /// timestamp[tz]: `YYYY-MM-DD hh:mm:ss…`.
    Timestamp,
    /// Anything else (numbers, uuid, json, arrays…).
    Other,
}

impl TypeClass {
    pub fn of(sql_type: &str) -> TypeClass {
        let t = sql_type.trim().to_ascii_lowercase();
        if t.ends_with("[]") {
            return TypeClass::Other;
        }
        let base = t.rsplit('.').next().unwrap_or(&t);
        let limit = || {
            base.split_once('(')
                .and_then(|(_, n)| n.trim_end_matches(')').trim().parse().ok())
        };
        if base == "text" || base == "citext" || base == "name" {
            TypeClass::Text { max_chars: None }
        } else if base.starts_with("character varying") || base.starts_with("varchar") {
            TypeClass::Text { max_chars: limit() }
        } else if base.starts_with("character") || base.starts_with("char") || base == "bpchar" {
            TypeClass::Text {
                max_chars: limit().or(Some(1)),
            }
        } else if base == "date" {
            TypeClass::Date
        } else if base.starts_with("timestamp") {
            TypeClass::Timestamp
        } else {
            TypeClass::Other
        }
    }
}

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub sql_type: String,
    pub class: TypeClass,
    pub not_null: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    pub name: String,
    pub columns: Vec<String>,
    pub parent: TableName,
    pub parent_columns: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Table {
    /// From CREATE TABLE, in declaration order.
    pub columns: Vec<Column>,
    /// The column order of the COPY block (empty when the table has no data
    /// in the dump).
    pub copy_columns: Vec<String>,
    pub rows: u64,
    pub primary_key: Option<Vec<String>>,
    /// Every unique column set, the primary key included.
    pub unique: Vec<Vec<String>>,
    pub foreign_keys: Vec<ForeignKey>,
    /// Per COPY column: what sampled values look like.
    pub content: Vec<ContentStats>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The position of `name` in the COPY rows.
    pub fn copy_index(&self, name: &str) -> Option<usize> {
        self.copy_columns.iter().position(|c| c == name)
    }

    pub fn has_data(&self) -> bool {
        !self.copy_columns.is_empty()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Schema {
    pub tables: BTreeMap<TableName, Table>,
    /// Tables in the order their data appears in the dump.
    pub data_order: Vec<TableName>,
    pub bytes: u64,
    /// Whether pg_dump's completion comment was seen.
    pub complete: bool,
}

impl Schema {
    /// The first pass over a dump.
    pub fn analyze<R: BufRead>(input: R) -> Result<Schema, Error> {
        let mut schema = Schema::default();
        let mut dump = Dump::new(input);
        let mut statement: Vec<String> = Vec::new();
        let mut current: Option<TableName> = None;
        while let Some(event) = dump.next_event()? {
            match event {
                Event::Sql(line) => {
                    schema.bytes += line.len() as u64;
                    let text = String::from_utf8_lossy(line);
                    if text.trim_end() == super::COMPLETE_MARKER {
                        schema.complete = true;
                    }
                    let starts = ["CREATE TABLE ", "ALTER TABLE ", "CREATE UNIQUE INDEX "];
                    if statement.is_empty() && !starts.iter().any(|s| text.starts_with(s)) {
                        continue;
                    }
                    statement.push(text.trim_end().to_owned());
                    if text.trim_end().ends_with(';') {
                        let line = dump.line() + 1 - statement.len();
                        schema.statement(&statement, line)?;
                        statement.clear();
                    }
                }
                Event::CopyStart {
                    table,
                    columns,
                    line,
                } => {
                    schema.bytes += line.len() as u64;
                    let entry = schema.tables.entry(table.clone()).or_default();
                    entry.content = vec![ContentStats::default(); columns.len()];
                    entry.copy_columns = columns;
                    schema.data_order.push(table.clone());
                    current = Some(table);
                }
                Event::Row(row) => {
                    schema.bytes += row.len() as u64 + 1;
                    let table = current.as_ref().expect("rows come inside a COPY block");
                    let entry = schema.tables.get_mut(table).expect("entered at CopyStart");
                    entry.rows += 1;
                    for (field, stats) in copy::fields(row).zip(entry.content.iter_mut()) {
                        stats.sample(field);
                    }
                }
                Event::CopyEnd(line) => {
                    schema.bytes += line.len() as u64;
                    current = None;
                }
            }
        }
        Ok(schema)
    }

    fn statement(&mut self, lines: &[String], line: usize) -> Result<(), Error> {
        let first = &lines[0];
        if let Some(rest) = first.strip_prefix("CREATE TABLE ") {
            let Some((name, after)) = table_name(rest) else {
                return Err(syntax(line, "cannot read the table name", first));
            };
            if after.trim() != "(" {
                // PARTITION OF, AS …: no column list of its own to learn.
                return Ok(());
            }
            let table = self.tables.entry(name).or_default();
            for (i, text) in lines[1..].iter().enumerate() {
                let text = text.trim();
                if text.starts_with(')') {
                    break;
                }
                if text.starts_with("CONSTRAINT ") {
                    continue;
                }
                let Some(column) = parse_column(text) else {
                    return Err(syntax(line + 1 + i, "cannot read this column", text));
                };
                table.columns.push(column);
            }
            return Ok(());
        }
        let joined = lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ");
        if let Some(rest) = joined.strip_prefix("ALTER TABLE ") {
            let rest = rest.strip_prefix("ONLY ").unwrap_or(rest);
            let Some((name, rest)) = table_name(rest) else {
                return Ok(());
            };
            let Some(rest) = rest.trim_start().strip_prefix("ADD CONSTRAINT ") else {
                return Ok(());
            };
            let Some((constraint, rest)) = identifier(rest) else {
                return Ok(());
            };
            let table = self.tables.entry(name).or_default();
            let rest = rest.trim_start();
            if let Some(cols) = rest.strip_prefix("PRIMARY KEY") {
                if let Some((cols, _)) = column_list(cols) {
                    table.primary_key = Some(cols.clone());
                    table.unique.push(cols);
                }
            } else if let Some(cols) = rest.strip_prefix("UNIQUE") {
                let cols = cols.trim_start();
                let cols = cols.strip_prefix("NULLS NOT DISTINCT").unwrap_or(cols);
                if let Some((cols, _)) = column_list(cols) {
                    table.unique.push(cols);
                }
            } else if let Some(cols) = rest.strip_prefix("FOREIGN KEY") {
                let parsed = column_list(cols).and_then(|(columns, rest)| {
                    let rest = rest.trim_start().strip_prefix("REFERENCES ")?;
                    let (parent, rest) = table_name(rest)?;
                    let (parent_columns, _) = column_list(rest)?;
                    Some(ForeignKey {
                        name: constraint,
                        columns,
                        parent,
                        parent_columns,
                    })
                });
                match parsed {
                    Some(fk) => table.foreign_keys.push(fk),
                    None => return Err(syntax(line, "cannot read this foreign key", &joined)),
                }
            }
            return Ok(());
        }
        if let Some(rest) = joined.strip_prefix("CREATE UNIQUE INDEX ") {
            // CREATE UNIQUE INDEX name ON [ONLY] table USING method (cols);
            let Some((_, rest)) = identifier(rest) else {
                return Ok(());
            };
            let Some(rest) = rest.trim_start().strip_prefix("ON ") else {
                return Ok(());
            };
            let rest = rest.strip_prefix("ONLY ").unwrap_or(rest);
            let Some((name, rest)) = table_name(rest) else {
                return Ok(());
            };
            let rest = rest.trim_start();
            let rest = match rest.strip_prefix("USING ") {
                Some(r) => identifier(r).map(|(_, r)| r).unwrap_or(r),
                None => rest,
            };
            // Expression indexes (`lower(email)`) are not plain column lists;
            // their columns are still guarded, see `unique_expression`.
            match column_list(rest) {
                Some((cols, _)) => self.tables.entry(name).or_default().unique.push(cols),
                None => {
                    let table = self.tables.entry(name).or_default();
                    let columns: Vec<String> = table
                        .columns
                        .iter()
                        .filter(|c| contains_word(rest, &c.name))
                        .map(|c| c.name.clone())
                        .collect();
                    for column in columns {
                        table.unique.push(vec![column]);
                    }
                }
            }
        }
        Ok(())
    }
}

fn syntax(line: usize, why: &str, text: &str) -> Error {
    Error::Syntax {
        line,
        why: format!("{why}: {text}"),
    }
}

/// Whether `word` appears in `text` as a whole identifier.
fn contains_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        boundary(before) && boundary(after)
    })
}

/// `name type [COLLATE …] [DEFAULT …] [NOT NULL] [GENERATED …],`
fn parse_column(text: &str) -> Option<Column> {
    let text = text.strip_suffix(',').unwrap_or(text);
    let (name, rest) = identifier(text)?;
    let rest = rest.trim();
    let end = [
        " COLLATE ",
        " DEFAULT ",
        " NOT NULL",
        " NULL",
        " GENERATED ",
        " CONSTRAINT ",
    ]
    .iter()
    .filter_map(|k| rest.find(k))
    .min()
    .unwrap_or(rest.len());
    let sql_type = rest[..end].trim().to_owned();
    if sql_type.is_empty() {
        return None;
    }
    Some(Column {
        name,
        class: TypeClass::of(&sql_type),
        not_null: rest.contains(" NOT NULL") || rest.ends_with("NOT NULL"),
        sql_type,
    })
}

#[cfg(test)]
mod tests {
    use super::{Schema, TableName, TypeClass};

    pub const DUMP: &str = include_str!("testdata/small.sql");

    #[test]
    fn types_are_classified() {
        assert_eq!(
            TypeClass::of("character varying(40)"),
            TypeClass::Text {
                max_chars: Some(40)
            }
        );
        assert_eq!(
            TypeClass::of("public.citext"),
            TypeClass::Text { max_chars: None }
        );
        assert_eq!(
            TypeClass::of("timestamp with time zone"),
            TypeClass::Timestamp
        );
        assert_eq!(TypeClass::of("text[]"), TypeClass::Other);
        assert_eq!(TypeClass::of("integer"), TypeClass::Other);
    }

    #[test]
    fn tables_keys_and_foreign_keys_are_learned() {
        let schema = Schema::analyze(DUMP.as_bytes()).unwrap();
        let customers = &schema.tables[&TableName::new("public", "customers")];
        assert_eq!(customers.rows, 4);
        assert_eq!(customers.primary_key, Some(vec!["id".to_string()]));
        assert!(customers.unique.contains(&vec!["email".to_string()]));
        let email = customers.column("email").unwrap();
        assert!(email.not_null);
        assert_eq!(email.class, TypeClass::Text { max_chars: None });
        let name = customers.column("full_name").unwrap();
        assert_eq!(
            name.class,
            TypeClass::Text {
                max_chars: Some(100)
            }
        );
        let orders = &schema.tables[&TableName::new("public", "orders")];
        assert_eq!(orders.foreign_keys.len(), 1);
        assert_eq!(
            orders.foreign_keys[0].parent,
            TableName::new("public", "customers")
        );
        assert_eq!(schema.data_order.len(), 3);
    }
}
