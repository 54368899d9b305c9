//! Loading plugins: bad files, wrong WIT versions, path resolution and the
//! compiled-component cache.

use crate::test::{FIXTURE, Test};

fn path_task(path: &str) -> String {
    format!("[tasks.t]\nplugin = \"{path}\"\n")
}

#[test]
fn a_file_that_is_not_wasm_is_refused() {
    Test::new()
        .tasks(&path_task("bad.wasm"))
        .file("bad.wasm", "not wasm at all")
        .args(&["t"])
        .stderr_contains("bad.wasm is not a WebAssembly component (bad magic bytes)")
        .status(2)
        .run();
}

#[test]
fn a_core_module_is_refused_as_not_a_component() {
    let test = Test::new().tasks(&path_task("core.wasm"));
    std::fs::write(test.path("core.wasm"), wat::parse_str("(module)").unwrap()).unwrap();
    test.args(&["t"])
        .stderr_contains("core.wasm is a core WebAssembly module, not a component")
        .status(2)
        .run();
}

#[test]
fn a_missing_plugin_file_is_named() {
    Test::new()
        .tasks(&path_task("missing.wasm"))
        .args(&["t"])
        .stderr_contains("cannot read plugin file")
        .stderr_contains("missing.wasm")
        .status(2)
        .run();
}

/// A component exporting the handler interface of a future WIT version.
const FUTURE_PLUGIN: &str = r#"
(component
  (core module $m (func (export "f")))
  (core instance $i (instantiate $m))
  (func $f (canon lift (core func $i "f")))
  (instance $h (export "describe" (func $f)))
  (export "runner:plugin/handler@9.0.0" (instance $h))
)"#;

#[test]
fn an_incompatible_wit_version_names_both_versions() {
    let test = Test::new().tasks(&path_task("future.wasm"));
    std::fs::write(
        test.path("future.wasm"),
        wat::parse_str(FUTURE_PLUGIN).unwrap(),
    )
    .unwrap();
    test.args(&["t"])
        .stderr_contains("plugin `future.wasm` cannot be used: it targets WIT runner:plugin@9.0.0, but this run supports runner:plugin@0.1.0")
        .status(2)
        .run();
}

#[test]
fn a_component_without_the_handler_is_not_a_plugin() {
    let test = Test::new().tasks(&path_task("other.wasm"));
    std::fs::write(
        test.path("other.wasm"),
        wat::parse_str("(component)").unwrap(),
    )
    .unwrap();
    test.args(&["t"])
        .stderr_contains("it does not export `runner:plugin/handler`: it is not a run plugin")
        .status(2)
        .run();
}

#[test]
fn plugin_paths_resolve_against_tasks_toml_from_a_subdirectory() {
    let test = Test::new()
        .tasks("[tasks.t]\nplugin = \"plugins/f.wasm\"\nconfig = { mode = \"fail\", code = 3, message = \"ran\" }\n")
        .dir("plugins")
        .dir("sub/deeper");
    std::fs::copy(FIXTURE, test.path("plugins/f.wasm")).unwrap();
    let output = test
        .command()
        .current_dir(test.path("sub/deeper"))
        .arg("t")
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn compiled_components_are_cached_by_digest() {
    let cache = tempfile::tempdir().unwrap();
    let test =
        Test::new().tasks("[tasks.t]\nplugin = \"{fixture}\"\nconfig = { mode = \"noop\" }\n");
    for _ in 0..2 {
        let output = test
            .command()
            .env("RUN_CACHE_DIR", cache.path())
            .arg("t")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let entries: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries.len(), 1, "one entry for one component: {entries:?}");
    assert!(entries[0].to_string_lossy().ends_with(".cwasm"));
}

#[test]
fn a_corrupt_cache_entry_is_recompiled() {
    let cache = tempfile::tempdir().unwrap();
    let test =
        Test::new().tasks("[tasks.t]\nplugin = \"{fixture}\"\nconfig = { mode = \"noop\" }\n");
    let run = || {
        test.command()
            .env("RUN_CACHE_DIR", cache.path())
            .arg("t")
            .output()
            .unwrap()
    };
    assert!(run().status.success());
    let entry = std::fs::read_dir(cache.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&entry, b"garbage").unwrap();
    let output = run();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn inspect_shows_a_builtin_without_running_it() {
    let (output, _) = Test::new().args(&["plugin", "inspect", "hello"]).run();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("plugin        hello 0.1.0\nsummary       Greets someone and leaves a note\nwit           runner:plugin@0.1.0\ndigest        sha256:"), "{stdout}");
    assert!(stdout.ends_with("parameters\n  --name VALUE  who to greet (overrides config) (default: world)\ncapabilities\n  write out\n"), "{stdout}");
}

#[test]
fn inspect_reads_a_component_file() {
    let (output, _) = Test::new().args(&["plugin", "inspect", FIXTURE]).run();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with("plugin        fixture 0.1.0\n"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("parameters    none\ncapabilities  none\n"),
        "{stdout}"
    );
}

#[test]
fn inspect_refuses_what_is_not_a_plugin() {
    let test = Test::new().file("bad.wasm", "garbage");
    test.args(&["plugin", "inspect", "bad.wasm"])
        .stderr_contains("bad.wasm is not a WebAssembly component")
        .status(2)
        .run();
    Test::new()
        .args(&["plugin", "inspect", "helo"])
        .stderr_contains("no built-in plugin named `helo`")
        .stderr_contains("did you mean `hello`?")
        .status(2)
        .run();
    Test::new()
        .args(&["plugin"])
        .stderr_contains("usage: run plugin inspect")
        .status(2)
        .run();
}

#[test]
fn task_help_shows_parameters_grants_and_what_is_missing() {
    Test::new()
        .tasks("[tasks.greet]\ndescription = \"Say hello\"\nplugin = \"hello\"\nallow = { read = [\"docs\"] }\n")
        .args(&["greet", "--help"])
        .stdout(
            "greet: Say hello\n\nPlugin hello 0.1.0: Greets someone and leaves a note\n\nUsage: run greet [--name VALUE]\n\nParameters:\n  --name VALUE  who to greet (overrides config) (default: world)\n\nGranted (allow):\n  read: docs\n\nThe plugin asks for more than the task grants (it would be denied): write out\n",
        )
        .run();
    Test::new()
        .tasks("[tasks.build]\ncommand = \"cargo build\"\n")
        .args(&["build", "-h"])
        .stdout("build\n\nHost command (unsandboxed); arguments become $1, $2, …:\n  cargo build\n")
        .run();
}
