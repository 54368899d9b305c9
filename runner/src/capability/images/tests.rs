//! The `images` capability without Docker.

use crate::capability::engine::HostError;
use crate::capability::engine::fake::{FakeEngine, Rig, containers};
use crate::grant::{Grant, GrantKind, Grants, Object, Patterns};
use crate::plugin::bindings::engine_types::Compression;
use crate::plugin::bindings::images::{BuildOutcome, BuildRequest, Host};

/// `app-1` (granted by `app-*`) runs `run-test/postgres:15`; `busybox:latest`
/// and `secret/tool:1` are local images nobody granted uses.
fn rig(images: &[&str], plan: bool) -> Rig {
    let fake = FakeEngine::new();
    fake.container("app-1", "run-test/postgres:15");
    fake.image("busybox:latest");
    fake.image("secret/tool:1");
    let grants = Grants {
        images: Patterns::of(images),
        ..containers(&["app-*"])
    };
    Rig::with(grants, fake, plan)
}

fn denial(error: Option<HostError>) -> crate::grant::Denial {
    match error {
        Some(HostError::Denied(denial)) => *denial,
        other => panic!("expected a denial, got {other:?}"),
    }
}

#[tokio::test]
async fn a_granted_reference_is_resolved_and_inspected_by_id() {
    let mut rig = rig(&["busybox"], false);
    let id = rig.fake.image("busybox:latest");
    for text in [
        "busybox",
        "busybox:latest",
        "docker.io/library/busybox:latest",
    ] {
        let details = rig.host.inspect(text.into()).await.unwrap();
        assert_eq!(details.id, id, "{text}");
        assert_eq!(details.tags, ["busybox:latest"]);
    }
    assert!(rig.fake.calls().contains(&format!("inspect_image {id}")));
}

#[tokio::test]
async fn an_image_a_granted_container_uses_is_reachable_by_tag_id_and_prefix() {
    let mut rig = rig(&[], false);
    let id = rig.fake.image("run-test/postgres:15");
    let hex = id.strip_prefix("sha256:").unwrap();
    for text in ["run-test/postgres:15", id.as_str(), &hex[..12], hex] {
        let details = rig.host.inspect(text.to_owned()).await.unwrap();
        assert_eq!(details.id, id, "{text}");
    }
}

#[tokio::test]
async fn an_ungranted_image_is_denied_whether_present_or_not() {
    let mut rig = rig(&["run-test/*"], false);
    for text in ["busybox", "secret/tool:1", "nothing/here:2"] {
        let denial = denial(rig.host.inspect(text.into()).await.err());
        assert_eq!(denial.object, Object::Image);
        let familiar = if text == "busybox" {
            "busybox:latest"
        } else {
            text
        };
        assert_eq!(denial.grant, Some(Grant::new(GrantKind::Images, familiar)));
        assert_eq!(denial.granted, ["run-test/*"]);
        assert!(matches!(
            rig.host.present(text.into()).await.err(),
            Some(HostError::Denied(_))
        ));
    }
    // An ID of an ungranted image, or of none: the same denial, no grant to name.
    let secret = rig.fake.image("secret/tool:1");
    for text in [secret.clone(), format!("sha256:{}", "0".repeat(64))] {
        let denial = denial(rig.host.inspect(text).await.err());
        assert_eq!(denial.grant, None);
        assert!(
            denial
                .reason
                .unwrap()
                .contains("one of its tags in allow.images")
        );
    }
    assert!(rig.fake.changes().is_empty());
}

#[tokio::test]
async fn hostile_references_never_reach_the_engine() {
    for text in [
        "",
        "busybox?x=1",
        "busybox#x",
        "busybox%2f..",
        "../busybox",
        "busybox/../x",
        "Busybox",
        "b\u{443}sybox",
        "busy box",
        "/busybox",
        "busybox:",
        "sha256:abc",
    ] {
        let mut rig = rig(&["*"], false);
        let error = rig.host.inspect(text.into()).await.err().unwrap();
        assert!(
            matches!(
                error,
                HostError::InvalidName {
                    object: Object::Image,
                    ..
                }
            ),
            "{text:?}: {error:?}"
        );
        assert!(matches!(
            rig.host.pull(text.into(), 5).await.err(),
            Some(HostError::InvalidName { .. })
        ));
        assert!(rig.fake.calls().is_empty(), "{text:?} reached the engine");
    }
}

#[tokio::test]
async fn an_image_is_granted_by_any_of_its_own_tags() {
    let mut rig = rig(&["secret/tool:1"], false);
    let id = rig.fake.image("secret/tool:1");
    rig.fake
        .state
        .lock()
        .unwrap()
        .images
        .iter_mut()
        .for_each(|i| {
            if i.id == id {
                i.repo_tags.push("alias/tool:9".into());
            }
        });
    assert_eq!(
        rig.host.inspect("alias/tool:9".into()).await.unwrap().id,
        id
    );
}

