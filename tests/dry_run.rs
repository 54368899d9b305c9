//! `--dry-run` shows the plan and runs nothing: plugins answer `describe` and
//! `needs` in a sandbox with nothing granted, and the exit code says whether
//! the run would be denied. `--plan` runs plugins in plan mode: they report
//! what they would do and cannot write, connect or change containers.

use std::net::TcpListener;

use crate::test::Test;

#[test]
fn the_plan_shows_order_plugin_digest_needs_and_grants() {
    let (output, _) = Test::new()
        .tasks(
            "[tasks.all]\ndepends = [\"greet\"]\n\n[tasks.greet]\nplugin = \"hello\"\nconfig = { name = \"team\" }\nallow = { write = [\"out\"], network = [\"127.0.0.1:5432\"] }\ntimeout = \"1m\"\nmemory = \"128MiB\"\n",
        )
        .args(&["--dry-run", "all"])
        .run();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let expected_start =
        "Plan for `all` (2 tasks):\n  1. greet\n       plugin hello 0.1.0 (WIT 0.3.0) sha256:";
    assert!(stdout.starts_with(expected_start), "{stdout}");
    assert!(
        stdout.contains("\n       needs write out\n       config {\"name\":\"team\"}\n       allow write: out\n       allow network: 127.0.0.1:5432\n       timeout 1m\n       memory 128 MiB\n  2. all\n       group: runs its dependencies only\n"),
        "{stdout}"
    );
}

#[test]
fn a_task_that_would_be_denied_makes_the_dry_run_exit_1() {
    let (output, test) = Test::new()
        .tasks("[tasks.greet]\nplugin = \"hello\"\n")
        .args(&["--dry-run", "greet"])
        .stderr_contains("error: task `greet` (plugin `hello`): denied: the plugin needs write access to `out`, which the task does not grant; add to the task in tasks.toml: allow = { write = [\"out\"] }")
        .status(1)
        .run();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(
            "       needs write out\n       MISSING GRANTS write out (the task would be denied)\n"
        ),
        "{stdout}"
    );
    assert!(!test.path("out").exists());
}

#[test]
fn what_needs_asks_for_is_checked_with_the_tasks_arguments_and_config() {
    let tasks = "[tasks.t]\nplugin = \"{hostile}\"\nconfig = { needs = [\"write:out\", \"network:db:5432\"] }\nallow = { write = [\"out\"] }\n";
    let (output, _) = Test::new()
        .tasks(tasks)
        .args(&["-n", "t"])
        .stderr_contains("denied: the plugin needs network access to `db:5432`")
        .status(1)
        .run();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("       needs write out, network db:5432\n       MISSING GRANTS network db:5432 (the task would be denied)\n"),
        "{stdout}"
    );
    // A failing `needs` is the task's failure.
    Test::new()
        .tasks("[tasks.t]\nplugin = \"{hostile}\"\nconfig = { needs = [\"bogus:x\"] }\n")
        .args(&["-n", "t"])
        .stdout_contains("       needs: failed: need `bogus:x`: unknown kind `bogus`\n")
        .stderr_contains("error: task `t` (plugin `hostile.wasm`): failed: need `bogus:x`")
        .status(1)
        .run();
}

#[test]
fn a_hostile_plugin_under_dry_run_cannot_read_connect_or_see_the_environment() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    // Its task grants exactly what it tries: a run would reach all of it.
    let (output, _) = Test::new()
        .tasks(&format!(
            "[tasks.t]\nplugin = \"{{hostile}}\"\nconfig = {{ read = [\"secret/secret.txt\"], env = [\"HOSTILE_SECRET\"], connect = [\"{addr}\"], resolve = [\"localhost\"], needs = [\"read:secret\"] }}\nallow = {{ read = [\"secret\"], network = [\"{addr}\", \"localhost:*\"], env = [\"HOSTILE_SECRET\"] }}\n"
        ))
        .file("secret/secret.txt", "s3cr3t-file\n")
        .env("HOSTILE_SECRET", "s3cr3t-env")
        .args(&["--dry-run", "t"])
        .stderr_contains("describe reached nothing")
        .stderr_contains("needs reached nothing")
        .stderr_contains("probe: read secret/secret.txt refused")
        .stderr_contains(&format!("probe: connect {addr} refused"))
        .stderr_contains("probe: env HOSTILE_SECRET not set")
        .stderr_contains("probe: resolve localhost refused")
        .stderr_lacks("s3cr3t")
        .stderr_lacks("REACHED")
        .run();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("       needs read secret\n"), "{stdout}");
    assert!(!stdout.contains("s3cr3t"), "{stdout}");
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the plugin connected"
    );
}

