//! The `cancel` capability: on Ctrl-C or SIGTERM, a plugin that listens for
//! cancellation (here the chaos plugin, holding a fault) is given time to put
//! things back, while tasks that do not listen are stopped at once.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::images::Container;
use crate::support::running::Running;
use crate::test::Test;

fn interrupt(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits until `path` exists (the chaos journal: the fault is being applied).
fn wait_for_file(path: &std::path::Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_listening_plugin_cleans_up_and_other_tasks_are_stopped_at_once() {
    let c = Container::busybox("run-test-chaos-cancel", &[]);
    let test = Test::new().tasks(&format!(
        r#"[tasks.hold]
plugin = "chaos"
config = {{ fault = "pause", target = "{name}", duration = "300s" }}
allow = {{ containers = ["{name}"], write = [".chaos"] }}

[tasks.slow]
command = "sleep 120"

[tasks.all]
depends = ["hold", "slow"]
"#,
        name = c.name
    ));
    let mut child = test
        .command()
        .args(["-j", "2", "all"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_file(&test.path(".chaos/journal.json"));
    let start = Instant::now();
    while c.inspect("{{.State.Paused}}") != "true" {
        assert!(start.elapsed() < Duration::from_secs(30), "never paused");
        std::thread::sleep(Duration::from_millis(50));
    }
    let interrupted = Instant::now();
    interrupt(child.id(), "-TERM");
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        interrupted.elapsed() < Duration::from_secs(20),
        "the command task was not waited for: {:?}\n{stderr}",
        interrupted.elapsed()
    );
    assert!(
        stderr.contains("waiting up to 30s for 1 plugin(s) to clean up"),
        "{stderr}"
    );
    assert!(stderr.contains("undid pause"), "{stderr}");
    assert_eq!(c.inspect("{{.State.Paused}}"), "false");
    assert!(!test.path(".chaos/journal.json").exists());
}

#[test]
fn without_a_listening_plugin_an_interrupt_stops_at_once() {
    // The marker, not a fixed sleep: on a loaded machine the signal could
    // otherwise come before the runner listens for it.
    let test = Test::new().tasks("[tasks.slow]\ncommand = \"echo sleeping >&2; sleep 120\"\n");
    let mut run = Running::start(&test, &["slow"]);
    run.wait_for("sleeping");
    let interrupted = Instant::now();
    run.signal("-INT");
    let (status, stderr) = run.finish();
    assert_eq!(status, Some(130), "{stderr}");
    // At once: well under the 30 s a listening plugin would be given.
    assert!(
        interrupted.elapsed() < Duration::from_secs(15),
        "{:?}\n{stderr}",
        interrupted.elapsed()
    );
    assert!(!stderr.contains("waiting up to"), "{stderr}");
}

#[test]
fn a_second_interrupt_stops_a_plugin_that_is_still_cleaning_up() {
    let test = Test::new().tasks(
        "[tasks.hold]\nplugin = \"{fixture}\"\nconfig = { mode = \"slow-cleanup\", ms = 60000 }\n",
    );
    let mut run = Running::start(&test, &["hold"]);
    run.wait_for("holding until cancelled");
    run.signal("-INT");
    // The runner's line and the plugin's come from two writers, in either order.
    run.wait_for_all(&[
        "waiting up to 30s for 1 plugin(s) to clean up",
        "cleaning up for 60000 ms",
    ]);
    let again = Instant::now();
    run.signal("-INT");
    let (status, stderr) = run.finish();
    assert_eq!(status, Some(130), "{stderr}");
    assert!(
        again.elapsed() < Duration::from_secs(15),
        "the second interrupt did not stop the run at once: {:?}\n{stderr}",
        again.elapsed()
    );
    assert!(
        stderr.contains(
            "interrupted again; stopping now, without waiting for 1 plugin(s) still cleaning up"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("cleaned up"), "{stderr}");
}
