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

/// The descriptors (`DIGEST.json`) in the descriptor cache under `cache`
/// (beside them, `files/` keeps path plugins' file stamps).
fn cached_descriptors(cache: &std::path::Path) -> Vec<std::path::PathBuf> {
    match std::fs::read_dir(cache.join("descriptors")) {
        Ok(entries) => entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect(),
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
    // A path plugin: a built-in's descriptor is embedded and never cached.
    let cache = tempfile::tempdir().unwrap();
    let test = Test::new().tasks("[tasks.greet]\nplugin = \"p.wasm\"\n");
    std::fs::copy(crate::test::builtin_wasm("hello"), test.path("p.wasm")).unwrap();
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
    let hello = crate::test::builtin_wasm("hello");
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
    let hello = crate::test::builtin_wasm("hello");
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

/// Regression: each of 40 tasks of one plugin opened the plugin's cached
/// descriptor (49 `openat` for 40 tasks); it is read once per plugin. A path
/// plugin: a built-in's descriptor is embedded in the binary, never cached.
#[test]
fn a_plugins_cached_descriptor_is_read_once_for_all_its_tasks() {
    let tasks: String = (0..40)
        .map(|i| format!("[tasks.greet{i}]\nplugin = \"p.wasm\"\n\n"))
        .collect();
    let test = Test::new().tasks(&tasks);
    std::fs::copy(crate::test::builtin_wasm("hello"), test.path("p.wasm")).unwrap();
    // Fills the cache first.
    test.invoke(&["--list"]).ok();
    let trace = test.path("trace");
    let mut command = std::process::Command::new("strace");
    let run = test.command();
    command
        .args(["-f", "-e", "trace=openat", "-o"])
        .arg(&trace)
        .arg(run.get_program())
        .args(["--list"])
        .env_clear()
        .envs(run.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .current_dir(test.dir.path());
    let output = command.output().expect("strace is installed");
    assert!(output.status.success(), "{output:?}");
    let trace = std::fs::read_to_string(trace).unwrap();
    // Once per plugin, not per task: its descriptor, and the path plugin's
    // file stamp (which says whether the file must be hashed again).
    let opens = |what: &str| {
        trace
            .lines()
            .filter(|l| l.contains(what) && !l.contains("/descriptors/files/"))
            .count()
    };
    assert_eq!(opens("/descriptors/"), 1, "{trace}");
    let stamps = trace
        .lines()
        .filter(|l| l.contains("/descriptors/files/"))
        .count();
    assert_eq!(stamps, 1, "{trace}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("greet39 [--name VALUE]"));
}

/// `count` command tasks, each depending on the next: a 10,000-task chain.
fn chain(count: usize) -> String {
    let mut toml = String::new();
    for i in 0..count {
        toml += &format!("[tasks.t{i}]\ndescription = \"step {i}\"\ncommand = \"true\"\n");
        if i + 1 < count {
            toml += &format!("depends = [\"t{}\"]\n", i + 1);
        }
        toml.push('\n');
    }
    toml
}

/// Regression: 10,000 tasks took 10 s to list and over 60 s to plan as one
/// chain (quadratic position and ordering look-ups). The limits are far above
/// a debug build's times and far below the old ones.
#[test]
fn ten_thousand_tasks_are_listed_and_planned_quickly() {
    let test = Test::new().tasks(&chain(10_000));
    let started = std::time::Instant::now();
    let listed = test.invoke(&["--list"]).ok();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(listed.stdout.lines().count(), 10_001);
    let started = std::time::Instant::now();
    let planned = test.invoke(&["-n", "t0"]).ok();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        planned
            .stdout
            .starts_with("Plan for `t0` (10000 tasks):\n  1. t9999\n"),
        "{}",
        &planned.stdout[..200]
    );
}

/// Regression: `--list --json` left out the images, networks, volumes and
/// ports grants, and its keys were in insertion order, not sorted as documented.
#[test]
fn json_has_every_grant_kind_and_sorted_keys() {
    let (output, _) = Test::new()
        .tasks("[tasks.up]\nplugin = \"quickstart\"\nallow = { read = [\".\"], containers = [\"db\"], images = [\"postgres:16\"], networks = [\"dev\"], volumes = [\"pgdata\"], ports = [\"5432\"] }\n")
        .args(&["--list", "--json"])
        .run();
    let text = String::from_utf8_lossy(&output.stdout);
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let allow = &json["tasks"][0]["allow"];
    assert_eq!(allow["images"][0], "postgres:16");
    assert_eq!(allow["networks"][0], "dev");
    assert_eq!(allow["volumes"][0], "pgdata");
    assert_eq!(allow["ports"][0], "5432");
    let keys: Vec<&String> = allow.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "cap-add",
            "containers",
            "devices",
            "env",
            "http",
            "images",
            "namespaces",
            "network",
            "networks",
            "ports",
            "privileged",
            "read",
            "runtimes",
            "security-opts",
            "sysctls",
            "volumes",
            "write"
        ]
    );
    fn check_sorted(value: &serde_json::Value, text: &str) {
        match value {
            serde_json::Value::Object(map) => {
                let keys: Vec<&String> = map.keys().collect();
                let mut sorted = keys.clone();
                sorted.sort();
                assert_eq!(keys, sorted, "{text}");
                map.values().for_each(|v| check_sorted(v, text));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| check_sorted(v, text)),
            _ => {}
        }
    }
    check_sorted(&json, &text);
}
