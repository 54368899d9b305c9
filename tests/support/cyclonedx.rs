//! CycloneDX 1.6 SBOMs checked against the official JSON schema
//! (`cyclonedx/bom-1.6.schema.json` beside this file, with the SPDX licence
//! list and JSF signature schemas it references; Apache-2.0, see
//! `cyclonedx/ORIGIN`). No schema is fetched: the three are registered under
//! their `$id`s. Used by tests/scan.rs and by the scan plugin's unit tests.

use std::sync::LazyLock;

use jsonschema::{Registry, Resource, Validator};
use serde_json::Value;

fn schema(text: &str) -> Value {
    serde_json::from_str(text).expect("the CycloneDX schemas are JSON")
}

static REGISTRY: LazyLock<Registry<'static>> = LazyLock::new(|| {
    Registry::new()
        .add(
            "http://cyclonedx.org/schema/spdx.schema.json",
            Resource::from_contents(schema(include_str!("cyclonedx/spdx.schema.json"))),
        )
        .and_then(|r| {
            r.add(
                "http://cyclonedx.org/schema/jsf-0.82.schema.json",
                Resource::from_contents(schema(include_str!("cyclonedx/jsf-0.82.schema.json"))),
            )
        })
        .and_then(|r| r.prepare())
        .expect("the referenced schemas register")
});

static VALIDATOR: LazyLock<Validator> = LazyLock::new(|| {
    jsonschema::draft7::options()
        .with_registry(&REGISTRY)
        .should_validate_formats(true)
        .build(&schema(include_str!("cyclonedx/bom-1.6.schema.json")))
        .expect("the CycloneDX 1.6 schema compiles")
});

/// Every way `bom` breaks the schema, as `path: problem` lines.
pub fn schema_errors(bom: &Value) -> Vec<String> {
    VALIDATOR
        .iter_errors(bom)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// Fails with every schema error in `bom`.
pub fn assert_valid(bom: &Value) {
    let errors = schema_errors(bom);
    assert!(
        errors.is_empty(),
        "the SBOM breaks the CycloneDX 1.6 schema:\n{}",
        errors.join("\n")
    );
}

#[test]
fn the_schema_check_catches_a_broken_bom() {
    let broken = serde_json::json!({
        "bomFormat": "CycloneDX", "specVersion": "1.6",
        "components": [{"type": "library"}],
        "vulnerabilities": [{"ratings": [{"severity": "severe"}]}]
    });
    let errors = schema_errors(&broken);
    assert!(
        errors.iter().any(|e| e.starts_with("/components/0")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("/vulnerabilities/0/ratings/0/severity")),
        "{errors:?}"
    );
}
