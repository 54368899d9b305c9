//! The `stacks` capability without Docker: every option of a container spec
//! that widens its reach is denied without its own grant, names and mount
//! sources are checked, and what reaches the engine is typed.

use bollard::models::MountType;

use crate::capability::engine::HostError;
use crate::capability::engine::fake::{FakeEngine, Rig, id_of};
use crate::grant::{Grant, GrantKind, Grants, Namespace, Object, Patterns};
use crate::plugin::bindings::engine_types::{PortBinding, Protocol};
use crate::plugin::bindings::stacks::{
    BindMount, ContainerSpec, Device, Host, MountSpec, NamespaceMode, NetworkAttachment,
    NetworkMode, Resources, RestartPolicy, TmpfsMount, VolumeMount,
};

fn spec(name: &str) -> ContainerSpec {
    ContainerSpec {
        name: name.into(),
        image: "run-test/postgres:15".into(),
        entrypoint: None,
        command: Some(vec!["postgres".into()]),
        env: vec![("PGDATA".into(), "/data".into())],
        labels: vec![("com.docker.compose.project".into(), "demo".into())],
        ports: Vec::new(),
        mounts: Vec::new(),
        network_mode: NetworkMode::Networks(Vec::new()),
        pid_mode: NamespaceMode::Private,
        ipc_mode: NamespaceMode::Private,
        hostname: None,
        domainname: None,
        healthcheck: None,
        restart: RestartPolicy::UnlessStopped,
        user: None,
        workdir: None,
        stop_signal: None,
        stop_grace_seconds: None,
        cap_add: Vec::new(),
        cap_drop: Vec::new(),
        security_opt: Vec::new(),
        privileged: false,
        read_only_rootfs: false,
        devices: Vec::new(),
        ulimits: Vec::new(),
        resources: Resources {
            memory_bytes: None,
            memory_reservation_bytes: None,
            nano_cpus: None,
            pids_limit: None,
            shm_size_bytes: None,
        },
        extra_hosts: Vec::new(),
        init: None,
        platform: None,
        sysctls: Vec::new(),
        runtime: None,
        mac_address: None,
    }
}

/// The grants a Compose-like stack `demo` has: its own names, nothing that
/// widens a container's reach.
fn demo() -> Grants {
    Grants {
        write: vec!["out".into()],
        read: vec!["in".into()],
        containers: Patterns::of(&["demo-*"]),
        images: Patterns::of(&["run-test/*"]),
        networks: Patterns::of(&["demo-*"]),
        volumes: Patterns::of(&["demo-*"]),
        ports: vec!["55432".into()],
        ..Default::default()
    }
}

fn rig(grants: Grants, plan: bool) -> Rig {
    let fake = FakeEngine::new();
    fake.image("run-test/postgres:15");
    fake.container("demo-db", "run-test/postgres:15");
    fake.container("outsider", "run-test/postgres:15");
    fake.network("demo-net");
    fake.network("demo-back");
    fake.network("other-net");
    fake.volume("demo-data");
    Rig::with(grants, fake, plan)
}

async fn create(rig: &mut Rig, spec: ContainerSpec) -> Result<(), HostError> {
    rig.host.create_container(spec).await.map(drop)
}

fn denial(result: Result<(), HostError>) -> crate::grant::Denial {
    match result {
        Err(HostError::Denied(denial)) => *denial,
        other => panic!("expected a denial, got {other:?}"),
    }
}

fn body(rig: &Rig) -> bollard::models::ContainerCreateBody {
    rig.fake
        .state
        .lock()
        .unwrap()
        .created
        .last()
        .unwrap()
        .1
        .clone()
}

