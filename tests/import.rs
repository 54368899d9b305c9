//! `run import MAKEFILE`: a dev-stack Makefile.dev (tests/fixtures/import) made
//! a tasks.toml, checked against GNU make itself: the converted tasks run the
//! same commands, with the same arguments and environment, as make's recipes.
//! These tests need GNU make on PATH and fail without it.

use std::path::{Path, PathBuf};
use std::process::Command;

use pretty_assertions::assert_eq;

use crate::test::Test;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/import")
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixtures().join(name)).unwrap()
}

/// A project holding the fixture Makefile.dev, the file it includes and the
/// files its recipes read, as in the dev stack's repository.
fn dev_project() -> Test {
    Test::new()
        .file("Makefile.dev", &fixture("Makefile.dev"))
        .file("mk/ports.mk", &fixture("mk/ports.mk"))
        .file("scripts/quickstart.sh", &fixture("scripts/quickstart.sh"))
        .file("scripts/scan-images.sh", &fixture("scripts/scan-images.sh"))
        .file("db/seed/dev.sql", "")
        .dir("infrastructure/compose")
        .dir("docs")
}

/// GNU make, or a loud failure: these tests compare against it.
fn make(dir: &Path) -> Command {
    let version = Command::new("make").arg("--version").output();
    assert!(
        version.is_ok_and(|v| String::from_utf8_lossy(&v.stdout).starts_with("GNU Make")),
        "the import tests compare with GNU make: install it (Debian: apt-get install make)"
    );
    let mut command = Command::new("make");
    command.env_clear().current_dir(dir);
    command
}

/// The converted file and the report must be exactly the recorded ones, so
/// every change in what converts to what is seen in review. Set
/// RUN_IMPORT_BLESS=1 to record new ones after checking them.
#[test]
fn the_dev_stack_makefile_converts_as_recorded() {
    let (output, test) = dev_project().args(&["import", "Makefile.dev"]).run();
    let toml = std::fs::read_to_string(test.path("tasks.toml")).unwrap();
    let report = String::from_utf8(output.stderr).unwrap();
    if std::env::var_os("RUN_IMPORT_BLESS").is_some() {
        std::fs::write(fixtures().join("Makefile.dev.toml"), &toml).unwrap();
        std::fs::write(fixtures().join("Makefile.dev.report"), &report).unwrap();
    }
    assert_eq!(toml, fixture("Makefile.dev.toml"));
    assert_eq!(report, fixture("Makefile.dev.report"));
}

#[test]
fn what_cannot_be_converted_is_reported_at_its_line() {
    let (output, _) = dev_project().args(&["import", "Makefile.dev"]).run();
    let report = String::from_utf8(output.stderr).unwrap();
    for expected in [
        "Makefile.dev:105: not converted: target `dev-backup`: `$(TIMESTAMP)`: the value of `TIMESTAMP` (Makefile.dev:18): make function `shell` is not converted",
        "Makefile.dev:109: not converted: target `dev-restore`: `$(LATEST_BACKUP)`: the value of `LATEST_BACKUP` (Makefile.dev:19): make function `lastword`",
        "Makefile.dev:131: not converted: pattern rule `scan-%:`",
        "Makefile.dev:134: not converted: target `image-scan`: `$(SCAN_TARGETS)`: the value of `SCAN_TARGETS` (Makefile.dev:20): make function `patsubst`",
        "Makefile.dev:26: not converted: `ifneq (,$(wildcard .env))` … `endif` (to line 29)",
        "Makefile.dev:31: not converted: `ifeq ($(shell uname -s),Darwin)` … `endif` (to line 35)",
        "Makefile.dev:38: not converted: `include $(wildcard mk/*.local.mk)` not followed: make function `wildcard`",
        "Makefile.dev:155: not converted: target `test-e2e`: target-specific variable `BASE_URL = http://localhost:3000`",
        "Makefile.dev:163: not converted: target `test-failover`: needs `dev-backup`, which was not converted",
        "Makefile.dev:190: not converted: target `dashboards`: `$(OPEN)`: `OPEN` is set inside a conditional (Makefile.dev:31)",
        "Makefile.dev:216: not converted: target `.lint-stamp`: `$?`: automatic variable `$?`",
        "Makefile.dev:222: not converted: target `clean`: double-colon rule",
        "Makefile.dev:111: note: target `dev-snapshot`: order-only prerequisites `backups-dir` became dependencies",
        "Makefile.dev:79: note: target `dev-reset`: `-` (ignore errors) became `|| true`",
        "Makefile.dev:75: note: target `dev-restart`: `$(MAKE) -f Makefile.dev --no-print-directory dev-down dev-up` became `run …` lines",
        "Makefile.dev:52: note: target `help`: printed the Makefile's `##` comments; it now runs `run --list`",
        "Makefile.dev:39: note: `-include .env.local`: no such file, skipped as make does",
        "Makefile.dev:219: note: target `docs/makefile-targets.md`: is task `docs_makefile-targets.md`",
        "wrote tasks.toml: 39 task(s) from Makefile.dev; 9 target(s) not converted",
    ] {
        assert!(
            report.contains(expected),
            "report lacks {expected:?}:\n{report}"
        );
    }
}

