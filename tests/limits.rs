//! Runaway plugins are stopped with a clear message and the documented exit code.

use std::time::{Duration, Instant};

use crate::test::Test;

fn fixture(config: &str, extra: &str) -> String {
    format!("[tasks.t]\nplugin = \"{{fixture}}\"\nconfig = {{ {config} }}\n{extra}\n")
}

#[test]
fn busy_loop_is_stopped_by_the_timeout() {
    let start = Instant::now();
    Test::new()
        .tasks(&fixture(r#"mode = "loop""#, r#"timeout = "300ms""#))
        .args(&["t"])
        .stderr_contains("error: task `t` (plugin `test_programs.wasm`): timed out after 300ms")
        .stderr_lacks("panicked")
        .status(124)
        .run();
    assert!(start.elapsed() < Duration::from_secs(20));
}

#[test]
fn a_plugin_blocked_in_a_host_call_is_stopped_by_the_timeout() {
    Test::new()
        .tasks(&fixture(
            r#"mode = "sleep", ms = 60000"#,
            r#"timeout = "300ms""#,
        ))
        .args(&["t"])
        .stderr_contains("timed out after 300ms")
        .status(124)
        .run();
}

#[test]
fn memory_bomb_is_stopped_at_the_limit() {
    Test::new()
        .tasks(&fixture(r#"mode = "memory", mb = 1024"#, r#"memory = "64MiB""#))
        .args(&["t"])
        .stderr_contains("error: task `t` (plugin `test_programs.wasm`): stopped: it exceeded its memory limit of 64 MiB")
        .stderr_lacks("RUST_BACKTRACE")
        .status(1)
        .run();
}

#[test]
fn memory_within_the_limit_is_fine() {
    Test::new()
        .tasks(&fixture(
            r#"mode = "memory", mb = 16"#,
            r#"memory = "64MiB""#,
        ))
        .args(&["t"])
        .stdout("allocated 16 MiB\n")
        .run();
}

#[test]
fn a_trap_names_task_plugin_and_reason_without_a_backtrace() {
    Test::new()
        .tasks(&fixture(r#"mode = "trap""#, ""))
        .args(&["t"])
        .stderr_contains("fixture trap: deliberate")
        .stderr_contains("error: task `t` (plugin `test_programs.wasm`): trapped: ")
        .stderr_lacks("stack backtrace")
        .stderr_lacks("wasm backtrace")
        .status(1)
        .run();
}

#[test]
fn a_plugin_error_sets_its_exit_code() {
    Test::new()
        .tasks(&fixture(
            r#"mode = "fail", code = 7, message = "database is down""#,
            "",
        ))
        .args(&["t"])
        .stderr_contains("error: task `t` (plugin `test_programs.wasm`): failed: database is down")
        .status(7)
        .run();
}

#[test]
fn interrupt_stops_a_running_plugin_with_130() {
    let test = Test::new()
        .tasks(&fixture(r#"mode = "loop""#, ""))
        .args(&["t"]);
    let child = test
        .command()
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let start = Instant::now();
    let output = child.wait_with_output().unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "the runner must stop promptly"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
}

#[test]
fn a_plugin_error_asking_for_exit_code_0_still_fails_the_run() {
    Test::new()
        .tasks(&fixture(
            r#"mode = "fail", code = 0, message = "failed quietly""#,
            "",
        ))
        .args(&["t"])
        .stderr_contains("failed quietly")
        .status(1)
        .run();
}
