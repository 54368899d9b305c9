//! quickstart's `build:` against the real engine: an image built from a
//! granted context (its Dockerfile, args and target) that the stack then
//! runs; `.dockerignore` honoured; a symlink out of the context archived as
//! a symlink, never followed; a rebuild when the context changes, none when
//! it does not; and the refusals a person must understand: a context outside
//! the read grant, a tag outside `allow.images`, a failing `RUN` step, a base
//! image that is not here.
//!
//! Every project is named `run-test-qsb-…`; its images are tagged
//! `PROJECT-SERVICE` and removed, with its containers and network, when the
//! test ends.

use crate::support::images::{self, BUSYBOX, docker, docker_output, unique_name};
use crate::test::{Outcome, Test};

struct Project {
    name: String,
    test: Test,
}

impl Drop for Project {
    fn drop(&mut self) {
        let label = format!("label=com.docker.compose.project={}", self.name);
        for id in docker(&["ps", "-aq", "--filter", &label]).split_whitespace() {
            let _ = docker_output(&["rm", "-f", "-v", id]);
        }
        let network = format!("{}-default", self.name);
        let _ = docker_output(&["network", "rm", &network]);
        let reference = format!("reference={}-*", self.name);
        for image in docker(&["images", "-q", "--filter", &reference]).split_whitespace() {
            let _ = docker_output(&["rmi", "-f", image]);
        }
    }
}

