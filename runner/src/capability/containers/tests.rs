//! The `containers` capability without Docker: resolve, check, act by ID,
//! through the fake engine. Each hostile name variant is refused, and the
//! engine's call log proves what reached it.

use wasmtime::component::Resource;

use super::ContainerHandle;
use crate::capability::engine::HostError;
use crate::capability::engine::fake::{ExecScript, FakeEngine, Rig, containers, id_of};
use crate::grant::{Grant, GrantKind, Object};
use crate::plugin::bindings::containers::{
    ContainerState, ExecRequest, Filter, HealthStatus, Host, HostContainer,
};
use crate::plugin::bindings::engine_types::{Compression, Signal};

fn again(r: &Resource<ContainerHandle>) -> Resource<ContainerHandle> {
    Resource::new_borrow(r.rep())
}

fn request(command: &[&str]) -> ExecRequest {
    ExecRequest {
        command: command.iter().map(|s| (*s).to_owned()).collect(),
        user: None,
        env: Vec::new(),
        workdir: None,
        stdin_file: None,
        stdin_compression: Compression::None,
        stdout_file: None,
        stdout_compression: Compression::None,
        timeout_seconds: None,
    }
}

fn denied(error: HostError) -> crate::grant::Denial {
    match error {
        HostError::Denied(denial) => *denial,
        other => panic!("expected a denial, got {other:?}"),
    }
}

#[tokio::test]
async fn open_resolves_a_granted_name_to_its_id_and_acts_by_id() {
    let mut rig = Rig::new(containers(&["app-*"]));
    let id = rig.fake.container("app-1", "busybox:latest");
    let handle = rig.host.open("app-1".into()).await.unwrap();
    assert_eq!(rig.host.id(again(&handle)).await.unwrap(), id);
    assert_eq!(rig.host.name(again(&handle)).await.unwrap(), "app-1");
    rig.host.stop(again(&handle), Some(1)).await.unwrap();
    assert_eq!(rig.fake.changes(), [format!("stop_container {id} Some(1)")]);
}

#[tokio::test]
async fn hostile_names_are_refused_before_anything_is_looked_up() {
    for name in [
        "app-/../OTHER",
        "app-1/../other",
        "../app-1",
        "/app-1",
        "app-1/",
        "%2e%2e",
        "app-%2e%2e%2fother",
        "app-1?all=1",
        "app-1#x",
        "app-1 x",
        "app-1\n",
        "app-1\0",
        "",
        "a",
        // Cyrillic а (U+0430) in place of a Latin a.
        "\u{430}pp-1",
        "app-\u{0131}",
        "app-1:latest",
        "app-1/db",
    ] {
        let mut rig = Rig::new(containers(&["app-*", "*"]));
        rig.fake.container("app-1", "busybox:latest");
        let error = rig.host.open(name.into()).await.err().unwrap();
        assert!(
            matches!(
                error,
                HostError::InvalidName {
                    object: Object::Container,
                    ..
                }
            ),
            "{name:?}: {error:?}"
        );
        assert!(rig.fake.calls().is_empty(), "{name:?} reached the engine");
    }
}

#[tokio::test]
async fn an_ungranted_name_is_denied_naming_the_grant_without_a_lookup() {
    let mut rig = Rig::new(containers(&["app-*"]));
    rig.fake.container("db", "busybox:latest");
    let denial = denied(rig.host.open("db".into()).await.err().unwrap());
    assert_eq!(denial.object, Object::Container);
    assert_eq!(denial.name, "db");
    assert_eq!(denial.grant, Some(Grant::new(GrantKind::Containers, "db")));
    assert_eq!(denial.granted, ["app-*"]);
    assert!(rig.fake.calls().is_empty(), "no existence oracle");
    // The same answer for a container that does not exist.
    let missing = denied(rig.host.open("nothing".into()).await.err().unwrap());
    assert_eq!(missing.name, "nothing");
}

