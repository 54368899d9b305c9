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
