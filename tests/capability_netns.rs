//! The `network-faults` interface through the fixture plugin: a helper runs
//! in the target's namespace and is removed; the target and the helper image
//! must both be granted (the image explicitly, in `allow.images`); only
//! helpers of granted containers can be removed, and anything else gets the
//! same `not found`.

use crate::support::images::{Container, docker};
use crate::test::Test;

const HELPER: &str = "run-test/chaos-helper:latest";

fn call(config: &str, allow: &str) -> Test {
    Test::new().tasks(&format!(
        "[tasks.t]\nplugin = \"{{fixture}}\"\nconfig = {{ mode = \"container-call\", {config} }}\nallow = {{ {allow} }}\n"
    ))
}

fn output(test: Test) -> (bool, String, String) {
    let out = test.command().arg("t").output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn helpers_of(c: &Container) -> String {
    docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=run.netns.target={}", c.name),
    ])
    .trim()
    .to_owned()
}

#[test]
fn a_helper_runs_in_the_targets_namespace_and_is_removed() {
    let c = Container::busybox("run-test-chaos-netns", &[]);
    let ip = c.ip();
    let (ok, stdout, stderr) = output(call(
        &format!(
            r#"call = "netns-run", name = "{}", image = "{HELPER}", command = ["sh", "-c", "ip -4 -o addr show eth0"]"#,
            c.name
        ),
        &format!(
            r#"containers = ["{}"], images = ["run-test/chaos-helper:*"]"#,
            c.name
        ),
    ));
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("exit=0") && stdout.contains(&ip),
        "the helper sees the target's address {ip}: {stdout}"
    );
    assert_eq!(helpers_of(&c), "", "the helper is removed");
}

#[test]
fn the_helper_image_and_the_target_must_be_granted() {
    let c = Container::busybox("run-test-chaos-netns", &[]);
    let config = format!(
        r#"call = "netns-run", name = "{}", image = "{HELPER}", command = ["true"]"#,
        c.name
    );
    let (ok, _, stderr) = output(call(&config, &format!(r#"containers = ["{}"]"#, c.name)));
    assert!(!ok);
    assert!(
        stderr.contains(&format!("image `{HELPER}` is not granted to task `t`"))
            && stderr.contains("a network helper's image must be granted in allow.images")
            && stderr.contains(&format!("images = [\"{HELPER}\"]")),
        "{stderr}"
    );
    let (ok, _, stderr) = output(call(&config, r#"images = ["run-test/chaos-helper:*"]"#));
    assert!(!ok);
    assert!(
        stderr.contains(&format!(
            "container `{}` is not granted to task `t`",
            c.name
        )),
        "{stderr}"
    );
    assert_eq!(helpers_of(&c), "");
}

#[test]
fn detached_helpers_are_listed_and_only_helpers_can_be_removed() {
    let c = Container::busybox("run-test-chaos-netns", &[]);
    let allow = format!(
        r#"containers = ["{}"], images = ["run-test/chaos-helper:*"]"#,
        c.name
    );
    let (ok, stdout, stderr) = output(call(
        &format!(
            r#"call = "netns-run", detach = true, name = "{}", image = "{HELPER}", command = ["sleep", "300"]"#,
            c.name
        ),
        &allow,
    ));
    assert!(ok, "{stderr}");
    let helper = stdout.trim().strip_prefix("helper=").unwrap().to_owned();
    assert!(
        helper.starts_with(&format!("run-netns-{}-", c.name)),
        "{helper}"
    );
    let (_, stdout, _) = output(call(
        &format!(r#"call = "netns-helpers", name = "{}""#, c.name),
        &allow,
    ));
    assert_eq!(stdout.trim(), "1");

    let (ok, _, stderr) = output(call(
        &format!(r#"call = "netns-remove", name = "{}""#, c.name),
        &allow,
    ));
    assert!(!ok);
    assert!(
        stderr.contains(&format!("network helper `{}` not found", c.name)),
        "{stderr}"
    );
    assert_eq!(c.inspect("{{.State.Status}}"), "running");
    let (ok, _, nothing) = output(call(
        r#"call = "netns-remove", name = "no-such-container""#,
        &allow,
    ));
    assert!(!ok);
    assert!(
        nothing.contains("network helper `no-such-container` not found"),
        "the same answer, existing or not: {nothing}"
    );

    let (ok, _, stderr) = output(call(
        &format!(r#"call = "netns-remove", name = "{helper}""#),
        &allow,
    ));
    assert!(ok, "{stderr}");
    assert_eq!(helpers_of(&c), "");
}
