//! The issue's acceptance scenario, exactly as written.

use crate::test::Test;

const TASKS: &str = r#"
[tasks.greet]
description = "Say hello and leave a note"
plugin = "hello"
config = { name = "team" }
allow = { write = ["out"] }

[tasks.all]
description = "Everything"
depends = ["greet"]
"#;

#[test]
fn list_shows_both_tasks_with_descriptions() {
    Test::new()
        .tasks(TASKS)
        .args(&["--list"])
        .stdout("Available tasks:\n    greet [--name VALUE]  Say hello and leave a note\n    all                   Everything\n")
        .run();
}

#[test]
fn list_json_parses() {
    let (output, _) = Test::new().tasks(TASKS).args(&["--list", "--json"]).run();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["schema"], "run.list/v1");
    assert_eq!(json["tasks"][0]["name"], "greet");
    assert_eq!(json["tasks"][0]["line"], 2);
    assert_eq!(json["tasks"][1]["depends"][0], "greet");
}

#[test]
fn all_runs_greet_once_and_writes_the_note() {
    let (_, test) = Test::new()
        .tasks(TASKS)
        .args(&["all"])
        .stdout("Hello, team!\n")
        .run();
    assert_eq!(
        std::fs::read_to_string(test.path("out/hello.txt")).unwrap(),
        "Hello, team!\n"
    );
}

#[test]
fn greet_without_allow_is_denied_naming_out() {
    let (_, test) = Test::new()
        .tasks(&TASKS.replace("allow = { write = [\"out\"] }\n", ""))
        .args(&["greet"])
        .stderr(
            "error: task `greet` (plugin `hello`): denied: the plugin needs write access to `out`, which the task does not grant; add to the task in tasks.toml: allow = { write = [\"out\"] }\nrun: 1 of 1 tasks failed, first `greet` (exit 1); 0 done in ",
        )
        .status(1)
        .run_prefix();
    assert!(
        !test.path("out").exists(),
        "nothing may be written without the grant"
    );
}

#[test]
fn misspelt_task_suggests_the_closest_and_exits_2() {
    Test::new()
        .tasks(TASKS)
        .args(&["gret"])
        .stderr_contains("no task `gret`")
        .stderr_contains("did you mean `greet`?")
        .status(2)
        .run();
}
