//! The `container` capability against the real Docker Engine, through the
//! fixture plugin: grants checked on every call (denials name the container and
//! the task), streams to and from granted files only, lifecycle seen through
//! inspect, volume snapshots round-tripped byte for byte.

use runner::capability::container::ContainerHost;
use sha2::{Digest, Sha256};

use crate::support::images::{BUSYBOX, Container, docker, unique_name};
use crate::test::Test;

/// A task `t` running one container call with `config` extra keys and `allow` grants.
fn call(config: &str, allow: &str) -> String {
    format!(
        "[tasks.t]\nplugin = \"{{fixture}}\"\nconfig = {{ mode = \"container-call\", {config} }}\nallow = {{ {allow} }}\n"
    )
}

fn stdout(test: Test) -> String {
    let (output, _) = test.run();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn host_side_grants_match_names_and_globs_only() {
    let host = ContainerHost::new(
        "backup",
        &["pg-demo".into(), "redis-*".into()],
        Vec::new(),
        false,
    )
    .unwrap();
    assert!(host.is_granted("pg-demo"));
    assert!(
        host.is_granted("/pg-demo"),
        "engine names carry a leading slash"
    );
    assert!(host.is_granted("redis-1"));
    assert!(!host.is_granted("pg-demo2"));
    assert!(!host.is_granted("etcd"));
}

#[test]
fn list_shows_only_granted_containers() {
    let granted = Container::busybox("cap-list-a", &[]);
    let _other = Container::busybox("cap-list-b", &[]);
    let out = stdout(
        Test::new()
            .tasks(&call(
                r#"call = "list", filter = "*""#,
                &format!(r#"containers = ["{}"]"#, granted.name),
            ))
            .args(&["t"]),
    );
    assert_eq!(out, format!("{} running\n", granted.name));
}

#[test]
fn ungranted_containers_are_denied_naming_container_and_task() {
    let c = Container::busybox("cap-denied", &[]);
    Test::new()
        .tasks(&call(&format!(r#"call = "exec", name = "{}", command = ["true"]"#, c.name), r#"containers = ["someone-else"]"#))
        .args(&["t"])
        .stderr_contains(&format!(
            "denied: container `{}` is not granted to task `t` (it grants someone-else; add it to allow.containers)",
            c.name
        ))
        .status(1)
        .run();
}

#[test]
fn exec_reads_back_exit_code_stdout_and_stderr() {
    let c = Container::busybox("cap-exec", &[]);
    let out = stdout(
        Test::new()
            .tasks(&call(&format!(r#"call = "exec", name = "{}", command = ["sh", "-c", "echo out; echo err >&2; exit 3"]"#, c.name), &format!(r#"containers = ["{}"]"#, c.name)))
            .args(&["t"]),
    );
    assert_eq!(
        out,
        "exit=3 stdout=\"out\\n\" stderr=\"err\" stdout_bytes=4 tail=\"out\\n\" file=-\n"
    );
}

#[test]
fn exec_streams_stdout_into_a_granted_file_compressed_and_hashed() {
    let c = Container::busybox("cap-stream", &[]);
    let (output, test) = Test::new()
        .tasks(&call(
            &format!(r#"call = "exec", name = "{}", command = ["seq", "1", "200000"], stdout_file = "out/seq.zst", zstd = true"#, c.name),
            &format!(r#"containers = ["{}"], write = ["out"]"#, c.name),
        ))
        .args(&["t"])
        .run();
    let compressed = std::fs::read(test.path("out/seq.zst")).unwrap();
    let raw = zstd::decode_all(&compressed[..]).unwrap();
    let expected: String = (1..=200_000).map(|n| format!("{n}\n")).collect();
    assert_eq!(raw, expected.as_bytes());
    let line = String::from_utf8_lossy(&output.stdout);
    assert!(
        line.contains(&format!("stdout_bytes={} ", expected.len())),
        "{line}"
    );
    assert!(
        line.ends_with(&format!(
            "file={} {}\n",
            compressed.len(),
            hex::encode(Sha256::digest(&compressed))
        )),
        "{line}"
    );
    assert!(
        line.contains("tail=\"") && line.contains("199999\\n200000\\n\""),
        "{line}"
    );
}

#[test]
fn exec_streams_stdin_from_a_granted_file() {
    let c = Container::busybox("cap-stdin", &[]);
    let input: String = (0..50_000).map(|n| format!("line {n}\n")).collect();
    let out = stdout(
        Test::new()
            .tasks(&call(
                &format!(r#"call = "exec", name = "{}", command = ["wc", "-l"], stdin_file = "in/data.zst", zstd = true"#, c.name),
                &format!(r#"containers = ["{}"], read = ["in"]"#, c.name),
            ))
            .file("in/data.zst", "")
            .args(&["t"])
            .tap(|test| std::fs::write(test.path("in/data.zst"), zstd::encode_all(input.as_bytes(), 3).unwrap()).unwrap()),
    );
    assert!(out.starts_with("exit=0 stdout=\"50000\\n\""), "{out}");
}

#[test]
fn files_outside_the_grants_are_refused_and_nothing_is_written() {
    let c = Container::busybox("cap-escape", &[]);
    for (file, allow) in [
        ("../escape.txt", r#"write = ["out"]"#),
        ("out/x.txt", r#"read = ["out"]"#),
        ("elsewhere/x.txt", r#"write = ["out"]"#),
    ] {
        let (_, test) = Test::new()
            .tasks(&call(&format!(r#"call = "exec", name = "{}", command = ["echo", "hi"], stdout_file = "{file}""#, c.name), &format!(r#"containers = ["{}"], {allow}"#, c.name)))
            .dir("out")
            .args(&["t"])
            .stderr_contains(&format!("`{file}`"))
            .status(1)
            .run();
        assert!(
            !test.path(file).exists() && !test.dir.path().join("../escape.txt").exists(),
            "{file}"
        );
    }
}

#[test]
fn symlinks_out_of_a_write_grant_are_refused() {
    let c = Container::busybox("cap-symlink", &[]);
    let outside = tempfile::tempdir().unwrap();
    let test = Test::new()
        .tasks(&call(&format!(r#"call = "exec", name = "{}", command = ["echo", "hi"], stdout_file = "out/link/x.txt""#, c.name), &format!(r#"containers = ["{}"], write = ["out"]"#, c.name)))
        .dir("out");
    std::os::unix::fs::symlink(outside.path(), test.path("out/link")).unwrap();
    test.args(&["t"])
        .stderr_contains("`out/link/x.txt` leaves its granted directory")
        .status(1)
        .run();
    assert!(!outside.path().join("x.txt").exists());
}

#[test]
fn lifecycle_calls_are_seen_through_inspect() {
    let c = Container::busybox("cap-life", &[]);
    let allow = format!(r#"containers = ["{}"]"#, c.name);
    let run = |call_name: &str| {
        stdout(
            Test::new()
                .tasks(&call(
                    &format!(r#"call = "{call_name}", name = "{}", timeout = 1"#, c.name),
                    &allow,
                ))
                .args(&["t"]),
        )
    };
    assert_eq!(run("pause"), "ok\n");
    assert_eq!(c.inspect("{{.State.Status}}"), "paused");
    assert!(run("inspect").contains("state=paused running=true paused=true"));
    assert_eq!(run("unpause"), "ok\n");
    assert_eq!(c.inspect("{{.State.Status}}"), "running");
    assert_eq!(run("stop"), "ok\n");
    assert_eq!(c.inspect("{{.State.Status}}"), "exited");
    assert_eq!(run("start"), "ok\n");
    assert_eq!(c.inspect("{{.State.Status}}"), "running");
    assert_eq!(run("restart"), "ok\n");
    assert_eq!(c.inspect("{{.State.Running}}"), "true");
    assert_eq!(run("kill"), "ok\n");
    assert_eq!(c.inspect("{{.State.Status}}"), "exited");
}

#[test]
fn wait_healthy_reports_the_last_failing_check() {
    let c = Container::run(
        "cap-unhealthy",
        &[
            "--health-cmd",
            "echo database not ready; exit 1",
            "--health-interval",
            "1s",
            "--health-retries",
            "1",
        ],
        BUSYBOX,
        &["sleep", "86400"],
    );
    Test::new()
        .tasks(&call(
            &format!(
                r#"call = "wait-healthy", name = "{}", timeout = 30"#,
                c.name
            ),
            &format!(r#"containers = ["{}"]"#, c.name),
        ))
        .args(&["t"])
        .stderr_contains(&format!(
            "container `{}` is unhealthy; last health check: database not ready",
            c.name
        ))
        .status(1)
        .run();
}

#[test]
fn logs_and_copy_out_and_in() {
    let c = Container::busybox(
        "cap-copy",
        &[
            "sh",
            "-c",
            "echo started; mkdir -p /srv && echo payload > /srv/file.txt; sleep 86400",
        ],
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    let allow = format!(r#"containers = ["{}"], write = ["out"]"#, c.name);
    let logs = stdout(
        Test::new()
            .tasks(&call(
                &format!(r#"call = "logs", name = "{}", tail = 10"#, c.name),
                &allow,
            ))
            .args(&["t"]),
    );
    assert_eq!(logs, "started\n");
    let (output, test) = Test::new()
        .tasks(&call(
            &format!(
                r#"call = "copy-out", name = "{}", path = "/srv", file = "out/srv.tar""#,
                c.name
            ),
            &allow,
        ))
        .args(&["t"])
        .run();
    let tar = std::fs::read(test.path("out/srv.tar")).unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).starts_with(&format!("file {} ", tar.len())));
    assert!(tar.windows(7).any(|w| w == b"payload"));
    let copy_in = Test::new()
        .tasks(&call(
            &format!(
                r#"call = "copy-in", name = "{}", path = "/tmp", file = "out/srv.tar""#,
                c.name
            ),
            &allow,
        ))
        .dir("out");
    std::fs::write(copy_in.path("out/srv.tar"), &tar).unwrap();
    copy_in.args(&["t"]).stdout("ok\n").run();
    assert_eq!(
        String::from_utf8_lossy(&c.exec(&["cat", "/tmp/srv/file.txt"]).stdout),
        "payload\n"
    );
}

#[test]
fn volume_snapshot_and_restore_round_trip_byte_for_byte() {
    let volume = unique_name("cap-vol");
    docker(&["volume", "create", "--label", "run-test=1", &volume]);
    let mount = format!("{volume}:/data");
    let mut c = Container::run("cap-vol", &["-v", &mount], BUSYBOX, &["sleep", "86400"]);
    c.volumes.push(volume.clone());
    c.exec(&[
        "sh",
        "-c",
        "echo one > /data/a.txt && mkdir /data/sub && head -c 100000 /dev/urandom > /data/sub/blob",
    ]);
    let original = c
        .exec(&["sh", "-c", "md5sum /data/a.txt /data/sub/blob"])
        .stdout;
    let allow = format!(r#"containers = ["{}"], write = ["snap"]"#, c.name);
    let (_, test) = Test::new()
        .tasks(&call(&format!(r#"call = "volume-snapshot", volume = "{volume}", file = "snap/v.tar.zst", zstd = true"#), &allow))
        .args(&["t"])
        .run();
    let snapshot = std::fs::read(test.path("snap/v.tar.zst")).unwrap();
    c.exec(&[
        "sh",
        "-c",
        "echo changed > /data/a.txt && echo extra > /data/extra.txt",
    ]);

    let restore = |expect_status: i32, stderr: &str| {
        let t = Test::new()
            .tasks(&call(&format!(r#"call = "volume-restore", volume = "{volume}", file = "snap/v.tar.zst", zstd = true"#), &allow))
            .dir("snap");
        std::fs::write(t.path("snap/v.tar.zst"), &snapshot).unwrap();
        t.args(&["t"])
            .stderr_contains(stderr)
            .status(expect_status)
            .run();
    };
    restore(
        1,
        &format!(
            "volume `{volume}` is in use by running container `{}`; stop it first",
            c.name
        ),
    );
    docker(&["stop", "-t", "1", &c.name]);
    restore(0, "");
    docker(&["start", &c.name]);
    assert_eq!(
        c.exec(&["sh", "-c", "md5sum /data/a.txt /data/sub/blob"])
            .stdout,
        original
    );
    assert!(
        !c.exec(&["test", "-e", "/data/extra.txt"]).status.success(),
        "restore replaces, it does not merge"
    );
}

#[test]
fn volumes_of_ungranted_containers_are_denied() {
    let volume = unique_name("cap-vol-denied");
    docker(&["volume", "create", "--label", "run-test=1", &volume]);
    let mut c = Container::run(
        "cap-vol-denied",
        &["-v", &format!("{volume}:/data")],
        BUSYBOX,
        &["sleep", "86400"],
    );
    c.volumes.push(volume.clone());
    Test::new()
        .tasks(&call(
            &format!(r#"call = "volume-snapshot", volume = "{volume}", file = "out/v.tar""#),
            r#"containers = ["nothing-*"], write = ["out"]"#,
        ))
        .args(&["t"])
        .stderr_contains(&format!(
            "volume `{volume}` is not mounted by any container granted to task `t`"
        ))
        .status(1)
        .run();
}

#[test]
fn images_of_granted_containers_can_be_exported() {
    let c = Container::busybox("cap-image", &[]);
    let allow = format!(r#"containers = ["{}"], write = ["out"]"#, c.name);
    assert_eq!(
        stdout(
            Test::new()
                .tasks(&call(r#"call = "image-list""#, &allow))
                .args(&["t"])
        ),
        format!("{BUSYBOX}\n")
    );
    let (_, test) = Test::new()
        .tasks(&call(
            &format!(r#"call = "image-export", image = "{BUSYBOX}", file = "out/image.tar""#),
            &allow,
        ))
        .args(&["t"])
        .run();
    let tar = std::fs::read(test.path("out/image.tar")).unwrap();
    assert!(
        tar.windows(13).any(|w| w == b"manifest.json"),
        "a docker-save archive"
    );
    Test::new()
        .tasks(&call(
            r#"call = "image-inspect", image = "someone/else:1""#,
            &allow,
        ))
        .args(&["t"])
        .stderr_contains("image `someone/else:1` is not used by any container granted to task `t`")
        .status(1)
        .run();
}

#[test]
fn dry_run_refuses_changes() {
    let c = Container::busybox("cap-dry", &[]);
    Test::new()
        .tasks(&call(
            &format!(r#"call = "stop", name = "{}""#, c.name),
            &format!(r#"containers = ["{}"]"#, c.name),
        ))
        .args(&["--dry-run", "t"])
        .stderr_contains("container.stop changes things and is refused under --dry-run")
        .status(1)
        .run();
    assert_eq!(c.inspect("{{.State.Status}}"), "running");
}

#[test]
fn an_unreachable_engine_names_its_address() {
    Test::new()
        .tasks(&call(
            r#"call = "list", filter = "*""#,
            r#"containers = ["*"]"#,
        ))
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .args(&["t"])
        .stderr_contains("cannot reach the container engine at unix:///nonexistent/docker.sock")
        .status(1)
        .run();
}

#[test]
fn create_makes_granted_throwaways_from_granted_images_only() {
    let source = Container::busybox("cap-create-src", &[]);
    let throwaway = format!("{}-scratch", source.name);
    let allow = format!(r#"containers = ["{}", "{}-*"]"#, source.name, source.name);
    let create = |name: &str, image: &str| {
        call(
            &format!(
                r#"call = "create", name = "{name}", image = "{image}", command = ["sleep", "600"]"#
            ),
            &allow,
        )
    };
    // Removed even if an assertion below fails.
    let _cleanup = Container {
        name: throwaway.clone(),
        volumes: Vec::new(),
    };
    let (output, _) = Test::new()
        .tasks(&create(&throwaway, BUSYBOX))
        .args(&["t"])
        .run();
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("created "));
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.Running}}", &throwaway]).trim(),
        "true"
    );

    Test::new()
        .tasks(&create("elsewhere", BUSYBOX))
        .args(&["t"])
        .stderr_contains("container `elsewhere` is not granted to task `t`")
        .status(1)
        .run();
    Test::new()
        .tasks(&create(
            &format!("{}-other", source.name),
            "run-test/postgres:15",
        ))
        .args(&["t"])
        .stderr_contains(
            "image `run-test/postgres:15` is not used by any container granted to task `t`",
        )
        .status(1)
        .run();

    Test::new()
        .tasks(&call(
            &format!(r#"call = "remove", name = "{throwaway}""#),
            &allow,
        ))
        .args(&["t"])
        .stdout("ok\n")
        .run();
    assert!(
        !crate::support::images::docker_output(&["inspect", &throwaway])
            .status
            .success(),
        "removed"
    );
}
