//! Reading the DDL statements pg_dump writes, token by token: CREATE TABLE
//! (plain, unlogged, partitioned, PARTITION OF, OF type, INHERITS), ALTER
//! TABLE (constraints, ATTACH PARTITION, INHERIT), CREATE UNIQUE INDEX,
//! CREATE DOMAIN and CREATE TYPE. Everything else is `Other`.
//!
//! Expressions (defaults, generated columns, CHECKs, partition bounds) are
//! skipped as balanced parentheses, whatever their layout.

use super::ident::TableName;
use super::sql::{Token, tokens};

/// A column type as written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TypeRef {
    /// The schema of a qualified type (`public.mood`).
    pub schema: Option<String>,
    /// The type's name; built-in multi-word names in lower case with single
    /// spaces (`character varying`, `timestamp`).
    pub name: String,
    /// The modifier (`40` of `varchar(40)`).
    pub typmod: Option<String>,
    pub array: bool,
    /// The type as SQL text, for messages.
    pub text: String,
}

impl TypeRef {
    /// The key of a user-defined type: `schema.name` (`public` when
    /// unqualified).
    pub fn key(&self) -> String {
        format!(
            "{}.{}",
            self.schema.as_deref().unwrap_or("public"),
            self.name
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    pub name: String,
    pub sql_type: TypeRef,
    pub not_null: bool,
    pub generated: bool,
    pub checked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKeyDef {
    pub name: String,
    pub columns: Vec<String>,
    pub parent: TableName,
    pub parent_columns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constraint {
    PrimaryKey(Vec<String>),
    Unique(Vec<String>),
    ForeignKey(ForeignKeyDef),
    /// A CHECK, with the identifiers it mentions.
    Check(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateTable {
    pub name: TableName,
    pub columns: Vec<ColumnDef>,
    pub constraints: Vec<Constraint>,
    pub partition_of: Option<TableName>,
    pub partitioned: bool,
    pub inherits: Vec<TableName>,
    /// `OF type`: the key of the composite type.
    pub of_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Constraint(Constraint),
    AttachPartition(TableName),
    Inherit(TableName),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeKind {
    Enum,
    Composite(Vec<(String, TypeRef)>),
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ddl {
    CreateTable(CreateTable),
    AlterTable {
        name: TableName,
        actions: Vec<Action>,
    },
    /// A unique index: its plain columns, or every identifier an expression
    /// mentions (matched against the table's columns later).
    UniqueIndex {
        table: TableName,
        columns: Vec<String>,
    },
    CreateDomain {
        name: String,
        base: TypeRef,
        checked: bool,
    },
    CreateType {
        name: String,
        kind: TypeKind,
    },
    /// `SELECT pg_catalog.lo_create(…)`.
    LargeObject,
    Other,
}

/// Reads one statement; `Err` says what could not be read.
pub fn parse(text: &str) -> Result<Ddl, String> {
    // Cheap test first: most statements are neither.
    let head = text.trim_start();
    let starts = |w: &str| head.len() >= w.len() && head[..w.len()].eq_ignore_ascii_case(w);
    if !(starts("CREATE") || starts("ALTER TABLE") || starts("SELECT pg_catalog.lo_create")) {
        return Ok(Ddl::Other);
    }
    if starts("SELECT") {
        return Ok(Ddl::LargeObject);
    }
    let toks = tokens(text, true);
    let mut p = Parser { t: &toks, i: 0 };
    p.statement()
}

struct Parser<'a> {
    t: &'a [Token],
    i: usize,
}

const CONSTRAINT_WORDS: &[&str] = &[
    "CONSTRAINT",
    "CHECK",
    "PRIMARY",
    "UNIQUE",
    "FOREIGN",
    "EXCLUDE",
    "LIKE",
];

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&'a Token> {
        self.t.get(self.i)
    }

    fn peek_is(&self, keyword: &str) -> bool {
        self.peek().is_some_and(|t| t.is(keyword))
    }

    fn eat(&mut self, keyword: &str) -> bool {
        if self.peek_is(keyword) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn eat_all(&mut self, words: &[&str]) -> bool {
        let save = self.i;
        for w in words {
            if !self.eat(w) {
                self.i = save;
                return false;
            }
        }
        true
    }

    fn eat_punct(&mut self, c: char) -> bool {
        if self.peek().is_some_and(|t| t.is_punct(c)) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn ident(&mut self) -> Option<String> {
        let id = self.peek()?.ident()?;
        self.i += 1;
        Some(id)
    }

    /// `schema.name` or `name` (in `public`).
    fn qualified(&mut self) -> Option<TableName> {
        let first = self.ident()?;
        if self.eat_punct('.') {
            let second = self.ident()?;
            Some(TableName::new(first, second))
        } else {
            Some(TableName::new("public", first))
        }
    }

    /// `(a, "B", c)`.
    fn ident_list(&mut self) -> Option<Vec<String>> {
        if !self.eat_punct('(') {
            return None;
        }
        let mut out = Vec::new();
        loop {
            out.push(self.ident()?);
            if self.eat_punct(')') {
                return Some(out);
            }
            if !self.eat_punct(',') {
                return None;
            }
        }
    }

    /// Skips a balanced `( … )` (the opening one is next).
    fn skip_parens(&mut self) -> &'a [Token] {
        let start = self.i;
        let mut depth = 0i32;
        while let Some(t) = self.peek() {
            self.i += 1;
            if t.is_punct('(') {
                depth += 1;
            } else if t.is_punct(')') {
                depth -= 1;
                if depth <= 0 {
                    break;
                }
            }
        }
        &self.t[start..self.i]
    }

    /// The items of a parenthesised, comma-separated list, each as tokens
    /// (the opening parenthesis is next).
    fn items(&mut self) -> Option<Vec<&'a [Token]>> {
        if !self.eat_punct('(') {
            return None;
        }
        let mut items = Vec::new();
        let mut start = self.i;
        let mut depth = 0i32;
        while let Some(t) = self.peek() {
            if t.is_punct('(') || t.is_punct('[') {
                depth += 1;
            } else if t.is_punct(')') || t.is_punct(']') {
                if depth == 0 {
                    if self.i > start {
                        items.push(&self.t[start..self.i]);
                    }
                    self.i += 1;
                    return Some(items);
                }
                depth -= 1;
            } else if t.is_punct(',') && depth == 0 {
                items.push(&self.t[start..self.i]);
                start = self.i + 1;
            }
            self.i += 1;
        }
        None
    }

    fn statement(&mut self) -> Result<Ddl, String> {
        if self.eat("CREATE") {
            self.eat_all(&["OR", "REPLACE"]);
            for modifier in [
                "UNLOGGED",
                "FOREIGN",
                "TEMPORARY",
                "TEMP",
                "GLOBAL",
                "LOCAL",
            ] {
                self.eat(modifier);
            }
            if self.eat("TABLE") {
                return self.create_table().map(Ddl::CreateTable);
            }
            if self.eat("UNIQUE") && self.eat("INDEX") {
                return Ok(self.unique_index());
            }
            if self.eat("DOMAIN") {
                return self.create_domain();
            }
            if self.eat("TYPE") {
                return self.create_type();
            }
            return Ok(Ddl::Other);
        }
        if self.eat_all(&["ALTER", "TABLE"]) {
            return self.alter_table();
        }
        Ok(Ddl::Other)
    }

    fn create_table(&mut self) -> Result<CreateTable, String> {
        self.eat_all(&["IF", "NOT", "EXISTS"]);
        let name = self.qualified().ok_or("cannot read the table name")?;
        let mut create = CreateTable {
            name,
            ..CreateTable::default()
        };
        if self.eat_all(&["PARTITION", "OF"]) {
            create.partition_of = Some(
                self.qualified()
                    .ok_or("cannot read the partitioned table")?,
            );
        } else if self.eat("OF") {
            let t = self
                .type_ref(&[])
                .ok_or("cannot read the type of a typed table")?;
            create.of_type = Some(t.key());
        }
        if self.peek().is_some_and(|t| t.is_punct('(')) {
            let items = self.items().ok_or("cannot read the column list")?;
            for item in items {
                self.element(item, &mut create)?;
            }
        }
        // INHERITS, PARTITION BY, FOR VALUES, USING, WITH, SERVER…
        while let Some(t) = self.peek() {
            if t.is("INHERITS") {
                self.i += 1;
                if !self.eat_punct('(') {
                    return Err("cannot read INHERITS".into());
                }
                loop {
                    create
                        .inherits
                        .push(self.qualified().ok_or("cannot read INHERITS")?);
                    if self.eat_punct(')') {
                        break;
                    }
                    if !self.eat_punct(',') {
                        return Err("cannot read INHERITS".into());
                    }
                }
            } else if t.is("PARTITION") && self.t.get(self.i + 1).is_some_and(|t| t.is("BY")) {
                create.partitioned = true;
                self.i += 2;
            } else if t.is_punct('(') {
                self.skip_parens();
            } else {
                self.i += 1;
            }
        }
        Ok(create)
    }

    /// One item of a CREATE TABLE list: a column or a table constraint.
    fn element(&mut self, item: &'a [Token], create: &mut CreateTable) -> Result<(), String> {
        let first = &item[0];
        if CONSTRAINT_WORDS.iter().any(|w| first.is(w)) {
            let mut p = Parser { t: item, i: 0 };
            if let Some(c) = p.constraint() {
                create.constraints.push(c);
            }
            return Ok(());
        }
        // `col WITH OPTIONS …` in PARTITION OF / OF type: no new column.
        if item.get(1).is_some_and(|t| t.is("WITH")) {
            return Ok(());
        }
        let mut p = Parser { t: item, i: 0 };
        let column = p
            .ident()
            .ok_or_else(|| format!("cannot read this column: {}", text(item)))?;
        let sql_type = p
            .type_ref(&[
                "COLLATE",
                "DEFAULT",
                "NOT",
                "NULL",
                "GENERATED",
                "CONSTRAINT",
                "CHECK",
                "REFERENCES",
                "UNIQUE",
                "PRIMARY",
                "COMPRESSION",
                "STORAGE",
                "OPTIONS",
            ])
            .ok_or_else(|| format!("cannot read the type of column {column}: {}", text(item)))?;
        let mut def = ColumnDef {
            name: column.clone(),
            sql_type,
            not_null: false,
            generated: false,
            checked: false,
        };
        while let Some(t) = p.peek() {
            if t.is("NOT") && p.t.get(p.i + 1).is_some_and(|t| t.is("NULL")) {
                def.not_null = true;
                p.i += 2;
            } else if t.is("GENERATED") {
                p.i += 1;
                // Identity columns have data; generated ones do not.
                let identity = p.t[p.i..].iter().take(5).any(|t| t.is("IDENTITY"));
                def.generated |= !identity;
            } else if t.is("CHECK") {
                def.checked = true;
                p.i += 1;
            } else if t.is("REFERENCES") {
                p.i += 1;
                let parent = p.qualified().ok_or("cannot read REFERENCES")?;
                let parent_columns = if p.peek().is_some_and(|t| t.is_punct('(')) {
                    p.ident_list().ok_or("cannot read REFERENCES")?
                } else {
                    Vec::new()
                };
                create
                    .constraints
                    .push(Constraint::ForeignKey(ForeignKeyDef {
                        name: format!("{}_{column}_fkey", create.name.name),
                        columns: vec![column.clone()],
                        parent,
                        parent_columns,
                    }));
            } else if t.is("UNIQUE") {
                create
                    .constraints
                    .push(Constraint::Unique(vec![column.clone()]));
                p.i += 1;
            } else if t.is("PRIMARY") {
                create
                    .constraints
                    .push(Constraint::PrimaryKey(vec![column.clone()]));
                p.i += 1;
            } else if t.is_punct('(') {
                p.skip_parens();
            } else {
                p.i += 1;
            }
        }
        create.columns.push(def);
        Ok(())
    }

    /// A type, up to one of `stop` at the top level (or the end).
    fn type_ref(&mut self, stop: &[&str]) -> Option<TypeRef> {
        let start = self.i;
        let mut words: Vec<String> = Vec::new();
        let mut schema = None;
        let mut typmod = None;
        let mut array = false;
        while let Some(t) = self.peek() {
            if stop.iter().any(|s| t.is(s)) {
                break;
            }
            match t {
                Token::Punct('.') if words.len() == 1 && schema.is_none() => {
                    schema = words.pop();
                    self.i += 1;
                }
                Token::Punct('(') => {
                    let inner = self.skip_parens();
                    if typmod.is_none() && inner.len() >= 3 {
                        typmod = Some(text(&inner[1..inner.len() - 1]));
                    }
                }
                Token::Punct('[') => {
                    array = true;
                    self.i += 1;
                }
                Token::Punct(']') | Token::Number(_) => self.i += 1,
                Token::Word(w) if w.eq_ignore_ascii_case("ARRAY") => {
                    array = true;
                    self.i += 1;
                }
                Token::Word(w) => {
                    words.push(w.to_lowercase());
                    self.i += 1;
                }
                Token::Quoted(q) => {
                    words.push(q.clone());
                    self.i += 1;
                }
                _ => break,
            }
        }
        if words.is_empty() {
            return None;
        }
        // `timestamp(3) with time zone` is a timestamp; `double precision`,
        // `character varying` and `bit varying` are one name.
        let name = match words.as_slice() {
            [a, b, ..]
                if schema.is_none()
                    && matches!(
                        (a.as_str(), b.as_str()),
                        ("character" | "bit", "varying") | ("double", "precision")
                    ) =>
            {
                format!("{a} {b}")
            }
            [a, ..] if schema.is_none() && (a == "timestamp" || a == "time") => {
                if words.iter().any(|w| w == "with")
                    && words.contains(&"zone".to_owned())
                    && !words.contains(&"without".to_owned())
                {
                    format!("{a}tz")
                } else {
                    a.clone()
                }
            }
            [a, ..] => a.clone(),
            [] => return None,
        };
        Some(TypeRef {
            schema,
            name,
            typmod,
            array,
            text: text(&self.t[start..self.i]),
        })
    }

    /// A table constraint (`CONSTRAINT name` optional).
    fn constraint(&mut self) -> Option<Constraint> {
        let mut name = String::new();
        if self.eat("CONSTRAINT") {
            name = self.ident()?;
        }
        if self.eat_all(&["PRIMARY", "KEY"]) {
            return self.ident_list().map(Constraint::PrimaryKey);
        }
        if self.eat("UNIQUE") {
            self.eat_all(&["NULLS", "NOT", "DISTINCT"]);
            self.eat_all(&["NULLS", "DISTINCT"]);
            return self.ident_list().map(Constraint::Unique);
        }
        if self.eat_all(&["FOREIGN", "KEY"]) {
            let columns = self.ident_list()?;
            if !self.eat("REFERENCES") {
                return None;
            }
            self.eat("ONLY");
            let parent = self.qualified()?;
            let parent_columns = if self.peek().is_some_and(|t| t.is_punct('(')) {
                self.ident_list()?
            } else {
                Vec::new()
            };
            return Some(Constraint::ForeignKey(ForeignKeyDef {
                name,
                columns,
                parent,
                parent_columns,
            }));
        }
        if self.eat("CHECK") {
            let mentioned = self
                .skip_parens()
                .iter()
                .filter_map(|t| match t {
                    Token::Word(_) | Token::Quoted(_) => t.ident(),
                    _ => None,
                })
                .collect();
            return Some(Constraint::Check(mentioned));
        }
        None
    }

    fn alter_table(&mut self) -> Result<Ddl, String> {
        self.eat_all(&["IF", "EXISTS"]);
        self.eat("ONLY");
        let Some(name) = self.qualified() else {
            return Ok(Ddl::Other);
        };
        let mut actions = Vec::new();
        while self.peek().is_some() {
            if self.eat("ADD") {
                let at = self.i;
                if CONSTRAINT_WORDS.iter().any(|w| self.peek_is(w)) {
                    match self.constraint() {
                        Some(c) => actions.push(Action::Constraint(c)),
                        None if self.t[at..].iter().any(|t| t.is("FOREIGN")) => {
                            return Err("cannot read this foreign key".into());
                        }
                        None => {}
                    }
                }
            } else if self.eat_all(&["ATTACH", "PARTITION"]) {
                let child = self.qualified().ok_or("cannot read ATTACH PARTITION")?;
                actions.push(Action::AttachPartition(child));
            } else if self.eat("INHERIT") {
                let parent = self.qualified().ok_or("cannot read INHERIT")?;
                actions.push(Action::Inherit(parent));
            }
            // The rest of this action, to the next top-level comma.
            while let Some(t) = self.peek() {
                if t.is_punct(',') {
                    self.i += 1;
                    break;
                }
                if t.is_punct('(') {
                    self.skip_parens();
                } else {
                    self.i += 1;
                }
            }
        }
        Ok(Ddl::AlterTable { name, actions })
    }

    /// `CREATE UNIQUE INDEX [CONCURRENTLY] [IF NOT EXISTS] name ON [ONLY]
    /// table [USING method] (items) …`
    fn unique_index(&mut self) -> Ddl {
        self.eat("CONCURRENTLY");
        self.eat_all(&["IF", "NOT", "EXISTS"]);
        if !self.peek_is("ON") {
            self.ident();
            if self.eat_punct('.') {
                self.ident();
            }
        }
        if !self.eat("ON") {
            return Ddl::Other;
        }
        self.eat("ONLY");
        let Some(table) = self.qualified() else {
            return Ddl::Other;
        };
        if self.eat("USING") {
            self.ident();
        }
        let Some(items) = self.items() else {
            return Ddl::Other;
        };
        let mut columns = Vec::new();
        for item in items {
            // A plain column (perhaps with COLLATE, an operator class, ASC…)
            // or an expression: every identifier it mentions.
            match item.first() {
                Some(t @ (Token::Word(_) | Token::Quoted(_)))
                    if !item
                        .get(1)
                        .is_some_and(|n| n.is_punct('(') || n.is_punct('.')) =>
                {
                    columns.extend(t.ident());
                }
                _ => columns.extend(item.iter().filter_map(|t| match t {
                    Token::Word(_) | Token::Quoted(_) => t.ident(),
                    _ => None,
                })),
            }
        }
        Ddl::UniqueIndex { table, columns }
    }

    fn create_domain(&mut self) -> Result<Ddl, String> {
        let name = self.qualified().ok_or("cannot read the domain name")?;
        self.eat("AS");
        let base = self
            .type_ref(&["COLLATE", "DEFAULT", "CONSTRAINT", "NOT", "NULL", "CHECK"])
            .ok_or("cannot read the domain's type")?;
        let checked = self.t[self.i..].iter().any(|t| t.is("CHECK"));
        Ok(Ddl::CreateDomain {
            name: format!("{}.{}", name.schema, name.name),
            base,
            checked,
        })
    }

    fn create_type(&mut self) -> Result<Ddl, String> {
        let name = self.qualified().ok_or("cannot read the type name")?;
        let key = format!("{}.{}", name.schema, name.name);
        if !self.eat("AS") {
            return Ok(Ddl::CreateType {
                name: key,
                kind: TypeKind::Other,
            });
        }
        if self.eat("ENUM") {
            return Ok(Ddl::CreateType {
                name: key,
                kind: TypeKind::Enum,
            });
        }
        if !self.peek().is_some_and(|t| t.is_punct('(')) {
            return Ok(Ddl::CreateType {
                name: key,
                kind: TypeKind::Other,
            });
        }
        let items = self.items().ok_or("cannot read the type's attributes")?;
        let mut attributes = Vec::new();
        for item in items {
            let mut p = Parser { t: item, i: 0 };
            let attribute = p.ident().ok_or("cannot read an attribute")?;
            let t = p
                .type_ref(&["COLLATE"])
                .ok_or("cannot read an attribute's type")?;
            attributes.push((attribute, t));
        }
        Ok(Ddl::CreateType {
            name: key,
            kind: TypeKind::Composite(attributes),
        })
    }
}

/// Tokens back to SQL text, spaced the way pg_dump spaces them.
fn text(tokens: &[Token]) -> String {
    let mut out = String::new();
    for (i, t) in tokens.iter().enumerate() {
        let glue_before = matches!(t, Token::Punct('(' | ')' | ',' | '[' | ']' | '.'));
        let glue_after_previous =
            i > 0 && matches!(tokens[i - 1], Token::Punct('(' | '[' | '.' | ','));
        if i > 0 && !(glue_before || glue_after_previous) {
            out.push(' ');
        }
        out.push_str(&t.text());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{Action, Constraint, Ddl, TypeKind, parse};
    use crate::ident::TableName;

    fn create(sql: &str) -> super::CreateTable {
        match parse(sql).unwrap() {
            Ddl::CreateTable(c) => c,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_generated_column_over_several_lines() {
        let c = create(
            "CREATE TABLE public.customers (\n    id integer NOT NULL,\n    full_name text GENERATED ALWAYS AS (\nCASE\n    WHEN (first_name IS NULL) THEN last_name\n    ELSE ((first_name || ' '::text) || last_name)\nEND) STORED,\n    zip public.us_postal,\n    phones text[],\n    at timestamp(3) with time zone,\n    price numeric(10,2),\n    CONSTRAINT name_not_blank CHECK (((length(first_name) > 0) AND (length(last_name) > 0)))\n);",
        );
        let names: Vec<&str> = c.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "full_name", "zip", "phones", "at", "price"]);
        assert!(c.columns[0].not_null);
        assert!(c.columns[1].generated && !c.columns[0].generated);
        assert_eq!(c.columns[2].sql_type.schema.as_deref(), Some("public"));
        assert_eq!(c.columns[2].sql_type.name, "us_postal");
        assert!(c.columns[3].sql_type.array);
        assert_eq!(c.columns[4].sql_type.name, "timestamptz");
        assert_eq!(c.columns[5].sql_type.typmod.as_deref(), Some("10,2"));
        assert_eq!(c.columns[5].sql_type.text, "numeric(10,2)");
        assert_eq!(
            c.constraints,
            [Constraint::Check(vec![
                "length".into(),
                "first_name".into(),
                "and".into(),
                "length".into(),
                "last_name".into()
            ])]
        );
    }

    #[test]
    fn partitions_inheritance_and_typed_tables() {
        let c = create(
            "CREATE TABLE public.orders (\n    id integer NOT NULL\n)\nPARTITION BY RANGE (created);",
        );
        assert!(c.partitioned);
        let c = create(
            "CREATE TABLE public.orders_2024 PARTITION OF public.orders FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');",
        );
        assert_eq!(c.partition_of, Some(TableName::new("public", "orders")));
        assert!(c.columns.is_empty());
        let c = create(
            "CREATE TABLE public.login_events (\n    ip inet\n)\nINHERITS (public.events, \"Audit\".\"Base\");",
        );
        assert_eq!(
            c.inherits,
            [
                TableName::new("public", "events"),
                TableName::new("Audit", "Base")
            ]
        );
        let c = create("CREATE TABLE public.typed OF public.contact;");
        assert_eq!(c.of_type.as_deref(), Some("public.contact"));
        let c = create(
            "CREATE TABLE \"Sales\".\"Order Items\" (\n    \"Customer \"\"Ref\"\"\" integer,\n    \"größe\" numeric\n);",
        );
        assert_eq!(c.name, TableName::new("Sales", "Order Items"));
        assert_eq!(c.columns[0].name, "Customer \"Ref\"");
        assert_eq!(c.columns[1].name, "größe");
        let c = create("CREATE TABLE public.nothing_here (\n);");
        assert!(c.columns.is_empty());
    }

    #[test]
    fn alter_table_constraints_and_partitions() {
        let Ddl::AlterTable { name, actions } = parse(
            "ALTER TABLE public.orders\n    ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES public.customers(id) ON DELETE CASCADE NOT VALID;",
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(name, TableName::new("public", "orders"));
        let [Action::Constraint(Constraint::ForeignKey(fk))] = &actions[..] else {
            panic!("{actions:?}")
        };
        assert_eq!(fk.parent, TableName::new("public", "customers"));
        assert_eq!(fk.parent_columns, ["id"]);
        let Ddl::AlterTable { actions, .. } = parse(
            "ALTER TABLE ONLY public.orders ATTACH PARTITION public.orders_2024 FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');",
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(
            actions,
            [Action::AttachPartition(TableName::new(
                "public",
                "orders_2024"
            ))]
        );
        let Ddl::AlterTable { actions, .. } = parse(
            "ALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_key UNIQUE NULLS NOT DISTINCT (a, \"B\");",
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(
            actions,
            [Action::Constraint(Constraint::Unique(vec![
                "a".into(),
                "B".into()
            ]))]
        );
        let Ddl::AlterTable { actions, .. } = parse(
            "ALTER TABLE public.customers ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (\n    SEQUENCE NAME public.customers_id_seq\n    START WITH 1\n);",
        )
        .unwrap() else {
            panic!()
        };
        assert!(actions.is_empty());
    }

    #[test]
    fn indexes_domains_and_types() {
        assert_eq!(
            parse("CREATE UNIQUE INDEX customers_lower_name ON public.customers USING btree (lower(first_name), lower(last_name), id);").unwrap(),
            Ddl::UniqueIndex {
                table: TableName::new("public", "customers"),
                columns: vec!["lower".into(), "first_name".into(), "lower".into(), "last_name".into(), "id".into()]
            }
        );
        assert_eq!(
            parse("CREATE UNIQUE INDEX i ON ONLY public.orders USING btree (id, created DESC NULLS LAST);").unwrap(),
            Ddl::UniqueIndex {
                table: TableName::new("public", "orders"),
                columns: vec!["id".into(), "created".into()]
            }
        );
        let Ddl::CreateDomain { name, base, checked } =
            parse("CREATE DOMAIN public.us_postal AS text\n\tCONSTRAINT us_postal_check CHECK ((VALUE ~ '^\\d{5}$'::text));").unwrap()
        else {
            panic!()
        };
        assert_eq!(name, "public.us_postal");
        assert_eq!(base.name, "text");
        assert!(checked);
        let Ddl::CreateType {
            kind: TypeKind::Composite(a),
            ..
        } = parse(
            "CREATE TYPE public.contact AS (\n\tkind text,\n\tvalue character varying(40)\n);",
        )
        .unwrap()
        else {
            panic!()
        };
        assert_eq!(a[1].0, "value");
        assert_eq!(a[1].1.name, "character varying");
        assert_eq!(
            parse("CREATE TYPE public.mood AS ENUM (\n    'sad',\n    'ok'\n);").unwrap(),
            Ddl::CreateType {
                name: "public.mood".into(),
                kind: TypeKind::Enum
            }
        );
        assert_eq!(
            parse("SELECT pg_catalog.lo_create('16400');").unwrap(),
            Ddl::LargeObject
        );
        assert_eq!(parse("SET x = 1;").unwrap(), Ddl::Other);
    }
}
