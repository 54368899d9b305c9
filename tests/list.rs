//! `run --list`: grouped, aligned, aliases and unsandboxed tasks marked; never
//! touches a plugin.

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
    build               Compile everything (unsandboxed)
    greet               Say hello [aliases: hi, hey]

[db]
    backup              Dump the database
    restore-everything
",
        )
        .run();
}

#[test]
fn listing_never_loads_plugins() {
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
    assert!(json["file"].as_str().unwrap().ends_with("tasks.toml"));
}