#[tokio::test]
async fn a_granted_spec_becomes_a_typed_create_body() {
    let mut rig = rig(demo(), false);
    let mut s = spec("demo-web");
    s.ports = vec![PortBinding {
        container_port: 5432,
        protocol: Protocol::Tcp,
        host_ip: Some("127.0.0.1".into()),
        host_port: Some(55432),
    }];
    s.mounts = vec![
        MountSpec::Volume(VolumeMount {
            volume: "demo-data".into(),
            destination: "/data".into(),
            read_only: false,
        }),
        MountSpec::Anonymous("/cache".into()),
        MountSpec::Bind(BindMount {
            source: "in".into(),
            destination: "/seed".into(),
            read_only: true,
        }),
        MountSpec::Tmpfs(TmpfsMount {
            destination: "/run".into(),
            size_bytes: Some(1 << 20),
            mode: Some(0o1777),
        }),
    ];
    s.network_mode = NetworkMode::Networks(vec![
        NetworkAttachment {
            network: "demo-net".into(),
            aliases: vec!["db".into()],
            ipv4_address: None,
            ipv6_address: None,
        },
        NetworkAttachment {
            network: "demo-back".into(),
            aliases: Vec::new(),
            ipv4_address: None,
            ipv6_address: None,
        },
    ]);
    s.cap_drop = vec!["ALL".into()];
    s.security_opt = vec!["no-new-privileges".into()];
    let handle = rig.host.create_container(s).await.unwrap();
    let created = rig.host.handles.get(&handle).unwrap().clone();
    assert_eq!(created.name, "demo-web");
    let body = body(&rig);
    assert_eq!(body.image.as_deref(), Some("run-test/postgres:15"));
    let host = body.host_config.unwrap();
    assert!(host.binds.is_none(), "mounts are typed, never bind strings");
    let mounts = host.mounts.unwrap();
    assert_eq!(mounts[0].typ, Some(MountType::VOLUME));
    assert_eq!(mounts[0].source.as_deref(), Some("demo-data"));
    assert_eq!(mounts[1].source, None, "anonymous");
    assert_eq!(mounts[2].typ, Some(MountType::BIND));
    let bound = rig.path("in").canonicalize().unwrap();
    assert_eq!(mounts[2].source.as_deref(), bound.to_str());
    assert_eq!(mounts[3].typ, Some(MountType::TMPFS));
    let net = id_of("network demo-net");
    assert_eq!(host.network_mode.as_deref(), Some(net.as_str()), "by ID");
    assert_eq!(host.cap_drop, Some(vec!["ALL".to_owned()]));
    assert_eq!(host.privileged, Some(false));
    let bindings = host.port_bindings.unwrap();
    assert_eq!(
        bindings["5432/tcp"].as_ref().unwrap()[0]
            .host_port
            .as_deref(),
        Some("55432")
    );
    let calls = rig.fake.calls();
    let back = id_of("network demo-back");
    assert!(
        calls
            .iter()
            .any(|c| c.starts_with(&format!("connect_network {back}"))),
        "{calls:?}"
    );
}

#[tokio::test]
async fn hostile_names_in_a_spec_are_refused_before_the_engine_creates_anything() {
    type Change = Box<dyn Fn(&mut ContainerSpec)>;
    let cases: Vec<(&str, Change)> = vec![
        (
            "name traversal",
            Box::new(|s| s.name = "demo-/../outsider".into()),
        ),
        ("name query", Box::new(|s| s.name = "demo-x?x=1".into())),
        (
            "name look-alike",
            Box::new(|s| s.name = "demo-\u{445}".into()),
        ),
        (
            "image",
            Box::new(|s| s.image = "run-test/postgres:15#x".into()),
        ),
        (
            "volume /",
            Box::new(|s| {
                s.mounts = vec![MountSpec::Volume(VolumeMount {
                    volume: "/".into(),
                    destination: "/host".into(),
                    read_only: false,
                })]
            }),
        ),
        (
            "volume socket",
            Box::new(|s| {
                s.mounts = vec![MountSpec::Volume(VolumeMount {
                    volume: "/var/run/docker.sock".into(),
                    destination: "/sock".into(),
                    read_only: false,
                })]
            }),
        ),
        (
            "volume ..",
            Box::new(|s| {
                s.mounts = vec![MountSpec::Volume(VolumeMount {
                    volume: "..".into(),
                    destination: "/x".into(),
                    read_only: false,
                })]
            }),
        ),
        (
            "relative destination",
            Box::new(|s| s.mounts = vec![MountSpec::Anonymous("data".into())]),
        ),
        (
            "alias",
            Box::new(|s| {
                s.network_mode = NetworkMode::Networks(vec![NetworkAttachment {
                    network: "demo-net".into(),
                    aliases: vec!["db/../x".into()],
                    ipv4_address: None,
                    ipv6_address: None,
                }])
            }),
        ),
        (
            "extra host",
            Box::new(|s| s.extra_hosts = vec![("db\nx".into(), "10.0.0.1".into())]),
        ),
        (
            "extra host ip",
            Box::new(|s| s.extra_hosts = vec![("db".into(), "10.0.0.1 x".into())]),
        ),
        (
            "env",
            Box::new(|s| s.env = vec![("A=B".into(), "c".into())]),
        ),
        ("cap", Box::new(|s| s.cap_drop = vec!["NOT_A_CAP".into()])),
        (
            "security opt",
            Box::new(|s| s.security_opt = vec!["bogus=1".into()]),
        ),
        (
            "device",
            Box::new(|s| {
                s.devices = vec![Device {
                    host_path: "/dev/../etc/shadow".into(),
                    container_path: "/x".into(),
                    permissions: "r".into(),
                }]
            }),
        ),
    ];
    let mut every = demo();
    every.volumes = Patterns::of(&["*"]);
    every.networks = Patterns::of(&["*"]);
    every.containers = Patterns::of(&["*"]);
    every.cap_add = vec!["ALL".into()];
    every.devices = vec!["/dev/fuse".into()];
    for (what, change) in cases {
        let mut rig = rig(every.clone(), false);
        let mut s = spec("demo-web");
        change(&mut s);
        let error = create(&mut rig, s).await.err().unwrap();
        assert!(
            matches!(error, HostError::InvalidName { .. }),
            "{what}: {error:?}"
        );
        assert!(
            rig.fake.changes().is_empty(),
            "{what}: {:?}",
            rig.fake.changes()
        );
    }
}

