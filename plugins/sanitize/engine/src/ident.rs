//! SQL identifiers as pg_dump prints them: plain lowercase words, or
//! double-quoted with `""` for a quote, optionally schema-qualified.

use std::fmt;

/// A schema-qualified table name, unquoted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TableName {
    pub schema: String,
    pub name: String,
}

impl TableName {
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            schema: schema.into(),
            name: name.into(),
        }
    }

    /// Parses `schema.table` or `table` (in `public`) as written in a policy:
    /// no quoting, so a dot always separates.
    pub fn from_policy(text: &str) -> Option<TableName> {
        let parts: Vec<&str> = text.split('.').collect();
        match parts[..] {
            [name] if !name.is_empty() => Some(TableName::new("public", name)),
            [schema, name] if !schema.is_empty() && !name.is_empty() => {
                Some(TableName::new(schema, name))
            }
            _ => None,
        }
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

/// Reads one identifier at the start of `text` (after spaces): returns it
/// unquoted and the rest of the text.
pub fn identifier(text: &str) -> Option<(String, &str)> {
    let text = text.trim_start();
    if let Some(rest) = text.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == '"' {
                if rest[i + 1..].starts_with('"') {
                    out.push('"');
                    chars.next();
                } else {
                    return Some((out, &rest[i + 1..]));
                }
            } else {
                out.push(c);
            }
        }
        return None;
    }
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
        .unwrap_or(text.len());
    (end > 0).then(|| (text[..end].to_owned(), &text[end..]))
}

/// Reads a possibly qualified table name (`schema.table`, `table`).
pub fn table_name(text: &str) -> Option<(TableName, &str)> {
    let (first, rest) = identifier(text)?;
    if let Some(rest) = rest.strip_prefix('.') {
        let (second, rest) = identifier(rest)?;
        Some((TableName::new(first, second), rest))
    } else {
        Some((TableName::new("public", first), rest))
    }
}

/// Reads a parenthesised list of identifiers: `(a, "B c", d)`.
pub fn column_list(text: &str) -> Option<(Vec<String>, &str)> {
    let mut rest = text.trim_start().strip_prefix('(')?;
    let mut columns = Vec::new();
    loop {
        let (column, after) = identifier(rest)?;
        columns.push(column);
        let after = after.trim_start();
        if let Some(after) = after.strip_prefix(',') {
            rest = after;
        } else {
            return Some((columns, after.strip_prefix(')')?));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{TableName, column_list, identifier, table_name};

    #[test]
    fn plain_and_quoted_identifiers() {
        assert_eq!(identifier("  abc_1 rest"), Some(("abc_1".into(), " rest")));
        assert_eq!(
            identifier(r#""Order ""Items""".x"#),
            Some((r#"Order "Items""#.into(), ".x"))
        );
        assert_eq!(identifier("(x"), None);
    }

    #[test]
    fn table_names_default_to_public() {
        let (t, rest) = table_name(r#"sales."Big Table" (a)"#).unwrap();
        assert_eq!(t, TableName::new("sales", "Big Table"));
        assert_eq!(rest, " (a)");
        assert_eq!(table_name("t").unwrap().0.to_string(), "public.t");
        assert_eq!(
            TableName::from_policy("customers"),
            Some(TableName::new("public", "customers"))
        );
        assert_eq!(TableName::from_policy("a.b.c"), None);
    }

    #[test]
    fn column_lists() {
        let (cols, rest) = column_list(r#"(id, "Full Name",email) FROM stdin;"#).unwrap();
        assert_eq!(cols, ["id", "Full Name", "email"]);
        assert_eq!(rest, " FROM stdin;");
    }
}
