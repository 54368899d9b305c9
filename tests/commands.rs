//! Host command tasks: unsandboxed shell lines, as a Makefile recipe would run.

use crate::test::Test;

#[test]
fn lines_run_in_order_with_arguments_as_positional_parameters() {
    Test::new()
        .tasks("[tasks.say]\ncommand = [\"echo first $1\", \"echo second $2\"]\n")
        .args(&["say", "a", "b"])
        .stdout("first a\nsecond b\n")
        .stderr("echo first $1\necho second $2\n")
        .run();
}

#[test]
fn quiet_does_not_echo_lines() {
    Test::new()
        .tasks("[tasks.say]\ncommand = \"echo hi\"\n")
        .args(&["-q", "say"])
        .stdout("hi\n")
        .stderr("")
        .run();
}

#[test]
fn a_failing_line_stops_the_task_with_its_exit_code() {
    Test::new()
        .tasks("[tasks.bad]\ncommand = [\"exit 5\", \"echo never\"]\n")
        .args(&["-q", "bad"])
        .stdout("")
        .stderr("error: task `bad`: `exit 5` exited with code 5\nrun: 1 of 1 tasks failed, first `bad` (exit 5); 0 done in ")
        .status(5)
        .run_prefix();
}

#[test]
fn commands_run_in_the_tasks_toml_directory_with_fixed_env() {
    let test = Test::new()
        .tasks("[tasks.where]\ncommand = \"pwd; echo $MODE\"\nenv = { MODE = \"fixed\" }\n")
        .dir("sub");
    let output = test
        .command()
        .current_dir(test.path("sub"))
        .args(["-q", "where"])
        .output()
        .unwrap();
    let root = test.dir.path().canonicalize().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("{}\nfixed\n", root.display())
    );
}

#[test]
fn dry_run_does_not_run_commands() {
    Test::new()
        .tasks("[tasks.danger]\ncommand = \"touch ran\"\n")
        .args(&["--dry-run", "danger"])
        .stdout("Plan for `danger` (1 task):\n  1. danger\n       host command (unsandboxed, not run under --dry-run or --plan):\n         touch ran\n")
        .stderr("")
        .run();
}

/// Regression: `sh` forks its commands, so killing only `sh` on a timeout left
/// them running, reparented to init.
#[test]
fn a_timeout_kills_the_commands_the_shell_started() {
    let marker = format!("sleep 31.{}", std::process::id());
    Test::new()
        .tasks(&format!(
            "[tasks.slow]\ncommand = \"{marker}; echo never\"\ntimeout = \"300ms\"\n"
        ))
        .args(&["-q", "slow"])
        .stdout("")
        .status(124)
        .run();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let ps = std::process::Command::new("ps")
        .args(["-eo", "args"])
        .output()
        .unwrap();
    let leftovers: Vec<String> = String::from_utf8_lossy(&ps.stdout)
        .lines()
        .filter(|l| l.starts_with(&marker))
        .map(str::to_owned)
        .collect();
    assert!(leftovers.is_empty(), "left running: {leftovers:?}");
}

/// Waits for `path` to hold a pid, and returns it.
fn pid_in(path: &std::path::Path) -> i32 {
    for _ in 0..500 {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(pid) = text.trim().parse()
        {
            return pid;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("no pid in {}", path.display());
}

/// Whether `pid` is still running (a zombie has ended).
fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

fn ends_within(pid: i32, limit: std::time::Duration) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if !running(pid) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    false
}

/// Regression: Ctrl-C left a backgrounded child running (`sh` starts it with
/// SIGINT ignored); the line's whole process group is stopped now.
#[test]
fn an_interrupt_stops_a_backgrounded_child_that_ignores_sigint() {
    let test = Test::new().tasks("[tasks.bg]\ncommand = \"sleep 63 & echo $! > bg.pid; wait\"\n");
    let mut child = test
        .command()
        .args(["-q", "bg"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = pid_in(&test.path("bg.pid"));
    assert!(running(pid));
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(
        ends_within(pid, std::time::Duration::from_secs(5)),
        "{pid} still runs"
    );
}

/// A child that ignores SIGTERM as well is killed after the grace period.
#[test]
fn a_timeout_kills_a_child_that_ignores_sigterm_after_a_grace() {
    let test = Test::new().tasks(
        "[tasks.stubborn]\ncommand = \"sh -c 'trap \\\"\\\" TERM INT; sleep 64' & echo $! > bg.pid; wait\"\ntimeout = \"500ms\"\n",
    );
    let started = std::time::Instant::now();
    let mut child = test
        .command()
        .args(["-q", "stubborn"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = pid_in(&test.path("bg.pid"));
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(124));
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(
        ends_within(pid, std::time::Duration::from_secs(5)),
        "{pid} still runs"
    );
}

/// `RUN ARGS` run on a pseudo-terminal (util-linux `script`), with `input`
/// typed into it (after `sh` waits); returns what the terminal showed.
fn on_a_terminal(test: &Test, input: &str, args: &str) -> String {
    let line = format!(
        "({input}) | timeout 30 script -qec '{} {args}; echo run-exit=$?' /dev/null",
        env!("CARGO_BIN_EXE_run")
    );
    let output = std::process::Command::new("sh")
        .args(["-c", &line])
        .current_dir(test.dir.path())
        .env("HOME", test.dir.path())
        .env("RUN_CACHE_DIR", crate::test::cache_dir())
        .env("RUN_CACHE_KEY", crate::test::cache_key())
        .output()
        .expect("sh and script (util-linux) are installed");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The line's process group gets the terminal while it runs: a line reading
/// from the terminal would otherwise be stopped (SIGTTIN) for ever.
#[test]
fn a_line_on_a_terminal_can_read_from_it() {
    let test = Test::new().tasks("[tasks.ask]\ncommand = \"read x; echo got $x\"\n");
    let shown = on_a_terminal(&test, "sleep 1; echo hello; sleep 1", "-q ask");
    assert!(shown.contains("got hello"), "{shown}");
    assert!(shown.contains("run-exit=0"), "{shown}");
}

/// Ctrl-C typed at the terminal reaches the line's group, which has it; the
/// runner stops the run as interrupted and kills the backgrounded child.
#[test]
fn ctrl_c_at_the_terminal_interrupts_the_run_and_its_background_children() {
    let test = Test::new().tasks("[tasks.bg]\ncommand = \"sleep 66 & echo $! > bg.pid; wait\"\n");
    let shown = on_a_terminal(&test, "sleep 1.5; printf '\\003'; sleep 1", "-q bg");
    assert!(shown.contains("run-exit=130"), "{shown}");
    assert!(shown.contains("interrupted"), "{shown}");
    let pid = pid_in(&test.path("bg.pid"));
    assert!(
        ends_within(pid, std::time::Duration::from_secs(5)),
        "{pid} still runs"
    );
}
