//! SARIF 2.1.0 reports checked against the OASIS JSON schema
//! (`sarif-schema-2.1.0.json` beside this file: the published schema, as
//! the `serde-sarif` crate also ships it), the way GitHub code scanning
//! checks an upload.

use std::sync::LazyLock;

use jsonschema::Validator;
use serde_json::Value;

static VALIDATOR: LazyLock<Validator> = LazyLock::new(|| {
    let text = include_str!("sarif-schema-2.1.0.json");
    // The published schema spells the `language` pattern with a bare `]`,
    // a literal in ECMA-262 regexes but an error in Rust's; `\]` is the
    // same literal in both.
    let text = text.replace(r"-[a-zA-Z]{2}]?$", r"-[a-zA-Z]{2}\\]?$");
    let schema: Value = serde_json::from_str(&text).expect("the SARIF schema is JSON");
    jsonschema::draft7::new(&schema).expect("the SARIF schema compiles")
});

/// Every way `report` breaks the schema, as `path: problem` lines.
pub fn schema_errors(report: &Value) -> Vec<String> {
    VALIDATOR
        .iter_errors(report)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// Fails with every schema error in `report`.
pub fn assert_valid(report: &Value) {
    let errors = schema_errors(report);
    assert!(
        errors.is_empty(),
        "the report breaks the SARIF 2.1.0 schema:\n{}",
        errors.join("\n")
    );
}

#[test]
fn the_schema_check_catches_a_broken_report() {
    let broken = serde_json::json!({"version": "2.1.0", "runs": [{"tool": {}, "results": [{"level": "fatal"}]}]});
    let errors = schema_errors(&broken);
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("/runs/0/tool:") && e.contains("driver")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.starts_with("/runs/0/results/0")),
        "{errors:?}"
    );
}
