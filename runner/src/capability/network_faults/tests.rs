//! The `network-faults` capability without Docker.

use wasmtime::component::Resource;

use crate::capability::containers::ContainerHandle;
use crate::capability::engine::HostError;
use crate::capability::engine::fake::{FakeEngine, Rig, containers};
use crate::grant::{Grant, GrantKind, Grants, Object, Patterns};
use crate::plugin::bindings::engine_types::Error as EngineError;
use crate::plugin::bindings::network_faults::{HelperRequest, Host, StressError, StressRequest};

fn again(r: &Resource<ContainerHandle>) -> Resource<ContainerHandle> {
    Resource::new_borrow(r.rep())
}

fn request(detach: bool) -> HelperRequest {
    HelperRequest {
        image: "run-test/chaos-helper".into(),
        command: vec!["tc".into(), "qdisc".into(), "show".into()],
        detach,
        timeout_seconds: Some(5),
        tag: None,
    }
}

/// `app-1` granted; `other` not; the helper image granted or not.
fn rig(images: &[&str], plan: bool) -> Rig {
    let fake = FakeEngine::new();
    fake.container("app-1", "run-test/postgres:15");
    fake.container("other", "run-test/postgres:15");
    fake.image("run-test/chaos-helper:latest");
    fake.state.lock().unwrap().logs = b"qdisc noqueue 0: dev eth0\n".to_vec();
    let grants = Grants {
        images: Patterns::of(images),
        ..containers(&["app-*"])
    };
    Rig::with(grants, fake, plan)
}

