//! The masking policy: a rule per `table.column`, and what to sample.
//!
//! ```toml
//! [columns]
//! "customers.email" = "email"
//! "customers.birth_date" = { rule = "date-shift", days = 60 }
//! "customers.plan" = { rule = "fixed", value = "free" }
//!
//! [sample]
//! fraction = 0.1
//! roots = ["customers"]
//!
//! [free-text]
//! found = "mask"          # or "stop"
//! find = ["email", "phone", "card", "iban", "ip"]
//! ```
//!
//! It is read from a TOML file (errors name the file and line) or from the
//! task's config (errors name the config key).

use std::fmt;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::Error;
use super::find::{Kind, Kinds};
use super::ident::TableName;

/// What to do with one column's values.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// A fake, unique-looking address at example.com.
    Email,
    /// A fake "First Last".
    Name,
    FirstName,
    LastName,
    /// Every digit replaced, punctuation kept.
    Phone,
    /// A fake street address.
    Address,
    /// Lorem ipsum words of about the same length.
    Text,
    /// Dates and timestamps moved by up to ±`days` days (never 0).
    DateShift {
        days: u32,
    },
    /// A hex digest of the value.
    Hash,
    /// NULL.
    Null,
    /// The value unchanged (also marks a PII-looking column as reviewed).
    Keep,
    /// Always this value.
    Fixed(String),
    /// The text kept, with every email, phone number, card number, IBAN and
    /// IP address found in it masked in place.
    Scrub,
    /// A card number of the same network and layout that passes the Luhn
    /// check.
    Card,
    /// An IBAN of the same country and layout with valid check digits.
    Iban,
    /// An address in 10.0.0.0/8 or fd00::/8 (a `/prefix` is kept).
    Ip,
    /// The value unchanged and not even scanned for personal data found by
    /// content (`keep` is scanned).
    Verbatim,
}

impl Rule {
    pub const NAMES: &'static str = "email, name, first-name, last-name, phone, address, text, date-shift, hash, card, iban, ip, scrub, null, keep, verbatim, fixed";

    /// The rule's name, and its hashing domain: equal values masked by the
    /// same rule give equal results in every table.
    pub fn name(&self) -> &'static str {
        match self {
            Rule::Email => "email",
            Rule::Name => "name",
            Rule::FirstName => "first-name",
            Rule::LastName => "last-name",
            Rule::Phone => "phone",
            Rule::Address => "address",
            Rule::Text => "text",
            Rule::DateShift { .. } => "date-shift",
            Rule::Hash => "hash",
            Rule::Null => "null",
            Rule::Keep => "keep",
            Rule::Fixed(_) => "fixed",
            Rule::Scrub => "scrub",
            Rule::Card => "card",
            Rule::Iban => "iban",
            Rule::Ip => "ip",
            Rule::Verbatim => "verbatim",
        }
    }

    /// Whether the rule replaces the whole value (rather than keeping it,
    /// or masking what is found inside).
    pub fn replaces_value(&self) -> bool {
        !matches!(self, Rule::Keep | Rule::Verbatim | Rule::Scrub)
    }

    fn from_value(value: &Value) -> Result<Rule, String> {
        let (name, table) = match value {
            Value::String(name) => (name.as_str(), None),
            Value::Object(table) => match table.get("rule") {
                Some(Value::String(name)) => (name.as_str(), Some(table)),
                _ => return Err("a rule table needs `rule = \"…\"`".into()),
            },
            _ => return Err(format!("expected a rule name ({}) or a table", Rule::NAMES)),
        };
        let allowed: &[&str] = match name {
            "date-shift" => &["rule", "days"],
            "fixed" => &["rule", "value"],
            _ => &["rule"],
        };
        if let Some(table) = table
            && let Some(key) = table.keys().find(|k| !allowed.contains(&k.as_str()))
        {
            return Err(format!("rule `{name}` takes no `{key}`"));
        }
        let field = |key: &str| table.and_then(|t| t.get(key));
        Ok(match name {
            "email" => Rule::Email,
            "name" => Rule::Name,
            "first-name" => Rule::FirstName,
            "last-name" => Rule::LastName,
            "phone" => Rule::Phone,
            "address" => Rule::Address,
            "text" => Rule::Text,
            "hash" => Rule::Hash,
            "null" => Rule::Null,
            "keep" => Rule::Keep,
            "scrub" => Rule::Scrub,
            "card" => Rule::Card,
            "iban" => Rule::Iban,
            "ip" => Rule::Ip,
            "verbatim" => Rule::Verbatim,
            "date-shift" => {
                let days = match field("days") {
                    None => 30,
                    Some(v) => v
                        .as_u64()
                        .filter(|d| (1..=36_500).contains(d))
                        .ok_or("`days` must be a whole number of days from 1 to 36500")?
                        as u32,
                };
                Rule::DateShift { days }
            }
            "fixed" => match field("value") {
                Some(Value::String(s)) => Rule::Fixed(s.clone()),
                Some(Value::Number(n)) => Rule::Fixed(n.to_string()),
                Some(Value::Bool(b)) => Rule::Fixed(b.to_string()),
                _ => return Err("rule `fixed` needs `value = \"…\"`".into()),
            },
            other => return Err(format!("unknown rule `{other}` (rules: {})", Rule::NAMES)),
        })
    }

    /// The canonical text of the rule, for the policy digest.
    fn canonical(&self) -> String {
        match self {
            Rule::DateShift { days } => format!("date-shift:{days}"),
            Rule::Fixed(v) => format!("fixed:{v:?}"),
            other => other.name().to_owned(),
        }
    }
}