#[test]
fn dry_run_runs_no_command() {
    let (_, test) = Test::new()
        .tasks("[tasks.danger]\ncommand = \"touch ran\"\n")
        .args(&["-n", "danger"])
        .stdout("Plan for `danger` (1 task):\n  1. danger\n       host command (unsandboxed, not run under --dry-run or --plan):\n         touch ran\n")
        .stderr("")
        .run();
    assert!(!test.path("ran").exists());
}

#[test]
fn plan_mode_is_told_to_the_plugin_and_it_cannot_write() {
    Test::new()
        .tasks("[tasks.t]\nplugin = \"{hostile}\"\nconfig = { mode = \"mode\" }\n")
        .args(&["--plan", "t"])
        .stdout("mode=plan\n")
        .run();
    let (_, test) = Test::new()
        .tasks("[tasks.t]\nplugin = \"{hostile}\"\nconfig = { mode = \"write\", path = \"out/x\", content = \"x\" }\nallow = { write = [\"out\"] }\n")
        .dir("out")
        .args(&["--plan", "t"])
        .stderr_contains("failed: write out/x refused")
        .status(1)
        .run();
    assert!(!test.path("out/x").exists());
}

#[test]
fn plan_mode_has_no_network() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let tasks = format!(
        "[tasks.t]\nplugin = \"{{hostile}}\"\nconfig = {{ mode = \"connect\", addr = \"{addr}\" }}\nallow = {{ network = [\"{addr}\"] }}\n"
    );
    Test::new()
        .tasks(&tasks)
        .args(&["t"])
        .stdout(&format!("connected {addr}\n"))
        .run();
    Test::new()
        .tasks(&tasks)
        .args(&["--plan", "t"])
        .stderr_contains(&format!("failed: connect {addr} refused"))
        .status(1)
        .run();
}

#[test]
fn plan_runs_no_command() {
    let (_, test) = Test::new()
        .tasks("[tasks.danger]\ncommand = \"touch ran\"\n")
        .args(&["--plan", "danger"])
        .stderr_contains("(plan, not run) touch ran\n")
        .run();
    assert!(!test.path("ran").exists());
}

#[test]
fn hello_reports_what_it_would_do() {
    let (_, test) = Test::new()
        .tasks("[tasks.greet]\nplugin = \"hello\"\nallow = { write = [\"out\"] }\n")
        .args(&["--plan", "greet"])
        .stdout_contains("would write out/hello.txt")
        .run();
    assert!(!test.path("out/hello.txt").exists());
}

