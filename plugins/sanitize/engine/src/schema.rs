//! What the first pass learns from a dump: tables and their column types,
//! partitions and inheritance, domains and user types, the column order of
//! each table's data (COPY), keys and foreign keys (which pg_dump writes
//! after the data), and row counts.
//!
//! Statements are read whole (see [`crate::sql`]), so a generated column
//! whose expression pg_dump prints over several lines, a CHECK with a CASE,
//! or a comment holding `;` read like any other.

use std::collections::{BTreeMap, BTreeSet};

use super::ddl::{self, Ddl};
use super::dump::{Dump, Event};
use super::find::{Kinds, Span};
use super::ident::TableName;
use super::input::Input;
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
    /// bytea.
    Bytes,
    /// inet, cidr.
    Network,
    /// Values with text inside: json, jsonb, xml, arrays and composites of
    /// text, types the dump does not define. Searched for personal data,
    /// never replaced whole by a text rule.
    Structured,
    /// Numbers, booleans, uuids, times, enums, geometry: nothing personal is
    /// written in them as text.
    Atomic,
}

impl TypeClass {
    /// Whether values of this class are searched for personal data.
    pub fn scannable(self) -> bool {
        matches!(self, TypeClass::Text { .. } | TypeClass::Structured)
    }

    /// The class of a built-in type, by its (lower-case) name; `None` when
    /// it is not built in.
    pub fn builtin(name: &str, typmod: Option<&str>) -> Option<TypeClass> {
        let limit = || typmod.and_then(|m| m.trim().parse::<usize>().ok());
        Some(match name {
            "text" | "citext" | "name" => TypeClass::Text { max_chars: None },
            "character varying" | "varchar" => TypeClass::Text { max_chars: limit() },
            "character" | "char" | "bpchar" => TypeClass::Text {
                max_chars: limit().or(Some(1)),
            },
            "date" => TypeClass::Date,
            "timestamp" | "timestamptz" => TypeClass::Timestamp,
            "bytea" => TypeClass::Bytes,
            "inet" | "cidr" => TypeClass::Network,
            "json" | "jsonb" | "xml" | "tsvector" | "hstore" | "ltree" | "jsonpath" => {
                TypeClass::Structured
            }
            "smallint" | "integer" | "int" | "int2" | "int4" | "int8" | "bigint" | "numeric"
            | "decimal" | "real" | "double precision" | "float" | "float4" | "float8"
            | "boolean" | "bool" | "uuid" | "time" | "timetz" | "interval" | "money" | "oid"
            | "regclass" | "regtype" | "regproc" | "bit" | "bit varying" | "varbit" | "point"
            | "line" | "lseg" | "box" | "path" | "polygon" | "circle" | "pg_lsn" | "tsquery"
            | "macaddr" | "macaddr8" | "int4range" | "int8range" | "numrange" | "tsrange"
            | "tstzrange" | "daterange" | "int4multirange" | "int8multirange" | "nummultirange"
            | "tsmultirange" | "tstzmultirange" | "datemultirange" | "smallserial" | "serial"
            | "bigserial" | "serial2" | "serial4" | "serial8" | "xid" | "xid8" | "cid" | "tid"
            | "txid_snapshot" | "pg_snapshot" | "geometry" | "geography" | "vector" | "halfvec"
            | "sparsevec" => TypeClass::Atomic,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    /// As written in the dump (`character varying(40)`, `public.mood[]`).
    pub sql_type: String,
    pub class: TypeClass,
    pub not_null: bool,
    /// `GENERATED ALWAYS AS (…)`: computed on restore, not in the data.
    pub generated: bool,
    /// A CHECK constraint (of the table or the column's domain) looks at
    /// it: a masked value must still satisfy it.
    pub checked: bool,
    pub type_ref: ddl::TypeRef,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    pub name: String,
    pub columns: Vec<String>,
    pub parent: TableName,
    /// Empty: the parent's primary key.
    pub parent_columns: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Table {
    /// From CREATE TABLE, in declaration order (the table's own; a
    /// partition or child may inherit more, see [`Schema::columns`]).
    pub columns: Vec<Column>,
    /// The column order of the COPY blocks (empty when the table has no
    /// data in the dump).
    pub copy_columns: Vec<String>,
    /// How many COPY blocks the table has (pg_dump
    /// --load-via-partition-root writes one per partition, all into the
    /// root).
    pub copy_blocks: u32,
    pub rows: u64,
    pub primary_key: Option<Vec<String>>,
    /// Every unique column set, the primary key included; an expression
    /// index counts as unique over every column it mentions.
    pub unique: Vec<Vec<String>>,
    pub foreign_keys: Vec<ForeignKey>,
    /// `PARTITION OF` / `ATTACH PARTITION`: the partitioned table above.
    pub partition_of: Option<TableName>,
    /// `PARTITION BY`: its rows live in its partitions.
    pub partitioned: bool,
    /// `INHERITS (…)`.
    pub inherits: Vec<TableName>,
    /// `OF type`: the columns of a composite type.
    pub of_type: Option<String>,
    /// Per COPY column: what its values hold (only when searched in the
    /// first pass).
    pub content: Vec<ContentStats>,
    /// The dump line of the CREATE TABLE.
    pub line: usize,
}

impl Table {
    /// The position of `name` in the COPY rows.
    pub fn copy_index(&self, name: &str) -> Option<usize> {
        self.copy_columns.iter().position(|c| c == name)
    }

    pub fn has_data(&self) -> bool {
        self.copy_blocks > 0
    }
}

/// `CREATE DOMAIN`.
#[derive(Debug, Clone)]
pub struct Domain {
    pub base: ddl::TypeRef,
    pub checked: bool,
}

/// `CREATE TYPE`.
#[derive(Debug, Clone)]
pub enum UserType {
    Enum,
    Composite(Vec<Column>),
    /// A range or base type.
    Other,
}

#[derive(Debug, Clone, Default)]
pub struct Schema {
    pub tables: BTreeMap<TableName, Table>,
    /// Tables in the order their data first appears in the dump.
    pub data_order: Vec<TableName>,
    /// The table of every COPY block, in order.
    pub blocks: Vec<TableName>,
    pub domains: BTreeMap<String, Domain>,
    pub types: BTreeMap<String, UserType>,
    /// `lo_create` calls: large objects, whose bytes nobody can inspect.
    pub large_objects: u64,
    pub bytes: u64,
    /// Whether pg_dump's completion comment was seen.
    pub complete: bool,
}

/// What the first pass searches, beyond the schema.
pub struct Search<'a> {
    pub kinds: Kinds,
    /// Whether every value of a column is searched (a COPY table and
    /// column name; `None` for no search).
    pub columns: &'a dyn Fn(&Schema, &TableName, &str) -> bool,
}

impl Schema {
    /// The first pass over a dump; `search` says which columns' values to
    /// look through for personal data (all of their values).
    pub fn analyze<R: Input>(input: R, search: Option<&Search>) -> Result<Schema, Error> {
        let mut schema = Schema::default();
        let mut dump = Dump::new(input).collecting_statements();
        let mut spans: Vec<Span> = Vec::new();
        // Per COPY column of the current block: searched or not.
        let mut searched: Vec<bool> = Vec::new();
        let mut current: Option<TableName> = None;
        loop {
            // Every event is one line.
            let line = dump.line() + 1;
            let Some(event) = dump.next_event()? else {
                break;
            };
            match event {
                Event::Sql(text) => {
                    if text.trim_ascii_end() == super::COMPLETE_MARKER.as_bytes() {
                        schema.complete = true;
                    }
                }
                Event::Meta(_) => {}
                Event::CopyStart { table, columns, .. } => {
                    schema.copy_start(&table, columns, line)?;
                    let entry = &schema.tables[&table];
                    searched = match search {
                        Some(s) => entry
                            .copy_columns
                            .iter()
                            .map(|c| (s.columns)(&schema, &table, c))
                            .collect(),
                        None => Vec::new(),
                    };
                    if searched.iter().any(|s| *s) {
                        current = Some(table);
                    } else {
                        // Nothing to look at: count the rows and move on.
                        let rows = dump.skip_rows()?;
                        schema.tables.get_mut(&table).expect("entered").rows += rows;
                    }
                }
                Event::Row(row) => {
                    let table = current.as_ref().expect("rows come inside a searched block");
                    let entry = schema.tables.get_mut(table).expect("entered at CopyStart");
                    entry.rows += 1;
                    let kinds = search.map_or(Kinds::NONE, |s| s.kinds);
                    for ((field, stats), search) in copy::fields(row)
                        .zip(entry.content.iter_mut())
                        .zip(&searched)
                    {
                        if *search {
                            stats.sample(field, kinds, true, line, &mut spans);
                        }
                    }
                }
                Event::CopyEnd(_) => current = None,
            }
            let statements: Vec<_> = dump.statements().collect();
            for statement in statements {
                schema.statement(&statement.text, statement.line)?;
            }
        }
        schema.bytes = dump.bytes();
        schema.finish();
        Ok(schema)
    }

    fn copy_start(
        &mut self,
        table: &TableName,
        columns: Vec<String>,
        line: usize,
    ) -> Result<(), Error> {
        let entry = self.tables.entry(table.clone()).or_default();
        if entry.copy_blocks > 0 && entry.copy_columns != columns {
            return Err(Error::Syntax {
                line,
                why: format!(
                    "the data of table {table} comes in blocks with different columns ({} and {})",
                    entry.copy_columns.join(", "),
                    columns.join(", ")
                ),
            });
        }
        if entry.copy_blocks == 0 {
            entry.content = vec![ContentStats::default(); columns.len()];
            entry.copy_columns = columns;
            self.data_order.push(table.clone());
        }
        entry.copy_blocks += 1;
        self.blocks.push(table.clone());
        Ok(())
    }

    fn statement(&mut self, text: &str, line: usize) -> Result<(), Error> {
        let ddl = ddl::parse(text).map_err(|why| Error::Syntax {
            line,
            why: format!("{why}: {}", first_line(text)),
        })?;
        match ddl {
            Ddl::CreateTable(create) => {
                let columns: Vec<Column> = create
                    .columns
                    .into_iter()
                    .map(|c| Column {
                        class: self.class_of(&c.sql_type),
                        checked: c.checked || self.domain_checked(&c.sql_type),
                        name: c.name,
                        sql_type: c.sql_type.text.clone(),
                        type_ref: c.sql_type,
                        not_null: c.not_null,
                        generated: c.generated,
                    })
                    .collect();
                let table = self.tables.entry(create.name).or_default();
                table.line = line;
                table.partitioned |= create.partitioned;
                if create.partition_of.is_some() {
                    table.partition_of = create.partition_of;
                }
                table.inherits.extend(create.inherits);
                table.of_type = create.of_type;
                table.columns.extend(columns);
                table.apply(create.constraints);
            }
            Ddl::AlterTable { name, actions } => {
                for action in actions {
                    match action {
                        ddl::Action::Constraint(c) => {
                            self.tables.entry(name.clone()).or_default().apply(vec![c]);
                        }
                        ddl::Action::AttachPartition(child) => {
                            self.tables.entry(child).or_default().partition_of = Some(name.clone());
                        }
                        ddl::Action::Inherit(parent) => {
                            self.tables
                                .entry(name.clone())
                                .or_default()
                                .inherits
                                .push(parent);
                        }
                    }
                }
            }
            Ddl::UniqueIndex { table, columns } => {
                self.tables.entry(table).or_default().unique.push(columns);
            }
            Ddl::CreateDomain {
                name,
                base,
                checked,
            } => {
                self.domains.insert(name, Domain { base, checked });
            }
            Ddl::CreateType { name, kind } => {
                let user = match kind {
                    ddl::TypeKind::Enum => UserType::Enum,
                    ddl::TypeKind::Composite(attributes) => UserType::Composite(
                        attributes
                            .into_iter()
                            .map(|(name, t)| Column {
                                name,
                                sql_type: t.text.clone(),
                                class: self.class_of(&t),
                                checked: self.domain_checked(&t),
                                type_ref: t,
                                not_null: false,
                                generated: false,
                            })
                            .collect(),
                    ),
                    ddl::TypeKind::Other => UserType::Other,
                };
                self.types.insert(name, user);
            }
            Ddl::LargeObject => self.large_objects += 1,
            Ddl::Other => {}
        }
        Ok(())
    }

    /// The class of a column type: built in, a domain (its base), an enum,
    /// a composite, an array (searched when its elements are text).
    pub fn class_of(&self, t: &ddl::TypeRef) -> TypeClass {
        let element = self.element_class(t, 0);
        if t.array {
            return match element {
                TypeClass::Atomic | TypeClass::Date | TypeClass::Timestamp | TypeClass::Bytes => {
                    TypeClass::Atomic
                }
                _ => TypeClass::Structured,
            };
        }
        element
    }

    fn element_class(&self, t: &ddl::TypeRef, depth: usize) -> TypeClass {
        let builtin = match t.schema.as_deref() {
            None | Some("pg_catalog") => TypeClass::builtin(&t.name, t.typmod.as_deref()),
            // Extension types pg_dump qualifies with their schema.
            Some(_)
                if matches!(
                    t.name.as_str(),
                    "citext" | "hstore" | "ltree" | "geometry" | "geography" | "vector"
                ) =>
            {
                TypeClass::builtin(&t.name, t.typmod.as_deref())
            }
            Some(_) => None,
        };
        if let Some(class) = builtin {
            return class;
        }
        let key = t.key();
        if let Some(domain) = self.domains.get(&key)
            && depth < 16
        {
            return match self.element_class(&domain.base, depth + 1) {
                c if domain.base.array => {
                    if c.scannable() {
                        TypeClass::Structured
                    } else {
                        TypeClass::Atomic
                    }
                }
                c => c,
            };
        }
        match self.types.get(&key) {
            Some(UserType::Enum) | Some(UserType::Other) => TypeClass::Atomic,
            // Composite and unknown types are searched: their text holds
            // whatever their fields hold.
            Some(UserType::Composite(_)) | None => TypeClass::Structured,
        }
    }

    fn domain_checked(&self, t: &ddl::TypeRef) -> bool {
        let mut key = t.key();
        for _ in 0..16 {
            match self.domains.get(&key) {
                Some(d) if d.checked => return true,
                Some(d) => key = d.base.key(),
                None => return false,
            }
        }
        false
    }

    /// After the last statement: classes again (a type may be defined after
    /// a table that uses it), and the columns of partitions, children and
    /// typed tables that their CREATE TABLE did not list.
    fn finish(&mut self) {
        let names: Vec<TableName> = self.tables.keys().cloned().collect();
        for name in &names {
            let columns = self.columns(name);
            let table = self.tables.get_mut(name).expect("listed");
            table.columns = columns;
        }
        let resolved: Vec<(TableName, Vec<(TypeClass, bool)>)> = self
            .tables
            .iter()
            .map(|(n, t)| {
                (
                    n.clone(),
                    t.columns
                        .iter()
                        .map(|c| {
                            (
                                self.class_of(&c.type_ref),
                                c.checked || self.domain_checked(&c.type_ref),
                            )
                        })
                        .collect(),
                )
            })
            .collect();
        for (name, classes) in resolved {
            let table = self.tables.get_mut(&name).expect("listed");
            for (column, (class, checked)) in table.columns.iter_mut().zip(classes) {
                column.class = class;
                column.checked = checked;
            }
        }
    }

    /// Every column of `table`: its own, then those it inherits from its
    /// partitioned parent, its INHERITS parents or its composite type.
    pub fn columns(&self, table: &TableName) -> Vec<Column> {
        let mut out: Vec<Column> = Vec::new();
        let mut seen = BTreeSet::new();
        self.collect_columns(table, &mut out, &mut seen);
        out
    }

    fn collect_columns(
        &self,
        table: &TableName,
        out: &mut Vec<Column>,
        seen: &mut BTreeSet<TableName>,
    ) {
        if !seen.insert(table.clone()) {
            return;
        }
        let Some(t) = self.tables.get(table) else {
            return;
        };
        let add = |out: &mut Vec<Column>, column: &Column| {
            match out.iter_mut().find(|c| c.name == column.name) {
                // A child's own definition adds its constraints.
                Some(existing) => existing.checked |= column.checked,
                None => out.push(column.clone()),
            }
        };
        for column in &t.columns {
            add(out, column);
        }
        if let Some(parent) = &t.partition_of {
            let mut inherited = Vec::new();
            self.collect_columns(parent, &mut inherited, seen);
            for c in &inherited {
                add(out, c);
            }
        }
        for parent in &t.inherits {
            let mut inherited = Vec::new();
            self.collect_columns(parent, &mut inherited, seen);
            for c in &inherited {
                add(out, c);
            }
        }
        if let Some(type_name) = &t.of_type
            && let Some(UserType::Composite(attributes)) = self.types.get(type_name)
        {
            for c in attributes {
                add(out, c);
            }
        }
    }

    /// The column `name` of `table`, its own or inherited.
    pub fn column(&self, table: &TableName, name: &str) -> Option<&Column> {
        let mut seen = BTreeSet::new();
        let mut at = Some(table.clone());
        let mut queue: Vec<TableName> = Vec::new();
        while let Some(t) = at.take().or_else(|| queue.pop()) {
            if !seen.insert(t.clone()) {
                continue;
            }
            let Some(entry) = self.tables.get(&t) else {
                continue;
            };
            if let Some(c) = entry.columns.iter().find(|c| c.name == name) {
                return Some(c);
            }
            queue.extend(entry.partition_of.iter().cloned());
            queue.extend(entry.inherits.iter().cloned());
            if let Some(type_name) = &entry.of_type
                && let Some(UserType::Composite(attributes)) = self.types.get(type_name)
                && let Some(c) = attributes.iter().find(|c| c.name == name)
            {
                return Some(c);
            }
        }
        None
    }

    /// The partitioned table at the top of `table`'s partition tree (the
    /// table itself when it is no partition): the one logical table its
    /// rows belong to, for foreign keys and sampling.
    pub fn partition_root(&self, table: &TableName) -> TableName {
        let mut at = table.clone();
        for _ in 0..64 {
            match self.tables.get(&at).and_then(|t| t.partition_of.clone()) {
                Some(parent) => at = parent,
                None => break,
            }
        }
        at
    }

    /// `table` and the tables above it (partitioned parents and INHERITS
    /// parents, nearest first): where a rule for its columns may be
    /// written.
    pub fn lineage(&self, table: &TableName) -> Vec<TableName> {
        let mut out = vec![table.clone()];
        let mut i = 0;
        while i < out.len() && out.len() < 64 {
            if let Some(t) = self.tables.get(&out[i]) {
                for parent in t.partition_of.iter().chain(&t.inherits) {
                    if !out.contains(parent) {
                        out.push(parent.clone());
                    }
                }
            }
            i += 1;
        }
        out
    }
}

impl Table {
    fn apply(&mut self, constraints: Vec<ddl::Constraint>) {
        for constraint in constraints {
            match constraint {
                ddl::Constraint::PrimaryKey(cols) => {
                    self.primary_key = Some(cols.clone());
                    self.unique.push(cols);
                }
                ddl::Constraint::Unique(cols) => self.unique.push(cols),
                ddl::Constraint::ForeignKey(fk) => self.foreign_keys.push(ForeignKey {
                    name: fk.name,
                    columns: fk.columns,
                    parent: fk.parent,
                    parent_columns: fk.parent_columns,
                }),
                ddl::Constraint::Check(mentioned) => {
                    for column in self.columns.iter_mut() {
                        if mentioned.contains(&column.name) {
                            column.checked = true;
                        }
                    }
                }
            }
        }
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text).trim()
}

#[cfg(test)]
mod tests {
    use super::{Schema, TableName, TypeClass};

    const DUMP: &str = include_str!("testdata/small.sql");

    #[test]
    fn tables_keys_and_foreign_keys_are_learned() {
        let schema = Schema::analyze(DUMP.as_bytes(), None).unwrap();
        let customers = &schema.tables[&TableName::new("public", "customers")];
        assert_eq!(customers.rows, 4);
        assert_eq!(customers.primary_key, Some(vec!["id".to_string()]));
        assert!(customers.unique.contains(&vec!["email".to_string()]));
        let email = customers
            .columns
            .iter()
            .find(|c| c.name == "email")
            .unwrap();
        assert!(email.not_null);
        assert_eq!(email.class, TypeClass::Text { max_chars: None });
        let orders = &schema.tables[&TableName::new("public", "orders")];
        assert_eq!(orders.foreign_keys.len(), 1);
        assert_eq!(
            orders.foreign_keys[0].parent,
            TableName::new("public", "customers")
        );
        assert_eq!(schema.data_order.len(), 3);
        assert!(schema.complete);
    }

    #[test]
    fn domains_types_partitions_and_children_resolve() {
        let dump = "CREATE DOMAIN public.email AS public.citext\n\tCONSTRAINT email_check CHECK ((VALUE ~ '@'::public.citext));\n\nCREATE TYPE public.mood AS ENUM (\n    'ok'\n);\n\nCREATE TYPE public.contact AS (\n\tkind text,\n\tvalue character varying(20)\n);\n\nCREATE TABLE public.events (\n    id integer NOT NULL,\n    who public.email,\n    mood public.mood,\n    tags text[],\n    ids integer[],\n    doc jsonb,\n    at timestamp(3) with time zone\n);\n\nCREATE TABLE public.logins (\n    ip inet\n)\nINHERITS (public.events);\n\nCREATE TABLE public.typed OF public.contact;\n\nCREATE TABLE public.p (\n    id integer NOT NULL\n)\nPARTITION BY LIST (id);\n\nCREATE TABLE public.p1 PARTITION OF public.p FOR VALUES IN (1);\n\nCOPY public.logins (id, who, mood, tags, ids, doc, at, ip) FROM stdin;\n\\.\n\nCOPY public.p1 (id) FROM stdin;\n1\n\\.\n\n-- PostgreSQL database dump complete\n";
        let schema = Schema::analyze(dump.as_bytes(), None).unwrap();
        let logins = TableName::new("public", "logins");
        let class = |t: &TableName, c: &str| schema.column(t, c).unwrap().class;
        assert_eq!(class(&logins, "who"), TypeClass::Text { max_chars: None });
        assert!(
            schema.column(&logins, "who").unwrap().checked,
            "the domain's CHECK"
        );
        assert_eq!(class(&logins, "mood"), TypeClass::Atomic);
        assert_eq!(class(&logins, "tags"), TypeClass::Structured);
        assert_eq!(class(&logins, "ids"), TypeClass::Atomic);
        assert_eq!(class(&logins, "doc"), TypeClass::Structured);
        assert_eq!(class(&logins, "at"), TypeClass::Timestamp);
        assert_eq!(class(&logins, "ip"), TypeClass::Network);
        let typed = TableName::new("public", "typed");
        assert_eq!(
            class(&typed, "value"),
            TypeClass::Text {
                max_chars: Some(20)
            }
        );
        let p1 = TableName::new("public", "p1");
        assert_eq!(schema.partition_root(&p1), TableName::new("public", "p"));
        assert_eq!(schema.tables[&p1].rows, 1);
        assert_eq!(
            schema.lineage(&logins),
            [logins.clone(), TableName::new("public", "events")]
        );
    }
}