/// Where a rule was written, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin(pub String);

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone)]
pub struct ColumnRule {
    pub table: TableName,
    pub column: String,
    pub rule: Rule,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub fraction: f64,
    pub roots: Vec<(TableName, Origin)>,
}

/// What to do with personal data found by content in text columns that
/// are kept (no rule, `keep`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// Mask each one in place, as `scrub` does.
    Mask,
    /// Stop before writing anything, listing the columns.
    Stop,
}

/// `[free-text]`: looking inside text for personal data.
#[derive(Debug, Clone, PartialEq)]
pub struct FreeText {
    pub found: Found,
    pub find: Kinds,
}

impl Default for FreeText {
    fn default() -> Self {
        FreeText {
            found: Found::Mask,
            find: Kinds::ALL,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub columns: Vec<ColumnRule>,
    pub sample: Option<Sample>,
    pub free_text: FreeText,
}

/// The default share of root rows kept.
pub const DEFAULT_FRACTION: f64 = 0.1;

impl Policy {
    /// Reads a policy file's TOML `text`; `file` names it in errors.
    pub fn from_toml(file: &str, text: &str) -> Result<Policy, Error> {
        let doc: toml::Table = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| format!("{file}:{}", line_of(text, s.start)))
                .unwrap_or_else(|| file.to_owned());
            Error::Policy {
                at,
                why: e.message().to_owned(),
            }
        })?;
        // Re-parse with spans for every key of [columns] and [sample].
        #[derive(serde::Deserialize)]
        struct Spanned {
            #[serde(default)]
            columns: std::collections::BTreeMap<String, toml::Spanned<toml::Value>>,
            #[serde(default)]
            sample: Option<toml::Spanned<toml::Value>>,
            #[serde(default, rename = "free-text")]
            free_text: Option<toml::Spanned<toml::Value>>,
        }
        let unknown = doc
            .keys()
            .find(|k| !matches!(k.as_str(), "columns" | "sample" | "free-text"));
        if let Some(key) = unknown {
            return Err(Error::Policy {
                at: file.to_owned(),
                why: format!("unknown key `{key}` (expected [columns], [sample] and [free-text])"),
            });
        }
        let spanned: Spanned = toml::from_str(text).map_err(|e| Error::Policy {
            at: file.to_owned(),
            why: e.message().to_owned(),
        })?;
        let columns = spanned
            .columns
            .into_iter()
            .map(|(key, value)| {
                let origin = Origin(format!("{file}:{}", line_of(text, value.span().start)));
                let json = serde_json::to_value(value.get_ref()).unwrap_or(Value::Null);
                (key, json, origin)
            })
            .collect();
        let section = |s: toml::Spanned<toml::Value>| {
            let origin = Origin(format!("{file}:{}", line_of(text, s.span().start)));
            (
                serde_json::to_value(s.get_ref()).unwrap_or(Value::Null),
                origin,
            )
        };
        let sample = spanned.sample.map(section);
        let free_text = spanned.free_text.map(section);
        Policy::build(columns, sample, free_text)
    }

    /// Reads a policy given inline in the task's config (`config.policy`).
    pub fn from_json(task: &str, value: &Value) -> Result<Policy, Error> {
        let at = |key: &str| Origin(format!("task `{task}`: config.policy.{key}"));
        let Value::Object(table) = value else {
            return Err(Error::Policy {
                at: at("").0.trim_end_matches('.').to_owned(),
                why: "must be a table with `columns` (and `sample`)".into(),
            });
        };
        if let Some(key) = table
            .keys()
            .find(|k| !matches!(k.as_str(), "columns" | "sample" | "free-text"))
        {
            return Err(Error::Policy {
                at: at(key).0,
                why: "unknown key (expected `columns`, `sample` and `free-text`)".into(),
            });
        }
        let columns = match table.get("columns") {
            None => Vec::new(),
            Some(Value::Object(columns)) => columns
                .iter()
                .map(|(k, v)| (k.clone(), v.clone(), at(&format!("columns.\"{k}\""))))
                .collect(),
            Some(_) => {
                return Err(Error::Policy {
                    at: at("columns").0,
                    why: "must be a table of \"table.column\" = rule".into(),
                });
            }
        };
        let sample = table.get("sample").map(|s| (s.clone(), at("sample")));
        let free_text = table.get("free-text").map(|s| (s.clone(), at("free-text")));
        Policy::build(columns, sample, free_text)
    }

    fn build(
        columns: Vec<(String, Value, Origin)>,
        sample: Option<(Value, Origin)>,
        free_text: Option<(Value, Origin)>,
    ) -> Result<Policy, Error> {
        let mut rules = Vec::new();
        for (key, value, origin) in columns {
            let bad = |why: String| Error::Policy {
                at: origin.0.clone(),
                why,
            };
            let (table, column) = key
                .rsplit_once('.')
                .and_then(|(t, c)| Some((TableName::from_policy(t)?, c)))
                .filter(|(_, c)| !c.is_empty())
                .ok_or_else(|| {
                    bad(format!(
                        "`{key}` is not `table.column` or `schema.table.column`"
                    ))
                })?;
            let rule = Rule::from_value(&value).map_err(|why| bad(format!("`{key}`: {why}")))?;
            rules.push(ColumnRule {
                table,
                column: column.to_owned(),
                rule,
                origin,
            });
        }
        let sample = match sample {
            None => None,
            Some((value, origin)) => Some(parse_sample(&value, &origin)?),
        };
        let free_text = match free_text {
            None => FreeText::default(),
            Some((value, origin)) => parse_free_text(&value, &origin)?,
        };
        Ok(Policy {
            columns: rules,
            sample,
            free_text,
        })
    }

    pub fn rule(&self, table: &TableName, column: &str) -> Option<&ColumnRule> {
        self.columns
            .iter()
            .find(|r| &r.table == table && r.column == column)
    }

    /// sha256 of the policy's meaning (not its formatting), lowercase hex.
    pub fn digest(&self) -> String {
        let mut lines: Vec<String> = self
            .columns
            .iter()
            .map(|r| format!("{}.{}={}", r.table, r.column, r.rule.canonical()))
            .collect();
        lines.sort();
        if let Some(sample) = &self.sample {
            let mut roots: Vec<String> = sample.roots.iter().map(|(t, _)| t.to_string()).collect();
            roots.sort();
            lines.push(format!("sample={}:{}", sample.fraction, roots.join(",")));
        }
        if self.free_text != FreeText::default() {
            lines.push(format!(
                "free-text={:?}:{}",
                self.free_text.found, self.free_text.find
            ));
        }
        let digest = Sha256::digest(lines.join("\n").as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

fn parse_sample(value: &Value, origin: &Origin) -> Result<Sample, Error> {
    let bad = |why: &str| Error::Policy {
        at: origin.0.clone(),
        why: format!("[sample]: {why}"),
    };
    let Value::Object(table) = value else {
        return Err(bad("must be a table with `roots` (and `fraction`)"));
    };
    if let Some(key) = table
        .keys()
        .find(|k| !matches!(k.as_str(), "fraction" | "roots"))
    {
        return Err(bad(&format!(
            "unknown key `{key}` (expected `fraction` and `roots`)"
        )));
    }
    let fraction = match table.get("fraction") {
        None => DEFAULT_FRACTION,
        Some(v) => v
            .as_f64()
            .filter(|f| *f > 0.0 && *f <= 1.0)
            .ok_or_else(|| bad("`fraction` must be a number above 0 and at most 1"))?,
    };
    let roots = match table.get("roots") {
        Some(Value::Array(roots)) if !roots.is_empty() => roots
            .iter()
            .map(|r| {
                r.as_str()
                    .and_then(TableName::from_policy)
                    .map(|t| (t, origin.clone()))
                    .ok_or_else(|| bad("`roots` must list table names (`table` or `schema.table`)"))
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(bad(
                "`roots` must list the tables to sample, e.g. roots = [\"customers\"]",
            ));
        }
    };
    Ok(Sample { fraction, roots })
}

fn parse_free_text(value: &Value, origin: &Origin) -> Result<FreeText, Error> {
    let bad = |why: &str| Error::Policy {
        at: origin.0.clone(),
        why: format!("[free-text]: {why}"),
    };
    let Value::Object(table) = value else {
        return Err(bad("must be a table with `found` and `find`"));
    };
    if let Some(key) = table
        .keys()
        .find(|k| !matches!(k.as_str(), "found" | "find"))
    {
        return Err(bad(&format!(
            "unknown key `{key}` (expected `found` and `find`)"
        )));
    }
    let found = match table.get("found").map(|v| v.as_str()) {
        None => Found::Mask,
        Some(Some("mask")) => Found::Mask,
        Some(Some("stop")) => Found::Stop,
        Some(_) => {
            return Err(bad(
                "`found` is \"mask\" (mask what is found in place) or \"stop\" (refuse and list the columns)",
            ));
        }
    };
    let all: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
    let find = match table.get("find") {
        None => Kinds::ALL,
        Some(Value::Array(names)) => {
            let mut kinds = Vec::new();
            for name in names {
                let kind = name.as_str().and_then(Kind::from_name).ok_or_else(|| {
                    bad(&format!(
                        "`find` lists what to look for, among {}",
                        all.join(", ")
                    ))
                })?;
                kinds.push(kind);
            }
            Kinds::of(&kinds)
        }
        Some(_) => {
            return Err(bad(&format!(
                "`find` lists what to look for, among {}",
                all.join(", ")
            )));
        }
    };
    Ok(FreeText { found, find })
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::{Policy, Rule};
    use crate::ident::TableName;

    const POLICY: &str = r#"
[columns]
"customers.email" = "email"
"public.customers.birth_date" = { rule = "date-shift", days = 10 }
"customers.plan" = { rule = "fixed", value = "free" }

[sample]
fraction = 0.25
roots = ["customers"]
"#;

    #[test]
    fn a_policy_file_parses() {
        let p = Policy::from_toml("sanitize.toml", POLICY).unwrap();
        let customers = TableName::new("public", "customers");
        assert_eq!(p.rule(&customers, "email").unwrap().rule, Rule::Email);
        assert_eq!(
            p.rule(&customers, "email").unwrap().origin.0,
            "sanitize.toml:3"
        );
        assert_eq!(
            p.rule(&customers, "birth_date").unwrap().rule,
            Rule::DateShift { days: 10 }
        );
        assert_eq!(
            p.rule(&customers, "plan").unwrap().rule,
            Rule::Fixed("free".into())
        );
        let sample = p.sample.unwrap();
        assert_eq!(sample.fraction, 0.25);
        assert_eq!(sample.roots[0].0, customers);
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let text = "[columns]\n\"a.b\" = \"email\"\n\"c.d\" = \"emial\"\n";
        let e = Policy::from_toml("p.toml", text).unwrap_err().to_string();
        assert!(
            e.starts_with("p.toml:3: `c.d`: unknown rule `emial`"),
            "{e}"
        );
        let e = Policy::from_toml("p.toml", "[columns]\n\"nodot\" = \"keep\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("p.toml:2") && e.contains("table.column"), "{e}");
        let e = Policy::from_toml("p.toml", "[columns\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("p.toml:1"), "{e}");
        let e = Policy::from_toml("p.toml", "[sample]\nfraction = 2\nroots = [\"a\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("fraction"), "{e}");
    }

    #[test]
    fn inline_policies_name_the_config_key() {
        let value = serde_json::json!({"columns": {"t.c": {"rule": "fixed"}}});
        let e = Policy::from_json("sanitize", &value)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "task `sanitize`: config.policy.columns.\"t.c\": `t.c`: rule `fixed` needs `value = \"…\"`"
        );
    }

    #[test]
    fn the_digest_ignores_formatting() {
        let a = Policy::from_toml("a", POLICY).unwrap();
        let b = Policy::from_toml("b", &POLICY.replace("= ", "=  ")).unwrap();
        assert_eq!(a.digest(), b.digest());
        let c = Policy::from_toml("c", &POLICY.replace("0.25", "0.5")).unwrap();
        assert_ne!(a.digest(), c.digest());
    }
}
