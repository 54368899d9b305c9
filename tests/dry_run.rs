//! `--dry-run`: the plan first; plugins learn they are in a dry run and cannot
//! write even if they try; commands are not run.

use crate::test::Test;

#[test]
fn the_plan_shows_order_plugin_digest_and_grants() {
    let (output, _) = Test::new()
        .tasks(
            "[tasks.all]\ndepends = [\"greet\"]\n\n[tasks.greet]\nplugin = \"hello\"\nconfig = { name = \"team\" }\nallow = { write = [\"out\"], network = [\"127.0.0.1:5432\"] }\ntimeout = \"1m\"\nmemory = \"128MiB\"\n",
        )
        .args(&["--dry-run", "all"])
        .run();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let expected_start =
        "Plan for `all` (2 tasks):\n  1. greet\n       plugin hello 0.1.0 (WIT 0.1.0) sha256:";
    assert!(stdout.starts_with(expected_start), "{stdout}");
    assert!(
        stdout.contains("\n       wants write out\n       config {\"name\":\"team\"}\n       allow write: out\n       allow network: 127.0.0.1:5432\n       timeout 1m\n       memory 128 MiB\n  2. all\n       group: runs its dependencies only\n"),
        "{stdout}"
    );
}

#[test]
fn plugins_are_told_and_cannot_write() {
    let (output, test) = Test::new()
        .tasks("[tasks.t]\nplugin = \"{fixture}\"\nconfig = { mode = \"echo\", append = \"out/log\" }\nallow = { write = [\"out\"] }\n")
        .args(&["--dry-run", "t"])
        .stderr_contains("denied")
        .status(1)
        .run();
    assert!(String::from_utf8_lossy(&output.stdout).contains("dry_run=true"));
    assert!(!test.path("out/log").exists());
}

#[test]
fn hello_reports_what_it_would_do() {
    let (_, test) = Test::new()
        .tasks("[tasks.greet]\nplugin = \"hello\"\nallow = { write = [\"out\"] }\n")
        .args(&["--dry-run", "greet"])
        .stdout_contains("would write out/hello.txt")
        .run();
    assert!(!test.path("out/hello.txt").exists());
}

#[test]
fn the_plan_names_missing_grants_before_anything_runs() {
    let (output, _) = Test::new()
        .tasks("[tasks.greet]\nplugin = \"hello\"\n")
        .args(&["--dry-run", "greet"])
        .run();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(
            "       wants write out\n       MISSING GRANTS write out (the task will be denied)\n"
        ),
        "{stdout}"
    );
}
