//! The `volumes` capability without Docker.

use bollard::models::{ContainerStateStatusEnum, MountType};

use crate::capability::engine::HostError;
use crate::capability::engine::fake::{FakeEngine, Rig, containers};
use crate::grant::{Grant, GrantKind, Grants, Object, Patterns};
use crate::plugin::bindings::engine_types::Compression;
use crate::plugin::bindings::volumes::Host;

/// `app-1` (granted by `app-*`) mounts `pgdata`; `other` mounts `secret`.
fn rig(grants: Grants, plan: bool) -> Rig {
    let fake = FakeEngine::new();
    let app = fake.container("app-1", "run-test/postgres:15");
    fake.edit(&app, |c| {
        c.mounts = vec![(
            "volume".into(),
            "pgdata".into(),
            "/var/lib/postgresql".into(),
        )];
    });
    let other = fake.container("other", "busybox:latest");
    fake.edit(&other, |c| {
        c.mounts = vec![("volume".into(), "secret".into(), "/data".into())];
    });
    fake.volume("pgdata");
    fake.volume("secret");
    fake.volume("loose");
    fake.state
        .lock()
        .unwrap()
        .archives
        .insert("/run-volume".into(), b"volume tar".to_vec());
    Rig::with(grants, fake, plan)
}

fn with_volumes(volumes: &[&str]) -> Grants {
    Grants {
        volumes: Patterns::of(volumes),
        ..containers(&["app-*"])
    }
}

#[tokio::test]
async fn a_volume_of_a_granted_container_is_snapshotted_through_a_typed_mount_helper() {
    let mut rig = rig(containers(&["app-*"]), false);
    let info = rig
        .host
        .snapshot("pgdata".into(), "out/pg.tar".into(), Compression::None)
        .await
        .unwrap();
    assert_eq!(info.bytes, 10);
    assert_eq!(
        std::fs::read(rig.path("out/pg.tar")).unwrap(),
        b"volume tar"
    );
    let image_id = rig.fake.image("run-test/postgres:15");
    let state = rig.fake.state.lock().unwrap();
    let (_, body) = &state.created[0];
    assert_eq!(
        body.image.as_deref(),
        Some(image_id.as_str()),
        "by image ID"
    );
    let host = body.host_config.as_ref().unwrap();
    assert!(host.binds.is_none(), "never a bind");
    let mount = &host.mounts.as_ref().unwrap()[0];
    assert_eq!(mount.typ, Some(MountType::VOLUME));
    assert_eq!(mount.source.as_deref(), Some("pgdata"));
    assert_eq!(host.network_mode.as_deref(), Some("none"));
    // The helper is gone.
    assert!(
        state
            .containers
            .iter()
            .all(|c| !c.labels.contains_key("run.helper"))
    );
}

#[tokio::test]
async fn hostile_volume_names_never_reach_the_engine_even_under_a_star_grant() {
    for name in [
        "/",
        "/etc",
        "/var/run/docker.sock",
        "..",
        "../pgdata",
        "pgdata/..",
        "%2e%2e",
        "pgdata?x",
        "pgdata#x",
        "pg data",
        "pgd\u{430}ta",
        "",
    ] {
        let mut rig = rig(with_volumes(&["*"]), false);
        let error = rig
            .host
            .snapshot(name.into(), "out/x.tar".into(), Compression::None)
            .await
            .err()
            .unwrap();
        assert!(
            matches!(
                error,
                HostError::InvalidName {
                    object: Object::Volume,
                    ..
                }
            ),
            "{name:?}: {error:?}"
        );
        for call in [
            rig.host.create(name.into(), Vec::new()).await.err(),
            rig.host.remove(name.into()).await.err(),
            rig.host
                .restore(name.into(), "in/x".into(), Compression::None)
                .await
                .err(),
        ] {
            assert!(
                matches!(call, Some(HostError::InvalidName { .. })),
                "{name:?}"
            );
        }
        assert!(rig.fake.calls().is_empty(), "{name:?} reached the engine");
    }
}

