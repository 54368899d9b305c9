//! A plugin written in Python (examples/python-hello, built with
//! componentize-py) through the real binary: the plugin interface is not tied
//! to Rust.
//!
//! Building needs python3 and, the first time, PyPI (build.sh installs the
//! pinned componentize-py into examples/python-hello/.venv). A failed build
//! fails these tests with its output; they are never skipped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::test::Test;

/// Builds hello_py.wasm once per test run; every test gets the same result.
fn component() -> &'static Path {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/python-hello/build.sh");
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-hello");
        let output = Command::new("bash")
            .arg(&script)
            .arg(&out)
            .output()
            .map_err(|e| format!("cannot run bash {}: {e}", script.display()))?;
        let wasm = out.join("hello_py.wasm");
        if output.status.success() && wasm.is_file() {
            Ok(wasm)
        } else {
            Err(format!(
                "bash {} {} failed ({})\n--- stdout\n{}\n--- stderr\n{}",
                script.display(),
                out.display(),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
            ))
        }
    });
    match built {
        Ok(wasm) => wasm,
        Err(message) => panic!("building the Python plugin failed:\n{message}"),
    }
}

fn task(extra: &str) -> String {
    format!(
        "[tasks.t]\nplugin = \"{}\"\nconfig = {{ name = \"team\" }}\n{extra}",
        component().display()
    )
}

#[test]
fn a_python_plugin_greets_logs_and_writes_in_its_grant() {
    let (_, test) = Test::new()
        .tasks(&task("allow = { write = [\"out\"] }\n"))
        .args(&["t"])
        .stdout("Hello from Python, team!\n")
        .stderr("[t] left a note in out/hello-py.txt\n")
        .status(0)
        .run();
    assert_eq!(
        std::fs::read_to_string(test.path("out/hello-py.txt")).unwrap(),
        "Hello from Python, team!\n"
    );
}

#[test]
fn a_python_plugin_without_its_grant_is_denied() {
    let (_, test) = Test::new()
        .tasks(&task(""))
        .args(&["t"])
        .stderr_contains("denied")
        .stderr_contains("`out`")
        .status(1)
        .run();
    assert!(!test.path("out/hello-py.txt").exists());
}
