//! The task graph: each task once, dependencies first, hooks around their task,
//! failures stopping what depends on them.

use crate::test::Test;

/// An echo task that appends its name to out/log.
fn echo(name: &str, extra: &str) -> String {
    format!(
        "[tasks.{name}]\nplugin = \"{{fixture}}\"\nconfig = {{ mode = \"echo\", append = \"out/log\" }}\nallow = {{ write = [\"out\"] }}\n{extra}\n"
    )
}

fn log(test: &Test) -> Vec<String> {
    std::fs::read_to_string(test.path("out/log"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_diamond_runs_each_task_once_dependencies_first() {
    let tasks = [
        echo("top", r#"depends = ["left", "right"]"#),
        echo("left", r#"depends = ["base"]"#),
        echo("right", r#"depends = ["base"]"#),
        echo("base", ""),
    ]
    .concat();
    for jobs in ["1", "4"] {
        let (_, test) = Test::new().tasks(&tasks).args(&["-j", jobs, "top"]).run();
        let log = log(&test);
        assert_eq!(log.len(), 4, "{log:?}");
        assert_eq!(log[0], "base");
        assert_eq!(log[3], "top");
    }
}

#[test]
fn hooks_run_around_their_task_and_know_it() {
    let tasks = [
        echo(
            "deploy",
            "depends = [\"build\"]\nbefore = [\"backup\"]\nafter = [\"notify\"]",
        ),
        echo("build", ""),
        echo("backup", ""),
        echo("notify", ""),
    ]
    .concat();
    let (output, test) = Test::new().tasks(&tasks).args(&["-j", "4", "deploy"]).run();
    assert_eq!(log(&test), ["build", "backup", "deploy", "notify"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("task=backup\nargs=\nmode=run\ninteractive=false\nhook_for=deploy\n"),
        "{stdout}"
    );
}

#[test]
fn arguments_go_to_the_requested_task_only() {
    let tasks = [echo("main", r#"depends = ["dep"]"#), echo("dep", "")].concat();
    let (output, _) = Test::new()
        .tasks(&tasks)
        .args(&["main", "--flag", "value"])
        .run();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("task=dep\nargs=\n"), "{stdout}");
    assert!(
        stdout.contains("task=main\nargs=--flag value\n"),
        "{stdout}"
    );
}

#[test]
fn a_failure_skips_dependents_and_is_named_in_the_summary() {
    let tasks = [
        echo("all", r#"depends = ["bad", "fine"]"#),
        "[tasks.bad]\nplugin = \"{fixture}\"\nconfig = { mode = \"fail\", code = 3, message = \"broken\" }\n".to_owned(),
        echo("fine", ""),
    ]
    .concat();
    let (_, test) = Test::new()
        .tasks(&tasks)
        .args(&["-j", "1", "all"])
        .stderr_contains("error: task `bad` (plugin `test_programs.wasm`): failed: broken")
        .stderr_contains("run: 1 of 3 tasks failed, first `bad` (exit 3)")
        .status(3)
        .run();
    // -j 1 starts `bad` first (file order); after it fails nothing new starts.
    assert!(
        !test.path("out/log").exists(),
        "a dependent of a failure must not run"
    );
}

/// `all` waits for `bad` (fails) and `fine` (independent of `bad`).
fn failing_and_fine() -> String {
    [
        "[tasks.all]\ndepends = [\"bad\", \"fine\"]\n".to_owned(),
        "[tasks.bad]\nplugin = \"{fixture}\"\nconfig = { mode = \"fail\", message = \"broken\" }\n"
            .to_owned(),
        echo("fine", ""),
    ]
    .concat()
}

#[test]
fn keep_going_runs_independent_tasks_after_a_failure() {
    let tasks = failing_and_fine();
    let (_, test) = Test::new()
        .tasks(&tasks)
        .args(&["-j", "1", "--keep-going", "all"])
        .stderr_contains("first `bad` (exit 1)")
        .stderr_contains("1 not run")
        .status(1)
        .run();
    assert_eq!(log(&test), ["fine"]);
}

#[test]
fn without_keep_going_nothing_new_starts_after_a_failure() {
    let tasks = failing_and_fine();
    let (_, test) = Test::new()
        .tasks(&tasks)
        .args(&["-j", "1", "all"])
        .status(1)
        .run();
    assert!(!test.path("out/log").exists());
}

#[test]
fn aliases_run_their_task() {
    Test::new()
        .tasks("[tasks.greet]\naliases = [\"hi\"]\nplugin = \"{fixture}\"\nconfig = { mode = \"fail\", code = 4, message = \"alias ran\" }\n")
        .args(&["hi"])
        .stderr_contains("alias ran")
        .status(4)
        .run();
}

#[test]
fn no_task_runs_default() {
    Test::new()
        .tasks("[tasks.default]\nplugin = \"{fixture}\"\nconfig = { mode = \"fail\", code = 5, message = \"default ran\" }\n")
        .stderr_contains("default ran")
        .status(5)
        .run();
}

#[test]
fn no_task_and_no_default_lists_and_exits_2() {
    Test::new()
        .tasks("[tasks.a]\ncommand = \"true\"\n")
        .stdout("Available tasks:\n    a  (unsandboxed)\n")
        .stderr_contains("no task given")
        .status(2)
        .run();
}

/// Regression: every finished task made the scheduler look at every task
/// again, so a 10,000-task chain of groups took seconds to run through.
#[test]
fn a_ten_thousand_task_chain_runs_through_in_linear_time() {
    let mut toml = String::new();
    for i in 0..10_000 {
        toml += &format!("[tasks.t{i}]\n");
        toml += &if i + 1 < 10_000 {
            format!("depends = [\"t{}\"]\n\n", i + 1)
        } else {
            "command = \"echo last\"\n".to_owned()
        };
    }
    let test = Test::new().tasks(&toml);
    let started = std::time::Instant::now();
    test.invoke(&["-q", "t0"]).ok().stdout_contains("last\n");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}