#[tokio::test]
async fn a_volume_nobody_granted_mounts_is_denied_whether_or_not_it_exists() {
    let mut rig = rig(containers(&["app-*"]), false);
    for name in ["secret", "loose", "nothing"] {
        let error = rig
            .host
            .snapshot(name.into(), "out/x.tar".into(), Compression::None)
            .await
            .err()
            .unwrap();
        let HostError::Denied(denial) = error else {
            panic!("{name}: {error:?}")
        };
        assert_eq!(denial.object, Object::Volume);
        assert_eq!(denial.grant, Some(Grant::new(GrantKind::Volumes, name)));
        assert_eq!(
            denial.reason.as_deref(),
            Some("no granted container mounts it")
        );
    }
    assert!(rig.fake.changes().is_empty());
    assert!(
        !rig.fake.calls().contains(&"list_volumes".to_owned()),
        "no existence oracle"
    );
}

#[tokio::test]
async fn a_granted_volume_that_does_not_exist_is_not_found() {
    let mut rig = rig(with_volumes(&["demo-*"]), false);
    let error = rig
        .host
        .snapshot("demo-x".into(), "out/x.tar".into(), Compression::None)
        .await
        .err()
        .unwrap();
    assert!(
        matches!(
            error,
            HostError::NotFound {
                object: Object::Volume,
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn restore_is_refused_while_any_running_container_mounts_the_volume() {
    let mut rig = rig(with_volumes(&["secret"]), false);
    std::fs::write(rig.path("in/v.tar"), b"new contents").unwrap();
    let error = rig
        .host
        .restore("secret".into(), "in/v.tar".into(), Compression::None)
        .await
        .err()
        .unwrap();
    assert_eq!(
        error.to_string(),
        "volume `secret` is in use by running a container this task is not granted; stop it first"
    );
    let error = rig
        .host
        .restore("pgdata".into(), "in/v.tar".into(), Compression::None)
        .await
        .err()
        .unwrap();
    assert_eq!(
        error.to_string(),
        "volume `pgdata` is in use by running container `app-1`; stop it first"
    );
    assert!(rig.fake.changes().is_empty());

    let app = crate::capability::engine::fake::id_of("app-1");
    rig.fake
        .edit(&app, |c| c.state = ContainerStateStatusEnum::EXITED);
    rig.host
        .restore("pgdata".into(), "in/v.tar".into(), Compression::None)
        .await
        .unwrap();
    let state = rig.fake.state.lock().unwrap();
    let (_, body) = &state.created[0];
    let command = body.cmd.clone().unwrap().join(" ");
    assert!(
        command.starts_with("sh -c cd /run-volume && rm -rf"),
        "{command}"
    );
    assert_eq!(state.uploads.len(), 1);
    assert_eq!(state.uploads[0].1, "/");
    assert_eq!(state.uploads[0].2, b"new contents");
    assert!(
        state
            .containers
            .iter()
            .all(|c| !c.labels.contains_key("run.helper"))
    );
}

#[tokio::test]
async fn create_and_remove_need_allow_volumes() {
    let mut rig = rig(containers(&["app-*"]), false);
    // Mounted by a granted container: reachable, but not removable.
    let HostError::Denied(denial) = rig.host.remove("pgdata".into()).await.err().unwrap() else {
        panic!()
    };
    assert_eq!(denial.grant, Some(Grant::new(GrantKind::Volumes, "pgdata")));
    assert!(matches!(
        rig.host.create("demo-data".into(), Vec::new()).await.err(),
        Some(HostError::Denied(_))
    ));
    assert!(rig.fake.calls().is_empty());

    let mut rig = self::rig(with_volumes(&["demo-*", "pgdata"]), false);
    assert!(
        rig.host
            .create("demo-data".into(), Vec::new())
            .await
            .unwrap()
    );
    assert!(
        !rig.host
            .create("demo-data".into(), Vec::new())
            .await
            .unwrap()
    );
    rig.host.remove("demo-data".into()).await.unwrap();
    let error = rig.host.remove("pgdata".into()).await.err().unwrap();
    assert!(matches!(error, HostError::Conflict(_)), "in use: {error:?}");
    let error = rig.host.remove("demo-gone".into()).await.err().unwrap();
    assert!(matches!(error, HostError::NotFound { .. }), "{error:?}");
}

#[tokio::test]
async fn list_shows_reachable_volumes_with_their_granted_users() {
    let mut rig = rig(with_volumes(&["loose"]), false);
    let list = rig.host.list().await.unwrap();
    let rows: Vec<(&str, Vec<String>)> = list
        .iter()
        .map(|v| (v.name.as_str(), v.used_by.clone()))
        .collect();
    assert_eq!(
        rows,
        [("loose", vec![]), ("pgdata", vec!["app-1".to_owned()])]
    );
}

#[tokio::test]
async fn changes_are_refused_under_plan() {
    let mut rig = rig(with_volumes(&["demo-*"]), true);
    let errors = [
        (
            "volumes.snapshot",
            rig.host
                .snapshot("pgdata".into(), "out/x".into(), Compression::None)
                .await
                .err(),
        ),
        (
            "volumes.restore",
            rig.host
                .restore("pgdata".into(), "in/x".into(), Compression::None)
                .await
                .err(),
        ),
        (
            "volumes.create",
            rig.host.create("demo-x".into(), Vec::new()).await.err(),
        ),
        (
            "volumes.remove",
            rig.host.remove("demo-x".into()).await.err(),
        ),
    ];
    for (call, error) in errors {
        match error {
            Some(HostError::Unsupported(message)) => {
                assert!(message.starts_with(call), "{message}")
            }
            other => panic!("{call}: {other:?}"),
        }
    }
    assert!(rig.fake.changes().is_empty());
}

#[tokio::test]
async fn on_podman_volumes_are_archived_through_a_running_helper() {
    let mut rig = rig(containers(&["app-*"]), false);
    rig.fake.state.lock().unwrap().product = "Podman Engine".into();
    let info = rig
        .host
        .snapshot("pgdata".into(), "out/pg.tar".into(), Compression::None)
        .await
        .unwrap();
    assert_eq!(info.bytes, 10);
    let app = crate::capability::engine::fake::id_of("app-1");
    rig.fake
        .edit(&app, |c| c.state = ContainerStateStatusEnum::EXITED);
    std::fs::write(rig.path("in/v.tar"), b"new contents").unwrap();
    rig.host
        .restore("pgdata".into(), "in/v.tar".into(), Compression::None)
        .await
        .unwrap();

    let state = rig.fake.state.lock().unwrap();
    let commands: Vec<String> = state
        .created
        .iter()
        .map(|(_, body)| body.cmd.clone().unwrap_or_default().join(" "))
        .collect();
    // The snapshot's helper sleeps; the restore empties with one and
    // uploads through another that sleeps.
    assert_eq!(commands[0], "sleep 3600");
    assert!(commands[1].starts_with("sh -c cd /run-volume && rm -rf"));
    assert_eq!(commands[2], "sleep 3600");
    for (_, body) in &state.created {
        assert_eq!(body.stop_signal.as_deref(), Some("SIGKILL"));
    }
    // Each archive call reaches a helper that was started first.
    let calls: Vec<&String> = state
        .calls
        .iter()
        .filter(|c| {
            c.starts_with("start_container") || c.starts_with("download") || c.starts_with("upload")
        })
        .collect();
    let id = |call: &str| call.split(' ').nth(1).unwrap().to_owned();
    assert_eq!(calls.len(), 5, "{calls:?}");
    assert!(calls[0].starts_with("start_container") && calls[1].starts_with("download"));
    assert_eq!(id(calls[0]), id(calls[1]));
    assert!(calls[4].starts_with("upload") && calls[3].starts_with("start_container"));
    assert_eq!(id(calls[3]), id(calls[4]));
    assert_eq!(state.uploads[0].2, b"new contents");
    assert!(
        state
            .containers
            .iter()
            .all(|c| !c.labels.contains_key("run.helper"))
    );
}