/// The tasks `run import` converts in the fixture, by make target.
const CONVERTED: &[(&str, &str)] = &[
    ("ports", "ports"),
    ("haproxy-stats", "haproxy-stats"),
    ("quickstart", "quickstart"),
    ("dev-check", "dev-check"),
    ("dev-up", "dev-up"),
    ("dev-down", "dev-down"),
    ("dev-restart", "dev-restart"),
    ("dev-reset", "dev-reset"),
    ("dev-logs", "dev-logs"),
    ("dev-status", "dev-status"),
    ("dev-migrate", "dev-migrate"),
    ("dev-seed", "dev-seed"),
    ("dev-seed-from-snapshot", "dev-seed-from-snapshot"),
    ("backups-dir", "backups-dir"),
    ("dev-snapshot", "dev-snapshot"),
    ("dev-restore-snapshot", "dev-restore-snapshot"),
    ("dev-clean", "dev-clean"),
    ("image-build", "image-build"),
    ("image-scan-json", "image-scan-json"),
    ("image-scan-critical", "image-scan-critical"),
    ("reports-dir", "reports-dir"),
    ("test", "test"),
    ("test-unit", "test-unit"),
    ("test-integration", "test-integration"),
    ("test-chaos", "test-chaos"),
    ("test-zero-loss", "test-zero-loss"),
    ("debug-backend", "debug-backend"),
    ("psql-shell", "psql-shell"),
    ("redis-cli", "redis-cli"),
    ("etcd-health", "etcd-health"),
    ("patroni-status", "patroni-status"),
    ("sentinel-status", "sentinel-status"),
    ("connector-status", "connector-status"),
    ("connector-scale", "connector-scale"),
    ("connector-pause", "connector-pause"),
    ("connector-resume", "connector-resume"),
    ("validate", "validate"),
    ("docs/makefile-targets.md", "docs_makefile-targets.md"),
];

/// Commands that log their name, arguments and the exported variables
/// instead of acting, so make's runs and run's can be compared.
fn stubs(test: &Test) -> (PathBuf, PathBuf) {
    let bin = test.path(".stubs");
    std::fs::create_dir_all(&bin).unwrap();
    let log = test.path(".stubs.log");
    let logging = [
        "docker",
        "bash",
        "curl",
        "cut",
        "mkdir",
        "ls",
        "head",
        "tail",
        "basename",
        "xargs",
        "rm",
        "touch",
        "pumba",
        "npx",
        "shellcheck",
        "xdg-open",
    ];
    let script = |status: u8| {
        format!(
            "#!/bin/sh\nline=\"${{0##*/}}\"\nfor a do line=\"$line [$a]\"; done\nprintf '%s env=%s,%s\\n' \"$line\" \"$COMPOSE_PROJECT_NAME\" \"$DOCKER_BUILDKIT\" >> '{}'\nexit {status}\n",
            log.display()
        )
    };
    let write = |name: &str, text: &str| {
        let path = bin.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
    };
    for name in logging {
        write(name, &script(0));
    }
    // `nc -z` failing means the port is free.
    write("nc", &script(1));
    // Run by make's `$(shell …)` when it reads the file: answer, never log.
    write("date", "#!/bin/sh\necho 20250101_000000\n");
    write("uname", "#!/bin/sh\necho Linux\n");
    for (name, target) in [
        ("sh", PathBuf::from("/bin/sh")),
        ("make", PathBuf::from("/usr/bin/make")),
        ("run", PathBuf::from(env!("CARGO_BIN_EXE_run"))),
    ] {
        std::os::unix::fs::symlink(target, bin.join(name)).unwrap();
    }
    (bin, log)
}

fn take_log(log: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    std::fs::write(log, "").unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    // run may start independent tasks in another order than make (or at once).
    lines.sort();
    lines
}