#[tokio::test]
async fn network_modes_are_never_network_names_even_under_a_star_grant() {
    let mut grants = demo();
    grants.networks = Patterns::of(&["*"]);
    for network in [
        "host",
        "none",
        "bridge",
        "container:demo-db",
        "container:outsider",
    ] {
        let mut rig = rig(grants.clone(), false);
        let mut s = spec("demo-web");
        s.network_mode = NetworkMode::Networks(vec![NetworkAttachment {
            network: network.into(),
            aliases: Vec::new(),
            ipv4_address: None,
            ipv6_address: None,
        }]);
        let error = create(&mut rig, s).await.err().unwrap();
        assert!(
            matches!(
                error,
                HostError::InvalidName {
                    object: Object::Network,
                    ..
                }
            ),
            "{network}: {error:?}"
        );
        assert!(matches!(
            rig.host
                .network_create(network.into(), Vec::new())
                .await
                .err(),
            Some(HostError::InvalidName { .. })
        ));
        assert!(rig.fake.changes().is_empty());
    }
}

#[tokio::test]
async fn every_option_that_widens_reach_is_denied_without_its_own_key() {
    type Change = Box<dyn Fn(&mut ContainerSpec)>;
    let cases: Vec<(Change, Object, Grant)> = vec![
        (
            Box::new(|s| s.network_mode = NetworkMode::Host),
            Object::Namespace,
            Grant::new(GrantKind::Namespaces, "host-network"),
        ),
        (
            Box::new(|s| s.network_mode = NetworkMode::Container("demo-db".into())),
            Object::Namespace,
            Grant::new(GrantKind::Namespaces, "container-network"),
        ),
        (
            Box::new(|s| s.pid_mode = NamespaceMode::Host),
            Object::Namespace,
            Grant::new(GrantKind::Namespaces, "host-pid"),
        ),
        (
            Box::new(|s| s.pid_mode = NamespaceMode::Container("demo-db".into())),
            Object::Namespace,
            Grant::new(GrantKind::Namespaces, "container-pid"),
        ),
        (
            Box::new(|s| s.ipc_mode = NamespaceMode::Host),
            Object::Namespace,
            Grant::new(GrantKind::Namespaces, "host-ipc"),
        ),
        (
            Box::new(|s| s.ipc_mode = NamespaceMode::Container("demo-db".into())),
            Object::Namespace,
            Grant::new(GrantKind::Namespaces, "container-ipc"),
        ),
        (
            Box::new(|s| s.cap_add = vec!["NET_ADMIN".into()]),
            Object::Capability,
            Grant::new(GrantKind::CapAdd, "NET_ADMIN"),
        ),
        (
            Box::new(|s| s.cap_add = vec!["cap_sys_admin".into()]),
            Object::Capability,
            Grant::new(GrantKind::CapAdd, "SYS_ADMIN"),
        ),
        (
            Box::new(|s| s.cap_add = vec!["ALL".into()]),
            Object::Capability,
            Grant::new(GrantKind::CapAdd, "ALL"),
        ),
        (
            Box::new(|s| s.privileged = true),
            Object::PrivilegedMode,
            Grant::new(GrantKind::Privileged, "true"),
        ),
        (
            Box::new(|s| {
                s.devices = vec![Device {
                    host_path: "/dev/fuse".into(),
                    container_path: "/dev/fuse".into(),
                    permissions: "rwm".into(),
                }]
            }),
            Object::Device,
            Grant::new(GrantKind::Devices, "/dev/fuse"),
        ),
        (
            Box::new(|s| {
                s.ports = vec![PortBinding {
                    container_port: 80,
                    protocol: Protocol::Tcp,
                    host_ip: None,
                    host_port: Some(80),
                }]
            }),
            Object::HostPort,
            Grant::new(GrantKind::Ports, "80"),
        ),
        (
            Box::new(|s| {
                s.mounts = vec![MountSpec::Volume(VolumeMount {
                    volume: "secret".into(),
                    destination: "/x".into(),
                    read_only: true,
                })]
            }),
            Object::Volume,
            Grant::new(GrantKind::Volumes, "secret"),
        ),
        (
            Box::new(|s| {
                s.network_mode = NetworkMode::Networks(vec![NetworkAttachment {
                    network: "other-net".into(),
                    aliases: Vec::new(),
                    ipv4_address: None,
                    ipv6_address: None,
                }])
            }),
            Object::Network,
            Grant::new(GrantKind::Networks, "other-net"),
        ),
        (
            Box::new(|s| s.name = "outsider-2".into()),
            Object::Container,
            Grant::new(GrantKind::Containers, "outsider-2"),
        ),
        (
            Box::new(|s| s.image = "busybox:latest".into()),
            Object::Image,
            Grant::new(GrantKind::Images, "busybox:latest"),
        ),
    ];
    for option in [
        "seccomp=unconfined",
        "apparmor=unconfined",
        "label=disable",
        "label:disable",
        "systempaths=unconfined",
        "no-new-privileges=false",
    ] {
        let mut rig = rig(demo(), false);
        let mut s = spec("demo-web");
        s.security_opt = vec![option.into()];
        let denial = denial(create(&mut rig, s).await);
        assert_eq!(denial.object, Object::SecurityOption, "{option}");
        assert_eq!(
            denial.grant,
            Some(Grant::new(GrantKind::SecurityOpts, option))
        );
        assert!(rig.fake.changes().is_empty());
    }
    for (change, object, grant) in cases {
        let mut rig = rig(demo(), false);
        let mut s = spec("demo-web");
        change(&mut s);
        let denial = denial(create(&mut rig, s).await);
        assert_eq!(
            (denial.object, denial.grant.as_ref()),
            (object, Some(&grant))
        );
        assert!(rig.fake.changes().is_empty(), "{grant:?}");
    }
}

