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

/// Runs `run ARGS` with its stdout a pipe whose reader is already gone.
fn into_a_closed_pipe(test: &Test, args: &[&str]) -> std::process::Output {
    let mut child = test
        .command()
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

/// Regression: `run plugin inspect scan | true` and `run -n top | head -1`
/// panicked (exit 101) and `run --list | head -1` exited 2.
#[test]
fn a_closed_pipe_ends_quietly() {
    let test = Test::new().tasks(
        "[tasks.greet]\nplugin = \"hello\"\nallow = { write = [\"out\"] }\n\n[tasks.build]\ncommand = \"true\"\n",
    );
    for args in [
        &["--list"][..],
        &["--list", "--json"],
        &["-n", "greet"],
        &["greet", "--help"],
        &["plugin", "inspect", "hello"],
        &["completions", "bash"],
    ] {
        let output = into_a_closed_pipe(&test, args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "run {args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "run {args:?}: {stderr}");
    }
}

const SHOW: &str = "[tasks.show]\ncommand = \"echo args: $*\"\n";

/// Regression: `-j4`, `-qj4` and `-f../x` were taken as task names.
#[test]
fn short_option_clusters_and_attached_values() {
    Test::new()
        .tasks(SHOW)
        .args(&["-qj4", "show", "a"])
        .stdout("args: a\n")
        .stderr("")
        .run();
    Test::new()
        .tasks(SHOW)
        .args(&["-j4", "-q", "show"])
        .stdout("args:\n")
        .run();
    let test = Test::new().tasks(SHOW).dir("sub");
    let output = test
        .command()
        .current_dir(test.path("sub"))
        .args(["-qf../tasks.toml", "show"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "args:\n",
        "{output:?}"
    );
    let output = test
        .command()
        .current_dir(test.path("sub"))
        .args(["-f../tasks.toml", "-q", "show"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "args:\n",
        "{output:?}"
    );
}

/// Regression: unknown options were reported as "no task `--bogus`".
#[test]
fn unknown_options_get_a_did_you_mean() {
    Test::new()
        .tasks(SHOW)
        .args(&["--dryrun", "show"])
        .stdout("")
        .stderr("error: unknown option `--dryrun`\n  = help: did you mean `--dry-run`?\n")
        .status(2)
        .run();
    Test::new()
        .tasks(SHOW)
        .args(&["--bogus"])
        .stderr("error: unknown option `--bogus`\n  = help: see `run --help` for the runner's options\n")
        .status(2)
        .run();
    Test::new()
        .tasks(SHOW)
        .args(&["-qx", "show"])
        .stderr_contains("error: unknown option `-qx`")
        .status(2)
        .run();
}

const GREET: &str = "[tasks.greet]\nplugin = \"hello\"\nallow = { write = [\"out\"] }\n\n[tasks.ci]\ndepends = [\"greet\"]\n";

/// Regression: `run restore --latest --yes` was refused. After the name of a
/// task that declares its parameters, a runner option it does not declare is
/// the runner's; after `--` nothing is.
#[test]
fn runner_options_after_the_task_name_where_unambiguous() {
    Test::new()
        .tasks(GREET)
        .args(&["greet", "--name", "Ada", "-n"])
        .stdout_contains("Plan for `greet` (1 task)")
        .run();
    // The example: `--latest` is the backup plugin's, `--yes` and
    // `-n` are the runner's.
    Test::new()
        .tasks("[tasks.restore]\nplugin = \"backup\"\nconfig = { mode = \"restore\", container = \"db\", dir = \"backups\" }\n")
        .args(&["restore", "--latest", "--yes", "-n"])
        .stdout_contains("Plan for `restore` (1 task)")
        .stderr_lacks("unknown option")
        .status(1)
        .run();
    Test::new()
        .tasks(GREET)
        .args(&["ci", "--dry-run"])
        .stdout_contains("Plan for `ci` (2 tasks)")
        .run();
    Test::new()
        .tasks(GREET)
        .args(&["-n", "greet", "--", "--dry-run"])
        .stdout_contains("Plan for `greet`")
        .run();
}

/// A command task that never reads `$1 $2 …` cannot want `--dry-run`: `run
/// test --dry-run` ran the tests (a surprise); it now plans. One that reads
/// them still gets every word, and one with `params` gives the runner its
/// options and binds the rest.
#[test]
fn runner_options_after_a_command_task_that_reads_no_arguments() {
    let tasks = "[tasks.test]\ncommand = \"echo ran > ran.txt\"\n\n[tasks.show]\ncommand = \"echo args: $@\"\n\n[tasks.build]\ncommand = \"echo target=$target fast=$fast\"\nparams = [{ name = \"target\", default = \"all\" }, { name = \"fast\", flag = true }]\n";
    let (_, test) = Test::new()
        .tasks(tasks)
        .args(&["test", "--dry-run"])
        .stdout_contains("Plan for `test` (1 task)")
        .run();
    assert!(!test.path("ran.txt").exists(), "the dry run ran the task");
    Test::new()
        .tasks(tasks)
        .args(&["test", "-qj2"])
        .stdout("")
        .stderr("")
        .run();
    Test::new()
        .tasks(tasks)
        .args(&["-q", "show", "--dry-run", "-j2"])
        .stdout("args: --dry-run -j2\n")
        .run();
    Test::new()
        .tasks(tasks)
        .args(&["build", "web", "--fast", "-n"])
        .stdout_contains("Plan for `build` (1 task)")
        .run();
    Test::new()
        .tasks(tasks)
        .args(&[
            "-q",
            "build",
            "--target",
            "web",
            "--fast",
            "--no-fast",
            "-q",
        ])
        .stdout("target=web fast=false\n")
        .run();
    Test::new()
        .tasks(tasks)
        .args(&["build", "--fsat"])
        .stderr_contains("did you mean")
        .status(2)
        .run();
}

/// Regression: `run greet --nme Ada` exited 0.
#[test]
fn plugin_options_are_checked_against_declared_parameters() {
    Test::new()
        .tasks(GREET)
        .args(&["greet", "--nme", "Ada"])
        .stdout("")
        .stderr("error: unknown option `--nme` for task `greet` (plugin `hello`)\n  = help: did you mean `--name`?\n")
        .status(2)
        .run();
    Test::new()
        .tasks(GREET)
        .args(&["greet", "--name"])
        .stderr("error: `--name` of task `greet` needs a value\n")
        .status(2)
        .run();
    // Nothing ran, not even under -n.
    Test::new()
        .tasks(GREET)
        .args(&["-n", "greet", "--zzz"])
        .stdout("")
        .stderr_contains("the task takes: --name VALUE")
        .status(2)
        .run();
}

/// Regression: a task named `ci::lint` and a `%` in a message broke the
/// workflow commands.
#[test]
fn github_workflow_commands_are_escaped() {
    Test::new()
        .tasks("[tasks.\"ci::lint\"]\nplugin = \"{fixture}\"\nconfig = { mode = \"fail\", message = \"50% done, then\\nbroken\" }\n")
        .env("GITHUB_ACTIONS", "true")
        .args(&["ci::lint"])
        .stdout("::group::ci::lint\n::endgroup::\n::error title=run ci%3A%3Alint::task `ci::lint` (plugin `test_programs.wasm`): failed: 50%25 done, then%0Abroken\n")
        .status(1)
        .run();
}

/// Regression: task names were completed from the current directory's
/// tasks.toml, whatever `-f` said.
#[test]
fn completion_of_task_names_honours_file() {
    let (output, _) = Test::new()
        .tasks("[tasks.here]\ncommand = \"true\"\n")
        .file("other.toml", "[tasks.there]\ncommand = \"true\"\n")
        .env("RUN_COMPLETE", "fish")
        .args(&["--", "run", "-f", "other.toml", "th"])
        .run();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "there\t\n");
}

#[test]
fn force_color_is_honoured_under_auto() {
    for var in ["FORCE_COLOR", "CLICOLOR_FORCE"] {
        Test::new()
            .tasks(FAIL)
            .env(var, "1")
            .args(&["bad"])
            .stderr_contains("\u{1b}[")
            .status(1)
            .run();
    }
}

/// Regression: with stderr into a closed pipe too (`run bad 2>&1 | head -0`),
/// the error and summary lines panicked; the run ends with its own exit code.
#[test]
fn a_closed_pipe_on_stderr_is_no_panic() {
    let test = Test::new().tasks(FAIL);
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let status = test
        .command()
        .arg("bad")
        .stdout(writer.try_clone().unwrap())
        .stderr(writer)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
}
