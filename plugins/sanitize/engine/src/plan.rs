//! The policy checked against the dump: every rule names a real column of a
//! type it can mask, foreign keys are masked alike on both sides, and every
//! column that looks like personal data has a rule. All problems are
//! reported at once.

use std::collections::BTreeMap;

use super::Error;
use super::ident::TableName;
use super::pii;
use super::policy::{Policy, Rule};
use super::schema::{Schema, TypeClass};

/// What to do with one column of a table's COPY rows.
#[derive(Debug, Clone)]
pub struct ColumnPlan {
    pub rule: Rule,
    /// varchar(n)/char(n): masked values are cut to fit.
    pub max_chars: Option<usize>,
}

#[derive(Debug, Clone, Default)]
pub struct TablePlan {
    /// One entry per COPY column; `None` copies the field unchanged.
    pub columns: Vec<Option<ColumnPlan>>,
    /// Unique column sets (COPY positions) that contain a masked column:
    /// their masked values are checked for clashes.
    pub unique: Vec<Vec<usize>>,
    /// The COPY column names, for messages.
    pub names: Vec<String>,
}

impl TablePlan {
    pub fn masks_anything(&self) -> bool {
        self.columns.iter().any(Option::is_some)
    }
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub tables: BTreeMap<TableName, TablePlan>,
}

