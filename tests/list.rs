//! `run --list`: grouped, aligned, aliases and unsandboxed tasks marked, plugin
//! parameters shown (from the descriptor cache, describing a plugin once on a
//! miss, never downloading one).

use crate::test::Test;

#[test]
fn groups_aliases_and_unsandboxed_tasks() {
    Test::new()
        .tasks(
            r#"
[tasks.build]
description = "Compile everything"
command = "cargo build"

[tasks.greet]
description = "Say hello"
aliases = ["hi", "hey"]
plugin = "hello"
allow = { write = ["out"] }

[tasks.backup]
description = "Dump the database"
group = "db"
plugin = "hello"

[tasks.restore-everything]
group = "db"
depends = ["backup"]
"#,
        )
        .args(&["--list"])
        .stdout(
            "Available tasks:
    build                  Compile everything (unsandboxed)
    greet [--name VALUE]   Say hello [aliases: hi, hey]

[db]
    backup [--name VALUE]  Dump the database
    restore-everything
",
        )
        .run();
}

#[test]
fn a_broken_plugin_is_listed_without_parameters() {
    Test::new()
        .tasks("[tasks.t]\ndescription = \"broken plugin\"\nplugin = \"broken.wasm\"\n")
        .file("broken.wasm", "garbage")
        .args(&["--list"])
        .stdout("Available tasks:\n    t  broken plugin\n")
        .run();
}

#[test]
fn json_has_kinds_grants_and_positions() {
    let (output, _) = Test::new()
        .tasks("[tasks.build]\ncommand = \"make\"\n\n[tasks.greet]\nplugin = \"hello\"\nallow = { write = [\"out\"] }\ntimeout = \"2s\"\n")
        .args(&["--list", "--json"])
        .run();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let build = &json["tasks"][0];
    assert_eq!(build["kind"], "command");
    assert_eq!(build["sandboxed"], false);
    let greet = &json["tasks"][1];
    assert_eq!(greet["kind"], "plugin");
    assert_eq!(greet["plugin"], "hello");
    assert_eq!(greet["allow"]["write"][0], "out");
    assert_eq!(greet["timeout_ms"], 2000);
    assert_eq!(greet["line"], 4);
    assert_eq!(
        greet["parameters"],
        serde_json::json!([{"name": "name", "kind": "option", "help": "who to greet (overrides config)", "default": "world", "required": false}])
    );
    assert_eq!(build["parameters"], serde_json::Value::Null);
    assert!(json["file"].as_str().unwrap().ends_with("tasks.toml"));
}

/// The files in the descriptor cache under `cache`.
fn cached_descriptors(cache: &std::path::Path) -> Vec<std::path::PathBuf> {
    match std::fs::read_dir(cache.join("descriptors")) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

/// `run --list` in `test`'s project with `cache` as the cache directory.
fn list_with_cache(test: &Test, cache: &std::path::Path) -> String {
    let output = test
        .command()
        .env("RUN_CACHE_DIR", cache)
        .arg("--list")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn a_plugin_is_described_once_then_listed_from_the_descriptor_cache() {
    let cache = tempfile::tempdir().unwrap();
    let test = Test::new().tasks("[tasks.greet]\nplugin = \"hello\"\n");
    let list = || list_with_cache(&test, cache.path());
    assert_eq!(list(), "Available tasks:\n    greet [--name VALUE]\n");
    let cached = cached_descriptors(cache.path());
    assert_eq!(cached.len(), 1, "{cached:?}");

    // The cache is what the listing reads: an edited entry shows through.
    let entry = std::fs::read_to_string(&cached[0]).unwrap();
    std::fs::write(
        &cached[0],
        entry.replace("\"name\":\"name\"", "\"name\":\"who\""),
    )
    .unwrap();
    assert_eq!(list(), "Available tasks:\n    greet [--who VALUE]\n");
}

#[test]
fn running_a_plugin_caches_its_parameters() {
    let cache = tempfile::tempdir().unwrap();
    let test =
        Test::new().tasks("[tasks.greet]\nplugin = \"hello\"\nallow = { write = [\"out\"] }\n");
    let output = test
        .command()
        .env("RUN_CACHE_DIR", cache.path())
        .arg("greet")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(cached_descriptors(cache.path()).len(), 1);
}

#[test]
fn a_url_plugin_never_downloaded_is_listed_without_parameters_and_not_fetched() {
    let cache = tempfile::tempdir().unwrap();
    // Nothing listens on port 9: a download attempt would fail, but must not happen.
    let test = Test::new().tasks(&format!(
        "[tasks.remote]\nplugin = {{ url = \"http://127.0.0.1:9/p.wasm\", sha256 = \"{}\" }}\n",
        "ab".repeat(32)
    ));
    let output = test
        .command()
        .env("RUN_CACHE_DIR", cache.path())
        .arg("--list")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "Available tasks:\n    remote\n"
    );
    assert!(!cache.path().join("downloads").exists());
}

#[test]
fn a_path_plugin_shows_its_parameters() {
    let hello = std::path::Path::new(crate::test::FIXTURE).with_file_name("hello.wasm");
    Test::new()
        .tasks(&format!(
            "[tasks.greet]\ndescription = \"from a file\"\nplugin = \"{}\"\n",
            hello.display()
        ))
        .args(&["--list"])
        .stdout("Available tasks:\n    greet [--name VALUE]  from a file\n")
        .run();
}

#[test]
fn a_path_plugin_is_hashed_again_only_when_its_file_changes() {
    let cache = tempfile::tempdir().unwrap();
    let hello = std::path::Path::new(crate::test::FIXTURE).with_file_name("hello.wasm");
    let test = Test::new().tasks("[tasks.greet]\nplugin = \"p.wasm\"\n");
    std::fs::copy(&hello, test.path("p.wasm")).unwrap();
    let list = || list_with_cache(&test, cache.path());
    assert_eq!(list(), "Available tasks:\n    greet [--name VALUE]\n");
    let stamps: Vec<_> = std::fs::read_dir(cache.path().join("descriptors/files"))
        .unwrap()
        .collect();
    assert_eq!(stamps.len(), 1, "the file's digest is remembered");
    assert_eq!(list(), "Available tasks:\n    greet [--name VALUE]\n");
    // Another plugin in its place (the fixture takes no parameters).
    std::fs::copy(crate::test::FIXTURE, test.path("p.wasm")).unwrap();
    assert_eq!(list(), "Available tasks:\n    greet\n");
}

#[test]
fn long_parameter_lists_collapse_into_options() {
    Test::new()
        .tasks(
            "[tasks.a]\ndescription = \"short\"\ncommand = \"true\"\n\n[tasks.restore]\ndescription = \"long\"\nplugin = \"backup\"\n",
        )
        .args(&["--list"])
        .stdout(
            "Available tasks:
    a                           short (unsandboxed)
    restore [BACKUP] [OPTIONS]  long
",
        )
        .run();
}
