//! The policy checked against the dump, and what to do with every column
//! of every COPY block.
//!
//! Every rule must name a real column of a type it can mask; both ends of a
//! foreign key must be masked alike; every column whose name or type looks
//! personal needs a rule; large objects cannot be looked into. All problems
//! are reported at once.
//!
//! A rule written for a partitioned table applies to its partitions, and
//! one written for an INHERITS parent to the columns its children inherit
//! (a rule on the child itself wins). Text columns without a rule, or with
//! `keep`, are searched for personal data by content (see
//! [`crate::find`]), unless `[free-text] found = "stop"` (they are searched
//! in the first pass, and anything found stops the run).

use std::collections::{BTreeMap, BTreeSet};

use super::Error;
use super::find::{Counts, Kinds};
use super::ident::TableName;
use super::pii;
use super::policy::{ColumnRule, Found, Policy, Rule};
use super::report::{ColumnReport, Handling};
use super::schema::{Schema, TypeClass};

/// What to do with one column of a table's COPY rows.
#[derive(Debug, Clone, Default)]
pub struct ColumnPlan {
    /// A rule that replaces the whole value (`None` keeps it).
    pub rule: Option<Rule>,
    /// Search the value and mask what is found in place.
    pub scan: bool,
    /// varchar(n)/char(n): masked values are cut to fit.
    pub max_chars: Option<usize>,
    pub bytea: bool,
    /// This column's entry in [`Plan::report`].
    pub report: usize,
}

impl ColumnPlan {
    /// Whether values may be written differently from the input.
    pub fn changes(&self) -> bool {
        self.rule.is_some() || self.scan
    }
}

/// A unique column set that holds a column that changes.
#[derive(Debug, Clone)]
pub struct UniqueSet {
    /// COPY positions.
    pub positions: Vec<usize>,
    /// A rule replaces values of the set: every row's values are tracked.
    /// Otherwise only values masked in place can clash, and only those are.
    pub every_row: bool,
}

#[derive(Debug, Clone, Default)]
pub struct TablePlan {
    /// One entry per COPY column.
    pub columns: Vec<ColumnPlan>,
    pub unique: Vec<UniqueSet>,
    /// The COPY column names, for messages.
    pub names: Vec<String>,
}

impl TablePlan {
    pub fn changes_anything(&self) -> bool {
        self.columns.iter().any(ColumnPlan::changes)
    }
}

#[derive(Debug, Clone)]
pub struct Plan {
    /// Per table with data.
    pub tables: BTreeMap<TableName, TablePlan>,
    pub report: Vec<ColumnReport>,
    /// What to look for in searched columns.
    pub kinds: Kinds,
}

/// Which rule applies to a column of `table`: its own, or one written for a
/// table above it (partitioned parent, INHERITS parent).
pub fn rule_for<'p>(
    schema: &Schema,
    policy: &'p Policy,
    table: &TableName,
    column: &str,
) -> Option<&'p ColumnRule> {
    schema
        .lineage(table)
        .iter()
        .find_map(|t| policy.rule(t, column))
}

/// Whether a column kept by the policy is searched for personal data.
pub fn searched(rule: Option<&Rule>, class: TypeClass) -> bool {
    class.scannable() && matches!(rule, None | Some(Rule::Keep) | Some(Rule::Scrub))
}

