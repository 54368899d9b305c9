//! Golden files: each tests/ui/NAME.toml, run as a project's tasks.toml, must
//! fail with exit code 2 and exactly the stderr in tests/ui/NAME.stderr.

use std::path::Path;

use crate::test::Test;

#[test]
fn golden_config_errors() {
    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/ui");
    let mut cases: Vec<_> = std::fs::read_dir(&ui)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 15,
        "expected at least 15 golden cases, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let expected = std::fs::read_to_string(case.with_extension("stderr")).unwrap();
        let test = Test::new().file("tasks.toml", &std::fs::read_to_string(case).unwrap());
        let output = test
            .command()
            .args(["--color", "never", "--list"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr != expected || output.status.code() != Some(2) {
            failures.push(format!(
                "{}: status {:?}\n--- expected\n{expected}--- actual\n{stderr}",
                case.display(),
                output.status.code()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden case(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
