//! The hostile suite: every escape found when the sandbox was attacked as a
//! plugin author would (issue 14), and its variants, tried through the real
//! `run` binary by a real component (the fixture's `container-call` mode)
//! against the real engine. Each attempt must be refused naming what was
//! refused (and, where a grant could allow it, the grant to add), and the
//! victim must be untouched afterwards.
//!
//! Where the other classes are proven (same rule, real binary and engine):
//! - grant directories redirected by a planted symlink, symlinks and hard
//!   links out of a preopen: `capability_files.rs`;
//! - a swapped compile-cache file, DNS lookups of ungranted names:
//!   `sandbox.rs`;
//! - stdout blocked, open handles, memory, plugin size, link errors:
//!   `limits.rs`; `run -n` in an empty sandbox: `dry_run.rs`;
//! - `netns-remove` as an oracle: `capability_netns.rs`;
//! - every name variant without a plugin, straight at the host:
//!   `capability_container_engine.rs`; the grammar by property test:
//!   `runner/src/grant`.

use crate::support::images::{BUSYBOX, Container, docker_output, unique_name};
use crate::test::Test;

/// Runs task `t`, one container call with `config` keys under `allow`
/// grants: (success, stdout, stderr).
fn call(config: &str, allow: &str) -> (bool, String, String) {
    let test = Test::new().tasks(&format!(
        "[tasks.t]\nplugin = \"{{fixture}}\"\nconfig = {{ mode = \"container-call\", {config} }}\nallow = {{ {allow} }}\n"
    ));
    let out = test.command().arg("t").output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `call`, which must fail; its stderr.
fn refused(config: &str, allow: &str) -> String {
    let (ok, stdout, stderr) = call(config, allow);
    assert!(!ok, "{config}: succeeded: {stdout}");
    stderr
}

/// A TOML basic string holding `text` (names with `"`, `\` or control
/// characters stay one string).
fn toml_str(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// The victim's state and name, as the engine sees them.
fn untouched(victim: &Container) {
    assert_eq!(
        victim.inspect("{{.State.Status}}"),
        "running",
        "{}",
        victim.name
    );
    assert_eq!(victim.inspect("{{.Name}}"), format!("/{}", victim.name));
}

#[test]
fn container_names_that_leave_the_grant_are_refused_for_every_operation() {
    let tag = unique_name("hostile-name");
    let app = Container::busybox(&format!("{tag}-app"), &[]);
    let victim = Container::busybox(&format!("{tag}-OTHER"), &[]);
    let grant = format!(r#"containers = ["{tag}-app*"], write = ["out"]"#);
    let v = &victim.name;
    // Each variant passes (or once passed) the glob `TAG-app*` as a string.
    let invalid = [
        format!("{tag}-app-/../{v}"),
        format!("{tag}-app/../{v}"),
        format!("{tag}-app-/..%2F{v}"),
        format!("{tag}-app%2F..%2F{v}"),
        format!("{tag}-app%2f%2e%2e%2f{v}"),
        format!("{tag}-app-%2e%2e"),
        format!("{tag}-app-x?force=1"),
        format!("{tag}-app-x#"),
        format!("{tag}-app-x/../../images/{BUSYBOX}"),
        format!("{}/json?", app.name),
        format!("{}\\..\\{v}", app.name),
        format!("{} ", app.name),
        format!("{}\n", app.name),
        format!("{}\u{0}", app.name),
        // A Cyrillic `а` in place of the Latin `a`.
        format!("{tag}-\u{430}pp"),
        String::new(),
    ];
    for name in &invalid {
        for op in ["stop", "remove", "logs", "inspect"] {
            let stderr = refused(
                &format!("call = \"{op}\", name = {}", toml_str(name)),
                &grant,
            );
            assert!(
                stderr.contains("is not a valid container name"),
                "{op} {name:?}: {stderr}"
            );
        }
    }
    // Valid names that are not the granted one: refused by the canonical
    // name, which the refusal names with the grant that would allow it.
    let victim_id = victim.inspect("{{.Id}}");
    let denied = [v.clone(), victim_id[..12].to_owned(), victim_id.clone()];
    for name in &denied {
        for op in ["exec", "stop", "copy-out"] {
            let config = format!(
                r#"call = "{op}", name = "{name}", command = ["true"], path = "/etc/hostname", file = "out/x.tar""#
            );
            let stderr = refused(&config, &grant);
            assert!(
                stderr.contains(&format!("container `{v}` is not granted to task `t`")),
                "{op} {name}: {stderr}"
            );
            assert!(
                stderr.contains(&format!(r#"allow = {{ containers = ["{v}"] }}"#)),
                "{op} {name}: {stderr}"
            );
        }
    }
    // Case: globs are case-sensitive, so `APP` is refused by the name asked
    // for, before the engine (whose name lookup may fold case) is asked.
    let upper = app.name.replace("-app-", "-APP-");
    let stderr = refused(&format!(r#"call = "stop", name = "{upper}""#), &grant);
    assert!(
        stderr.contains(&format!("container `{upper}` is not granted to task `t`")),
        "{stderr}"
    );
    untouched(&victim);
    assert_eq!(app.inspect("{{.State.Status}}"), "running");
    // The granted container itself still works, by name and by ID prefix.
    let app_id = app.inspect("{{.Id}}");
    for name in [app.name.clone(), app_id[..12].to_owned()] {
        let (ok, stdout, stderr) = call(&format!(r#"call = "open", name = "{name}""#), &grant);
        assert!(ok, "{stderr}");
        assert_eq!(stdout.trim(), format!("name={} id={app_id}", app.name));
    }
}

#[test]
fn a_list_filter_never_shows_or_reaches_an_ungranted_container() {
    let tag = unique_name("hostile-list");
    let app = Container::busybox(&format!("{tag}-app"), &[]);
    let victim = Container::busybox(&format!("{tag}-OTHER"), &[]);
    let grant = format!(r#"containers = ["{tag}-app*"]"#);
    for filter in [
        "*".to_owned(),
        format!("{tag}-*"),
        format!("name={}", victim.name),
        "label=run-test=1".to_owned(),
        format!("{tag}-app-/../{}", victim.name),
    ] {
        let (_, stdout, stderr) = call(
            &format!(r#"call = "list", filter = {}"#, toml_str(&filter)),
            &grant,
        );
        // A filter the host cannot read is refused (its text is echoed back);
        // none lists or names the victim otherwise.
        assert!(!stdout.contains(&victim.name), "{filter}: {stdout}");
        if !filter.contains(&victim.name) {
            assert!(!stderr.contains(&victim.name), "{filter}: {stderr}");
        }
    }
    let (ok, stdout, stderr) = call(r#"call = "list", filter = "*""#, &grant);
    assert!(ok, "{stderr}");
    assert_eq!(stdout, format!("{} running\n", app.name));
    untouched(&victim);
}

/// On Podman, which has no legacy links, the alias `db` is a network alias
/// (`Container::linked_pair`): the same name, the same refusals.
#[test]
fn a_legacy_link_alias_reaches_neither_the_linked_container_nor_its_volume() {
    let tag = unique_name("hostile-link");
    let pair = Container::linked_pair(&tag);
    let (victim, granted, volume) = (&pair.victim, &pair.app, &pair.volume);
    let grant = format!(r#"containers = ["{tag}-app*", "db"], write = ["out"]"#);
    let alias = format!("{}/db", granted.name);
    for op in ["exec", "stop", "inspect"] {
        let stderr = refused(
            &format!(r#"call = "{op}", name = "{alias}", command = ["true"]"#),
            &grant,
        );
        assert!(
            stderr.contains("is not a valid container name"),
            "{op}: {stderr}"
        );
    }
    let stderr = refused(r#"call = "stop", name = "db""#, &grant);
    assert!(!stderr.contains("ok"), "{stderr}");
    let (_, stdout, _) = call(r#"call = "list", filter = "*""#, &grant);
    assert_eq!(stdout, format!("{} running\n", granted.name));
    let stderr = refused(
        &format!(r#"call = "volume-snapshot", volume = "{volume}", file = "out/v.tar""#),
        &grant,
    );
    assert!(
        stderr.contains(&format!("volume `{volume}` is not granted to task `t`")),
        "{stderr}"
    );
    assert!(
        stderr.contains("no granted container mounts it"),
        "{stderr}"
    );
    untouched(victim);
}

#[test]
fn star_grants_never_reach_the_host_through_volumes_networks_or_options() {
    let tag = unique_name("hostile-star");
    let victim = Container::busybox(&format!("{tag}-OTHER"), &[]);
    let name = format!("{tag}-svc");
    let _cleanup = Container {
        name: name.clone(),
        volumes: Vec::new(),
    };
    let allow = format!(
        r#"containers = ["{tag}-svc"], images = ["*"], networks = ["*"], volumes = ["*"], write = ["out"]"#
    );
    let create = |extra: &str| {
        format!(
            r#"call = "create", name = "{name}", image = "{BUSYBOX}", command = ["sleep", "600"]{extra}"#
        )
    };
    let v = &victim.name;
    for (extra, refusal) in [
        // A host path is never a volume name, whatever the grant.
        (
            r#", mounts = ["volume:/:/host"]"#.to_owned(),
            "is not a valid volume name".to_owned(),
        ),
        (
            r#", mounts = ["volume:/var/run/docker.sock:/s"]"#.to_owned(),
            "is not a valid volume name".to_owned(),
        ),
        (
            r#", mounts = ["volume:..:/host"]"#.to_owned(),
            "is not a valid volume name".to_owned(),
        ),
        // A bind needs a file grant on a directory inside the project.
        (
            r#", mounts = ["bind:/:/host"]"#.to_owned(),
            "is not granted to task `t`".to_owned(),
        ),
        (
            r#", mounts = ["bind:/var/run/docker.sock:/s"]"#.to_owned(),
            "is not granted to task `t`".to_owned(),
        ),
        (
            r#", mounts = ["bind:out/../..:/host"]"#.to_owned(),
            "out".to_owned(),
        ),
        // Engine network modes are not names a `*` matches.
        (
            r#", networks = ["host"]"#.to_owned(),
            "is not a valid network name".to_owned(),
        ),
        (
            r#", networks = ["bridge"]"#.to_owned(),
            "is not a valid network name".to_owned(),
        ),
        (
            r#", networks = ["none"]"#.to_owned(),
            "is not a valid network name".to_owned(),
        ),
        (
            r#", network_mode = "host""#.to_owned(),
            "namespace `host-network` is not granted".to_owned(),
        ),
        (
            format!(r#", network_mode = "container:{v}""#),
            "not granted".to_owned(),
        ),
        (
            r#", pid = "host""#.to_owned(),
            "namespace `host-pid` is not granted".to_owned(),
        ),
        (
            r#", ipc = "host""#.to_owned(),
            "namespace `host-ipc` is not granted".to_owned(),
        ),
        // Security-relevant options need their own explicit grants.
        (
            r#", privileged = true"#.to_owned(),
            "privileged mode is not granted".to_owned(),
        ),
        (
            r#", cap_add = ["SYS_ADMIN"]"#.to_owned(),
            "capability `SYS_ADMIN` is not granted".to_owned(),
        ),
        (
            r#", cap_add = ["ALL"]"#.to_owned(),
            "capability `ALL` is not granted".to_owned(),
        ),
        (
            r#", security_opt = ["apparmor=unconfined"]"#.to_owned(),
            "security option `apparmor=unconfined` is not granted".to_owned(),
        ),
        (
            r#", security_opt = ["seccomp=unconfined"]"#.to_owned(),
            "security option `seccomp=unconfined` is not granted".to_owned(),
        ),
        (
            r#", devices = ["/dev/fuse:/dev/fuse:rwm"]"#.to_owned(),
            "not granted".to_owned(),
        ),
    ] {
        let stderr = refused(&create(&extra), &allow);
        assert!(stderr.contains(&refusal), "{extra}: {stderr}");
        assert!(
            !docker_output(&["inspect", &name]).status.success(),
            "{extra}: created"
        );
    }
    // Volume operations by a host path, under `volumes = ["*"]`.
    for hostile in ["/", "/var/run/docker.sock", "../x", "x/../../y", "%2F"] {
        for op in ["volume-snapshot", "volume-restore", "volume-remove"] {
            let stderr = refused(
                &format!(r#"call = "{op}", volume = "{hostile}", file = "out/v.tar""#),
                &allow,
            );
            assert!(
                stderr.contains("is not a valid volume name"),
                "{op} {hostile}: {stderr}"
            );
        }
    }
    untouched(&victim);
}