/// Each converted task, with what it depends on, runs exactly the commands
/// GNU make runs for the target: same programs, arguments, exported variables
/// and exit status. Recursive `$(MAKE)` calls run make again; their `run`
/// lines run the runner again.
#[test]
fn the_converted_tasks_run_the_commands_make_runs() {
    let test = dev_project();
    test.invoke(&["import", "Makefile.dev"]).ok();
    let (bin, log) = stubs(&test);
    let env = [
        ("PATH", bin.to_str().unwrap()),
        ("SANITIZED", "1"),
        ("SNAPSHOT", "snapshots/2025-01-01.tar.gz"),
    ];
    let mut compared = 0;
    for (target, task) in CONVERTED {
        take_log(&log);
        let made = make(test.dir.path())
            .envs(env)
            .env("HOME", test.dir.path())
            .args(["-f", "Makefile.dev", target])
            .output()
            .unwrap();
        assert!(
            made.status.success(),
            "make {target}: {}",
            String::from_utf8_lossy(&made.stderr)
        );
        let by_make = take_log(&log);
        let ran = test.invoke_env(&env, &[task]).ok();
        let by_run = take_log(&log);
        assert_eq!(
            by_run,
            by_make,
            "`run {task}` and `make {target}`{}",
            ran.context()
        );
        compared += usize::from(!by_make.is_empty());
    }
    // Nearly every target runs something a stub records.
    assert!(
        compared >= 30,
        "only {compared} targets ran a stubbed command"
    );
}

/// `semantics.mk` prints what each target sees: `make -s` and `run -q` must
/// print the same, with and without the environment overriding a `?=`.
#[test]
fn converted_recipes_print_what_make_prints() {
    let test = Test::new()
        .file("semantics.mk", &fixture("semantics.mk"))
        .file("a.txt", "")
        .file("b.txt", "");
    test.invoke(&["import", "semantics.mk"]).ok();
    let (bin, _) = stubs(&test);
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let targets = [
        "escapes",
        "quoting",
        "defaults",
        "ignore",
        "automatic",
        "continued",
        "recursive",
        "sequence",
        "chain",
        "exported",
        "prefix",
    ];
    for overrides in [&[][..], &[("REGION", "us  east")][..]] {
        for target in targets {
            let mut env = vec![("PATH", path.as_str()), ("FROM_ENV", "two  spaces")];
            env.extend_from_slice(overrides);
            let made = make(test.dir.path())
                .envs(env.iter().copied())
                .args(["-s", "-f", "semantics.mk", target])
                .output()
                .unwrap();
            assert!(made.status.success(), "make {target}");
            let ran = test.invoke_env(&env, &["-q", target]).ok();
            assert_eq!(
                ran.stdout,
                String::from_utf8_lossy(&made.stdout),
                "`run {target}` and `make {target}` with {overrides:?}{}",
                ran.context()
            );
        }
    }
}

#[test]
fn run_list_shows_the_targets_with_their_help() {
    let test = dev_project();
    test.invoke(&["import", "Makefile.dev"]).ok();
    let list = test.invoke(&["--list"]).ok();
    for group in [
        "General",
        "Development stack",
        "Backup and recovery",
        "Images and supply chain",
        "Tests",
        "Debugging",
        "Kafka connectors",
        "Housekeeping",
    ] {
        assert!(list.stdout.contains(group), "{group}{}", list.context());
    }
    let lines: Vec<&str> = list.stdout.lines().collect();
    for (task, help) in [
        ("help", "Show this help"),
        (
            "quickstart",
            "Check prerequisites, start the stack, wait for health, print the URLs",
        ),
        (
            "dev-up",
            "Start the development stack and wait until it is healthy",
        ),
        ("dev-status", "Show the state of each service"),
        ("dev-snapshot", "Offline snapshot of the Patroni volume"),
        (
            "test-chaos",
            "Packet loss and latency on the Redis master for 60s",
        ),
        ("ports", "Print the ports the stack publishes"),
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.trim_start().starts_with(task) && l.contains(help)),
            "no line with `{task}` and {help:?}{}",
            list.context()
        );
    }
    // `run` alone runs make's default goal, `help`, which lists the tasks.
    let bin = stubs(&test).0;
    let default = test
        .invoke_env(
            &[("PATH", &format!("{}:/usr/bin:/bin", bin.display()))],
            &[],
        )
        .ok();
    assert!(default.stdout.contains("dev-up"), "{}", default.context());
}