#[tokio::test]
async fn export_writes_the_image_by_id_and_is_refused_under_plan() {
    let mut rig = rig(&["busybox"], false);
    let id = rig.fake.image("busybox:latest");
    let info = rig
        .host
        .export(
            "busybox".into(),
            "out/busybox.tar".into(),
            Compression::None,
        )
        .await
        .unwrap();
    let written = std::fs::read(rig.path("out/busybox.tar")).unwrap();
    assert_eq!(info.bytes, written.len() as u64);
    // The archive the engine wrote, names aside: the layer whole, and only
    // the name asked for, whatever other tags the image has.
    let entries: std::collections::BTreeMap<_, _> = super::archive::tests::entries(&written)
        .into_iter()
        .collect();
    assert_eq!(
        entries["layer0/layer.tar"],
        format!("layer of {id}").into_bytes()
    );
    let manifest: serde_json::Value = serde_json::from_slice(&entries["manifest.json"]).unwrap();
    assert_eq!(
        manifest[0]["RepoTags"],
        serde_json::json!(["busybox:latest"])
    );
    assert!(rig.fake.calls().contains(&format!("export_image {id}")));

    let mut rig = self::rig(&["busybox"], true);
    let error = rig
        .host
        .export(
            "busybox".into(),
            "out/busybox.tar".into(),
            Compression::None,
        )
        .await
        .err()
        .unwrap();
    assert!(
        error
            .to_string()
            .starts_with("images.export changes something"),
        "{error}"
    );
}

#[tokio::test]
async fn pull_needs_allow_images_and_always_names_a_tag() {
    let mut rig = rig(&["busybox", "ghcr.io/team/*"], false);
    rig.host.pull("busybox".into(), 5).await.unwrap();
    rig.host
        .pull("ghcr.io/team/app:v1".into(), 5)
        .await
        .unwrap();
    let pulls: Vec<String> = rig
        .fake
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("pull_image"))
        .collect();
    assert_eq!(
        pulls,
        [
            "pull_image busybox:latest",
            "pull_image ghcr.io/team/app:v1"
        ]
    );

    // Used by a granted container is not enough to pull.
    let denial = denial(rig.host.pull("run-test/postgres:15".into(), 5).await.err());
    assert_eq!(
        denial.grant,
        Some(Grant::new(GrantKind::Images, "run-test/postgres:15"))
    );
    let id = rig.fake.image("busybox:latest");
    assert!(matches!(
        rig.host.pull(id, 5).await.err(),
        Some(HostError::InvalidName { .. })
    ));

    let mut rig = self::rig(&["busybox"], true);
    assert!(matches!(
        rig.host.pull("busybox".into(), 5).await.err(),
        Some(HostError::Unsupported(_))
    ));
    assert!(rig.fake.calls().is_empty());
}

