//! Runner options: colour, quiet/verbose, log formats, completions, GitHub Actions.

use crate::test::Test;

const FAIL: &str =
    "[tasks.bad]\nplugin = \"{fixture}\"\nconfig = { mode = \"fail\", message = \"broken\" }\n";

#[test]
fn color_always_styles_errors_and_never_does_not() {
    Test::new()
        .tasks(FAIL)
        .args(&["--color", "always", "bad"])
        .stderr_contains("\u{1b}[")
        .status(1)
        .run();
    Test::new()
        .tasks(FAIL)
        .args(&["--color", "never", "bad"])
        .stderr_lacks("\u{1b}[")
        .status(1)
        .run();
}

#[test]
fn no_color_is_honoured_under_auto() {
    Test::new()
        .tasks(FAIL)
        .env("NO_COLOR", "1")
        .args(&["bad"])
        .stderr_lacks("\u{1b}[")
        .status(1)
        .run();
}

#[test]
fn github_actions_groups_output_and_annotates_failures() {
    Test::new()
        .tasks(FAIL)
        .env("GITHUB_ACTIONS", "true")
        .args(&["bad"])
        // The annotation comes after the group so it stays visible when the group is folded.
        .stdout("::group::bad\n::endgroup::\n::error title=run bad::task `bad` (plugin `test_programs.wasm`): failed: broken\n")
        .status(1)
        .run();
}

#[test]
fn json_logs_are_one_object_per_line() {
    let (output, _) = Test::new()
        .tasks("[tasks.t]\nplugin = \"{fixture}\"\nconfig = { mode = \"log\" }\n")
        .args(&["--log-format", "json", "t"])
        .run();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "info message" && l["task"] == "t" && l["level"] == "INFO"),
        "{stderr}"
    );
}

#[test]
fn completions_script_is_printed_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let (output, _) = Test::new().args(&["completions", shell]).run();
        let script = String::from_utf8_lossy(&output.stdout);
        assert!(script.contains("RUN_COMPLETE"), "{shell}: {script}");
    }
    Test::new()
        .args(&["completions", "tcsh"])
        .stderr_contains("unsupported shell `tcsh`")
        .status(2)
        .run();
}

#[test]
fn completion_offers_task_names_and_aliases() {
    let (output, _) = Test::new()
        .tasks("[tasks.greet]\ndescription = \"Say hi\"\naliases = [\"gr\"]\ncommand = \"true\"\n\n[tasks.build]\ncommand = \"true\"\n")
        .env("RUN_COMPLETE", "fish")
        .args(&["--", "run", "g"])
        .run();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("greet\tSay hi"), "{stdout}");
    assert!(stdout.contains("gr\talias for greet"), "{stdout}");
    assert!(!stdout.contains("build"), "{stdout}");
}

/// Completion candidates for `words` (the command line up to the cursor) under fish.
fn complete(tasks: &str, words: &[&str]) -> String {
    let mut args = vec!["--", "run"];
    args.extend_from_slice(words);
    let (output, _) = Test::new()
        .tasks(tasks)
        .env("RUN_COMPLETE", "fish")
        .args(&args)
        .run();
    String::from_utf8(output.stdout).unwrap()
}

const PLUGIN_TASKS: &str =
    "[tasks.greet]\nplugin = \"hello\"\n\n[tasks.restore]\nplugin = \"backup\"\n";

#[test]
fn completion_offers_a_plugin_tasks_parameters() {
    assert_eq!(
        complete(PLUGIN_TASKS, &["greet", "--n"]),
        "--name\twho to greet (overrides config)\n"
    );
    let restore = complete(PLUGIN_TASKS, &["restore", "--"]);
    for flag in ["--latest\t", "--verify\t", "--stop\t"] {
        assert!(restore.contains(flag), "{flag}: {restore}");
    }
    assert!(!restore.contains("--name"), "{restore}");
}

#[test]
fn completion_finds_the_task_after_runner_options() {
    assert_eq!(
        complete(
            PLUGIN_TASKS,
            &["-j", "2", "--color=never", "-k", "greet", "--n"]
        ),
        "--name\twho to greet (overrides config)\n"
    );
}

#[test]
fn completion_reads_the_tasks_file_given_with_file() {
    let (output, _) = Test::new()
        .file("other.toml", PLUGIN_TASKS)
        .env("RUN_COMPLETE", "fish")
        .args(&["--", "run", "-f", "other.toml", "greet", "--n"])
        .run();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "--name\twho to greet (overrides config)\n"
    );
}

#[test]
fn completion_under_bash_uses_the_cursor_index() {
    let (output, _) = Test::new()
        .tasks(PLUGIN_TASKS)
        .env("RUN_COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", "2")
        .env("_CLAP_COMPLETE_COMP_TYPE", "9")
        .args(&["--", "run", "greet", "--n"])
        .run();
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("--name"),
        "{output:?}"
    );
}

#[test]
fn completion_of_a_command_task_offers_no_plugin_parameters() {
    let out = complete("[tasks.build]\ncommand = \"make\"\n", &["build", "--n"]);
    assert!(!out.contains("--name"), "{out}");
}

#[test]
fn missing_tasks_toml_is_a_usage_error() {
    Test::new()
        .args(&["anything"])
        .stderr_contains("no tasks.toml found in")
        .status(2)
        .run();
}

#[test]
fn bad_flags_are_usage_errors() {
    Test::new()
        .tasks(FAIL)
        .args(&["--jobs", "0", "bad"])
        .status(2)
        .run();
    Test::new().tasks(FAIL).args(&["--json"]).status(2).run();
}

#[test]
fn everything_after_the_task_name_is_the_tasks_including_runner_flags() {
    Test::new()
        .tasks("[tasks.show]\ncommand = \"echo args: $*\"\n")
        .args(&["-q", "show", "-v", "x", "--list", "--"])
        .stdout("args: -v x --list --\n")
        .stderr("")
        .run();
}

#[test]
fn verbose_logs_the_runner_not_every_library() {
    let cache = tempfile::tempdir().unwrap();
    let test =
        Test::new().tasks("[tasks.t]\nplugin = \"{fixture}\"\nconfig = { mode = \"noop\" }\n");
    // A cold cache makes Cranelift compile the plugin: its debug logs must stay out.
    let output = test
        .command()
        .env("RUN_CACHE_DIR", cache.path())
        .args(["-vv", "t"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.lines().count() < 50,
        "{} lines of logs:\n{stderr}",
        stderr.lines().count()
    );
}

/// With -j > 1, each task's output is captured and printed whole inside its
/// group, so parallel tasks do not interleave in the Actions log.
#[test]
fn github_actions_groups_of_parallel_tasks_stay_whole() {
    let (output, _) = Test::new()
        .tasks(
            "[tasks.all]\ndepends = [\"a\", \"b\"]\n\n[tasks.a]\ncommand = \"echo a1; sleep 0.4; echo a2\"\n\n[tasks.b]\nplugin = \"{fixture}\"\nconfig = { mode = \"sleep\", ms = 200 }\n",
        )
        .env("GITHUB_ACTIONS", "true")
        .args(&["-q", "-j", "2", "all"])
        .run();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let a = "::group::a\na1\na2\n::endgroup::\n";
    let b = "::group::b\nslept 200 ms\n::endgroup::\n";
    assert!(stdout.contains(a) && stdout.contains(b), "{stdout}");
    assert!(stdout.ends_with("::group::all\n::endgroup::\n"), "{stdout}");
}
