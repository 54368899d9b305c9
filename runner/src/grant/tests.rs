use super::*;

fn grants() -> Grants {
    Grants {
        write: vec!["./out/".into()],
        read: vec!["src".into()],
        network: vec!["db:5000-6000".into()],
        http: vec!["https://example.org/data/".into()],
        env: vec!["PG*".into()],
        containers: Patterns::of(&["app-*", "db"]),
        images: Patterns::of(&["run-test/*", "busybox"]),
        networks: Patterns::of(&["demo-*"]),
        volumes: Patterns::of(&["demo-*"]),
        ports: vec!["8080".into(), "9000-9010".into()],
        cap_add: vec!["NET_ADMIN".into()],
        namespaces: vec![Namespace::HostPid],
        devices: vec!["/dev/fuse".into()],
        security_opts: vec!["seccomp=unconfined".into()],
        privileged: false,
        sysctls: vec!["net.core.somaxconn".into(), "net.ipv4.*".into()],
        runtimes: vec!["runsc".into()],
    }
}

fn need(kind: GrantKind, value: &str) -> Grant {
    Grant::new(kind, value)
}

#[test]
fn container_globs_match_canonical_names_only() {
    let g = grants();
    assert!(g.allows_container("app-1"));
    assert!(g.allows_container("db"));
    // The traversal that once passed the glob: `*` would match `/`, but the
    // name never reaches the glob.
    assert!(!g.allows_container("app-/../other"));
    assert!(!g.allows_container("app-x?all=1"));
    assert!(!g.allows_container("app-x#"));
    assert!(!g.allows_container("/app-1"));
    assert!(!g.allows_container("app-1/db"));
    assert!(!g.allows_container("\u{430}pp-1"));
    assert!(!g.allows_container("DB"));
}

#[test]
fn images_match_familiar_and_qualified_forms() {
    let g = grants();
    let image = |t: &str| match image::ImageName::parse(t).unwrap() {
        image::ImageName::Reference(r) => r,
        image::ImageName::Id(_) => panic!("{t}"),
    };
    assert!(g.allows_image(&image("run-test/postgres:15")));
    assert!(g.allows_image(&image("busybox")));
    assert!(g.allows_image(&image("busybox:latest")));
    assert!(g.allows_image(&image("docker.io/library/busybox:latest")));
    assert!(!g.allows_image(&image("busybox:1.36")));
    assert!(!g.allows_image(&image("postgres:15")));
}

#[test]
fn network_modes_are_never_network_names() {
    let g = Grants {
        networks: Patterns::of(&["*"]),
        ..Grants::default()
    };
    assert!(g.allows_network("demo_default"));
    assert!(!g.allows_network("host"));
    assert!(!g.allows_network("none"));
    assert!(!g.allows_network("container:db"));
}

#[test]
fn volumes_are_names_never_paths() {
    let g = Grants {
        volumes: Patterns::of(&["*"]),
        ..Grants::default()
    };
    assert!(g.allows_volume("pgdata"));
    assert!(!g.allows_volume("/"));
    assert!(!g.allows_volume("/var/run/docker.sock"));
    assert!(!g.allows_volume("../x"));
}

#[test]
fn options_need_their_own_keys() {
    let g = grants();
    assert!(g.allows_cap_add("NET_ADMIN"));
    assert!(g.allows_cap_add("cap_net_admin"));
    assert!(!g.allows_cap_add("SYS_ADMIN"));
    assert!(!g.allows_cap_add("ALL"));
    assert!(g.allows_namespace(Namespace::HostPid));
    assert!(!g.allows_namespace(Namespace::HostNetwork));
    assert!(g.allows_device("/dev/fuse"));
    assert!(!g.allows_device("/dev/sda"));
    assert!(g.allows_security_opt("seccomp=unconfined"));
    assert!(g.allows_security_opt("no-new-privileges"));
    assert!(!g.allows_security_opt("apparmor=unconfined"));
    assert!(!g.privileged);
    let all = Grants {
        cap_add: vec!["ALL".into()],
        ..Grants::default()
    };
    assert!(all.allows_cap_add("SYS_ADMIN") && all.allows_cap_add("ALL"));
}

#[test]
fn nothing_is_granted_by_default() {
    let g = Grants::default();
    assert!(g.is_empty());
    assert!(!g.allows_container("db"));
    assert!(!g.allows_volume("demo-data"));
    assert!(!g.allows_port(8080));
    assert!(!g.allows_security_opt("seccomp=unconfined"));
}

#[test]
fn covers_what_plugins_declare() {
    let g = grants();
    for covered in [
        need(GrantKind::Write, "out/notes"),
        need(GrantKind::Read, "out"),
        need(GrantKind::Read, "src/a"),
        need(GrantKind::Network, "db:5432"),
        need(GrantKind::Env, "PGHOST"),
        need(GrantKind::Containers, "app-web"),
        need(GrantKind::Containers, "app-*"),
        need(GrantKind::Images, "busybox:latest"),
        need(GrantKind::Ports, "9001-9002"),
        need(GrantKind::CapAdd, "NET_ADMIN"),
        need(GrantKind::Namespaces, "host-pid"),
        need(GrantKind::Http, "https://EXAMPLE.org:443/data/osv/"),
        need(GrantKind::Http, "https://example.org/data/a.json"),
    ] {
        assert!(g.covers(&covered), "{covered:?}");
    }
    for missing in [
        need(GrantKind::Write, "src"),
        need(GrantKind::Write, "out/../etc"),
        need(GrantKind::Network, "db:80"),
        need(GrantKind::Containers, "*"),
        need(GrantKind::Ports, "9005-9011"),
        need(GrantKind::Privileged, "true"),
        need(GrantKind::Http, "https://example.org/"),
        need(GrantKind::Http, "https://example.org/data"),
        need(GrantKind::Http, "https://example.org/data/../other/"),
        need(GrantKind::Http, "http://example.org/data/"),
    ] {
        assert!(!g.covers(&missing), "{missing:?}");
    }
    assert_eq!(
        g.missing(&[
            need(GrantKind::Write, "src"),
            need(GrantKind::Write, "out"),
            need(GrantKind::Write, "src")
        ]),
        vec![need(GrantKind::Write, "src")]
    );
}

#[test]
fn denials_say_what_is_granted() {
    let g = grants();
    let denial = g.deny(
        "t",
        Object::Container,
        "other",
        Some(Grant::new(GrantKind::Containers, "other")),
    );
    assert_eq!(
        denial.to_string(),
        "container `other` is not granted to task `t` (allow.containers grants app-*, db)"
    );
}

#[test]
fn capabilities_have_one_normal_name() {
    for written in ["NET_ADMIN", "CAP_NET_ADMIN", "net_admin", "cap_net_admin"] {
        assert_eq!(normalize_capability(written), "NET_ADMIN");
    }
    assert_eq!(normalize_capability("all"), "ALL");
}