#[tokio::test]
async fn each_option_is_allowed_by_its_own_key() {
    let mut grants = demo();
    grants.namespaces = vec![Namespace::ContainerNetwork, Namespace::HostPid];
    grants.cap_add = vec!["NET_ADMIN".into()];
    grants.security_opts = vec!["seccomp=unconfined".into()];
    grants.devices = vec!["/dev/fuse".into()];
    grants.privileged = true;
    let mut rig = rig(grants, false);
    let mut s = spec("demo-web");
    s.network_mode = NetworkMode::Container("demo-db".into());
    s.pid_mode = NamespaceMode::Host;
    s.cap_add = vec!["cap_net_admin".into()];
    s.security_opt = vec!["seccomp=unconfined".into()];
    s.devices = vec![Device {
        host_path: "/dev/fuse".into(),
        container_path: "/dev/fuse".into(),
        permissions: "rwm".into(),
    }];
    s.privileged = true;
    create(&mut rig, s).await.unwrap();
    let host = body(&rig).host_config.unwrap();
    let db = id_of("demo-db");
    assert_eq!(
        host.network_mode,
        Some(format!("container:{db}")),
        "joined by ID"
    );
    assert_eq!(host.pid_mode.as_deref(), Some("host"));
    assert_eq!(host.cap_add, Some(vec!["NET_ADMIN".to_owned()]));
    assert_eq!(host.privileged, Some(true));
}

#[tokio::test]
async fn a_shared_namespace_needs_the_other_container_granted_too() {
    let mut grants = demo();
    grants.namespaces = vec![Namespace::ContainerNetwork];
    let mut rig = rig(grants, false);
    let mut s = spec("demo-web");
    s.network_mode = NetworkMode::Container("outsider".into());
    let denial = denial(create(&mut rig, s).await);
    assert_eq!(
        denial.grant,
        Some(Grant::new(GrantKind::Containers, "outsider"))
    );
}