#[tokio::test]
async fn present_says_whether_a_granted_image_is_here() {
    let mut rig = rig(&["busybox", "alpine:*"], false);
    assert!(rig.host.present("busybox".into()).await.unwrap());
    assert!(!rig.host.present("alpine:3".into()).await.unwrap());
    assert!(
        rig.host
            .present("run-test/postgres:15".into())
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn list_shows_reachable_images_only() {
    let mut rig = rig(&["busybox"], false);
    let listed = rig.host.list().await.unwrap();
    let mut tags: Vec<String> = listed.into_iter().flat_map(|i| i.tags).collect();
    tags.sort();
    assert_eq!(tags, ["busybox:latest", "run-test/postgres:15"]);
}

fn build_request(context: &str, tag: &str) -> BuildRequest {
    BuildRequest {
        context: context.into(),
        dockerfile: None,
        dockerfile_inline: None,
        args: vec![("GREETING".into(), "hi".into())],
        target: None,
        labels: vec![("org.example".into(), "yes".into())],
        tag: tag.into(),
        always: false,
        timeout_seconds: 60,
    }
}

/// `in/app` (read-granted): a Dockerfile, a file, an ignored one, and a
/// symlink out of the context.
fn app(rig: &Rig, dockerfile: &str) {
    let app = rig.path("in/app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("Dockerfile"), dockerfile).unwrap();
    std::fs::write(app.join("x.txt"), "x").unwrap();
    std::fs::write(app.join("secret.txt"), "secret").unwrap();
    std::fs::write(app.join(".dockerignore"), "secret.txt\n").unwrap();
    std::os::unix::fs::symlink("../../out/elsewhere", app.join("link")).unwrap();
}

fn sent(rig: &Rig) -> Vec<String> {
    let state = rig.fake.state.lock().unwrap();
    let (_, archive) = state.builds.last().expect("a build");
    tar::Archive::new(archive.as_slice())
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[tokio::test]
async fn build_sends_the_context_tags_the_image_and_skips_an_unchanged_one() {
    let mut rig = rig(&["app:*", "busybox"], false);
    app(&rig, "FROM busybox\nCOPY . /\n");
    let built = rig
        .host
        .build(build_request("in/app", "app:1"))
        .await
        .unwrap();
    assert_eq!(built.outcome, BuildOutcome::Built);
    assert!(built.missing_bases.is_empty());
    let mut names = sent(&rig);
    names.sort();
    assert_eq!(names, [".dockerignore", "Dockerfile", "link", "x.txt"]);
    let (options, _) = rig.fake.state.lock().unwrap().builds[0].clone();
    assert_eq!(options.tag, "app:1");
    assert_eq!(options.args.get("GREETING").map(String::as_str), Some("hi"));
    assert_eq!(options.labels.get("run.build.digest"), Some(&built.digest));

    let again = rig
        .host
        .build(build_request("in/app", "app:1"))
        .await
        .unwrap();
    assert_eq!(again.outcome, BuildOutcome::Unchanged);
    assert_eq!(again.id, built.id);
    // An ignored file is no change; a sent one is.
    std::fs::write(rig.path("in/app/secret.txt"), "other").unwrap();
    let again = rig
        .host
        .build(build_request("in/app", "app:1"))
        .await
        .unwrap();
    assert_eq!(again.outcome, BuildOutcome::Unchanged);
    std::fs::write(rig.path("in/app/x.txt"), "y").unwrap();
    let again = rig
        .host
        .build(build_request("in/app", "app:1"))
        .await
        .unwrap();
    assert_eq!(again.outcome, BuildOutcome::Built);
    let forced = rig
        .host
        .build(BuildRequest {
            always: true,
            ..build_request("in/app", "app:1")
        })
        .await
        .unwrap();
    assert_eq!(forced.outcome, BuildOutcome::Built);
}

#[tokio::test]
async fn an_inline_dockerfile_is_added_to_the_archive() {
    let mut rig = rig(&["app:*", "busybox"], false);
    app(&rig, "FROM nothing-here\n");
    let built = rig
        .host
        .build(BuildRequest {
            dockerfile_inline: Some("FROM busybox\n".into()),
            ..build_request("in/app", "app:2")
        })
        .await
        .unwrap();
    assert_eq!(built.outcome, BuildOutcome::Built);
    let (options, _) = rig.fake.state.lock().unwrap().builds[0].clone();
    assert!(options.dockerfile.starts_with(".run-dockerfile-"));
    assert!(sent(&rig).contains(&options.dockerfile));
}

#[tokio::test]
async fn build_refuses_an_ungranted_tag_context_or_base_image_naming_the_grant() {
    let mut rig = rig(&["busybox"], false);
    app(&rig, "FROM busybox\n");
    let denied = denial(rig.host.build(build_request("in/app", "app:1")).await.err());
    assert_eq!(denied.grant, Some(Grant::new(GrantKind::Images, "app:1")));

    let mut rig = self::rig(&["app:*"], false);
    app(&rig, "FROM busybox\n");
    let denied = denial(rig.host.build(build_request("in/app", "app:1")).await.err());
    assert_eq!(
        denied.grant,
        Some(Grant::new(GrantKind::Images, "busybox:latest"))
    );

    std::fs::create_dir_all(rig.path("elsewhere")).unwrap();
    let denied = denial(
        rig.host
            .build(build_request("elsewhere", "app:1"))
            .await
            .err(),
    );
    assert_eq!(denied.grant, Some(Grant::new(GrantKind::Read, "elsewhere")));
    // Through a symlink out of the grant: refused, whatever is granted.
    std::os::unix::fs::symlink(rig.path("elsewhere"), rig.path("in/alias")).unwrap();
    assert!(matches!(
        rig.host
            .build(build_request("in/alias", "app:1"))
            .await
            .err(),
        Some(HostError::Denied(_))
    ));
    assert!(rig.fake.state.lock().unwrap().builds.is_empty());
}

#[tokio::test]
async fn under_plan_build_checks_everything_and_builds_nothing() {
    let mut rig = rig(&["app:*", "busybox", "alpine"], true);
    app(
        &rig,
        "FROM alpine AS base\nFROM busybox\nCOPY --from=base / /\n",
    );
    let planned = rig
        .host
        .build(build_request("in/app", "app:1"))
        .await
        .unwrap();
    assert_eq!(planned.outcome, BuildOutcome::WouldBuild);
    assert_eq!(planned.missing_bases, ["alpine"]);
    assert!(rig.fake.changes().is_empty(), "{:?}", rig.fake.changes());
}

#[tokio::test]
async fn a_failing_step_is_named_with_the_engine_words() {
    let mut rig = rig(&["app:*", "busybox"], false);
    app(&rig, "FROM busybox\nRUN false\n");
    let error = rig
        .host
        .build(build_request("in/app", "app:1"))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("building image `app:1` failed at `Step 2/2 : RUN false`"),
        "{error}"
    );
    assert!(error.contains("returned a non-zero code: 1"), "{error}");
}