#[test]
fn an_existing_file_is_kept_unless_forced() {
    let test = Test::new()
        .file("Makefile", "up: ## Start\n\tdocker compose up -d\n")
        .tasks("[tasks.mine]\ncommand = \"true\"\n");
    test.invoke(&["import", "Makefile"])
        .status(2)
        .stderr_contains(
            "error: tasks.toml exists; pass --force to replace it, or -o FILE to write elsewhere",
        );
    assert_eq!(
        std::fs::read_to_string(test.path("tasks.toml")).unwrap(),
        "[tasks.mine]\ncommand = \"true\"\n"
    );
    test.invoke(&["import", "Makefile", "-o", "dev.toml"]).ok();
    assert!(
        std::fs::read_to_string(test.path("dev.toml"))
            .unwrap()
            .contains("[tasks.up]")
    );
    test.invoke(&["import", "Makefile", "--output", "dev.toml"])
        .status(2)
        .stderr_contains("dev.toml exists");
    test.invoke(&["import", "--force", "Makefile"]).ok();
    assert!(
        std::fs::read_to_string(test.path("tasks.toml"))
            .unwrap()
            .contains("[tasks.up]")
    );
    // No temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(test.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tasks.toml"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn stdout_prints_the_file_and_writes_nothing() {
    let test = Test::new().file("Makefile", "up: ## Start\n\tdocker compose up -d\n");
    let outcome = test.invoke(&["import", "--stdout", "Makefile"]).ok();
    assert_eq!(
        outcome.stdout,
        "# Converted from Makefile by `run import Makefile`.\n# Targets that could not be converted are kept below as comments, with the reasons.\n\n[tasks.up]\ndescription = \"Start\"\naliases = [\"default\"]\ncommand = \"docker compose up -d\"\n"
    );
    assert_eq!(
        outcome.stderr,
        "Makefile:1: note: target `up`: make's default goal: task `up` has the alias `default`, so `run` alone runs it\nconverted Makefile to 1 task(s)\n"
    );
    assert!(!test.path("tasks.toml").exists());
}

/// Regression: a reader that stops early (`run import --stdout M | head`)
/// ends the import quietly, never with a panic or an error.
#[test]
fn a_closed_pipe_on_stdout_ends_quietly() {
    let mut makefile = String::new();
    for i in 0..3000 {
        makefile += &format!(
            "target-{i}: ## Target number {i}, with a long enough description\n\techo {i}\n"
        );
    }
    let test = Test::new().file("Makefile", &makefile);
    let mut child = test
        .command()
        .args(["import", "--stdout", "Makefile"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.ends_with("converted Makefile to 3000 task(s)\n"),
        "{stderr}"
    );
}

#[test]
fn the_output_may_not_be_a_directory() {
    Test::new()
        .file("Makefile", "up:\n\ttrue\n")
        .dir("conf")
        .args(&["import", "Makefile", "-o", "conf"])
        .stderr("error: conf is a directory; -o takes the file to write, e.g. -o conf/tasks.toml\n")
        .status(2)
        .run();
}

#[test]
fn a_makefile_with_nothing_to_convert_writes_nothing() {
    let test = Test::new().file("Makefile", "%.o: %.c\n\tcc -c $< -o $@\n");
    test.invoke(&["import", "Makefile"])
        .status(2)
        .stderr_contains("error: nothing to import: no target of Makefile could be converted\n  Makefile:1: not converted: pattern rule `%.o: %.c`");
    assert!(!test.path("tasks.toml").exists());
    test.invoke(&["import", "missing.mk"])
        .status(2)
        .stderr_contains("error: cannot read missing.mk: No such file or directory");
}

#[test]
fn import_usage() {
    let help = Test::new().invoke(&["import", "--help"]).ok();
    assert!(
        help.stdout
            .contains("Usage: run import [OPTIONS] <MAKEFILE>"),
        "{}",
        help.context()
    );
    Test::new()
        .invoke(&["import"])
        .status(2)
        .stderr_contains("<MAKEFILE>");
    Test::new()
        .invoke(&["import", "Makefile", "-o", "x.toml", "--stdout"])
        .status(2)
        .stderr_contains("cannot be used with");
}

#[test]
fn import_is_a_reserved_word() {
    Test::new()
        .tasks("[tasks.import]\ncommand = \"true\"\n")
        .args(&["--list"])
        .stderr_contains("the name is reserved: `run import MAKEFILE` converts a Makefile")
        .status(2)
        .run();
}