/// The application's context: a Dockerfile elsewhere in it, a
/// `.dockerignore`, a secret beside the context and a symlink to it.
const DOCKERFILE: &str = "\
ARG BASE=run-test/busybox:latest
FROM ${BASE} AS base
ARG GREETING=unset
RUN echo \"$GREETING\" > /greeting
FROM base AS final
COPY . /ctx
CMD [\"sh\", \"-c\", \"cat /greeting; touch /tmp/ok; exec sleep 3600\"]
# After `final`: the classic builder builds every stage before the target.
FROM base AS broken
RUN false
";

const COMPOSE: &str = "\
services:
  app:
    build:
      context: ./app
      dockerfile: docker/Dockerfile
      args:
        GREETING: hello-from-args
      target: final
      labels:
        org.example.built-by: quickstart
    healthcheck:
      test: [\"CMD\", \"test\", \"-f\", \"/tmp/ok\"]
      interval: 1s
      retries: 30
";

impl Project {
    fn new(compose: &str, dockerfile: &str, allow: &str) -> Project {
        images::ensure();
        let name = unique_name("run-test-qsb");
        let tasks = format!(
            r#"[tasks.up]
plugin = "quickstart"
config = {{ file = "stack/compose.yaml", project = "{name}", timeout = 60 }}
allow = {{ read = ["stack"], containers = ["{name}-*"], networks = ["{name}-*"], {allow} }}
"#,
            allow = allow.replace("PROJECT", &name)
        );
        let test = Test::new()
            .tasks(&tasks)
            .file("stack/compose.yaml", compose)
            .file("stack/app/docker/Dockerfile", dockerfile)
            .file("stack/app/hello.txt", "hello\n")
            .file(
                "stack/app/.dockerignore",
                "secret.txt\nnode_modules\n*.log\n",
            )
            .file("stack/app/secret.txt", "do not send\n")
            .file("stack/app/node_modules/big/index.js", "x\n")
            .file("stack/app/debug.log", "log\n")
            .file("stack/outside.txt", "outside the context\n")
            .tap(|t| {
                std::os::unix::fs::symlink("../outside.txt", t.path("stack/app/link")).unwrap();
            });
        Project { name, test }
    }

    fn up(&self, args: &[&str]) -> Outcome {
        let mut all = vec!["up"];
        all.extend_from_slice(args);
        self.test.invoke(&all)
    }

    fn image(&self) -> String {
        format!("{}-app", self.name)
    }

    fn image_id(&self) -> String {
        docker(&["image", "inspect", "-f", "{{.Id}}", &self.image()])
            .trim()
            .to_owned()
    }

    fn exec(&self, command: &[&str]) -> String {
        let container = format!("{}-app", self.name);
        let mut args = vec!["exec", container.as_str()];
        args.extend_from_slice(command);
        docker(&args)
    }
}

fn grants() -> String {
    format!("images = [\"PROJECT-*\", \"{BUSYBOX}\"]")
}

#[test]
fn a_built_image_with_dockerfile_args_and_target_runs_in_the_stack_and_is_rebuilt_only_on_change() {
    let p = Project::new(COMPOSE, DOCKERFILE, &grants());
    let out = p.up(&[]).ok();
    out.stderr_contains(&format!("app: built {} from stack/app", p.image()))
        .stderr_contains("Step ");
    // The target stage, with the build argument and the labels.
    assert_eq!(p.exec(&["cat", "/greeting"]).trim(), "hello-from-args");
    let labels = docker(&[
        "image",
        "inspect",
        "-f",
        "{{json .Config.Labels}}",
        &p.image(),
    ]);
    assert!(
        labels.contains("\"org.example.built-by\":\"quickstart\""),
        "{labels}"
    );
    assert!(labels.contains("run.build.digest"), "{labels}");
    // .dockerignore: what it excludes was not sent.
    let sent = p.exec(&["ls", "-a", "/ctx"]);
    for excluded in ["secret.txt", "node_modules", "debug.log"] {
        assert!(!sent.contains(excluded), "{excluded} was sent:\n{sent}");
    }
    assert!(sent.contains("hello.txt"), "{sent}");
    // The symlink out of the context is a symlink in the image, never its target.
    assert_eq!(p.exec(&["readlink", "/ctx/link"]).trim(), "../outside.txt");
    let followed = docker_output(&["exec", &format!("{}-app", p.name), "cat", "/ctx/link"]);
    assert!(!followed.status.success());

    // Nothing changed: not built again, the container left alone.
    let id = p.image_id();
    p.up(&[])
        .ok()
        .stderr_contains("app: image up to date")
        .stderr_contains("app: up to date")
        .stderr_lacks("Step ");
    assert_eq!(p.image_id(), id);

    // A file of the context changed: rebuilt, and the container recreated.
    std::fs::write(p.test.path("stack/app/hello.txt"), "hello again\n").unwrap();
    p.up(&[])
        .ok()
        .stderr_contains("Step ")
        .stderr_contains("recreating");
    assert_ne!(p.image_id(), id);
    assert_eq!(p.exec(&["cat", "/ctx/hello.txt"]).trim(), "hello again");

    // An ignored file changed: no rebuild.
    std::fs::write(p.test.path("stack/app/debug.log"), "more\n").unwrap();
    p.up(&[]).ok().stderr_lacks("Step ");
    // --build builds anyway.
    p.up(&["--build"]).ok().stderr_contains("Step ");
}

#[test]
fn a_failing_run_step_names_the_service_and_the_step() {
    let compose = COMPOSE.replace("target: final", "target: broken");
    let p = Project::new(&compose, DOCKERFILE, &grants());
    p.up(&[])
        .status(1)
        .stderr_contains("service `app`")
        .stderr_contains("RUN false")
        .stderr_contains("returned a non-zero code");
}

#[test]
fn a_missing_base_image_names_the_service_and_the_image() {
    let dockerfile = DOCKERFILE.replace(BUSYBOX, "run-test/not-here:1");
    let p = Project::new(
        COMPOSE,
        &dockerfile,
        "images = [\"PROJECT-*\", \"run-test/not-here:1\"]",
    );
    p.up(&[])
        .status(1)
        .stderr_contains("service `app`")
        .stderr_contains("base image `run-test/not-here:1`");
}

#[test]
fn a_context_outside_the_read_grant_and_a_tag_outside_allow_images_are_refused() {
    // The context is the project root, outside `allow.read = ["stack"]`.
    let compose = COMPOSE.replace("context: ./app", "context: ..");
    let p = Project::new(&compose, DOCKERFILE, &grants());
    for args in [&["--plan", "up"][..], &["up"][..]] {
        p.test
            .invoke(args)
            .status(1)
            .stderr_contains("denied")
            .stderr_contains("allow = { read = [\".\"] }");
    }

    // The tag `PROJECT-app` is not granted: only busybox is.
    let p = Project::new(COMPOSE, DOCKERFILE, &format!("images = [\"{BUSYBOX}\"]"));
    for args in [&["--plan", "up"][..], &["up"][..]] {
        p.test
            .invoke(args)
            .status(1)
            .stderr_contains(&format!("image `{}:latest`", p.image()))
            .stderr_contains(&format!(
                "allow = {{ images = [\"{}:latest\"] }}",
                p.image()
            ));
    }
    assert!(
        !docker_output(&["image", "inspect", &p.image()])
            .status
            .success()
    );

    // The base image is not granted either.
    let p = Project::new(COMPOSE, DOCKERFILE, "images = [\"PROJECT-*\"]");
    p.test
        .invoke(&["up"])
        .status(1)
        .stderr_contains(&format!("allow = {{ images = [\"{BUSYBOX}\"] }}"));
}

#[test]
fn the_plan_says_what_would_be_built() {
    let p = Project::new(COMPOSE, DOCKERFILE, &grants());
    p.test
        .invoke(&["--plan", "up"])
        .ok()
        .stdout_contains(&format!("app ({}, would build from stack/app)", p.image()));
    assert!(
        !docker_output(&["image", "inspect", &p.image()])
            .status
            .success()
    );
}