/// `--dry-run` names the engine a container task would use, chosen as the
/// docker CLI chooses it (nothing is connected): the config's current
/// context, `DOCKER_CONTEXT` over it, `DOCKER_HOST` over both; a bad
/// setting is named.
#[test]
fn dry_run_names_the_engine_a_container_task_would_use() {
    use sha2::{Digest, Sha256};
    let tasks =
        "[tasks.greet]\nplugin = \"hello\"\nallow = { write = [\"out\"], containers = [\"db\"] }\n";
    let test = Test::new()
        .tasks(tasks)
        .env("DOCKER_HOST", "")
        .env("DOCKER_CONTEXT", "")
        .env("DOCKER_CONFIG", "");
    // Two contexts as `docker context create` writes them (HOME is the project).
    let config = test.path(".docker");
    for (name, host) in [
        ("box", "ssh://deploy@build-box:2222"),
        ("ci", "tcp://ci:2376"),
    ] {
        let meta = config
            .join("contexts/meta")
            .join(hex::encode(Sha256::digest(name.as_bytes())));
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            format!(r#"{{"Name":"{name}","Metadata":{{}},"Endpoints":{{"docker":{{"Host":"{host}","SkipTLSVerify":false}}}}}}"#),
        )
        .unwrap();
    }
    std::fs::write(config.join("config.json"), r#"{"currentContext":"box"}"#).unwrap();
    let config_file = config.join("config.json");

    test.invoke(&["--dry-run", "greet"]).ok().stdout_contains(&format!(
        "       allow containers: db\n       engine ssh://deploy@build-box:2222 (Docker context `box` (currentContext in {}))\n",
        config_file.display()
    ));
    test.invoke_env(&[("DOCKER_CONTEXT", "ci")], &["--dry-run", "greet"])
        .ok()
        .stdout_contains("       engine tcp://ci:2376 (Docker context `ci` (DOCKER_CONTEXT))\n");
    test.invoke_env(
        &[
            ("DOCKER_CONTEXT", "ci"),
            ("DOCKER_HOST", "unix:///tmp/engine.sock"),
        ],
        &["--dry-run", "greet"],
    )
    .ok()
    .stdout_contains("       engine unix:///tmp/engine.sock (from DOCKER_HOST)\n");
    test.invoke_env(&[("DOCKER_CONTEXT", "gone")], &["--dry-run", "greet"])
        .ok()
        .stdout_contains("       engine: cannot be chosen: Docker context `gone` (DOCKER_CONTEXT): no such context: ");
    test.invoke_env(
        &[("DOCKER_HOST", "build-box:2375")],
        &["--dry-run", "greet"],
    )
    .ok()
    .stdout_contains(
        "       engine: cannot be chosen: DOCKER_HOST=build-box:2375: not an engine address",
    );

    // A task that never touches the engine names none.
    let plain =
        Test::new().tasks("[tasks.greet]\nplugin = \"hello\"\nallow = { write = [\"out\"] }\n");
    let out = plain.invoke(&["--dry-run", "greet"]).ok();
    assert!(!out.stdout.contains("engine"), "{}", out.stdout);
}

#[test]
fn dry_run_says_whether_each_task_with_sources_would_run_and_why() {
    let test = Test::new()
        .tasks("[tasks.build]\ncommand = \"cat src/*.txt > out.txt\"\nsources = [\"src/*.txt\"]\ngenerates = [\"out.txt\"]\n\n[tasks.greet]\nplugin = \"hello\"\nallow = { write = [\"out\"] }\nsources = [\"src/*.txt\"]\ndepends = [\"build\"]\n")
        .file("src/a.txt", "a\n")
        .file("src/b.txt", "b\n");
    let line = |args: &[&str], task_line: &str, expected: &str| {
        let out = test.invoke(args).ok();
        let after = out
            .stdout
            .split_once(task_line)
            .unwrap_or_else(|| panic!("no {task_line:?}{}", out.context()))
            .1;
        // The task's own lines: indented past the plan's numbers.
        let own: Vec<&str> = after
            .lines()
            .skip(1)
            .take_while(|l| l.starts_with("       "))
            .collect();
        assert!(
            own.contains(&format!("       {expected}").as_str()),
            "{task_line}: {expected:?}{}",
            out.context()
        );
    };
    line(
        &["-n", "greet"],
        ". build",
        "would run: no successful run recorded",
    );
    test.invoke(&["-q", "greet"]).ok();
    line(&["-n", "greet"], ". build", "would skip: up to date");
    line(&["-n", "greet"], ". greet", "would skip: up to date");
    line(&["-n", "--force", "greet"], ". build", "would run: --force");
    std::fs::write(test.path("src/b.txt"), "changed\n").unwrap();
    line(
        &["-n", "greet"],
        ". build",
        "would run: sources changed (src/b.txt)",
    );
    line(
        &["-n", "greet"],
        ". greet",
        "would run: sources changed (src/b.txt)",
    );
    test.invoke(&["-q", "greet"]).ok();
    std::fs::remove_file(test.path("out.txt")).unwrap();
    line(
        &["-n", "build"],
        ". build",
        "would run: generates missing (out.txt)",
    );
    // The dry run changed nothing: the task still has to run.
    line(
        &["-n", "build"],
        ". build",
        "would run: generates missing (out.txt)",
    );
}
