//! The outputs: a table for people, and JSON, SARIF 2.1.0 and a CycloneDX
//! SBOM for machines.

pub mod cyclonedx;
pub mod json;
pub mod sarif;
pub mod table;

use serde::Serialize;

use crate::feed::{self, DataInfo};
use crate::finding::Finding;
use crate::image::Inventory;
use crate::policy::{Policy, Rule};

/// What was scanned and audited, and the options in force.
#[derive(Debug)]
pub struct Report<'a> {
    pub inventories: &'a [Inventory],
    /// Containers and Compose services audited for hardening.
    pub audited: &'a [Audited],
    /// All findings, ignored ones marked.
    pub findings: &'a [Finding],
    pub policy: &'a Policy,
    pub expired: &'a [Rule],
    pub warnings: &'a [String],
    /// The advisory data matched against (none when nothing was matched:
    /// a Compose audit).
    pub data: Option<&'a DataInfo>,
}

/// A container or Compose service the hardening audit looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audited {
    pub target: String,
    /// `container` or `compose-service`.
    pub kind: &'static str,
}

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Table,
    Json,
    Sarif,
    Cyclonedx,
}

impl Format {
    pub fn parse(text: &str) -> Result<Format, String> {
        Ok(match text {
            "table" => Format::Table,
            "json" => Format::Json,
            "sarif" => Format::Sarif,
            "cyclonedx" | "sbom" => Format::Cyclonedx,
            other => {
                return Err(format!(
                    "unknown format `{other}` (use table, json, sarif or cyclonedx)"
                ));
            }
        })
    }

    /// The format a report file's name implies.
    pub fn from_file_name(name: &str) -> Option<Format> {
        let name = name.to_ascii_lowercase();
        if name.ends_with(".sarif") || name.ends_with(".sarif.json") {
            Some(Format::Sarif)
        } else if name.ends_with(".cdx.json") || name.ends_with(".cyclonedx.json") {
            Some(Format::Cyclonedx)
        } else if name.ends_with(".json") {
            Some(Format::Json)
        } else if name.ends_with(".txt") {
            Some(Format::Table)
        } else {
            None
        }
    }
}

impl Report<'_> {
    /// Renders the report; `color` applies to the table only.
    pub fn render(&self, format: Format, color: bool) -> String {
        match format {
            Format::Table => table::render(self, color),
            Format::Json => json::render(self),
            Format::Sarif => sarif::render(self),
            Format::Cyclonedx => cyclonedx::render(self),
        }
    }

    /// The findings the display shows, most severe first.
    pub fn shown(&self) -> Vec<&Finding> {
        let mut shown: Vec<&Finding> = self
            .findings
            .iter()
            .filter(|f| self.policy.shown(f))
            .collect();
        shown.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        shown
    }
}

/// The (target, package) pairs installed for more than one architecture
/// among `findings`: those show their architecture (`libc6:i386`).
pub fn multiarch(findings: &[&Finding]) -> std::collections::HashSet<(String, String)> {
    let mut archs: std::collections::HashMap<(String, String), std::collections::BTreeSet<&str>> =
        std::collections::HashMap::new();
    for f in findings {
        if let Some(p) = &f.package {
            archs
                .entry((f.target.clone(), p.name.clone()))
                .or_default()
                .insert(p.arch.as_str());
        }
    }
    archs
        .into_iter()
        .filter(|(_, a)| a.len() > 1)
        .map(|(k, _)| k)
        .collect()
}

/// A package's name as shown: with its architecture when `multi` has it.
pub fn package_name(f: &Finding, multi: &std::collections::HashSet<(String, String)>) -> String {
    match &f.package {
        Some(p) if multi.contains(&(f.target.clone(), p.name.clone())) => {
            format!("{}:{}", p.name, p.arch)
        }
        Some(p) => p.name.clone(),
        None => "-".into(),
    }
}

/// Percent-encodes everything but unreserved characters (for purls and URIs).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The advisory data as the JSON report and SARIF's properties show it.
pub fn data_json(data: &DataInfo) -> serde_json::Value {
    let time = |t: Option<u64>| t.map(feed::timestamp);
    serde_json::json!({
        "as_of": time(data.as_of()),
        "age_seconds": data.age(),
        "sources": data.sources.iter().map(|s| serde_json::json!({
            "name": s.name,
            "from": s.from,
            "fetched": time(s.fetched),
            "checked": time(s.checked),
            "etag": s.etag,
            "sha256": s.sha256,
            "size": s.size,
            "error": s.error,
        })).collect::<Vec<_>>(),
    })
}

/// One line per source for the table: `osv Debian  https://…  fetched …`.
pub fn data_lines(data: &DataInfo) -> Vec<String> {
    let mut lines = vec![match data.age() {
        Some(age) => format!(
            "advisory data: {} old (as of {})",
            feed::human_age(age),
            data.as_of().map(feed::timestamp).unwrap_or_default()
        ),
        None => "advisory data: age unknown".to_owned(),
    }];
    for s in &data.sources {
        let mut line = format!("  {}: {}", s.name, s.from);
        if let Some(t) = s.fetched {
            line.push_str(&format!(", fetched {}", feed::timestamp(t)));
        }
        if let Some(t) = s.checked.filter(|c| Some(*c) != s.fetched) {
            line.push_str(&format!(", checked {}", feed::timestamp(t)));
        }
        if let Some(e) = &s.error {
            line.push_str(&format!(" (refresh failed: {e})"));
        }
        lines.push(line);
    }
    lines
}
