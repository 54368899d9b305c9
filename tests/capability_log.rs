//! `log`, through the real binary: plugin messages carry the task's name and
//! follow -q/-v and RUN_LOG.

use crate::test::Test;

const TASKS: &str = "[tasks.t]\nplugin = \"{fixture}\"\nconfig = { mode = \"log\" }\n";

#[test]
fn default_shows_info_and_above() {
    Test::new()
        .tasks(TASKS)
        .args(&["t"])
        .stdout("logged\n")
        .stderr("[t] info message\n[t] warning: warn message\n[t] error: error message\n[t] progress done\n")
        .run();
}

#[test]
fn quiet_shows_warnings_and_errors() {
    Test::new()
        .tasks(TASKS)
        .args(&["-q", "t"])
        .stderr("[t] warning: warn message\n[t] error: error message\n")
        .run();
}

#[test]
fn verbose_shows_debug_and_trace() {
    Test::new()
        .tasks(TASKS)
        .args(&["-vv", "t"])
        .stderr_contains("[t] debug: debug message\n")
        .stderr_contains("[t] trace: trace message\n")
        .run();
}

#[test]
fn run_log_filters_like_rust_log() {
    Test::new()
        .tasks(TASKS)
        .env("RUN_LOG", "plugin=error")
        .args(&["t"])
        .stderr("[t] error: error message\n")
        .run();
}