#[tokio::test]
async fn bind_sources_must_be_granted_directories() {
    for (source, read_only, grant) in [
        ("/", true, Some(Grant::new(GrantKind::Read, "/"))),
        ("/etc", true, Some(Grant::new(GrantKind::Read, "/etc"))),
        (
            "/var/run/docker.sock",
            false,
            Some(Grant::new(GrantKind::Write, "/var/run/docker.sock")),
        ),
        // Out of the project: no grant could allow it, so none is named.
        ("../outside", true, None),
        ("out/../../outside", false, None),
        // Read-only grant, read-write bind.
        ("in", false, Some(Grant::new(GrantKind::Write, "in"))),
    ] {
        let mut rig = rig(demo(), false);
        let mut s = spec("demo-web");
        s.mounts = vec![MountSpec::Bind(BindMount {
            source: source.into(),
            destination: "/host".into(),
            read_only,
        })];
        let denial = denial(create(&mut rig, s).await);
        assert_eq!(denial.object, Object::File, "{source}");
        assert_eq!(denial.grant, grant, "{source}");
        assert!(rig.fake.changes().is_empty());
    }
}

#[tokio::test]
async fn a_volume_a_granted_container_mounts_can_be_mounted() {
    let mut grants = demo();
    grants.volumes = Patterns::default();
    let mut rig = rig(grants, false);
    rig.fake.edit(&id_of("demo-db"), |c| {
        c.mounts = vec![("volume".into(), "pgdata".into(), "/data".into())];
    });
    let mut s = spec("demo-web");
    s.mounts = vec![MountSpec::Volume(VolumeMount {
        volume: "pgdata".into(),
        destination: "/data".into(),
        read_only: true,
    })];
    create(&mut rig, s).await.unwrap();
}

#[tokio::test]
async fn creating_is_refused_under_plan_after_the_checks() {
    let mut rig = rig(demo(), true);
    let error = create(&mut rig, spec("demo-web")).await.err().unwrap();
    assert!(
        error
            .to_string()
            .starts_with("stacks.create-container changes something")
    );
    let error = create(&mut rig, spec("outsider-2")).await.err().unwrap();
    assert!(
        matches!(error, HostError::Denied(_)),
        "a plan still shows denials"
    );
    for error in [
        rig.host
            .network_create("demo-x".into(), Vec::new())
            .await
            .err(),
        rig.host.network_remove("demo-net".into()).await.err(),
    ] {
        assert!(
            matches!(error, Some(HostError::Unsupported(_))),
            "{error:?}"
        );
    }
    assert!(rig.fake.changes().is_empty(), "{:?}", rig.fake.changes());
}

/// Issue 15: a service called `a` was refused as a network alias (a
/// container name needs two characters; a DNS name does not).
#[tokio::test]
async fn a_one_letter_service_name_is_a_valid_alias() {
    let mut rig = rig(demo(), false);
    let mut s = spec("demo-a");
    s.network_mode = NetworkMode::Networks(vec![NetworkAttachment {
        network: "demo-net".into(),
        aliases: vec!["a".into()],
        ipv4_address: None,
        ipv6_address: None,
    }]);
    create(&mut rig, s).await.unwrap();
}

/// Issue 15: `--plan` said "would start" for files that could not; it now
/// checks every grant a spec needs even when the stack's image and network
/// do not exist yet (they would be pulled and created first).
#[tokio::test]
async fn under_plan_missing_images_and_networks_do_not_hide_denials() {
    let mut rig = rig(demo(), true);
    let mut s = spec("demo-web");
    s.image = "run-test/not-pulled:1".into();
    s.network_mode = NetworkMode::Networks(vec![NetworkAttachment {
        network: "demo-not-created".into(),
        aliases: vec!["web".into()],
        ipv4_address: None,
        ipv6_address: None,
    }]);
    let error = create(&mut rig, s.clone()).await.err().unwrap();
    assert!(
        error.to_string().contains("refused under run --plan"),
        "{error}"
    );
    s.cap_add = vec!["NET_ADMIN".into()];
    let denied = denial(create(&mut rig, s.clone()).await);
    assert_eq!(
        denied.grant,
        Some(Grant::new(GrantKind::CapAdd, "NET_ADMIN"))
    );
    s.cap_add.clear();
    s.image = "elsewhere/not-pulled:1".into();
    assert!(matches!(
        create(&mut rig, s).await,
        Err(HostError::Denied(_))
    ));
    assert!(rig.fake.changes().is_empty(), "{:?}", rig.fake.changes());
}