impl Plan {
    pub fn new(schema: &Schema, policy: &Policy) -> Result<Plan, Error> {
        let mut problems = Vec::new();
        let table_names: Vec<String> = schema.tables.keys().map(|t| t.to_string()).collect();
        let mask_found = policy.free_text.found == Found::Mask;

        for rule in &policy.columns {
            let at = &rule.origin;
            let Some(table) = schema.tables.get(&rule.table) else {
                problems.push(format!(
                    "{at}: table `{}` is not in the dump{}",
                    rule.table,
                    did_you_mean(&rule.table.to_string(), &table_names)
                ));
                continue;
            };
            let columns = schema.columns(&rule.table);
            let Some(column) = columns.iter().find(|c| c.name == rule.column) else {
                let mut known: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
                if known.is_empty() {
                    known = table.copy_columns.clone();
                }
                if known.contains(&rule.column) {
                    continue;
                }
                problems.push(format!(
                    "{at}: table `{}` has no column `{}`{}",
                    rule.table,
                    rule.column,
                    did_you_mean(&rule.column, &known)
                ));
                continue;
            };
            if column.generated && !matches!(rule.rule, Rule::Keep | Rule::Verbatim) {
                problems.push(format!(
                    "{at}: {}.{} is a generated column: the dump has no values for it, PostgreSQL computes them on restore from the columns it reads; mask those instead",
                    rule.table, rule.column
                ));
                continue;
            }
            if let Some(why) = misfit(&rule.rule, column.class, column.not_null, &column.sql_type) {
                problems.push(format!(
                    "{at}: cannot apply `{}` to {}.{}: {why}",
                    rule.rule.name(),
                    rule.table,
                    rule.column
                ));
            }
        }

        // Both ends of a foreign key must come out the same.
        let effective = |table: &TableName, column: &str| -> String {
            let rule = rule_for(schema, policy, table, column).map(|r| &r.rule);
            let class = schema
                .column(table, column)
                .map_or(TypeClass::Atomic, |c| c.class);
            match rule {
                None | Some(Rule::Keep) if class.scannable() && mask_found => "searched".into(),
                Some(Rule::Scrub) => "searched".into(),
                None | Some(Rule::Keep) | Some(Rule::Verbatim) => "keep".into(),
                Some(other) => format!("{other:?}"),
            }
        };
        for (name, table) in &schema.tables {
            for fk in &table.foreign_keys {
                let parent_columns = if fk.parent_columns.is_empty() {
                    schema
                        .tables
                        .get(&fk.parent)
                        .and_then(|p| p.primary_key.clone())
                        .unwrap_or_default()
                } else {
                    fk.parent_columns.clone()
                };
                for (child, parent) in fk.columns.iter().zip(&parent_columns) {
                    let (a, b) = (effective(name, child), effective(&fk.parent, parent));
                    if a != b {
                        problems.push(format!(
                            "{name}.{child} references {}.{parent} (foreign key {}), so both need the same rule; they have {} and {}",
                            fk.parent,
                            fk.name,
                            short(&a),
                            short(&b)
                        ));
                    }
                }
            }
        }

        // Personal-looking columns without a rule, named where a rule for
        // them is best written (the partitioned or INHERITS parent that has
        // the column).
        let mut flagged: BTreeSet<(TableName, String)> = BTreeSet::new();
        for (name, table) in schema.tables.iter().filter(|(_, t)| t.has_data()) {
            for column in &table.copy_columns {
                if rule_for(schema, policy, name, column).is_some() {
                    continue;
                }
                let Some(c) = schema.column(name, column) else {
                    continue;
                };
                let Some(verdict) = pii::verdict(column, c.class) else {
                    continue;
                };
                let owner = schema
                    .lineage(name)
                    .into_iter()
                    .rev()
                    .find(|t| {
                        schema
                            .tables
                            .get(t)
                            .is_some_and(|t| t.columns.iter().any(|c| &c.name == column))
                    })
                    .unwrap_or_else(|| name.clone());
                if flagged.insert((owner.clone(), column.clone())) {
                    let key = if owner.schema == "public" {
                        format!("{}.{column}", owner.name)
                    } else {
                        format!("{owner}.{column}")
                    };
                    problems.push(format!(
                        "{owner}.{column} looks like personal data ({}) and has no rule; add one (e.g. \"{key}\" = \"{}\"), or \"keep\" if it is not personal",
                        verdict.why, verdict.suggest
                    ));
                }
            }
        }

        if let Some(sample) = &policy.sample {
            for (root, at) in &sample.roots {
                match schema.tables.get(root) {
                    Some(t) if t.partition_of.is_some() => problems.push(format!(
                        "{at}: sample root `{root}` is a partition of `{}`; name the partitioned table",
                        schema.partition_root(root)
                    )),
                    Some(t) if t.has_data() || t.partitioned => {}
                    Some(_) => problems.push(format!(
                        "{at}: sample root `{root}` has no data in the dump"
                    )),
                    None => problems.push(format!(
                        "{at}: sample root `{root}` is not in the dump{}",
                        did_you_mean(&root.to_string(), &table_names)
                    )),
                }
            }
        }

        if schema.large_objects > 0 {
            problems.push(format!(
                "the dump holds {} large objects, whose bytes sanitize cannot look into; dump without them (pg_dump --no-large-objects, spelled --no-blobs before PostgreSQL 16)",
                schema.large_objects
            ));
        }

        if !problems.is_empty() {
            return Err(Error::Plan(problems));
        }
        Ok(Plan::build(schema, policy))
    }