#[tokio::test]
async fn names_are_case_sensitive() {
    let mut rig = Rig::new(containers(&["app-*"]));
    rig.fake.container("app-1", "busybox:latest");
    assert!(matches!(
        rig.host.open("APP-1".into()).await.err().unwrap(),
        HostError::Denied(_)
    ));
    let mut rig = Rig::new(containers(&["*"]));
    rig.fake.container("app-1", "busybox:latest");
    assert!(matches!(
        rig.host.open("APP-1".into()).await.err().unwrap(),
        HostError::NotFound { .. }
    ));
}

#[tokio::test]
async fn link_aliases_never_count() {
    // `victim` linked into `app-1` as `db` is listed as `/app-1/db` too.
    let mut rig = Rig::new(containers(&["app-*", "db"]));
    rig.fake.container("app-1", "busybox:latest");
    let victim = rig.fake.container("victim", "busybox:latest");
    rig.fake.edit(&victim, |c| {
        c.names = vec!["/app-1/db".into(), "/victim".into()]
    });
    assert!(matches!(
        rig.host.open("app-1/db".into()).await.err().unwrap(),
        HostError::InvalidName { .. }
    ));
    assert!(matches!(
        rig.host.open("db".into()).await.err().unwrap(),
        HostError::NotFound { .. }
    ));
    let listed = rig.host.list(Filter::All).await.unwrap();
    let names: Vec<&str> = listed.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["app-1"]);
}

#[tokio::test]
async fn ids_and_prefixes_resolve_to_the_canonical_name_for_the_grant() {
    let mut rig = Rig::new(containers(&["app-*"]));
    let app = rig.fake.container("app-1", "busybox:latest");
    let other = rig.fake.container("other", "busybox:latest");
    let handle = rig.host.open(app.clone()).await.unwrap();
    assert_eq!(rig.host.name(again(&handle)).await.unwrap(), "app-1");
    let handle = rig.host.open(app[..12].to_owned()).await.unwrap();
    assert_eq!(rig.host.name(again(&handle)).await.unwrap(), "app-1");

    // An ungranted container by ID or prefix: denied by its canonical name.
    for text in [other.clone(), other[..12].to_owned()] {
        let denial = denied(rig.host.open(text.clone()).await.err().unwrap());
        assert_eq!(denial.name, "other");
        assert_eq!(
            denial.grant,
            Some(Grant::new(GrantKind::Containers, "other"))
        );
        assert_eq!(denial.reason, Some(format!("`{text}` is its ID")));
    }
    // Shorter than 12 digits is a name, not a prefix; upper case is a name.
    for text in [app[..11].to_owned(), app[..12].to_ascii_uppercase()] {
        assert!(matches!(
            rig.host.open(text).await.err().unwrap(),
            HostError::Denied(_)
        ));
    }
    let mut rig = Rig::new(containers(&["*"]));
    rig.fake.container("app-1", "busybox:latest");
    assert!(matches!(
        rig.host.open(app[..11].to_owned()).await.err().unwrap(),
        HostError::NotFound { .. }
    ));
}