/// Issue 15: a bad value was found after part of the stack had started;
/// `check-container` runs every check and creates nothing.
#[tokio::test]
async fn check_container_checks_everything_and_creates_nothing() {
    let mut rig = rig(demo(), false);
    let mut s = spec("demo-web");
    s.image = "run-test/not-pulled:1".into();
    s.network_mode = NetworkMode::Networks(vec![NetworkAttachment {
        network: "demo-not-created".into(),
        aliases: vec!["web".into()],
        ipv4_address: None,
        ipv6_address: None,
    }]);
    rig.host.check_container(s.clone()).await.unwrap();
    s.privileged = true;
    let denied = match rig.host.check_container(s).await {
        Err(HostError::Denied(denial)) => *denial,
        other => panic!("expected a denial, got {other:?}"),
    };
    assert_eq!(
        denied.grant,
        Some(Grant::new(GrantKind::Privileged, "true"))
    );
    assert!(rig.fake.changes().is_empty(), "{:?}", rig.fake.changes());
}

#[tokio::test]
async fn a_missing_image_is_not_found_and_a_platform_must_match() {
    let mut rig = rig(demo(), false);
    let mut s = spec("demo-web");
    s.image = "run-test/absent:1".into();
    assert!(matches!(
        create(&mut rig, s).await.err(),
        Some(HostError::NotFound {
            object: Object::Image,
            ..
        })
    ));
    let mut s = spec("demo-web");
    s.platform = Some("linux/arm64".into());
    let error = create(&mut rig, s).await.err().unwrap();
    assert_eq!(
        error.to_string(),
        "container `demo-web` is for platform `linux/arm64`; the engine runs `linux/amd64`"
    );
    let mut s = spec("demo-web");
    s.platform = Some("linux/amd64".into());
    create(&mut rig, s).await.unwrap();
}

#[tokio::test]
async fn networks_are_granted_by_name_and_removed_by_id() {
    let mut rig = rig(demo(), false);
    assert!(
        rig.host
            .network_create("demo-new".into(), Vec::new())
            .await
            .unwrap()
    );
    assert!(
        !rig.host
            .network_create("demo-new".into(), Vec::new())
            .await
            .unwrap()
    );
    assert!(matches!(
        rig.host
            .network_create("other-x".into(), Vec::new())
            .await
            .err(),
        Some(HostError::Denied(_))
    ));
    let names: Vec<String> = rig
        .host
        .network_list()
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.name)
        .collect();
    assert_eq!(names, ["demo-back", "demo-net", "demo-new"]);
    rig.host.network_remove("demo-net".into()).await.unwrap();
    let id = id_of("network demo-net");
    assert!(rig.fake.calls().contains(&format!("remove_network {id}")));
    assert!(matches!(
        rig.host.network_remove("other-net".into()).await.err(),
        Some(HostError::Denied(_))
    ));
}

#[tokio::test]
async fn host_ports_need_allow_ports() {
    let mut rig = rig(demo(), false);
    let Some(HostError::Denied(denial)) = rig
        .host
        .host_port_free(None, 8080, Protocol::Tcp)
        .await
        .err()
    else {
        panic!()
    };
    assert_eq!(denial.grant, Some(Grant::new(GrantKind::Ports, "8080")));
    assert!(matches!(
        rig.host
            .host_port_free(Some("not an ip".into()), 55432, Protocol::Tcp)
            .await
            .err(),
        Some(HostError::InvalidName { .. })
    ));
}

