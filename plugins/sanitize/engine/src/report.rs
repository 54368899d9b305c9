//! What a run found and did, column by column: which rule masked it, what
//! was found inside its text (and masked in place), or why it was kept.
//! The engine fills it; the plugin prints [`Report::render_columns`].

use std::fmt::Write as _;

use super::find::Counts;
use super::ident::TableName;

/// How one column was handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handling {
    /// Replaced by a rule (its name).
    Rule(String),
    /// `scrub`: searched, and what was found masked in place.
    Scrub,
    /// Kept (`keep` or no rule), but searched: anything found inside was
    /// masked in place.
    Searched,
    /// Kept as it is: `verbatim`, or a type that holds no text.
    Kept,
    /// A generated column: not in the data, computed again on restore
    /// from the (masked) columns it reads.
    Generated,
}

/// One column of one table (partitions are reported with the table they
/// belong to).
#[derive(Debug, Clone)]
pub struct ColumnReport {
    pub table: TableName,
    pub column: String,
    pub sql_type: String,
    pub handling: Handling,
    /// Why its name or type looks personal, when it does.
    pub flagged: Option<String>,
    /// What was found inside its values.
    pub found: Counts,
    /// Values written differently from the input.
    pub changed: u64,
    /// A CHECK constraint or domain reads the column.
    pub checked: bool,
}

impl ColumnReport {
    fn interesting(&self) -> bool {
        matches!(
            self.handling,
            Handling::Rule(_) | Handling::Scrub | Handling::Generated
        ) || self.found.total() > 0
            || self.flagged.is_some()
    }

    /// `email`, `kept, searched: 3 email addresses masked in place`, …
    pub fn describe(&self) -> String {
        let mut out = match &self.handling {
            Handling::Rule(rule) => format!("masked: {rule}"),
            Handling::Scrub => "scrub: searched".to_owned(),
            Handling::Searched => "kept, searched".to_owned(),
            Handling::Kept => "kept".to_owned(),
            Handling::Generated => "generated: computed on restore".to_owned(),
        };
        if self.found.total() > 0 {
            let _ = write!(out, "; masked in place: {}", self.found);
        } else if matches!(self.handling, Handling::Searched | Handling::Scrub) {
            out.push_str("; nothing found");
        }
        if let Some(why) = &self.flagged
            && matches!(self.handling, Handling::Searched | Handling::Kept)
        {
            let _ = write!(out, " (looks personal: {why}; kept as the policy says)");
        }
        if self.checked && matches!(self.handling, Handling::Rule(_)) {
            out.push_str(" (a CHECK constraint reads it: the restore verifies the masked values)");
        }
        out
    }
}

/// What a run did, for the manifest and the summary.
#[derive(Debug, Clone)]
pub struct Report {
    pub key_id: String,
    pub policy_digest: String,
    /// Rows per table before and after sampling, in name order.
    pub tables: Vec<(TableName, u64, u64)>,
    /// Which columns were masked, and how: `schema.table.column` → rule
    /// (`scrub` for columns where something was masked in place).
    pub masked: Vec<(String, String)>,
    pub input_bytes: u64,
    /// The size of the output. Its digest, for the manifest, is the
    /// writer's business: the plugin has the host compute it (SHA-256 in
    /// software cost the wasm plugin a seventh of its time).
    pub output_bytes: u64,
    /// Every column of every table with data, and generated columns.
    pub columns: Vec<ColumnReport>,
}

impl Report {
    /// Everything found by content, over all columns.
    pub fn found(&self) -> Counts {
        let mut total = Counts::default();
        for c in &self.columns {
            total.merge(&c.found);
        }
        total
    }

    /// One line per column that was masked, had something found, or looks
    /// personal; then how many others were kept and searched.
    pub fn render_columns(&self) -> String {
        let mut out = String::new();
        let width = self
            .columns
            .iter()
            .filter(|c| c.interesting())
            .map(|c| c.table.to_string().len() + c.column.len() + 1)
            .max()
            .unwrap_or(0);
        for c in self.columns.iter().filter(|c| c.interesting()) {
            let name = format!("{}.{}", c.table, c.column);
            let _ = writeln!(out, "{name:width$}  {}", c.describe());
        }
        let rest: Vec<&ColumnReport> = self.columns.iter().filter(|c| !c.interesting()).collect();
        let searched = rest
            .iter()
            .filter(|c| c.handling == Handling::Searched)
            .count();
        if !rest.is_empty() {
            let _ = writeln!(
                out,
                "{} other columns kept unchanged ({searched} of them searched for personal data: nothing found)",
                rest.len()
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::{ColumnReport, Handling, Report};
    use crate::find::{Counts, Kind};
    use crate::ident::TableName;

    fn column(name: &str, handling: Handling) -> ColumnReport {
        ColumnReport {
            table: TableName::new("public", "orders"),
            column: name.into(),
            sql_type: "text".into(),
            handling,
            flagged: None,
            found: Counts::default(),
            changed: 0,
            checked: false,
        }
    }

    #[test]
    fn the_report_lists_what_matters() {
        let mut note = column("note", Handling::Searched);
        note.found.add(Kind::Phone);
        note.found.add(Kind::Phone);
        note.found.add(Kind::Email);
        let mut company = column("company", Handling::Searched);
        company.flagged = Some("its name has `x`".into());
        let report = Report {
            key_id: String::new(),
            policy_digest: String::new(),
            tables: Vec::new(),
            masked: Vec::new(),
            input_bytes: 0,
            output_bytes: 0,
            columns: vec![
                column("email", Handling::Rule("email".into())),
                note,
                column("id", Handling::Kept),
                column("status", Handling::Searched),
                column("full_name", Handling::Generated),
                company,
            ],
        };
        assert_eq!(
            report.render_columns(),
            "public.orders.email      masked: email\n\
             public.orders.note       kept, searched; masked in place: 1 email address, 2 phone numbers\n\
             public.orders.full_name  generated: computed on restore\n\
             public.orders.company    kept, searched; nothing found (looks personal: its name has `x`; kept as the policy says)\n\
             2 other columns kept unchanged (1 of them searched for personal data: nothing found)\n"
        );
        assert_eq!(report.found().total(), 3);
    }
}
