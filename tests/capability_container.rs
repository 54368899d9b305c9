//! The container-engine interfaces against the real Docker Engine through
//! the fixture plugin (a real component, `mode = "container-call"`): denials
//! reach the user naming what was refused and the grant to add; hostile
//! names are refused; streams go to and from granted files only; lifecycle
//! is seen through inspect; a stack container is created from a checked
//! spec. `capability_container_engine.rs` covers every variant without a
//! plugin; the host-side logic has its unit tests in `runner/src/capability`.

use sha2::{Digest, Sha256};

use crate::support::images::{BUSYBOX, Container, docker, docker_output, unique_name};
use crate::test::Test;

/// A task `t` running one container call with `config` extra keys and `allow` grants.
fn call(config: &str, allow: &str) -> Test {
    Test::new().tasks(&format!(
        "[tasks.t]\nplugin = \"{{fixture}}\"\nconfig = {{ mode = \"container-call\", {config} }}\nallow = {{ {allow} }}\n"
    ))
}

/// Runs task `t`: (success, stdout, stderr).
fn output(test: &Test) -> (bool, String, String) {
    let out = test.command().arg("t").output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn stdout(test: Test) -> String {
    let (ok, stdout, stderr) = output(&test);
    assert!(ok, "{stderr}");
    stdout
}

fn refused(test: Test) -> String {
    let (ok, stdout, stderr) = output(&test);
    assert!(!ok, "succeeded: {stdout}");
    stderr
}

#[test]
fn list_shows_only_granted_containers() {
    let granted = Container::busybox("cap-list-a", &[]);
    let _other = Container::busybox("cap-list-b", &[]);
    let out = stdout(call(
        r#"call = "list", filter = "*""#,
        &format!(r#"containers = ["{}"]"#, granted.name),
    ));
    assert_eq!(out, format!("{} running\n", granted.name));
}

#[test]
fn an_ungranted_container_is_denied_naming_it_and_the_grant_to_add() {
    let c = Container::busybox("cap-denied", &[]);
    let stderr = refused(call(
        &format!(r#"call = "exec", name = "{}", command = ["true"]"#, c.name),
        r#"containers = ["someone-else"]"#,
    ));
    assert!(
        stderr.contains(&format!(
            "container `{}` is not granted to task `t` (allow.containers grants someone-else)",
            c.name
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(r#"allow = {{ containers = ["{}"] }}"#, c.name)),
        "{stderr}"
    );
}

#[test]
fn traversal_names_are_refused_and_the_other_container_is_untouched() {
    let tag = unique_name("cap-trav");
    let app = Container::busybox(&format!("{tag}-app"), &[]);
    let victim = Container::busybox(&format!("{tag}-OTHER"), &[]);
    for name in [
        format!("{tag}-app-/../{}", victim.name),
        format!("{tag}-app%2F..%2F{}", victim.name),
        format!("{tag}-app-x?force=1"),
    ] {
        let stderr = refused(call(
            &format!(r#"call = "stop", name = "{name}""#),
            &format!(r#"containers = ["{tag}-app*"]"#),
        ));
        assert!(stderr.contains("is not a valid container name"), "{stderr}");
    }
    assert_eq!(victim.inspect("{{.State.Status}}"), "running");
    assert_eq!(app.inspect("{{.State.Status}}"), "running");
}

#[test]
fn exec_reads_back_exit_code_stdout_and_stderr() {
    let c = Container::busybox("cap-exec", &[]);
    let out = stdout(call(
        &format!(
            r#"call = "exec", name = "{}", command = ["sh", "-c", "echo out; echo err >&2; exit 3"]"#,
            c.name
        ),
        &format!(r#"containers = ["{}"]"#, c.name),
    ));
    assert!(out.starts_with("exit=3 stdout=\"out\\n\""), "{out}");
    assert!(out.contains("stdout_bytes=4 "), "{out}");
}

#[test]
fn exec_streams_stdout_into_a_granted_file_compressed_and_hashed() {
    let c = Container::busybox("cap-stream", &[]);
    let test = call(
        &format!(
            r#"call = "exec", name = "{}", command = ["seq", "1", "200000"], stdout_file = "out/seq.zst", zstd = true"#,
            c.name
        ),
        &format!(r#"containers = ["{}"], write = ["out"]"#, c.name),
    );
    let (ok, line, stderr) = output(&test);
    assert!(ok, "{stderr}");
    let compressed = std::fs::read(test.path("out/seq.zst")).unwrap();
    let raw = zstd::decode_all(&compressed[..]).unwrap();
    let expected: String = (1..=200_000).map(|n| format!("{n}\n")).collect();
    assert_eq!(raw, expected.as_bytes());
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
}

#[test]
fn exec_streams_stdin_from_a_granted_file() {
    let c = Container::busybox("cap-stdin", &[]);
    let input: String = (0..50_000).map(|n| format!("line {n}\n")).collect();
    let test = call(
        &format!(
            r#"call = "exec", name = "{}", command = ["wc", "-l"], stdin_file = "in/data.zst", zstd = true"#,
            c.name
        ),
        &format!(r#"containers = ["{}"], read = ["in"]"#, c.name),
    )
    .dir("in")
    .tap(|test| {
        let compressed = zstd::encode_all(input.as_bytes(), 3).unwrap();
        std::fs::write(test.path("in/data.zst"), compressed).unwrap();
    });
    let out = stdout(test);
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
        let test = call(
            &format!(
                r#"call = "exec", name = "{}", command = ["echo", "hi"], stdout_file = "{file}""#,
                c.name
            ),
            &format!(r#"containers = ["{}"], {allow}"#, c.name),
        )
        .dir("out");
        let (ok, _, stderr) = output(&test);
        assert!(!ok);
        assert!(stderr.contains(&format!("`{file}`")), "{stderr}");
        assert!(!test.path(file).exists(), "{file}");
        assert!(!test.dir.path().join("../escape.txt").exists());
    }
}

#[test]
fn lifecycle_calls_are_seen_through_inspect() {
    let c = Container::busybox("cap-life", &[]);
    let allow = format!(r#"containers = ["{}"]"#, c.name);
    let run = |call_name: &str| {
        stdout(call(
            &format!(r#"call = "{call_name}", name = "{}", timeout = 1"#, c.name),
            &allow,
        ))
    };
    assert_eq!(run("pause"), "ok\n");
    assert_eq!(c.inspect("{{.State.Status}}"), "paused");
    assert!(
        run("inspect").contains("state=paused"),
        "{}",
        run("inspect")
    );
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
    let stderr = refused(call(
        &format!(
            r#"call = "wait-healthy", name = "{}", timeout = 30"#,
            c.name
        ),
        &format!(r#"containers = ["{}"]"#, c.name),
    ));
    assert!(
        stderr.contains(&format!(
            "container `{}` is unhealthy; last health check: database not ready",
            c.name
        )),
        "{stderr}"
    );
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
    let logs = stdout(call(
        &format!(r#"call = "logs", name = "{}", tail = 10"#, c.name),
        &allow,
    ));
    assert_eq!(logs, "started\n");
    let test = call(
        &format!(
            r#"call = "copy-out", name = "{}", path = "/srv", file = "out/srv.tar""#,
            c.name
        ),
        &allow,
    );
    let (ok, line, stderr) = output(&test);
    assert!(ok, "{stderr}");
    let tar = std::fs::read(test.path("out/srv.tar")).unwrap();
    assert!(line.starts_with(&format!("file {} ", tar.len())), "{line}");
    assert!(tar.windows(7).any(|w| w == b"payload"));
    let copy_in = call(
        &format!(
            r#"call = "copy-in", name = "{}", path = "/tmp", file = "out/srv.tar""#,
            c.name
        ),
        &allow,
    )
    .dir("out");
    std::fs::write(copy_in.path("out/srv.tar"), &tar).unwrap();
    assert_eq!(stdout(copy_in), "ok\n");
    assert_eq!(
        String::from_utf8_lossy(&c.exec(&["cat", "/tmp/srv/file.txt"]).stdout),
        "payload\n"
    );
}

#[test]
fn volumes_of_ungranted_containers_are_denied_and_host_paths_are_not_volumes() {
    let volume = unique_name("cap-vol-denied");
    docker(&["volume", "create", "--label", "run-test=1", &volume]);
    let mut c = Container::run(
        "cap-vol-denied",
        &["-v", &format!("{volume}:/data")],
        BUSYBOX,
        &["sleep", "86400"],
    );
    c.volumes.push(volume.clone());
    let stderr = refused(call(
        &format!(r#"call = "volume-snapshot", volume = "{volume}", file = "out/v.tar""#),
        r#"containers = ["nothing-*"], write = ["out"]"#,
    ));
    assert!(
        stderr.contains(&format!(
            "volume `{volume}` is not granted to task `t` (allow.volumes grants none): no granted container mounts it"
        )),
        "{stderr}"
    );
    for hostile in ["/", "/var/run/docker.sock", "../x"] {
        let stderr = refused(call(
            &format!(r#"call = "volume-snapshot", volume = "{hostile}", file = "out/v.tar""#),
            r#"volumes = ["*"], write = ["out"]"#,
        ));
        assert!(stderr.contains("is not a valid volume name"), "{stderr}");
    }
}

#[test]
fn images_of_granted_containers_can_be_exported_and_others_are_denied() {
    let c = Container::busybox("cap-image", &[]);
    let allow = format!(r#"containers = ["{}"], write = ["out"]"#, c.name);
    assert_eq!(
        stdout(call(r#"call = "image-list""#, &allow)),
        format!("{BUSYBOX}\n")
    );
    let test = call(
        &format!(r#"call = "image-export", image = "{BUSYBOX}", file = "out/image.tar""#),
        &allow,
    );
    let (ok, _, stderr) = output(&test);
    assert!(ok, "{stderr}");
    let tar = std::fs::read(test.path("out/image.tar")).unwrap();
    assert_eq!(archive_names(&tar), serde_json::json!([BUSYBOX]));
    let stderr = refused(call(
        r#"call = "image-inspect", image = "someone/else:1""#,
        &allow,
    ));
    assert!(
        stderr.contains("image `someone/else:1` is not granted to task `t`"),
        "{stderr}"
    );
}

/// The `RepoTags` of a `docker save` archive's one image.
fn archive_names(tar_bytes: &[u8]) -> serde_json::Value {
    let mut archive = tar::Archive::new(tar_bytes);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_str() == Some("manifest.json") {
            let manifest: serde_json::Value = serde_json::from_reader(&mut entry).unwrap();
            assert_eq!(manifest.as_array().map(Vec::len), Some(1), "{manifest}");
            return manifest[0]["RepoTags"].clone();
        }
    }
    panic!("not a docker-save archive: no manifest.json");
}

/// An export names exactly the reference asked for, never the image's
/// other tags (other tasks' names, which an engine may write into its own
/// archive), and no name when asked by ID; `docker load` takes it back.
#[test]
fn an_exported_archive_names_only_the_reference_asked_for() {
    let repository = unique_name("run-test/cap-export");
    let (asked, other) = (format!("{repository}:1"), format!("{repository}-other:1"));
    struct Untag(Vec<String>);
    impl Drop for Untag {
        fn drop(&mut self) {
            for tag in &self.0 {
                let _ = docker_output(&["rmi", tag]);
            }
        }
    }
    let _untag = Untag(vec![asked.clone(), other.clone()]);
    // An image of its own (a label), so its tags are this test's alone.
    let mut build = std::process::Command::new("docker")
        .args(["build", "-q", "-t", &asked, "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = build.stdin.take().unwrap();
        write!(
            stdin,
            "FROM {BUSYBOX}\nLABEL run-test.export={repository}\n"
        )
        .unwrap();
    }
    let built = build.wait_with_output().unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    docker(&["tag", &asked, &other]);
    let id = docker(&["image", "inspect", "-f", "{{.Id}}", &asked]);
    let id = id.trim();
    let id = if id.starts_with("sha256:") {
        id.to_owned()
    } else {
        format!("sha256:{id}")
    };
    let allow = format!(r#"images = ["{asked}"], write = ["out"]"#);
    for (image, names) in [
        (asked.as_str(), serde_json::json!([asked])),
        (id.as_str(), serde_json::json!([])),
    ] {
        let test = call(
            &format!(r#"call = "image-export", image = "{image}", file = "out/image.tar""#),
            &allow,
        );
        let (ok, _, stderr) = output(&test);
        assert!(ok, "{image}: {stderr}");
        let tar = std::fs::read(test.path("out/image.tar")).unwrap();
        assert_eq!(archive_names(&tar), names, "{image}");
        assert!(
            !String::from_utf8_lossy(&tar).contains(&format!("{repository}-other")),
            "{image}: the archive names another tag"
        );
        if image == asked {
            docker(&["rmi", &asked]);
            let path = test.path("out/image.tar");
            docker(&["load", "-i", path.to_str().unwrap()]);
            let loaded = docker(&["image", "inspect", "-f", "{{.Id}}", &asked]);
            assert!(
                id.ends_with(loaded.trim().trim_start_matches("sha256:")),
                "{loaded}"
            );
        }
    }
}

#[test]
fn a_stack_container_needs_every_grant_its_spec_touches() {
    let tag = unique_name("cap-create");
    let name = format!("{tag}-svc");
    let _cleanup = Container {
        name: name.clone(),
        volumes: Vec::new(),
    };
    let allow = format!(r#"containers = ["{tag}-*"], images = ["run-test/*"], networks = ["*"]"#);
    let create = |extra: &str| {
        call(
            &format!(
                r#"call = "create", name = "{name}", image = "{BUSYBOX}", command = ["sleep", "600"]{extra}"#
            ),
            &allow,
        )
    };
    for (extra, refusal) in [
        (
            r#", network_mode = "host""#,
            "namespace `host-network` is not granted",
        ),
        (r#", networks = ["host"]"#, "is not a valid network name"),
        (r#", networks = ["bridge"]"#, "is not a valid network name"),
        (
            r#", security_opt = ["seccomp=unconfined"]"#,
            "security option `seccomp=unconfined` is not granted",
        ),
        (
            r#", cap_add = ["SYS_ADMIN"]"#,
            "capability `SYS_ADMIN` is not granted",
        ),
        (r#", privileged = true"#, "privileged mode is not granted"),
        (
            r#", mounts = ["volume:/:/host"]"#,
            "is not a valid volume name",
        ),
        (
            r#", mounts = ["bind:/:/host"]"#,
            "is not granted to task `t`",
        ),
        (r#", ports = ["80:80"]"#, "host port `80` is not granted"),
    ] {
        let stderr = refused(create(extra));
        assert!(stderr.contains(refusal), "{extra}: {stderr}");
        assert!(
            !docker_output(&["inspect", &name]).status.success(),
            "{extra}: created"
        );
    }
    let out = stdout(create(""));
    assert!(out.starts_with("created "), "{out}");
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.Running}}", &name]).trim(),
        "true"
    );
    assert_eq!(
        stdout(call(
            &format!(r#"call = "remove", name = "{name}""#),
            &allow
        )),
        "ok\n"
    );
    assert!(
        !docker_output(&["inspect", &name]).status.success(),
        "removed"
    );
}

#[test]
fn an_unreachable_engine_names_its_address() {
    let stderr = refused(
        call(r#"call = "list", filter = "*""#, r#"containers = ["*"]"#)
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock"),
    );
    assert!(
        stderr.contains("container engine at unix:///nonexistent/docker.sock")
            && stderr.contains("cannot be reached"),
        "{stderr}"
    );
}