/// A remote engine's ports are not this machine's: the engine is asked
/// which ports its running containers publish.
#[tokio::test]
async fn a_remote_engine_is_asked_which_host_ports_are_taken() {
    let mut rig = rig(demo(), false);
    rig.fake.state.lock().unwrap().local = false;
    assert!(
        rig.host
            .host_port_free(None, 55432, Protocol::Tcp)
            .await
            .unwrap()
    );
    let id = id_of("demo-db");
    rig.fake.edit(&id, |c| {
        c.body = Some(bollard::models::ContainerCreateBody {
            host_config: Some(bollard::models::HostConfig {
                port_bindings: Some(
                    [(
                        "5432/tcp".to_owned(),
                        Some(vec![bollard::models::PortBinding {
                            host_ip: Some("127.0.0.1".into()),
                            host_port: Some("55432".into()),
                        }]),
                    )]
                    .into_iter()
                    .collect(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        });
    });
    for (ip, protocol, expected) in [
        (None, Protocol::Tcp, false),
        (Some("127.0.0.1"), Protocol::Tcp, false),
        (Some("10.0.0.1"), Protocol::Tcp, true),
        (None, Protocol::Udp, true),
    ] {
        let ip = ip.map(str::to_owned);
        assert_eq!(
            rig.host
                .host_port_free(ip.clone(), 55432, protocol)
                .await
                .unwrap(),
            expected,
            "{ip:?}"
        );
    }
    // A stopped container publishes nothing.
    rig.fake.edit(&id, |c| {
        c.state = bollard::models::ContainerStateStatusEnum::EXITED;
    });
    assert!(
        rig.host
            .host_port_free(None, 55432, Protocol::Tcp)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn engine_info_reports_the_product_and_needs_a_container_grant() {
    let mut rig = rig(demo(), false);
    let facts = rig.host.engine_info().await.unwrap();
    assert_eq!(facts.product, "docker");
    assert_eq!(facts.architecture, "amd64");
    assert!(facts.local);
    rig.fake.state.lock().unwrap().product = "Podman Engine".into();
    assert_eq!(rig.host.engine_info().await.unwrap().product, "podman");
    let mut rig = self::rig(Grants::default(), false);
    assert!(matches!(
        rig.host.engine_info().await.err(),
        Some(HostError::Denied(_))
    ));
}

/// Issue 15: `--plan` makes write grants read-only, so a read-write bind a
/// real run is granted was refused under `--plan`, naming the write grant
/// the task already has. It is checked against the task's write grants.
#[tokio::test]
async fn under_plan_a_read_write_bind_is_checked_against_the_write_grants() {
    use crate::capability::engine::EngineHost;
    use crate::capability::files::Preopen;
    let mut rig = rig(demo(), true);
    // As `--plan` opens them: every directory read-only.
    let preopens = vec![
        Preopen::trusted(&rig.path("out"), "out", false).unwrap(),
        Preopen::trusted(&rig.path("in"), "in", false).unwrap(),
    ];
    rig.host = EngineHost::new("t", demo(), preopens, true)
        .with_planned_writes(vec!["out".into()])
        .with_engine(rig.fake.arc());
    let bind = |source: &str| {
        let mut s = spec("demo-web");
        s.mounts = vec![MountSpec::Bind(BindMount {
            source: source.into(),
            destination: "/d".into(),
            read_only: false,
        })];
        s
    };
    rig.host.check_container(bind("out")).await.unwrap();
    let denied = denial(rig.host.check_container(bind("in")).await);
    assert_eq!(denied.grant, Some(Grant::new(GrantKind::Write, "in")));
    // Creating stays refused under `--plan`, after the same checks.
    assert!(create(&mut rig, bind("out")).await.is_err());
    assert!(rig.fake.changes().is_empty());
}

fn unsupported(result: Result<(), HostError>) -> String {
    match result {
        Err(HostError::Unsupported(text)) => text,
        other => panic!("expected a refusal as unsupported, got {other:?}"),
    }
}

#[tokio::test]
async fn sysctls_are_set_in_the_containers_own_namespaces_only() {
    let mut rig = rig(demo(), false);
    let mut s = spec("demo-web");
    s.sysctls = vec![("net.ipv4.tcp_syncookies".into(), "1".into())];
    create(&mut rig, s).await.unwrap();
    let host = body(&rig).host_config.unwrap();
    assert_eq!(
        host.sysctls
            .unwrap()
            .get("net.ipv4.tcp_syncookies")
            .map(String::as_str),
        Some("1"),
        "a safe one needs no grant"
    );

    // Namespaced but weighing on the host: its own grant, named in the denial.
    let mut s = spec("demo-web2");
    s.sysctls = vec![("net/core/somaxconn".into(), "1024".into())];
    let refused = denial(create(&mut rig, s.clone()).await);
    assert_eq!(refused.object, Object::Sysctl);
    assert_eq!(refused.name, "net.core.somaxconn", "the canonical name");
    assert_eq!(
        refused.grant,
        Some(Grant::new(GrantKind::Sysctls, "net.core.somaxconn"))
    );
    let mut grants = demo();
    grants.sysctls = vec!["net.core.*".into()];
    let mut granted = rig_with(grants);
    create(&mut granted, s).await.unwrap();

    // Not namespaced: the host's kernel; no grant allows it.
    let mut grants = demo();
    grants.sysctls = vec!["net.*".into(), "kernel.shmmax".into()];
    let mut rig = rig_with(grants);
    let mut s = spec("demo-web3");
    s.sysctls = vec![("vm.max_map_count".into(), "262144".into())];
    let text = unsupported(create(&mut rig, s).await);
    assert!(
        text.contains("`vm.max_map_count` is not namespaced"),
        "{text}"
    );
    // In a namespace shared with the host or another container.
    let mut s = spec("demo-web4");
    s.sysctls = vec![("kernel.shmmax".into(), "1000000".into())];
    s.ipc_mode = NamespaceMode::Container("demo-db".into());
    let mut grants = demo();
    grants.sysctls = vec!["kernel.shmmax".into()];
    grants.namespaces = vec![Namespace::ContainerIpc];
    let text = unsupported(create(&mut rig_with(grants), s).await);
    assert!(
        text.contains("in container `demo-db`'s IPC namespace, which the container shares"),
        "{text}"
    );
    for (name, value) in [("../../etc", "1"), ("net.ipv4.tcp_syncookies", "1\n")] {
        let mut s = spec("demo-web5");
        s.sysctls = vec![(name.into(), value.into())];
        assert!(
            matches!(
                create(&mut rig, s).await,
                Err(HostError::InvalidName {
                    object: Object::Sysctl,
                    ..
                })
            ),
            "{name:?}={value:?}"
        );
    }
    assert_eq!(
        rig.fake.state.lock().unwrap().created.len(),
        0,
        "nothing refused was created"
    );
}

fn rig_with(grants: Grants) -> Rig {
    rig(grants, false)
}

#[tokio::test]
async fn a_runtime_other_than_the_default_needs_its_grant_and_the_engine_must_have_it() {
    let mut rig = rig(demo(), false);
    let mut s = spec("demo-web");
    s.runtime = Some("runc".into());
    create(&mut rig, s).await.unwrap();
    assert_eq!(
        body(&rig).host_config.unwrap().runtime.as_deref(),
        Some("runc")
    );

    let mut s = spec("demo-web2");
    s.runtime = Some("io.containerd.runc.v2".into());
    let refused = denial(create(&mut rig, s.clone()).await);
    assert_eq!(refused.object, Object::Runtime);
    assert_eq!(
        refused.grant,
        Some(Grant::new(GrantKind::Runtimes, "io.containerd.runc.v2"))
    );
    let mut grants = demo();
    grants.runtimes = vec!["io.containerd.runc.v2".into(), "runsc".into()];
    let mut granted = rig_with(grants);
    create(&mut granted, s).await.unwrap();

    let mut s = spec("demo-web3");
    s.runtime = Some("runsc".into());
    let text = unsupported(create(&mut granted, s).await);
    assert!(
        text.contains("runtime `runsc`, which the engine at")
            && text.contains("(it has io.containerd.runc.v2, runc)"),
        "{text}"
    );
    let mut s = spec("demo-web4");
    s.runtime = Some("../runc".into());
    assert!(matches!(
        create(&mut granted, s).await,
        Err(HostError::InvalidName {
            object: Object::Runtime,
            ..
        })
    ));
}

#[tokio::test]
async fn fixed_addresses_and_a_mac_address_reach_the_endpoint() {
    let mut rig = rig(demo(), false);
    let mut s = spec("demo-web");
    s.network_mode = NetworkMode::Networks(vec![NetworkAttachment {
        network: "demo-net".into(),
        aliases: vec!["web".into()],
        ipv4_address: Some("172.28.0.5".into()),
        ipv6_address: Some("fd00:28::5".into()),
    }]);
    s.mac_address = Some("02:42:AC:1C:00:05".into());
    create(&mut rig, s.clone()).await.unwrap();
    let created = body(&rig);
    let endpoints = created.networking_config.unwrap().endpoints_config.unwrap();
    let endpoint = endpoints.values().next().unwrap();
    let ipam = endpoint.ipam_config.clone().unwrap();
    assert_eq!(ipam.ipv4_address.as_deref(), Some("172.28.0.5"));
    assert_eq!(ipam.ipv6_address.as_deref(), Some("fd00:28::5"));
    assert_eq!(endpoint.mac_address.as_deref(), Some("02:42:ac:1c:00:05"));

    for (v4, mac) in [
        (Some("fd00::5"), None),
        (Some("0.0.0.0"), None),
        (Some("224.0.0.1"), None),
        (None, Some("01:00:5e:00:00:01")),
        (None, Some("02:42:ac")),
    ] {
        let mut bad = s.clone();
        bad.name = "demo-bad".into();
        let NetworkMode::Networks(n) = &mut bad.network_mode else {
            unreachable!()
        };
        n[0].ipv4_address = v4.map(Into::into);
        bad.mac_address = mac.map(Into::into);
        assert!(
            matches!(
                create(&mut rig, bad).await,
                Err(HostError::InvalidName {
                    object: Object::NetworkAddress,
                    ..
                })
            ),
            "{v4:?} {mac:?}"
        );
    }
    let mut none = spec("demo-none");
    none.network_mode = NetworkMode::None;
    none.mac_address = Some("02:42:ac:1c:00:05".into());
    assert!(unsupported(create(&mut rig, none).await).contains("joins none by name"));
}
