//! SARIF 2.1.0 for GitHub code scanning: one rule per advisory or hardening
//! check (with `security-severity`, which GitHub ranks by), one result per
//! shown finding, located at the image or container it is in.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Report, percent_encode};
use crate::finding::{Finding, Kind};
use crate::severity::Severity;

const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Unknown => "note",
    }
}

/// GitHub's `security-severity`: the CVSS score, or one implied by the level.
fn security_severity(f: &Finding) -> String {
    let score = f.score.unwrap_or(match f.severity {
        Severity::Critical => 9.5,
        Severity::High => 8.0,
        Severity::Medium => 5.5,
        Severity::Low => 2.0,
        Severity::Unknown => 0.0,
    });
    format!("{score:.1}")
}

pub fn render(report: &Report) -> String {
    let shown = report.shown();
    let multi = super::multiarch(&shown);
    let mut rules: BTreeMap<&str, (usize, Value)> = BTreeMap::new();
    for f in &shown {
        let next = rules.len();
        rules.entry(f.id.as_str()).or_insert_with(|| {
            let title = if f.title.is_empty() { f.id.clone() } else { f.title.clone() };
            let tags = match f.kind {
                Kind::Vulnerability => vec!["security", "vulnerability"],
                Kind::Hardening => vec!["security", "hardening"],
            };
            (
                next,
                json!({
                    "id": f.id,
                    "name": f.id,
                    "shortDescription": { "text": title },
                    "fullDescription": { "text": format!("{title} ({})", f.ids().collect::<Vec<_>>().join(", ")) },
                    "help": { "text": help(f) },
                    "defaultConfiguration": { "level": level(f.severity) },
                    "properties": { "security-severity": security_severity(f), "tags": tags },
                }),
            )
        });
    }
    // Rules in first-seen order, as `ruleIndex` refers to them.
    let mut ordered: Vec<&(usize, Value)> = rules.values().collect();
    ordered.sort_by_key(|(i, _)| *i);
    let results: Vec<Value> = shown
        .iter()
        .map(|f| {
            let message = match &f.package {
                Some(p) => format!(
                    "{} {} in {} is affected by {} ({}); {}",
                    super::package_name(f, &multi),
                    p.version,
                    f.target,
                    f.id,
                    f.severity,
                    f.fixed.as_ref().map_or("no fix yet".to_owned(), |v| format!("fixed in {v}"))
                ),
                None => format!("{} in {}: {} ({})", f.id, f.target, f.title, f.severity),
            };
            json!({
                "ruleId": f.id,
                "ruleIndex": rules[f.id.as_str()].0,
                "level": level(f.severity),
                "message": { "text": message },
                // A Compose finding points at its file and line, so code
                // scanning annotates the line; others at the image or
                // container, line 1.
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": percent_encode(f.location.as_ref().map_or(&f.target, |at| &at.file)).replace("%2F", "/") },
                        "region": { "startLine": f.location.as_ref().map_or(1, |at| at.line) }
                    },
                    "message": { "text": f.target }
                }],
                "partialFingerprints": {
                    // The name alone unless the package is installed for
                    // two architectures: existing alerts keep their print.
                    "runScan/v1": format!("{}|{}|{}", f.target, if f.package.is_some() { super::package_name(f, &multi) } else { String::new() }, f.id)
                },
            })
        })
        .collect();
    let sarif = json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "run-scan",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://github.com/run-tasks/run/blob/main/docs/scan.md",
                    "rules": ordered.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(),
                }
            },
            "results": results,
            "properties": match report.data {
                Some(data) => json!({ "advisory-data": super::data_json(data) }),
                None => json!({}),
            },
        }]
    });
    let mut text = serde_json::to_string_pretty(&sarif).unwrap_or_default();
    text.push('\n');
    text
}

fn help(f: &Finding) -> String {
    match (&f.kind, &f.fixed) {
        (Kind::Vulnerability, Some(v)) => {
            format!("Upgrade the package to {v} or later (rebuild the image on an updated base).")
        }
        (Kind::Vulnerability, None) => {
            "No fixed version is known yet; consider whether the package is needed.".into()
        }
        (Kind::Hardening, _) => f.title.clone(),
    }
}
