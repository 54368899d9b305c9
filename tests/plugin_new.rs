//! `run plugin new NAME`: the scaffolded crate builds with one cargo command,
//! passes its own tests and runs from its own tasks.toml; bad names and
//! existing paths are refused.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::test::Test;

/// Dashes, to check the artifact name (`greet_me.wasm`) in tasks.toml.
const NAME: &str = "greet-me";

/// Shared by every run of this test, so later builds are incremental.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-new-target")
}

/// `cargo ARGS` in `dir` as a person would run it: the toolchain from the
/// crate's rust-toolchain.toml, none of the `CARGO_*` variables of this test run.
fn cargo(dir: &Path, args: &[&str]) -> Output {
    let mut command = Command::new("cargo");
    command
        .env_clear()
        .envs(
            ["PATH", "HOME", "CARGO_HOME", "RUSTUP_HOME"]
                .into_iter()
                .filter_map(|key| Some((key, std::env::var_os(key)?))),
        )
        .env("CARGO_TARGET_DIR", target_dir())
        .current_dir(dir)
        .args(args);
    let output = command.output().expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo {args:?} failed\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    output
}

#[test]
fn a_new_plugin_builds_passes_its_tests_and_runs_from_its_tasks_toml() {
    let (_, test) = Test::new()
        .args(&["plugin", "new", NAME])
        .stdout(
            "Created the plugin crate greet-me/:
  greet-me/Cargo.toml
  greet-me/src/lib.rs
  greet-me/tasks.toml
  greet-me/README.md
  greet-me/rust-toolchain.toml
  greet-me/.gitignore
  greet-me/sdk/  (run-plugin-sdk 0.1.0, vendored)
  greet-me/wit/  (the runner:plugin WIT package, vendored)

Next:
  cd greet-me && cargo build --release --target wasm32-wasip2
  run greet-me
",
        )
        .stderr("")
        .run();
    let crate_dir = test.path(NAME);

    cargo(
        &crate_dir,
        &["build", "--release", "--target", "wasm32-wasip2"],
    );
    // tasks.toml names the artifact where a plain `cargo build` puts it.
    let artifact = "target/wasm32-wasip2/release/greet_me.wasm";
    let built = target_dir().join("wasm32-wasip2/release/greet_me.wasm");
    std::fs::create_dir_all(crate_dir.join(artifact).parent().unwrap()).unwrap();
    std::fs::copy(&built, crate_dir.join(artifact)).unwrap();

    let tested = cargo(&crate_dir, &["test"]);
    let tested = String::from_utf8_lossy(&tested.stdout);
    assert!(tested.contains("test result: ok. 3 passed"), "{tested}");

    let mut run = Test::new().args(&[NAME, "--name", "Ada"]).command();
    let output = run.current_dir(&crate_dir).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "Hello, Ada!\n",
        "{stderr}"
    );
    assert!(
        stderr.contains("[greet-me] wrote out/greet-me.txt"),
        "{stderr}"
    );
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(crate_dir.join("out/greet-me.txt")).unwrap(),
        "Hello, Ada!\n"
    );
}

#[test]
fn the_sdk_is_vendored_with_its_wit() {
    let (_, test) = Test::new().args(&["plugin", "new", "vendored"]).run();
    let lib = std::fs::read_to_string(test.path("vendored/sdk/src/lib.rs")).unwrap();
    assert!(lib.contains(r#"path: "../wit""#));
    let manifest = std::fs::read_to_string(test.path("vendored/sdk/Cargo.toml")).unwrap();
    assert!(!manifest.contains("workspace"), "{manifest}");
    assert!(test.path("vendored/wit/world.wit").is_file());
}

/// Runs `run plugin new NAME` and expects a refusal that creates nothing.
fn refused(test: Test, name: &str, message: &str) {
    let before = entries(&test);
    let (_, test) = test
        .args(&["plugin", "new", name])
        .stdout("")
        .stderr(&format!("error: {message}\n"))
        .status(2)
        .run();
    assert_eq!(entries(&test), before);
}

fn entries(test: &Test) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = walk(test.dir.path());
    entries.sort();
    entries
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flat_map(|entry| {
            let path = entry.unwrap().path();
            let below = if path.is_dir() {
                walk(&path)
            } else {
                Vec::new()
            };
            std::iter::once(path).chain(below)
        })
        .collect()
}

#[test]
fn an_existing_directory_or_file_is_left_alone() {
    refused(
        Test::new().file("taken/notes.txt", "mine"),
        "taken",
        "`taken` already exists; choose another name or remove it",
    );
    refused(
        Test::new().file("taken", "mine"),
        "taken",
        "`taken` already exists; choose another name or remove it",
    );
}

#[test]
fn names_cargo_or_run_would_refuse_are_refused() {
    let cases = [
        ("", "`` is not a valid plugin name: it is empty"),
        (
            "1up",
            "`1up` is not a valid plugin name: it starts with a digit",
        ),
        (
            "my plugin",
            "`my plugin` is not a valid plugin name: it contains ' '; use only ASCII letters, digits, `-` and `_`",
        ),
        (
            "../up",
            "`../up` is not a valid plugin name: it contains '.'; use only ASCII letters, digits, `-` and `_`",
        ),
        (
            "fn",
            "`fn` is not a valid plugin name: it is a Rust keyword",
        ),
        (
            "plugin",
            "`plugin` is not a valid plugin name: `run` itself answers to it, so the task could never be run",
        ),
    ];
    for (name, message) in cases {
        refused(Test::new(), name, message);
    }
}

#[test]
fn a_missing_name_prints_the_usage() {
    Test::new()
        .args(&["plugin", "new"])
        .stderr("error: usage: run plugin new NAME\n")
        .status(2)
        .run();
}
