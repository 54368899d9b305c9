//! `prompt`: --yes, defaults without a terminal, and never blocking under CI.

use runner::capability::prompt::{Answer, confirm_policy, select_policy};

use crate::test::Test;

fn confirm(default: &str) -> String {
    format!("[tasks.t]\nplugin = \"{{fixture}}\"\nconfig = {{ mode = \"confirm\"{default} }}\n")
}

#[test]
fn policies() {
    assert_eq!(
        confirm_policy(true, false, Some(false)),
        Answer::Given(true)
    );
    assert_eq!(confirm_policy(false, true, None), Answer::Ask);
    assert_eq!(
        confirm_policy(false, false, Some(false)),
        Answer::Given(false)
    );
    assert_eq!(confirm_policy(false, false, None), Answer::Unanswerable);
    assert_eq!(select_policy(true, true, Some(2)), Answer::Given(2));
    assert_eq!(select_policy(false, true, Some(2)), Answer::Ask);
    assert_eq!(select_policy(true, true, None), Answer::Ask);
    assert_eq!(select_policy(false, false, None), Answer::Unanswerable);
}

#[test]
fn without_a_terminal_the_default_answers() {
    Test::new()
        .tasks(&confirm(", default = false"))
        .args(&["t"])
        .stdout("answer=false\n")
        .run();
}

#[test]
fn yes_answers_confirmations() {
    Test::new()
        .tasks(&confirm(", default = false"))
        .args(&["--yes", "t"])
        .stdout("answer=true\n")
        .run();
}

#[test]
fn no_default_and_no_terminal_fails_instead_of_blocking() {
    Test::new()
        .tasks(&confirm(""))
        .env("CI", "true")
        .args(&["t"])
        .stderr_contains("no one can answer here")
        .stderr_contains("--yes")
        .status(1)
        .run();
}

#[test]
fn select_takes_its_default() {
    Test::new()
        .tasks("[tasks.t]\nplugin = \"{fixture}\"\nconfig = { mode = \"select\", default = 1 }\n")
        .args(&["t"])
        .stdout("picked=beta\n")
        .run();
}
