//! The `lock` capability: an exclusive lock between runs on a file in a
//! write-granted directory. A second run is told who holds it; the lock goes
//! with its holder, even when the runner is killed; only write-granted paths
//! can be locked.

use std::time::{Duration, Instant};

use crate::support::running::Running;
use crate::test::Test;

/// A fixture task `name` locking `path`.
fn task(name: &str, path: &str, wait_ms: u64, hold_ms: u64) -> String {
    format!(
        "[tasks.{name}]\nplugin = \"{{fixture}}\"\nconfig = {{ mode = \"lock\", path = \"{path}\", wait-ms = {wait_ms}, hold-ms = {hold_ms} }}\nallow = {{ write = [\"state\"], read = [\"docs\"] }}\n\n"
    )
}

#[test]
fn a_second_run_is_told_who_holds_the_lock_which_dies_with_its_holder() {
    let test = Test::new().dir("docs").tasks(&format!(
        "{}{}",
        task("holder", "state/x.lock", 0, 300_000),
        task("second", "state/x.lock", 0, 0)
    ));
    let mut holder = Running::start(&test, &["holder"]);
    holder.wait_for("locked state/x.lock");
    test.invoke(&["second"])
        .status(1)
        .stderr_contains(&format!(
            "error: task `second` (plugin `test_programs.wasm`): failed: `state/x.lock` is locked by pid {}, task holder, since ",
            holder.pid()
        ));
    // SIGKILL: nothing runs to release the lock but the kernel.
    holder.signal("-KILL");
    holder.finish();
    test.invoke(&["second"])
        .ok()
        .stdout_contains("done with state/x.lock");
    let text = std::fs::read_to_string(test.path("state/x.lock")).unwrap();
    assert!(text.contains("task second"), "{text}");
}

#[test]
fn a_waiting_run_takes_the_lock_when_the_holder_ends() {
    let test = Test::new().dir("docs").tasks(&format!(
        "{}{}",
        task("holder", "state/x.lock", 0, 1_500),
        task("waiter", "state/x.lock", 30_000, 0)
    ));
    let mut holder = Running::start(&test, &["holder"]);
    holder.wait_for("locked state/x.lock");
    let start = Instant::now();
    test.invoke(&["waiter"])
        .ok()
        .stdout_contains("done with state/x.lock");
    // The holder keeps it 1.5 s after saying so: the waiter waited for that.
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(700) && waited < Duration::from_secs(20),
        "{waited:?}"
    );
    let (status, log) = holder.finish();
    assert_eq!(status, Some(0), "{log}");
}

#[test]
fn only_write_granted_files_can_be_locked() {
    let outside = tempfile::tempdir().unwrap();
    let test = Test::new().dir("docs").dir("state");
    std::os::unix::fs::symlink(outside.path(), test.path("state/out")).unwrap();
    let cases = [
        (
            "docs/x.lock",
            "`docs/x.lock` is not inside a directory granted to this task for writing",
        ),
        (
            "elsewhere/x.lock",
            "`elsewhere/x.lock` is not inside a directory granted to this task for writing",
        ),
        (
            "state/../x.lock",
            "`state/../x.lock` leaves its granted directory",
        ),
        (
            "state/out/x.lock",
            "`state/out/x.lock` passes through a symlink, `state/out` (to `",
        ),
    ];
    let tasks: String = cases
        .iter()
        .enumerate()
        .map(|(i, (path, _))| task(&format!("t{i}"), path, 0, 0))
        .collect();
    let test = test.tasks(&tasks);
    for (i, (path, message)) in cases.iter().enumerate() {
        test.invoke(&[&format!("t{i}")])
            .status(1)
            .stderr_contains(message);
        assert!(!outside.path().join("x.lock").exists(), "{path}");
    }
}

#[test]
fn a_lock_file_that_is_a_symlink_is_refused_naming_it() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("kept"), "KEPT").unwrap();
    let test = Test::new().dir("docs").dir("state").tasks(&format!(
        "{}{}",
        task("dangling", "state/new.lock", 0, 0),
        task("existing", "state/kept.lock", 0, 0)
    ));
    // One would create a file outside, the other truncate one.
    std::os::unix::fs::symlink(outside.path().join("new"), test.path("state/new.lock")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("kept"), test.path("state/kept.lock")).unwrap();
    for (name, lock) in [("dangling", "new.lock"), ("existing", "kept.lock")] {
        test.invoke(&[name])
            .status(1)
            .stderr_contains(&format!(
                "`state/{lock}` is a symlink (to `{}",
                outside.path().display()
            ))
            .stderr_contains("the runner never follows a symlink in a plugin's files");
    }
    assert!(!outside.path().join("new").exists());
    assert_eq!(
        std::fs::read_to_string(outside.path().join("kept")).unwrap(),
        "KEPT"
    );
}
