//! The JSON report, schema `run-scan/1` (documented in docs/scan.md). Fields
//! are only ever added within a schema version.

use serde_json::{Value, json};

use super::Report;
use crate::finding::Finding;
use crate::severity::Severity;

pub const SCHEMA: &str = "run-scan/1";

pub fn render(report: &Report) -> String {
    let mut value = to_value(report);
    if let Some(findings) = value.get_mut("findings").and_then(Value::as_array_mut) {
        findings.retain(|f| !f.is_null());
    }
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

fn to_value(report: &Report) -> Value {
    let mut findings: Vec<&Finding> = report.findings.iter().collect();
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let counted: Vec<&&Finding> = findings
        .iter()
        .filter(|f| report.policy.counts(f))
        .collect();
    let mut summary = serde_json::Map::new();
    for s in Severity::ALL_DESCENDING {
        summary.insert(
            s.as_str().into(),
            json!(counted.iter().filter(|f| f.severity == s).count()),
        );
    }
    let failing = report.policy.failing(report.findings).len();
    json!({
        "schema": SCHEMA,
        "tool": { "name": "run scan", "version": env!("CARGO_PKG_VERSION") },
        "targets": report.inventories.iter().map(|i| json!({
            "target": i.target,
            "kind": if i.layers.is_empty() { "rootfs" } else { "image" },
            "os": i.os,
            "packages": i.packages.len(),
            "layers": i.layers,
        })).chain(report.audited.iter().map(|a| json!({ "target": a.target, "kind": a.kind }))).collect::<Vec<_>>(),
        "summary": summary,
        "findings": findings.iter().map(|f| {
            let mut v = serde_json::to_value(f).unwrap_or(Value::Null);
            v["shown"] = json!(report.policy.shown(f));
            v
        }).collect::<Vec<_>>(),
        "policy": {
            "severity": report.policy.severities,
            "ignore_unfixed": report.policy.ignore_unfixed,
            "fail_on": report.policy.fail_on,
            "failing": failing,
        },
        "expired_ignores": report.expired.iter().map(|r| json!({
            "id": r.id, "package": r.package, "target": r.target, "reason": r.reason, "expires": r.expires,
        })).collect::<Vec<_>>(),
        "warnings": report.warnings,
        "advisory_data": report.data.map(super::data_json),
    })
}