impl Plan {
    pub fn new(schema: &Schema, policy: &Policy) -> Result<Plan, Error> {
        let mut problems = Vec::new();
        let mut tables: BTreeMap<TableName, TablePlan> = BTreeMap::new();
        for (name, table) in &schema.tables {
            if table.has_data() {
                tables.insert(
                    name.clone(),
                    TablePlan {
                        columns: vec![None; table.copy_columns.len()],
                        unique: Vec::new(),
                        names: table.copy_columns.clone(),
                    },
                );
            }
        }

        for rule in &policy.columns {
            let at = &rule.origin;
            let Some(table) = schema.tables.get(&rule.table) else {
                let names: Vec<String> = schema.tables.keys().map(|t| t.to_string()).collect();
                problems.push(format!(
                    "{at}: table `{}` is not in the dump{}",
                    rule.table,
                    did_you_mean(&rule.table.to_string(), &names)
                ));
                continue;
            };
            let known: Vec<String> = if table.columns.is_empty() {
                table.copy_columns.clone()
            } else {
                table.columns.iter().map(|c| c.name.clone()).collect()
            };
            if !known.contains(&rule.column) {
                problems.push(format!(
                    "{at}: table `{}` has no column `{}`{}",
                    rule.table,
                    rule.column,
                    did_you_mean(&rule.column, &known)
                ));
                continue;
            }
            let column = table.column(&rule.column);
            let class = column.map_or(TypeClass::Text { max_chars: None }, |c| c.class);
            let sql_type = column.map_or("unknown", |c| c.sql_type.as_str());
            let fits = match (&rule.rule, class) {
                (Rule::Keep | Rule::Fixed(_), _) => true,
                (Rule::Null, _) => !column.is_some_and(|c| c.not_null),
                (Rule::DateShift { .. }, TypeClass::Date | TypeClass::Timestamp) => true,
                (Rule::DateShift { .. }, _) => false,
                (_, TypeClass::Text { .. }) => true,
                _ => false,
            };
            if !fits {
                let why = if rule.rule == Rule::Null {
                    "it is NOT NULL; use `fixed` or another rule".to_owned()
                } else if matches!(rule.rule, Rule::DateShift { .. }) {
                    format!("`date-shift` needs a date or timestamp column, not {sql_type}")
                } else {
                    format!(
                        "`{}` writes text, and the column is {sql_type}; use `keep`, `null` or `fixed`",
                        rule.rule.name()
                    )
                };
                problems.push(format!(
                    "{at}: cannot apply `{}` to {}.{}: {why}",
                    rule.rule.name(),
                    rule.table,
                    rule.column
                ));
                continue;
            }
            if rule.rule == Rule::Keep {
                continue;
            }
            if let (Some(plan), Some(i)) =
                (tables.get_mut(&rule.table), table.copy_index(&rule.column))
            {
                plan.columns[i] = Some(ColumnPlan {
                    rule: rule.rule.clone(),
                    max_chars: match class {
                        TypeClass::Text { max_chars } => max_chars,
                        _ => None,
                    },
                });
            }
        }

        // A foreign key must see the same masked value on both sides.
        for (name, table) in &schema.tables {
            for fk in &table.foreign_keys {
                for (child, parent) in fk.columns.iter().zip(&fk.parent_columns) {
                    let rule_of = |t: &TableName, c: &str| {
                        policy
                            .rule(t, c)
                            .map_or_else(|| "keep".to_owned(), |r| format!("{:?}", r.rule))
                    };
                    let (a, b) = (rule_of(name, child), rule_of(&fk.parent, parent));
                    if a != b {
                        problems.push(format!(
                            "{name}.{child} references {}.{parent} (foreign key {}), so both need the same rule; they have {} and {}",
                            fk.parent, fk.name, short(&a), short(&b)
                        ));
                    }
                }
            }
        }

        // Personal-looking data without a rule.
        for (name, table) in &schema.tables {
            for (i, column) in table.copy_columns.iter().enumerate() {
                if policy.rule(name, column).is_some() {
                    continue;
                }
                let class = table
                    .column(column)
                    .map_or(TypeClass::Text { max_chars: None }, |c| c.class);
                // Names flag text and dates (a birth date), not numbers:
                // `address_id` is a key, not an address.
                let by_name = match class {
                    TypeClass::Other => None,
                    _ => pii::name_verdict(column),
                };
                let by_content = match class {
                    TypeClass::Text { .. } => table.content.get(i).and_then(|s| s.verdict()),
                    _ => None,
                };
                if let Some(why) = by_name.or(by_content) {
                    problems.push(format!(
                        "{name}.{column} looks like personal data ({why}) and has no rule; add one, or \"keep\" if it is not personal"
                    ));
                }
            }
        }

        if let Some(sample) = &policy.sample {
            for (root, at) in &sample.roots {
                match schema.tables.get(root) {
                    Some(t) if t.has_data() => {}
                    Some(_) => problems.push(format!(
                        "{at}: sample root `{root}` has no data in the dump"
                    )),
                    None => {
                        let names: Vec<String> =
                            schema.tables.keys().map(|t| t.to_string()).collect();
                        problems.push(format!(
                            "{at}: sample root `{root}` is not in the dump{}",
                            did_you_mean(&root.to_string(), &names)
                        ));
                    }
                }
            }
        }

        if !problems.is_empty() {
            return Err(Error::Plan(problems));
        }

        for (name, plan) in tables.iter_mut() {
            let table = &schema.tables[name];
            for set in &table.unique {
                let positions: Option<Vec<usize>> =
                    set.iter().map(|c| table.copy_index(c)).collect();
                if let Some(positions) = positions
                    && positions.iter().any(|&i| plan.columns[i].is_some())
                {
                    plan.unique.push(positions);
                }
            }
        }
        Ok(Plan { tables })
    }
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
        let schema = Schema::analyze(DUMP.as_bytes()).unwrap();
        let policy = Policy::from_toml("p.toml", policy).unwrap();
        Plan::new(&schema, &policy).map_err(|e| e.to_string())
    }

    #[test]
    fn unruled_pii_is_listed() {
        let e = plan("[columns]\n\"customers.email\" = \"email\"\n").unwrap_err();
        assert!(
            e.contains("public.customers.full_name looks like personal data"),
            "{e}"
        );
        assert!(
            e.contains("public.customers.phone looks like personal data"),
            "{e}"
        );
        assert!(e.contains("public.customers.birth_date"), "{e}");
        // Found by content: orders.note mentions emails and phone numbers in
        // only half of its rows, which is over the threshold.
        assert!(
            e.contains("public.orders.note looks like personal data"),
            "{e}"
        );
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
        assert!(customers.columns[1].is_some() && customers.columns[0].is_none());
        assert_eq!(customers.columns[2].as_ref().unwrap().max_chars, Some(100));
        assert_eq!(customers.unique, [vec![1]]);
    }
}