    /// The per-column plan and the report's entries (the policy fits).
    fn build(schema: &Schema, policy: &Policy) -> Plan {
        let mask_found = policy.free_text.found == Found::Mask;
        let mut report: Vec<ColumnReport> = Vec::new();
        let mut entries: BTreeMap<(TableName, String), usize> = BTreeMap::new();
        let mut tables = BTreeMap::new();
        for (name, table) in schema.tables.iter().filter(|(_, t)| t.has_data()) {
            // Partitions report under the table they belong to.
            let owner = schema.partition_root(name);
            let mut plan = TablePlan {
                names: table.copy_columns.clone(),
                ..TablePlan::default()
            };
            for column in &table.copy_columns {
                let rule = rule_for(schema, policy, name, column).map(|r| r.rule.clone());
                let c = schema.column(name, column);
                let class = c.map_or(TypeClass::Structured, |c| c.class);
                let scan = match &rule {
                    Some(Rule::Scrub) => true,
                    _ => mask_found && searched(rule.as_ref(), class),
                };
                let handling = match &rule {
                    Some(Rule::Scrub) => Handling::Scrub,
                    Some(r) if r.replaces_value() => Handling::Rule(r.name().to_owned()),
                    _ if searched(rule.as_ref(), class) => Handling::Searched,
                    _ => Handling::Kept,
                };
                let index = *entries
                    .entry((owner.clone(), column.clone()))
                    .or_insert_with(|| {
                        report.push(ColumnReport {
                            table: owner.clone(),
                            column: column.clone(),
                            sql_type: c
                                .map_or_else(|| "unknown".to_owned(), |c| c.sql_type.clone()),
                            handling,
                            flagged: pii::verdict(column, class).map(|v| v.why),
                            found: Counts::default(),
                            changed: 0,
                            checked: c.is_some_and(|c| c.checked),
                        });
                        report.len() - 1
                    });
                plan.columns.push(ColumnPlan {
                    rule: rule.filter(Rule::replaces_value),
                    scan,
                    max_chars: match class {
                        TypeClass::Text { max_chars } => max_chars,
                        _ => None,
                    },
                    bytea: class == TypeClass::Bytes,
                    report: index,
                });
            }
            for set in &table.unique {
                let positions: Option<Vec<usize>> =
                    set.iter().map(|c| table.copy_index(c)).collect();
                // Expression indexes list words that are not columns.
                let positions = positions.or_else(|| {
                    let known: Vec<usize> =
                        set.iter().filter_map(|c| table.copy_index(c)).collect();
                    (!known.is_empty()).then_some(known)
                });
                if let Some(positions) = positions
                    && positions.iter().any(|&i| plan.columns[i].changes())
                {
                    let every_row = positions.iter().any(|&i| plan.columns[i].rule.is_some());
                    plan.unique.push(UniqueSet {
                        positions,
                        every_row,
                    });
                }
            }
            tables.insert(name.clone(), plan);
        }
        // Generated columns, which no COPY block has.
        for (name, table) in &schema.tables {
            if table.partition_of.is_some() {
                continue;
            }
            for c in table.columns.iter().filter(|c| c.generated) {
                if let std::collections::btree_map::Entry::Vacant(e) =
                    entries.entry((name.clone(), c.name.clone()))
                {
                    e.insert(report.len());
                    report.push(ColumnReport {
                        table: name.clone(),
                        column: c.name.clone(),
                        sql_type: c.sql_type.clone(),
                        handling: Handling::Generated,
                        flagged: None,
                        found: Counts::default(),
                        changed: 0,
                        checked: c.checked,
                    });
                }
            }
        }
        Plan {
            tables,
            report,
            kinds: policy.free_text.find,
        }
    }
}

/// Why `rule` cannot be applied to a column of this class, if it cannot.
fn misfit(rule: &Rule, class: TypeClass, not_null: bool, sql_type: &str) -> Option<String> {
    let text = matches!(class, TypeClass::Text { .. });
    let fits = match rule {
        Rule::Keep | Rule::Verbatim | Rule::Fixed(_) => true,
        Rule::Null => !not_null,
        Rule::DateShift { .. } => matches!(class, TypeClass::Date | TypeClass::Timestamp),
        Rule::Scrub => class.scannable(),
        Rule::Hash => text || class == TypeClass::Bytes,
        Rule::Ip => text || class == TypeClass::Network,
        _ => text,
    };
    if fits {
        return None;
    }
    Some(match rule {
        Rule::Null => "it is NOT NULL; use `fixed` or another rule".to_owned(),
        Rule::DateShift { .. } => {
            format!("`date-shift` needs a date or timestamp column, not {sql_type}")
        }
        Rule::Scrub => format!(
            "`scrub` searches text, and the column is {sql_type}; use `keep`, `null` or `fixed`"
        ),
        _ if class == TypeClass::Structured => format!(
            "`{}` writes one plain value, and the column is {sql_type}; use `scrub` (masks every email, phone number, card, IBAN and IP address inside), `null` or `fixed`",
            rule.name()
        ),
        _ => format!(
            "`{}` writes text, and the column is {sql_type}; use `keep`, `null` or `fixed`",
            rule.name()
        ),
    })
}

