//! Writing tasks.toml the way just and go-task users expect: private tasks,
//! `.env`, `dir` and `-d`, variables.

use crate::test::Test;

const PRIVATE: &str = "[tasks._setup]\ncommand = \"echo setup\"\n\n[tasks.helper]\ncommand = \"echo helper\"\nprivate = true\n\n[tasks.build]\ndescription = \"Build it\"\ncommand = \"echo build\"\ndepends = [\"_setup\", \"helper\"]\n";

#[test]
fn private_tasks_run_as_dependencies_only() {
    let test = Test::new().tasks(PRIVATE);
    // One job: dependencies in their written order.
    let out = test.invoke(&["-q", "-j1", "build"]).ok();
    assert_eq!(out.stdout, "setup\nhelper\nbuild\n", "{}", out.context());
    for name in ["_setup", "helper"] {
        test.invoke(&[name]).status(2).stderr_contains(&format!(
            "task `{name}` is private: it only runs as a dependency or hook of another task"
        ));
    }
}

#[test]
fn private_tasks_are_left_out_of_list_json_and_suggestions() {
    let test = Test::new().tasks(PRIVATE);
    let out = test.invoke(&["--list"]).ok();
    assert!(out.stdout.contains("build"), "{}", out.context());
    assert!(
        !out.stdout.contains("helper") && !out.stdout.contains("_setup"),
        "{}",
        out.context()
    );
    let json = test.invoke(&["--list", "--json"]).ok().json();
    let names: Vec<_> = json["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["build"]);
    test.invoke(&["helpr"]).status(2).stderr_lacks("helper");
}

#[test]
fn dotenv_values_reach_commands_but_the_host_environment_wins() {
    let test = Test::new()
        .tasks("[tasks.show]\ncommand = \"echo $FROM_FILE $BOTH $FIXED\"\nenv = { FIXED = \"task\" }\n")
        .file(".env", "FROM_FILE=file\nBOTH=file\nFIXED=file\n");
    let out = test.invoke_env(&[("BOTH", "host")], &["-q", "show"]).ok();
    assert_eq!(out.stdout, "file host task\n", "{}", out.context());
}

#[test]
fn dotenv_files_listed_in_tasks_toml_and_a_bad_line_is_located() {
    let test = Test::new()
        .tasks("dotenv = [\"config/dev.env\"]\n[tasks.show]\ncommand = \"echo $DB\"\n")
        .file(".env", "DB=ignored\n")
        .file("config/dev.env", "DB=postgres://dev\n");
    let out = test.invoke(&["-q", "show"]).ok();
    assert_eq!(out.stdout, "postgres://dev\n", "{}", out.context());
    let test = Test::new()
        .tasks("[tasks.show]\ncommand = \"true\"\n")
        .file(".env", "OK=1\nthis is not a variable\n");
    test.invoke(&["show"])
        .status(2)
        .stderr_contains(".env:2: expected `NAME=value`");
}

#[test]
fn dotenv_values_reach_a_plugin_only_through_allow_env() {
    Test::new()
        .tasks("[tasks.t]\nplugin = \"{fixture}\"\nconfig = { mode = \"env\" }\nallow = { env = [\"GRANTED\"] }\n")
        .file(".env", "GRANTED=from-dotenv\nSECRET=never\n")
        .args(&["t"])
        .stdout("GRANTED=from-dotenv\n")
        .run();
}

#[test]
fn dir_runs_a_command_in_a_subdirectory() {
    let test = Test::new()
        .tasks("[tasks.where]\ncommand = \"pwd\"\ndir = \"web/app\"\n")
        .dir("web/app");
    let out = test.invoke(&["-q", "where"]).ok();
    let expected = test.dir.path().canonicalize().unwrap().join("web/app");
    assert_eq!(
        out.stdout,
        format!("{}\n", expected.display()),
        "{}",
        out.context()
    );
}

#[test]
fn dir_outside_the_project_is_refused_where_written() {
    Test::new()
        .tasks("[tasks.where]\ncommand = \"pwd\"\ndir = \"../elsewhere\"\n")
        .args(&["where"])
        .stderr_contains("`dir` of task `where` leaves the project: `../elsewhere`")
        .stderr_contains("tasks.toml:3:")
        .status(2)
        .run();
}

#[test]
fn dir_through_a_symlink_out_of_the_project_is_refused_at_run_time() {
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().to_owned();
    Test::new()
        .tasks("[tasks.where]\ncommand = \"touch escaped\"\ndir = \"link\"\n")
        .tap(|t| std::os::unix::fs::symlink(&target, t.path("link")).unwrap())
        .args(&["-q", "where"])
        .stderr_contains("outside the project")
        .status(1)
        .run();
    assert!(!outside.path().join("escaped").exists());
}

#[test]
fn working_directory_flag_finds_tasks_toml_from_there() {
    let test = Test::new()
        .file(
            "proj/tasks.toml",
            "[tasks.hi]\ncommand = \"echo from proj\"\n",
        )
        .dir("proj/deep");
    let out = test.invoke(&["-q", "-d", "proj/deep", "hi"]).ok();
    assert_eq!(out.stdout, "from proj\n", "{}", out.context());
    let out = test.invoke(&["-q", "--working-directory=proj", "hi"]).ok();
    assert_eq!(out.stdout, "from proj\n", "{}", out.context());
    test.invoke(&["-d", "nowhere", "hi"])
        .status(2)
        .stderr_contains("--working-directory nowhere: no such directory");
}

#[test]
fn variables_template_commands_and_descriptions() {
    let test = Test::new().tasks(
        "[vars]\nimage = \"app\"\ntag = \"{{image}}:{{env.TAG}}\"\n\n[tasks.build]\ndescription = \"Build {{tag}}\"\ncommand = \"echo {{tag}} {{where}} '{{.ID}}' {{{{literal}}\"\nvars = { where = \"here\" }\n",
    );
    let out = test.invoke_env(&[("TAG", "7")], &["-q", "build"]).ok();
    assert_eq!(
        out.stdout,
        "app:7 here {{.ID}} {{literal}}\n",
        "{}",
        out.context()
    );
    test.invoke_env(&[("TAG", "7")], &["--list"])
        .ok()
        .stdout_contains("Build app:7");
}

#[test]
fn an_unknown_variable_is_a_located_error_with_a_suggestion() {
    Test::new()
        .tasks("[vars]\ntarget = \"all\"\n\n[tasks.build]\ncommand = \"make {{targte}}\"\n")
        .args(&["build"])
        .stderr_contains("unknown variable `targte`")
        .stderr_contains("tasks.toml:5:17")
        .stderr_contains("did you mean `target`?")
        .status(2)
        .run();
}

const PARAMS: &str = "[tasks.build]\ndescription = \"Build\"\ncommand = \"echo target=$target mode=$mode files=$files args=$*\"\nparams = [{ name = \"target\", default = \"all\", help = \"what to build\" }, { name = \"mode\" }, { name = \"files\", variadic = true }]\n";

#[test]
fn command_parameters_are_bound_by_position_name_default_and_variadic() {
    let test = Test::new().tasks(PARAMS);
    let out = test
        .invoke(&["-q", "build", "web", "fast", "a.c", "b.c"])
        .ok();
    assert_eq!(
        out.stdout,
        "target=web mode=fast files=a.c b.c args=web fast a.c b.c\n",
        "{}",
        out.context()
    );
    let out = test.invoke(&["-q", "build", "--mode=slow"]).ok();
    assert_eq!(
        out.stdout,
        "target=all mode=slow files= args=all slow\n",
        "{}",
        out.context()
    );
}

#[test]
fn command_parameters_are_validated_with_a_suggestion_and_have_help() {
    let test = Test::new().tasks(PARAMS);
    test.invoke(&["build", "--mdoe=x"])
        .status(2)
        .stderr_contains("task `build` has no option `--mdoe`; did you mean `--mode`?");
    test.invoke(&["build"])
        .status(2)
        .stderr_contains("task `build` needs `mode` (usage: run build [target] mode [files...])");
    test.invoke(&["build", "--help"])
        .ok()
        .stdout_contains("Usage: run build [target] mode [files...]")
        .stdout_contains("what to build [default: all]");
}

const FLAGS: &str = "[tasks.test]\ncommand = \"if $verbose; then echo verbose; fi; echo files=$files args=$*\"\nparams = [{ name = \"files\", variadic = true }, { name = \"verbose\", flag = true, help = \"say more\" }]\n";

#[test]
fn a_flag_parameter_is_true_when_given_and_never_positional() {
    let test = Test::new().tasks(FLAGS);
    let out = test.invoke(&["-q", "test", "a", "--verbose", "b"]).ok();
    assert_eq!(
        out.stdout,
        "verbose\nfiles=a b args=a b\n",
        "{}",
        out.context()
    );
    let out = test.invoke(&["-q", "test", "a"]).ok();
    assert_eq!(out.stdout, "files=a args=a\n", "{}", out.context());
    let out = test
        .invoke(&["-q", "test", "--verbose", "--no-verbose"])
        .ok();
    assert_eq!(out.stdout, "files= args=\n", "{}", out.context());
}

#[test]
fn a_flag_parameter_is_validated_and_shown_in_help_and_list() {
    let test = Test::new().tasks(FLAGS);
    test.invoke(&["test", "--verbose=yes"])
        .status(2)
        .stderr_contains(
            "`--verbose` of task `test` is a flag: it takes no value (got `--verbose=yes`)",
        );
    test.invoke(&["test", "--verbos"])
        .status(2)
        .stderr_contains("task `test` has no option `--verbos`; did you mean `--verbose`?");
    test.invoke(&["test", "--help"])
        .ok()
        .stdout_contains("Usage: run test [files...] [--verbose]")
        .stdout_contains("say more [flag: `true` when given, `--no-verbose` or absent: `false`]");
    test.invoke(&["--list"])
        .ok()
        .stdout_contains("test [files...] [--verbose]");
}

const CONFIRM: &str =
    "[tasks.drop]\ncommand = \"echo dropped\"\nconfirm = \"Really drop the database?\"\n";

#[test]
fn confirm_needs_yes_without_a_terminal_and_under_ci() {
    let test = Test::new().tasks(CONFIRM);
    let out = test.invoke(&["-q", "drop"]).status(1);
    assert!(!out.stdout.contains("dropped"), "{}", out.context());
    let out = out
        .stderr_contains("Really drop the database?")
        .stderr_contains("pass --yes");
    drop(out);
    test.invoke_env(&[("CI", "true")], &["-q", "drop"])
        .status(1);
    let out = test
        .invoke_env(&[("CI", "true")], &["-q", "--yes", "drop"])
        .ok();
    assert_eq!(out.stdout, "dropped\n", "{}", out.context());
}

#[test]
fn finally_runs_after_success_failure_and_timeout() {
    let test = Test::new().tasks(
        "[tasks.ok]\ncommand = \"echo work\"\nfinally = \"echo cleanup\"\n\n[tasks.bad]\ncommand = \"exit 3\"\nfinally = \"echo cleanup after failure\"\n\n[tasks.slow]\ncommand = \"sleep 30\"\ntimeout = \"200ms\"\nfinally = \"echo cleanup after timeout\"\n\n[tasks.cleanup-fails]\ncommand = \"true\"\nfinally = \"exit 4\"\n",
    );
    let out = test.invoke(&["-q", "ok"]).ok();
    assert_eq!(out.stdout, "work\ncleanup\n", "{}", out.context());
    let out = test.invoke(&["-q", "bad"]).status(3);
    assert_eq!(out.stdout, "cleanup after failure\n", "{}", out.context());
    let out = test.invoke(&["-q", "slow"]).status(124);
    assert_eq!(out.stdout, "cleanup after timeout\n", "{}", out.context());
    test.invoke(&["-q", "cleanup-fails"]).status(4);
}

#[test]
fn finally_runs_when_the_run_is_interrupted() {
    use std::time::{Duration, Instant};
    let test = Test::new().tasks(
        "[tasks.long]\ncommand = \"touch started; sleep 30\"\nfinally = \"touch cleaned\"\n",
    );
    let mut child = test
        .command()
        .args(["-q", "long"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !test.path("started").exists() {
        assert!(Instant::now() < deadline, "the task never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: kill(2) on the child we spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(test.path("cleaned").exists(), "finally did not run");
}

#[test]
fn a_task_with_unchanged_sources_and_outputs_is_skipped_until_forced() {
    let test = Test::new()
        .tasks("[tasks.build]\ncommand = \"cat src/*.txt > out.txt; echo ran >> log\"\nsources = [\"src/*.txt\"]\ngenerates = [\"out.txt\"]\n")
        .file("src/a.txt", "a\n");
    let runs = |t: &Test| {
        std::fs::read_to_string(t.path("log"))
            .unwrap()
            .lines()
            .count()
    };
    test.invoke(&["build"]).ok();
    test.invoke(&["build"])
        .ok()
        .stderr_contains("`build` is up to date");
    assert_eq!(runs(&test), 1);
    std::fs::write(test.path("src/a.txt"), "changed\n").unwrap();
    test.invoke(&["build"]).ok();
    assert_eq!(runs(&test), 2);
    std::fs::remove_file(test.path("out.txt")).unwrap();
    test.invoke(&["build"]).ok();
    assert_eq!(runs(&test), 3);
    test.invoke(&["build"]).ok().stderr_contains("up to date");
    test.invoke(&["--force", "build"]).ok();
    assert_eq!(runs(&test), 4);
    assert!(test.path(".run/hashes/build").exists());
}

#[test]
fn a_plugin_task_reruns_when_its_grants_change() {
    let task = |allow: &str| {
        format!(
            "[tasks.t]\nplugin = \"{{fixture}}\"\nconfig = {{ mode = \"env\" }}\nsources = [\"in.txt\"]\n{allow}"
        )
    };
    let test = Test::new().tasks(&task("")).file("in.txt", "same\n");
    test.invoke(&["t"]).ok();
    test.invoke(&["t"])
        .ok()
        .stderr_contains("`t` is up to date");
    let test = test.tasks(&task("allow = { env = [\"HOME\"] }\n"));
    test.invoke(&["t"]).ok().stderr_lacks("up to date");
}

#[test]
fn included_tasks_are_namespaced_listed_and_run_in_their_directory() {
    let test = Test::new()
        .tasks("include = [\"ci/tasks.toml\"]\n\n[tasks.all]\ncommand = \"echo all\"\ndepends = [\"ci:lint\"]\n")
        .file("ci/tasks.toml", "[tasks.lint]\ndescription = \"Lint\"\ncommand = \"basename $(pwd)\"\n");
    test.invoke(&["--list"]).ok().stdout_contains("ci:lint");
    let out = test.invoke(&["-q", "all"]).ok();
    assert_eq!(out.stdout, "ci\nall\n", "{}", out.context());
    let out = test.invoke(&["-q", "ci:lint"]).ok();
    assert_eq!(out.stdout, "ci\n", "{}", out.context());
}

#[test]
fn watch_reruns_when_a_source_changes_and_ctrl_c_stops_it() {
    use std::time::{Duration, Instant};
    let test = Test::new()
        .tasks("[tasks.build]\ncommand = \"cat src/a.txt >> log\"\nsources = [\"src/*.txt\"]\n")
        .file("src/a.txt", "one\n");
    let mut child = test
        .command()
        .args(["-q", "--watch", "build"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let log = |t: &Test| std::fs::read_to_string(t.path("log")).unwrap_or_default();
    let wait_for = |t: &Test, want: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while log(t) != want {
            assert!(
                Instant::now() < deadline,
                "log is {:?}, want {want:?}",
                log(t)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait_for(&test, "one\n");
    // The watcher is set up before the first run, so this change is seen.
    std::fs::write(test.path("src/a.txt"), "two\n").unwrap();
    wait_for(&test, "one\ntwo\n");
    // A file that is no source changes nothing.
    std::fs::write(test.path("other.md"), "x").unwrap();
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(log(&test), "one\ntwo\n");
    // SAFETY: kill(2) on the child we spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(child.wait().unwrap().code(), Some(130));
}

#[test]
fn watch_without_sources_is_refused() {
    Test::new()
        .tasks("[tasks.build]\ncommand = \"true\"\n")
        .args(&["--watch", "build"])
        .stderr_contains("none of the tasks to run has `sources` to watch")
        .status(2)
        .run();
}

#[test]
fn completion_leaves_out_private_tasks() {
    let (output, _) = Test::new()
        .tasks("[tasks.greet]\ncommand = \"true\"\n[tasks.gather]\ncommand = \"true\"\nprivate = true\n[tasks._glue]\ncommand = \"true\"\n")
        .env("RUN_COMPLETE", "fish")
        .args(&["--", "run", ""])
        .run();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("greet"), "{stdout}");
    assert!(
        !stdout.contains("gather") && !stdout.contains("_glue"),
        "{stdout}"
    );
}