async fn open(rig: &mut Rig, name: &str) -> Resource<ContainerHandle> {
    crate::plugin::bindings::containers::Host::open(&mut rig.host, name.into())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_helper_joins_the_target_by_id_with_net_admin_only_and_is_removed() {
    let mut rig = rig(&["run-test/chaos-helper"], false);
    let target = open(&mut rig, "app-1").await;
    let app = crate::capability::engine::fake::id_of("app-1");
    let result = rig.host.run(again(&target), request(false)).await.unwrap();
    assert!(
        result.helper.starts_with("run-netns-app-1-"),
        "{}",
        result.helper
    );
    assert_eq!(result.exit_code, 0);
    assert_eq!(result.output, "qdisc noqueue 0: dev eth0\n");
    let image = rig.fake.image("run-test/chaos-helper:latest");
    let state = rig.fake.state.lock().unwrap();
    let (name, body) = &state.created[0];
    assert_eq!(name.as_deref(), Some(result.helper.as_str()));
    assert_eq!(body.image.as_deref(), Some(image.as_str()));
    let host = body.host_config.as_ref().unwrap();
    assert_eq!(host.network_mode, Some(format!("container:{app}")));
    assert_eq!(host.cap_drop, Some(vec!["ALL".to_owned()]));
    assert_eq!(host.cap_add, Some(vec!["NET_ADMIN".to_owned()]));
    assert!(host.privileged.is_none());
    let labels = body.labels.as_ref().unwrap();
    assert_eq!(labels["run.helper"], "netns");
    assert_eq!(labels["run.netns.target"], "app-1");
    assert!(
        state
            .containers
            .iter()
            .all(|c| !c.labels.contains_key("run.helper"))
    );
}

#[tokio::test]
async fn a_tag_names_and_labels_the_helper_and_a_bad_one_is_refused() {
    let mut rig = rig(&["run-test/chaos-helper"], false);
    let target = open(&mut rig, "app-1").await;
    let mut req = request(false);
    req.tag = Some("f00d42".into());
    let result = rig.host.run(again(&target), req).await.unwrap();
    assert!(
        result.helper.starts_with("run-netns-app-1-f00d42-"),
        "{}",
        result.helper
    );
    {
        let state = rig.fake.state.lock().unwrap();
        let labels = state.created[0].1.labels.as_ref().unwrap();
        assert_eq!(labels["run.netns.tag"], "f00d42");
    }
    for bad in ["", "F00D", "a-b", "x/../y", "0123456789abcdef0"] {
        let mut req = request(false);
        req.tag = Some(bad.into());
        let error = rig.host.run(again(&target), req).await.err().unwrap();
        assert!(
            matches!(&error, HostError::Unsupported(m) if m.contains("tag")),
            "{bad:?}: {error}"
        );
    }
    assert_eq!(rig.fake.state.lock().unwrap().created.len(), 1);
}

#[tokio::test]
async fn the_helper_image_needs_its_own_grant() {
    // The target's own image is used by a granted container: still not a helper image.
    let mut rig = rig(&[], false);
    let target = open(&mut rig, "app-1").await;
    let mut req = request(false);
    req.image = "run-test/postgres:15".into();
    let HostError::Denied(denial) = rig.host.run(again(&target), req).await.err().unwrap() else {
        panic!()
    };
    assert_eq!(
        denial.grant,
        Some(Grant::new(GrantKind::Images, "run-test/postgres:15"))
    );
    assert_eq!(
        denial.reason.as_deref(),
        Some("a network helper's image must be granted in allow.images")
    );
    let mut rig = self::rig(&["run-test/*"], false);
    let target = open(&mut rig, "app-1").await;
    let mut req = request(false);
    req.image = "run-test/absent:1".into();
    assert!(matches!(
        rig.host.run(again(&target), req).await.err(),
        Some(HostError::NotFound {
            object: Object::Image,
            ..
        })
    ));
    assert!(rig.fake.changes().is_empty());
}

#[tokio::test]
async fn a_detached_helper_is_listed_and_removed_by_name() {
    let mut rig = rig(&["run-test/chaos-helper"], false);
    let target = open(&mut rig, "app-1").await;
    let mut req = request(true);
    req.command = vec!["sleep".into(), "600".into()];
    let result = rig.host.run(again(&target), req).await.unwrap();
    let id = rig
        .fake
        .state
        .lock()
        .unwrap()
        .containers
        .last()
        .unwrap()
        .id
        .clone();
    rig.fake.edit(&id, |c| {
        c.state = bollard::models::ContainerStateStatusEnum::RUNNING;
    });
    assert_eq!(
        rig.host.helpers(again(&target)).await.unwrap(),
        std::slice::from_ref(&result.helper)
    );
    rig.host.remove(result.helper.clone()).await.unwrap();
    assert!(rig.host.helpers(again(&target)).await.unwrap().is_empty());
}

/// Podman lists containers without their HostConfig: a helper is found by
/// the network mode its inspect shows (it was never found, and chaos left
/// its latency proxies behind).
#[tokio::test]
async fn on_podman_helpers_are_found_by_the_network_mode_inspect_shows() {
    let mut rig = rig(&["run-test/chaos-helper"], false);
    rig.fake.state.lock().unwrap().product = "Podman Engine".into();
    let target = open(&mut rig, "app-1").await;
    let mut req = request(true);
    req.command = vec!["sleep".into(), "600".into()];
    let result = rig.host.run(again(&target), req).await.unwrap();
    // A labelled container in no namespace of `app-1` is not one.
    let forged = rig
        .fake
        .container("run-netns-forged", "run-test/chaos-helper:latest");
    rig.fake.edit(&forged, |c| {
        c.labels.insert("run.helper".into(), "netns".into());
    });
    assert_eq!(
        rig.host.helpers(again(&target)).await.unwrap(),
        std::slice::from_ref(&result.helper)
    );
    rig.host.remove(result.helper.clone()).await.unwrap();
    assert!(rig.host.helpers(again(&target)).await.unwrap().is_empty());
}

#[tokio::test]
async fn remove_answers_the_same_not_found_for_anything_else() {
    let mut rig = rig(&["run-test/chaos-helper"], false);
    // A helper (by labels and namespace) of the ungranted `other`.
    let other = crate::capability::engine::fake::id_of("other");
    let foreign = rig
        .fake
        .container("run-netns-other-1", "run-test/chaos-helper:latest");
    rig.fake.edit(&foreign, |c| {
        c.labels.insert("run.helper".into(), "netns".into());
        c.labels.insert("run.netns.target".into(), "app-1".into());
        c.network_mode = format!("container:{other}");
    });
    // Labelled as a helper of `app-1`, but in no namespace of it.
    let forged = rig
        .fake
        .container("run-netns-forged", "run-test/chaos-helper:latest");
    rig.fake.edit(&forged, |c| {
        c.labels.insert("run.helper".into(), "netns".into());
        c.labels.insert("run.netns.target".into(), "app-1".into());
    });
    for name in [
        "nothing-here",
        "other",
        "app-1",
        "run-netns-other-1",
        "run-netns-forged",
        "../app-1",
        "app-1?x",
    ] {
        let error = rig.host.remove(name.into()).await.err().unwrap();
        match error {
            HostError::NotFound {
                object,
                name: shown,
            } => {
                assert_eq!(object, Object::NetworkHelper);
                assert_eq!(shown, name);
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    assert!(rig.fake.changes().is_empty(), "{:?}", rig.fake.changes());
}

#[tokio::test(start_paused = true)]
async fn a_helper_that_outlives_its_timeout_is_removed() {
    let mut rig = rig(&["run-test/chaos-helper"], false);
    rig.fake.state.lock().unwrap().hang_waits = true;
    let target = open(&mut rig, "app-1").await;
    let error = rig
        .host
        .run(again(&target), request(false))
        .await
        .err()
        .unwrap();
    assert!(matches!(error, HostError::Timeout { .. }), "{error:?}");
    let state = rig.fake.state.lock().unwrap();
    assert!(
        state
            .containers
            .iter()
            .all(|c| !c.labels.contains_key("run.helper"))
    );
}

#[tokio::test]
async fn changes_are_refused_under_plan() {
    let mut rig = rig(&["run-test/chaos-helper"], true);
    let target = open(&mut rig, "app-1").await;
    let error = rig
        .host
        .run(again(&target), request(false))
        .await
        .err()
        .unwrap();
    assert!(
        error
            .to_string()
            .starts_with("network-faults.run changes something"),
        "{error}"
    );
    let error = rig.host.remove("run-netns-x".into()).await.err().unwrap();
    assert!(
        error
            .to_string()
            .starts_with("network-faults.remove changes something"),
        "{error}"
    );
    assert!(rig.fake.changes().is_empty());
}

fn stress_request(image: &str, cpu_load: u8) -> StressRequest {
    StressRequest {
        image: image.into(),
        cpu_workers: 1,
        cpu_load,
        memory_bytes: 0,
        timeout_seconds: 10,
        tag: "f00d".into(),
    }
}

#[tokio::test]
async fn a_stress_is_checked_and_refused_where_the_engine_cannot_place_it() {
    // The fake engine tells no cgroup version: nowhere to place a helper.
    let mut rig = rig(&["run-test/chaos-helper"], false);
    let target = open(&mut rig, "app-1").await;
    let refused = rig
        .host
        .stress(again(&target), stress_request("run-test/chaos-helper", 100))
        .await
        .unwrap()
        .unwrap_err();
    let StressError::Unplaceable(why) = refused else {
        panic!("{refused:?}")
    };
    assert_eq!(why.container, "app-1");
    assert_eq!(why.engine, "docker");
    assert!(why.reason.contains("cgroup version"), "{}", why.reason);
    // Numbers out of range, before anything is looked at further.
    let refused = rig
        .host
        .plan_stress(again(&target), stress_request("run-test/chaos-helper", 0))
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&refused, StressError::Engine(EngineError::Unsupported(m)) if m.contains("CPU load")),
        "{refused:?}"
    );
    // The helper image needs its grant, as for network helpers.
    let mut rig = self::rig(&[], false);
    let target = open(&mut rig, "app-1").await;
    let refused = rig
        .host
        .stress(again(&target), stress_request("run-test/chaos-helper", 100))
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&refused, StressError::Engine(EngineError::Denied(_))),
        "{refused:?}"
    );
    assert!(rig.fake.changes().is_empty());
}