/// `Email` → `email`, `DateShift { days: 3 }` → `date-shift`…, for messages.
fn short(debug: &str) -> String {
    let head = debug.split([' ', '(', '{']).next().unwrap_or(debug);
    let mut out = String::new();
    for (i, c) in head.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('-');
        }
        out.extend(c.to_lowercase());
    }
    format!("`{out}`")
}

/// " (did you mean `x`?)" for the closest name within a small edit distance.
fn did_you_mean(wrong: &str, names: &[String]) -> String {
    names
        .iter()
        .map(|n| (distance(wrong, n), n))
        .filter(|(d, n)| *d <= 3.max(wrong.len() / 4) && *d < n.len())
        .min()
        .map(|(_, n)| format!(" (did you mean `{n}`?)"))
        .unwrap_or_default()
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = if ca == *cb {
                previous
            } else {
                1 + previous.min(row[j]).min(current)
            };
            previous = current;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::Plan;
    use crate::policy::Policy;
    use crate::schema::Schema;

    const DUMP: &str = include_str!("testdata/small.sql");

    fn plan(policy: &str) -> Result<Plan, String> {
        let schema = Schema::analyze(DUMP.as_bytes(), None).unwrap();
        let policy = Policy::from_toml("p.toml", policy).unwrap();
        Plan::new(&schema, &policy).map_err(|e| e.to_string())
    }

    #[test]
    fn unruled_pii_is_listed() {
        let e = plan("[columns]\n\"customers.email\" = \"email\"\n").unwrap_err();
        assert!(
            e.contains("public.customers.full_name looks like personal data (its name looks like a person's name) and has no rule; add one (e.g. \"customers.full_name\" = \"name\")"),
            "{e}"
        );
        assert!(
            e.contains("public.customers.phone looks like personal data"),
            "{e}"
        );
        assert!(e.contains("public.customers.birth_date"), "{e}");
        // Free text is searched, not refused.
        assert!(!e.contains("orders.note"), "{e}");
        assert!(!e.contains("customers.email looks"), "{e}");
        assert!(!e.contains("customers.plan"), "{e}");
    }

    #[test]
    fn bad_rules_name_the_line_and_a_suggestion() {
        let e = plan("[columns]\n\"customers.emial\" = \"email\"\n\"custmers.x\" = \"keep\"\n\"customers.id\" = \"email\"\n\"customers.email\" = \"null\"\n")
            .unwrap_err();
        assert!(
            e.contains(
                "p.toml:2: table `public.customers` has no column `emial` (did you mean `email`?)"
            ),
            "{e}"
        );
        assert!(e.contains("p.toml:3: table `public.custmers` is not in the dump (did you mean `public.customers`?)"), "{e}");
        assert!(
            e.contains("p.toml:4: cannot apply `email` to public.customers.id"),
            "{e}"
        );
        assert!(
            e.contains("p.toml:5: cannot apply `null` to public.customers.email: it is NOT NULL"),
            "{e}"
        );
    }

    #[test]
    fn a_complete_policy_plans() {
        let p = plan(
            "[columns]\n\"customers.email\" = \"email\"\n\"customers.full_name\" = \"name\"\n\"customers.phone\" = \"phone\"\n\"customers.birth_date\" = \"date-shift\"\n\"orders.note\" = \"text\"\n\"countries.name\" = \"keep\"\n",
        )
        .unwrap();
        let customers = &p.tables[&crate::ident::TableName::new("public", "customers")];
        assert!(customers.columns[1].rule.is_some() && !customers.columns[0].changes());
        assert_eq!(customers.columns[2].max_chars, Some(100));
        // `plan` has no rule: it is text, so it is searched.
        assert!(customers.columns[5].scan && customers.columns[5].rule.is_none());
        assert_eq!(customers.unique.len(), 1);
        assert_eq!(customers.unique[0].positions, [1]);
    }
}