#[tokio::test]
async fn an_ambiguous_prefix_finds_nothing() {
    let mut rig = Rig::new(containers(&["*"]));
    let a = rig.fake.container("app-1", "busybox:latest");
    let b = rig.fake.container("app-2", "busybox:latest");
    let shared = "0123456789ab";
    rig.fake
        .edit(&a, |c| c.id = format!("{shared}{}", &id_of("a")[12..]));
    rig.fake
        .edit(&b, |c| c.id = format!("{shared}{}", &id_of("b")[12..]));
    assert!(matches!(
        rig.host.open(shared.into()).await.err().unwrap(),
        HostError::NotFound { .. }
    ));
    assert!(
        rig.host
            .open(format!("{shared}{}", &id_of("a")[12..14]))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_handle_acts_on_its_container_not_a_namesake() {
    let mut rig = Rig::new(containers(&["app-*"]));
    let first = rig.fake.container("app-1", "busybox:latest");
    let handle = rig.host.open("app-1".into()).await.unwrap();
    // Removed and recreated under the same name by someone else.
    rig.fake.state.lock().unwrap().containers.clear();
    let second = rig.fake.container("app-1", "busybox:latest");
    rig.fake.edit(&second, |c| c.id = id_of("second"));
    let error = rig
        .host
        .kill(again(&handle), Signal::Sigkill)
        .await
        .err()
        .unwrap();
    assert!(matches!(error, HostError::NotFound { .. }), "{error:?}");
    assert_eq!(
        rig.fake.changes(),
        [format!("kill_container {first} SIGKILL")]
    );
}

#[tokio::test]
async fn list_filters_granted_containers_only() {
    let mut rig = Rig::new(containers(&["app-*"]));
    let a = rig.fake.container("app-b", "busybox:latest");
    rig.fake.container("app-a", "busybox:latest");
    rig.fake.container("db", "busybox:latest");
    rig.fake.edit(&a, |c| {
        c.labels
            .insert("com.docker.compose.project".into(), "shop".into());
    });
    let names = |list: Vec<crate::plugin::bindings::containers::ContainerSummary>| {
        list.into_iter().map(|c| c.name).collect::<Vec<_>>()
    };
    assert_eq!(
        names(rig.host.list(Filter::All).await.unwrap()),
        ["app-a", "app-b"]
    );
    assert_eq!(
        names(
            rig.host
                .list(Filter::ComposeProject("shop".into()))
                .await
                .unwrap()
        ),
        ["app-b"]
    );
    assert_eq!(
        names(rig.host.list(Filter::Name("*-a".into())).await.unwrap()),
        ["app-a"]
    );
    // A filter cannot widen the grant, and a hostile one is refused.
    assert!(names(rig.host.list(Filter::Name("d*".into())).await.unwrap()).is_empty());
    assert!(matches!(
        rig.host
            .list(Filter::Name("../*".into()))
            .await
            .err()
            .unwrap(),
        HostError::InvalidName { .. }
    ));
    let listed = rig.host.list(Filter::All).await.unwrap();
    assert_eq!(listed[0].state, ContainerState::Running);
}

#[tokio::test]
async fn every_change_is_refused_under_plan_and_named() {
    let fake = FakeEngine::new();
    fake.container("app-1", "busybox:latest");
    let mut rig = Rig::with(containers(&["app-*"]), fake, true);
    let h = rig.host.open("app-1".into()).await.unwrap();
    let host = &mut rig.host;
    let errors = [
        ("container.start", host.start(again(&h)).await.err()),
        ("container.stop", host.stop(again(&h), None).await.err()),
        (
            "container.restart",
            host.restart(again(&h), None).await.err(),
        ),
        (
            "container.kill",
            host.kill(again(&h), Signal::Sigterm).await.err(),
        ),
        ("container.pause", host.pause(again(&h)).await.err()),
        ("container.unpause", host.unpause(again(&h)).await.err()),
        ("container.remove", host.remove(again(&h)).await.err()),
        (
            "container.exec",
            host.exec(again(&h), request(&["true"])).await.err(),
        ),
        (
            "container.copy-in",
            host.copy_in(again(&h), "/".into(), "in/x.tar".into(), Compression::None)
                .await
                .err(),
        ),
        (
            "container.copy-out",
            host.copy_out(again(&h), "/".into(), "out/x.tar".into(), Compression::None)
                .await
                .err(),
        ),
    ];
    for (call, error) in errors {
        match error {
            Some(HostError::Unsupported(message)) => {
                assert!(message.starts_with(call), "{message}");
                assert!(message.contains("run --plan"), "{message}");
            }
            other => panic!("{call}: {other:?}"),
        }
    }
    assert!(rig.fake.changes().is_empty(), "{:?}", rig.fake.changes());
    // Reading is fine.
    assert!(rig.host.inspect(again(&h)).await.is_ok());
}

#[tokio::test]
async fn exec_captures_output_and_reads_back_the_exit_code() {
    let fake = FakeEngine::new().scripted(|_| ExecScript {
        stdout: b"out\n".to_vec(),
        stderr: b"err".to_vec(),
        exit_code: 3,
        hang: false,
    });
    fake.container("app-1", "busybox:latest");
    let mut rig = Rig::with(containers(&["app-*"]), fake, false);
    let h = rig.host.open("app-1".into()).await.unwrap();
    let result = rig
        .host
        .exec(again(&h), request(&["sh", "-c", "x"]))
        .await
        .unwrap();
    assert_eq!(result.exit_code, 3);
    assert_eq!(result.stdout, b"out\n");
    assert_eq!(result.stderr, b"err");
    assert_eq!(result.stdout_bytes, 4);
    assert_eq!(result.stdout_tail, b"out\n");
    assert!(result.file.is_none());
}

#[tokio::test]
async fn exec_streams_stdout_into_a_granted_file_compressed_and_hashed() {
    use sha2::Digest;
    let output: Vec<u8> = (0..5000)
        .flat_map(|n| format!("{n}\n").into_bytes())
        .collect();
    let expected = output.clone();
    let fake = FakeEngine::new().scripted(move |_| ExecScript {
        stdout: output.clone(),
        ..Default::default()
    });
    fake.container("app-1", "busybox:latest");
    let mut rig = Rig::with(containers(&["app-*"]), fake, false);
    std::fs::write(rig.path("in/data"), b"stdin bytes").unwrap();
    let h = rig.host.open("app-1".into()).await.unwrap();
    let mut req = request(&["seq"]);
    req.stdout_file = Some("out/seq.zst".into());
    req.stdout_compression = Compression::Zstd;
    req.stdin_file = Some("in/data".into());
    let result = rig.host.exec(again(&h), req).await.unwrap();
    let written = std::fs::read(rig.path("out/seq.zst")).unwrap();
    assert_eq!(zstd::decode_all(&written[..]).unwrap(), expected);
    let info = result.file.unwrap();
    assert_eq!(info.bytes, written.len() as u64);
    assert_eq!(info.sha256, hex::encode(sha2::Sha256::digest(&written)));
    assert_eq!(result.stdout_bytes, expected.len() as u64);
    assert!(result.stdout_tail.ends_with(b"4998\n4999\n"));
    let stdin = rig
        .fake
        .state
        .lock()
        .unwrap()
        .execs
        .values()
        .next()
        .unwrap()
        .stdin
        .clone();
    assert_eq!(&*stdin.lock().unwrap(), b"stdin bytes");
}

#[tokio::test]
async fn exec_files_outside_the_grants_are_denied_naming_the_grant() {
    let mut rig = Rig::new(containers(&["app-*"]));
    rig.fake.container("app-1", "busybox:latest");
    let h = rig.host.open("app-1".into()).await.unwrap();
    let cases = [
        (
            "elsewhere/x.txt",
            Some(Grant::new(GrantKind::Write, "elsewhere")),
        ),
        ("in/x.txt", Some(Grant::new(GrantKind::Write, "in"))),
        ("out/../../x.txt", None),
    ];
    for (file, grant) in cases {
        let mut req = request(&["echo"]);
        req.stdout_file = Some(file.into());
        let denial = denied(rig.host.exec(again(&h), req).await.err().unwrap());
        assert_eq!(denial.object, Object::File);
        assert_eq!(denial.name, file);
        assert_eq!(denial.grant, grant, "{file}");
    }
    assert!(!rig.dir.path().join("x.txt").exists());
    assert!(rig.fake.changes().is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_exec_timeout_kills_the_command_and_leaves_no_file() {
    let fake = FakeEngine::new().scripted(|_| ExecScript {
        stdout: b"partial".to_vec(),
        hang: true,
        ..Default::default()
    });
    fake.container("app-1", "busybox:latest");
    let mut rig = Rig::with(containers(&["app-*"]), fake, false);
    let h = rig.host.open("app-1".into()).await.unwrap();
    let mut req = request(&["sleep", "1000"]);
    req.timeout_seconds = Some(2);
    req.stdout_file = Some("out/dump".into());
    let error = rig.host.exec(again(&h), req).await.err().unwrap();
    match error {
        HostError::Timeout { operation, limit } => {
            assert_eq!(limit, std::time::Duration::from_secs(2));
            assert!(operation.contains("it was killed"), "{operation}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!rig.path("out/dump").exists(), "no partial file");
    let calls = rig.fake.calls();
    // The first exec asked for a shell (the image has none).
    let sleep_pid = 100 + 2;
    assert!(
        calls
            .iter()
            .any(|c| c.ends_with(&format!("kill -KILL {sleep_pid}"))),
        "{calls:?}"
    );
    let state = rig.fake.state.lock().unwrap();
    assert!(state.execs.values().all(|e| !e.running));
}

#[tokio::test(start_paused = true)]
async fn an_exec_timeout_on_a_remote_engine_says_the_command_is_left_running() {
    let fake = FakeEngine::new().scripted(|_| ExecScript {
        hang: true,
        ..Default::default()
    });
    fake.container("app-1", "busybox:latest");
    fake.state.lock().unwrap().local = false;
    let mut rig = Rig::with(containers(&["app-*"]), fake, false);
    let h = rig.host.open("app-1".into()).await.unwrap();
    let mut req = request(&["sleep", "1000"]);
    req.timeout_seconds = Some(1);
    let error = rig.host.exec(again(&h), req).await.err().unwrap();
    assert!(
        error
            .to_string()
            .contains("it is left running until it exits"),
        "{error}"
    );
}

#[tokio::test]
async fn wait_healthy_reports_the_last_failing_check() {
    let mut rig = Rig::new(containers(&["app-*"]));
    let id = rig.fake.container("app-1", "busybox:latest");
    rig.fake.edit(&id, |c| {
        c.health = Some(bollard::models::HealthStatusEnum::UNHEALTHY);
        c.health_output = "database not ready\n".into();
    });
    let h = rig.host.open("app-1".into()).await.unwrap();
    let error = rig.host.wait_healthy(again(&h), 5).await.err().unwrap();
    assert_eq!(
        error.to_string(),
        "container `app-1` is unhealthy; last health check: database not ready"
    );
    rig.fake.edit(&id, |c| {
        c.health = Some(bollard::models::HealthStatusEnum::HEALTHY)
    });
    let health = rig.host.wait_healthy(again(&h), 5).await.unwrap();
    assert_eq!(health.status, HealthStatus::Healthy);
}

/// A fake Podman with container `app-1`, `starting` until its health check
/// (every `interval` seconds) runs: then `result`. Its ID.
fn podman_starting(rig: &Rig, result: bollard::models::HealthStatusEnum, interval: i64) -> String {
    rig.fake.state.lock().unwrap().product = "Podman Engine".into();
    let id = rig.fake.container("app-1", "busybox:latest");
    rig.fake.edit(&id, |c| {
        c.health = Some(bollard::models::HealthStatusEnum::STARTING);
        c.healthcheck = Some(bollard::models::HealthConfig {
            test: Some(vec!["CMD".into(), "pg_isready".into()]),
            interval: Some(interval * 1_000_000_000),
            ..Default::default()
        });
        c.check_result = Some(result);
    });
    id
}

fn health_checks_run(rig: &Rig, id: &str) -> usize {
    let call = format!("run_health_check {id}");
    rig.fake.calls().iter().filter(|c| **c == call).count()
}

#[tokio::test(start_paused = true)]
async fn on_podman_wait_healthy_runs_the_health_check_itself_by_id() {
    let mut rig = Rig::new(containers(&["app-*"]));
    let id = podman_starting(&rig, bollard::models::HealthStatusEnum::HEALTHY, 1);
    let h = rig.host.open("app-1".into()).await.unwrap();
    let start = tokio::time::Instant::now();
    let health = rig.host.wait_healthy(again(&h), 30).await.unwrap();
    assert_eq!(health.status, HealthStatus::Healthy);
    assert_eq!(health_checks_run(&rig, &id), 1);
    // Due one interval after the wait began (the fake reports no start time).
    let waited = start.elapsed();
    assert!(
        waited >= std::time::Duration::from_secs(1) && waited < std::time::Duration::from_secs(2),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn on_podman_health_checks_run_at_their_interval_and_no_more() {
    let mut rig = Rig::new(containers(&["app-*"]));
    // A check that keeps failing in its start period: still `starting`.
    let id = podman_starting(&rig, bollard::models::HealthStatusEnum::STARTING, 2);
    let h = rig.host.open("app-1".into()).await.unwrap();
    let error = rig.host.wait_healthy(again(&h), 7).await.err().unwrap();
    assert!(matches!(error, HostError::Timeout { .. }), "{error}");
    // At 2, 4 and 6 s.
    assert_eq!(health_checks_run(&rig, &id), 3);
    // Polls (a zero timeout, as quickstart polls) share the schedule: none is due yet.
    rig.host.wait_healthy(again(&h), 0).await.err().unwrap();
    assert_eq!(health_checks_run(&rig, &id), 3);
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    rig.host.wait_healthy(again(&h), 0).await.err().unwrap();
    assert_eq!(health_checks_run(&rig, &id), 4);
}

#[tokio::test(start_paused = true)]
async fn on_docker_the_engine_runs_its_own_health_checks() {
    let mut rig = Rig::new(containers(&["app-*"]));
    let id = podman_starting(&rig, bollard::models::HealthStatusEnum::HEALTHY, 1);
    rig.fake.state.lock().unwrap().product = "Engine".into();
    let h = rig.host.open("app-1".into()).await.unwrap();
    let error = rig.host.wait_healthy(again(&h), 3).await.err().unwrap();
    assert_eq!(
        error.to_string(),
        "waiting for container `app-1` to be healthy (it is starting; last health check: ) did not finish within 3s"
    );
    assert_eq!(health_checks_run(&rig, &id), 0);
}

#[tokio::test(start_paused = true)]
async fn on_podman_a_container_without_a_health_check_is_not_checked() {
    let mut rig = Rig::new(containers(&["app-*"]));
    rig.fake.state.lock().unwrap().product = "Podman Engine".into();
    let id = rig.fake.container("app-1", "busybox:latest");
    let h = rig.host.open("app-1".into()).await.unwrap();
    let health = rig.host.wait_healthy(again(&h), 3).await.unwrap();
    assert_eq!(health.status, HealthStatus::None);
    assert_eq!(health_checks_run(&rig, &id), 0);
}

#[tokio::test]
async fn logs_are_capped_to_their_last_mebibyte() {
    let mut rig = Rig::new(containers(&["app-*"]));
    rig.fake.container("app-1", "busybox:latest");
    let mut logs = vec![b'a'; super::LOGS_LIMIT];
    logs.extend_from_slice(b"the end\n");
    rig.fake.state.lock().unwrap().logs = logs;
    let h = rig.host.open("app-1".into()).await.unwrap();
    let text = rig.host.logs(again(&h), 100).await.unwrap();
    assert_eq!(text.len(), super::LOGS_LIMIT);
    assert!(text.ends_with("the end\n"));
}

#[tokio::test]
async fn copy_out_writes_a_granted_file_and_removes_it_when_the_stream_fails() {
    let mut rig = Rig::new(containers(&["app-*"]));
    let id = rig.fake.container("app-1", "busybox:latest");
    rig.fake
        .state
        .lock()
        .unwrap()
        .archives
        .insert("/srv".into(), b"tar bytes".to_vec());
    let h = rig.host.open("app-1".into()).await.unwrap();
    let info = rig
        .host
        .copy_out(
            again(&h),
            "/srv".into(),
            "out/srv.tar".into(),
            Compression::None,
        )
        .await
        .unwrap();
    assert_eq!(info.bytes, 9);
    assert_eq!(
        std::fs::read(rig.path("out/srv.tar")).unwrap(),
        b"tar bytes"
    );
    // The container path is a query parameter, whatever it holds.
    let hostile = "/x?y#z/../..";
    assert!(
        rig.host
            .copy_out(
                again(&h),
                hostile.into(),
                "out/bad.tar".into(),
                Compression::None
            )
            .await
            .is_err()
    );
    assert!(!rig.path("out/bad.tar").exists());
    assert!(
        rig.fake
            .calls()
            .contains(&format!("download {id} {hostile}"))
    );
}

#[tokio::test]
async fn copy_in_streams_a_granted_file_decompressed() {
    let mut rig = Rig::new(containers(&["app-*"]));
    let id = rig.fake.container("app-1", "busybox:latest");
    std::fs::write(
        rig.path("in/x.tar.zst"),
        zstd::encode_all(&b"tar"[..], 3).unwrap(),
    )
    .unwrap();
    let h = rig.host.open("app-1".into()).await.unwrap();
    rig.host
        .copy_in(
            again(&h),
            "/tmp".into(),
            "in/x.tar.zst".into(),
            Compression::Zstd,
        )
        .await
        .unwrap();
    let uploads = rig.fake.state.lock().unwrap().uploads.clone();
    assert_eq!(uploads, [(id, "/tmp".to_owned(), b"tar".to_vec())]);
}

#[tokio::test(start_paused = true)]
async fn a_dropped_exec_call_kills_its_command() {
    let fake = FakeEngine::new().scripted(|_| ExecScript {
        hang: true,
        ..Default::default()
    });
    fake.container("app-1", "busybox:latest");
    let mut rig = Rig::with(containers(&["app-*"]), fake, false);
    let h = rig.host.open("app-1".into()).await.unwrap();
    // The task's timeout or Ctrl-C drops the call.
    let call = rig.host.exec(again(&h), request(&["sleep", "1000"]));
    assert!(
        tokio::time::timeout(std::time::Duration::from_secs(5), call)
            .await
            .is_err()
    );
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    let calls = rig.fake.calls();
    assert!(
        calls.iter().any(|c| c.ends_with("kill -KILL 102")),
        "{calls:?}"
    );
    let state = rig.fake.state.lock().unwrap();
    assert!(state.execs.values().all(|e| !e.running));
}

#[tokio::test]
async fn a_command_without_stdin_runs_under_the_watchdog_when_the_image_has_a_shell() {
    let fake = FakeEngine::new().scripted(|command| ExecScript {
        stdout: command.join(" ").into_bytes(),
        exit_code: 3,
        ..Default::default()
    });
    fake.state.lock().unwrap().shell = true;
    let id = fake.container("app-1", "busybox:latest");
    let mut rig = Rig::with(containers(&["app-*"]), fake, false);
    let h = rig.host.open("app-1".into()).await.unwrap();
    for _ in 0..2 {
        let result = rig
            .host
            .exec(again(&h), request(&["pg_dump", "demo"]))
            .await
            .unwrap();
        // The command, its output and exit code are the command's own.
        assert_eq!(
            (result.stdout, result.exit_code),
            (b"pg_dump demo".to_vec(), 3)
        );
    }
    let calls = rig.fake.calls();
    let creates: Vec<&String> = calls
        .iter()
        .filter(|c| c.starts_with("create_exec"))
        .collect();
    assert_eq!(creates.len(), 3, "one probe for the container: {creates:?}");
    assert_eq!(creates[0], &format!("create_exec {id} sh -c exit 0"));
    assert_eq!(
        creates[1],
        &format!(
            "create_exec {id} sh -c {} sh pg_dump demo",
            super::exec::WATCHDOG
        )
    );
    let state = rig.fake.state.lock().unwrap();
    let watched = state
        .execs
        .values()
        .filter(|e| e.config.attach_stdin == Some(true))
        .count();
    assert_eq!(watched, 2, "the watchdog holds the exec's stdin");
}

#[tokio::test(start_paused = true)]
async fn a_dropped_exec_call_stops_its_command_through_the_watchdog_on_a_remote_engine() {
    // The host cannot see a remote engine's processes to kill one; closing
    // the exec's connection is what stops the command, as when `run` dies.
    let fake = FakeEngine::new().scripted(|_| ExecScript {
        hang: true,
        ..Default::default()
    });
    {
        let mut state = fake.state.lock().unwrap();
        state.shell = true;
        state.local = false;
    }
    fake.container("app-1", "busybox:latest");
    let mut rig = Rig::with(containers(&["app-*"]), fake, false);
    let h = rig.host.open("app-1".into()).await.unwrap();
    let call = rig.host.exec(again(&h), request(&["pg_dump", "demo"]));
    assert!(
        tokio::time::timeout(std::time::Duration::from_secs(5), call)
            .await
            .is_err()
    );
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    let state = rig.fake.state.lock().unwrap();
    assert!(state.execs.values().all(|e| !e.running));
    assert!(
        state.execs.values().any(|e| e.exit_code == Some(137)),
        "killed by the watchdog"
    );
}

#[test]
fn the_watchdog_kills_its_command_when_stdin_closes_and_keeps_its_exit_code() {
    // The script itself, run by the host's `sh`: stdin closed early kills a
    // long command; a command that ends first keeps its status and output.
    use std::io::Write;
    use std::process::{Command, Stdio};
    let start = std::time::Instant::now();
    let mut child = Command::new("sh")
        .args(["-c", super::exec::WATCHDOG, "sh", "sleep", "30"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdin.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(137));
    assert!(start.elapsed() < std::time::Duration::from_secs(5));

    let mut child = Command::new("sh")
        .args([
            "-c",
            super::exec::WATCHDOG,
            "sh",
            "sh",
            "-c",
            "read x; echo out; exit 4",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // The command's own stdin is /dev/null: it reads EOF, not this line.
    stdin.write_all(b"ignored\n").unwrap();
    let output = child.wait_with_output().unwrap();
    drop(stdin);
    assert_eq!(output.status.code(), Some(4));
    assert_eq!(output.stdout, b"out\n");
}

#[test]
fn the_watchdog_kills_the_commands_children_too() {
    // pg_dumpall's pg_dump: killed first, reaped by its parent, so nothing
    // is orphaned to the container's PID 1.
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("grandchild");
    let script = format!("sleep 30 & echo $! > {}; wait", pid_file.display());
    let mut child = Command::new("sh")
        .args(["-c", super::exec::WATCHDOG, "sh", "sh", "-c", &script])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let grandchild = loop {
        if let Ok(text) = std::fs::read_to_string(&pid_file)
            && text.ends_with('\n')
        {
            break text.trim().to_owned();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    drop(child.stdin.take());
    child.wait().unwrap();
    let gone = (0..100).any(|_| {
        let state = std::fs::read_to_string(format!("/proc/{grandchild}/stat"));
        let dead = state.map_or(true, |s| s.contains(") Z "));
        if !dead {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        dead
    });
    assert!(
        gone,
        "the command's child {grandchild} outlived the watchdog"
    );
}

#[test]
fn bounded_input_ends_at_the_files_length_with_stdin_still_open() {
    // The script itself, run by the host's `sh`: the command sees its input
    // end after LENGTH bytes although the exec's stdin stays open, and its
    // exit code is the command's.
    use std::io::{Read, Write};
    use std::process::{Command, Stdio};
    let run = |command: &[&str]| {
        let mut args = vec!["-c", super::exec::BOUNDED, "sh", "10"];
        args.extend_from_slice(command);
        let mut child = Command::new("sh")
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"0123456789").unwrap();
        stdin.flush().unwrap();
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        let status = child.wait().unwrap();
        drop(stdin);
        (status.code(), out)
    };
    assert_eq!(run(&["cat"]), (Some(0), "0123456789".to_owned()));
    assert_eq!(
        run(&["sh", "-c", "cat >/dev/null; echo read; exit 7"]),
        (Some(7), "read\n".to_owned())
    );
}
