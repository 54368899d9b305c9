//! The container-engine host against the real Docker Engine, called as a
//! plugin would call it but without one: every escape found in review, and
//! its variants, refused by the real engine path (bollard, IDs, typed
//! bodies), and the granted calls doing what they say. The fixture-plugin
//! tests in `capability_container.rs` cover the same through a component.

use std::future::Future;

use runner::capability::containers::ContainerHandle;
use runner::capability::engine::{EngineHost, HostError};
use runner::capability::files::Preopen;
use runner::grant::{Grant, GrantKind, Grants, Namespace, Object, Patterns};
use runner::plugin::bindings::containers::{ExecRequest, Filter, Host as _, HostContainer as _};
use runner::plugin::bindings::engine_types::{Compression, PortBinding, Protocol};
use runner::plugin::bindings::{images, network_faults, stacks, volumes};
use wasmtime::component::Resource;

use crate::support::images::{BUSYBOX, Container, docker, docker_output, ensure, unique_name};

fn block<T>(future: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

fn again(r: &Resource<ContainerHandle>) -> Resource<ContainerHandle> {
    Resource::new_borrow(r.rep())
}

/// A task's engine side: `grants`, with `out/` granted for writing and `in/`
/// for reading in a temporary project.
struct Task {
    host: EngineHost,
    dir: tempfile::TempDir,
}

impl Task {
    fn new(grants: Grants) -> Task {
        ensure();
        let dir = tempfile::tempdir().unwrap();
        for sub in ["out", "in"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let preopens = vec![
            Preopen::trusted(&dir.path().join("out"), "out", true).unwrap(),
            Preopen::trusted(&dir.path().join("in"), "in", false).unwrap(),
        ];
        Task {
            host: EngineHost::new("t", grants, preopens, false),
            dir,
        }
    }

    fn path(&self, guest: &str) -> std::path::PathBuf {
        self.dir.path().join(guest)
    }
}

fn containers(patterns: &[&str]) -> Grants {
    Grants {
        containers: Patterns::of(patterns),
        ..Default::default()
    }
}

fn exec(command: &[&str]) -> ExecRequest {
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

fn denial(error: Option<HostError>) -> runner::grant::Denial {
    match error {
        Some(HostError::Denied(denial)) => *denial,
        other => panic!("expected a denial, got {other:?}"),
    }
}

#[test]
fn traversal_query_and_fragment_names_never_reach_another_container() {
    let tag = unique_name("ce-trav");
    let app = Container::busybox(&format!("{tag}-app"), &[]);
    let victim = Container::busybox(&format!("{tag}-OTHER"), &[]);
    let mut task = Task::new(containers(&[&format!("{tag}-app*")]));
    let hostile = [
        format!("{tag}-app-/../{}", victim.name),
        format!("{tag}-app/../{}", victim.name),
        format!("{tag}-app%2f..%2f{}", victim.name),
        format!("{tag}-app-%2e%2e"),
        format!("{tag}-app-x?all=1"),
        format!("{tag}-app-x#"),
        format!("{}/json?", app.name),
        format!("{}\u{430}", app.name),
    ];
    block(async {
        for name in &hostile {
            let error = task.host.open(name.clone()).await.err();
            assert!(
                matches!(
                    error,
                    Some(HostError::InvalidName {
                        object: Object::Container,
                        ..
                    })
                ),
                "{name:?}: {error:?}"
            );
        }
        // The granted one works, by name and by ID prefix.
        let handle = task.host.open(app.name.clone()).await.unwrap();
        let id = task.host.id(again(&handle)).await.unwrap();
        let by_prefix = task.host.open(id[..12].to_owned()).await.unwrap();
        assert_eq!(task.host.name(by_prefix).await.unwrap(), app.name);
        // The victim by its ID: denied by its canonical name.
        let victim_id = victim.inspect("{{.Id}}");
        let denied = denial(task.host.open(victim_id[..12].to_owned()).await.err());
        assert_eq!(denied.name, victim.name);
        assert_eq!(
            denied.grant,
            Some(Grant::new(GrantKind::Containers, &victim.name))
        );
        let listed = task.host.list(Filter::All).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].name, app.name);
    });
    assert_eq!(victim.inspect("{{.State.Status}}"), "running");
}

/// A legacy link's alias on Docker, a network alias on Podman (which has no
/// legacy links): `Container::linked_pair`.
#[test]
fn a_link_alias_is_never_a_name_of_the_linked_container() {
    let tag = unique_name("ce-link");
    let pair = Container::linked_pair(&tag);
    let volume = pair.volume.clone();
    let mut task = Task::new(containers(&[&format!("{tag}-app*"), "db"]));
    block(async {
        let alias = format!("{}/db", pair.app.name);
        assert!(matches!(
            task.host.open(alias).await.err(),
            Some(HostError::InvalidName { .. })
        ));
        assert!(matches!(
            task.host.open("db".into()).await.err(),
            Some(HostError::NotFound { .. })
        ));
        let error = volumes::Host::snapshot(
            &mut task.host,
            volume.clone(),
            "out/v.tar".into(),
            Compression::None,
        )
        .await
        .err();
        let denied = denial(error);
        assert_eq!(denied.object, Object::Volume);
        assert_eq!(
            denied.reason.as_deref(),
            Some("no granted container mounts it")
        );
    });
    assert!(!task.path("out/v.tar").exists());
}

#[test]
fn exec_streams_and_a_timeout_kills_the_command_in_the_container() {
    let c = Container::busybox("ce-exec", &[]);
    let mut task = Task::new(containers(&[&c.name]));
    std::fs::write(task.path("in/lines"), "a\nb\nc\n").unwrap();
    block(async {
        let h = task.host.open(c.name.clone()).await.unwrap();
        let mut req = exec(&["sh", "-c", "wc -l; echo err >&2; exit 3"]);
        req.stdin_file = Some("in/lines".into());
        let result = task.host.exec(again(&h), req).await.unwrap();
        assert_eq!(result.exit_code, 3);
        assert_eq!(String::from_utf8_lossy(&result.stdout).trim(), "3");
        assert_eq!(result.stderr, b"err\n");

        let mut req = exec(&["seq", "1", "100000"]);
        req.stdout_file = Some("out/seq.zst".into());
        req.stdout_compression = Compression::Zstd;
        let result = task.host.exec(again(&h), req).await.unwrap();
        let written = std::fs::read(task.path("out/seq.zst")).unwrap();
        let expected: String = (1..=100_000).map(|n| format!("{n}\n")).collect();
        assert_eq!(zstd::decode_all(&written[..]).unwrap(), expected.as_bytes());
        assert_eq!(result.file.unwrap().bytes, written.len() as u64);

        let mut req = exec(&["sleep", "4321"]);
        req.timeout_seconds = Some(1);
        let error = task.host.exec(again(&h), req).await.err().unwrap();
        assert!(error.to_string().contains("it was killed"), "{error}");

        // A call dropped half-way (the task's timeout, Ctrl-C) kills its command too.
        let call = task.host.exec(again(&h), exec(&["sleep", "4322"]));
        let limit = std::time::Duration::from_millis(500);
        assert!(tokio::time::timeout(limit, call).await.is_err());
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    });
    let ps = String::from_utf8_lossy(&c.exec(&["ps"]).stdout).into_owned();
    assert!(
        !ps.contains("sleep 4321"),
        "the timed-out command still runs:\n{ps}"
    );
    assert!(
        !ps.contains("sleep 4322"),
        "the dropped command still runs:\n{ps}"
    );
}

#[test]
fn volume_snapshot_and_restore_round_trip_through_typed_mount_helpers() {
    let volume = unique_name("ce-vol");
    docker(&["volume", "create", "--label", "run-test=1", &volume]);
    let mut c = Container::run(
        "ce-vol",
        &["-v", &format!("{volume}:/data")],
        BUSYBOX,
        &["sleep", "86400"],
    );
    c.volumes.push(volume.clone());
    c.exec(&[
        "sh",
        "-c",
        "echo one > /data/a.txt && mkdir /data/sub && echo two > /data/sub/b",
    ]);
    let mut task = Task::new(containers(&[&c.name]));
    block(async {
        volumes::Host::snapshot(
            &mut task.host,
            volume.clone(),
            "out/v.tar.zst".into(),
            Compression::Zstd,
        )
        .await
        .unwrap();
    });
    c.exec(&[
        "sh",
        "-c",
        "echo changed > /data/a.txt && echo extra > /data/extra",
    ]);
    std::fs::copy(task.path("out/v.tar.zst"), task.path("in/v.tar.zst")).unwrap();
    block(async {
        let error = volumes::Host::restore(
            &mut task.host,
            volume.clone(),
            "in/v.tar.zst".into(),
            Compression::Zstd,
        )
        .await
        .err()
        .unwrap();
        assert_eq!(
            error.to_string(),
            format!(
                "volume `{volume}` is in use by running container `{}`; stop it first",
                c.name
            )
        );
    });
    docker(&["stop", "-t", "1", &c.name]);
    block(async {
        volumes::Host::restore(
            &mut task.host,
            volume.clone(),
            "in/v.tar.zst".into(),
            Compression::Zstd,
        )
        .await
        .unwrap();
    });
    docker(&["start", &c.name]);
    let files = String::from_utf8_lossy(
        &c.exec(&["sh", "-c", "cat /data/a.txt /data/sub/b; ls /data"])
            .stdout,
    )
    .into_owned();
    assert_eq!(files, "one\ntwo\na.txt\nsub\n");
    let helpers = docker(&["ps", "-aq", "-f", &format!("label=run.volume={volume}")]);
    assert!(helpers.trim().is_empty(), "helpers left: {helpers}");
}

#[test]
fn host_paths_and_network_modes_are_refused_under_star_grants() {
    let tag = unique_name("ce-star");
    let grants = Grants {
        containers: Patterns::of(&[&format!("{tag}*")]),
        volumes: Patterns::of(&["*"]),
        networks: Patterns::of(&["*"]),
        images: Patterns::of(&["run-test/*"]),
        ..Default::default()
    };
    let mut task = Task::new(grants);
    let spec = |name: &str| stacks::ContainerSpec {
        name: name.into(),
        image: BUSYBOX.into(),
        entrypoint: None,
        command: Some(vec!["sleep".into(), "60".into()]),
        env: Vec::new(),
        labels: vec![("run-test".into(), "1".into())],
        ports: Vec::new(),
        mounts: Vec::new(),
        network_mode: stacks::NetworkMode::Networks(Vec::new()),
        pid_mode: stacks::NamespaceMode::Private,
        ipc_mode: stacks::NamespaceMode::Private,
        hostname: None,
        domainname: None,
        healthcheck: None,
        restart: stacks::RestartPolicy::No,
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
        resources: stacks::Resources {
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
    };
    let name = format!("{tag}-svc");
    block(async {
        for source in ["/", "/var/run/docker.sock", "../.."] {
            let mut s = spec(&name);
            s.mounts = vec![stacks::MountSpec::Volume(stacks::VolumeMount {
                volume: source.into(),
                destination: "/host".into(),
                read_only: true,
            })];
            assert!(matches!(
                stacks::Host::create_container(&mut task.host, s)
                    .await
                    .err(),
                Some(HostError::InvalidName {
                    object: Object::Volume,
                    ..
                })
            ));
        }
        for network in ["host", "none", "bridge", "container:x"] {
            let mut s = spec(&name);
            s.network_mode = stacks::NetworkMode::Networks(vec![stacks::NetworkAttachment {
                network: network.into(),
                aliases: Vec::new(),
                ipv4_address: None,
                ipv6_address: None,
            }]);
            assert!(matches!(
                stacks::Host::create_container(&mut task.host, s)
                    .await
                    .err(),
                Some(HostError::InvalidName {
                    object: Object::Network,
                    ..
                })
            ));
        }
        let mut s = spec(&name);
        s.network_mode = stacks::NetworkMode::Host;
        let denied = denial(
            stacks::Host::create_container(&mut task.host, s)
                .await
                .err(),
        );
        assert_eq!(
            denied.grant,
            Some(Grant::new(
                GrantKind::Namespaces,
                Namespace::HostNetwork.as_str()
            ))
        );
        let mut s = spec(&name);
        s.security_opt = vec!["seccomp=unconfined".into()];
        assert!(matches!(
            stacks::Host::create_container(&mut task.host, s)
                .await
                .err(),
            Some(HostError::Denied(_))
        ));
        let mut s = spec(&name);
        s.ports = vec![PortBinding {
            container_port: 80,
            protocol: Protocol::Tcp,
            host_ip: None,
            host_port: Some(80),
        }];
        assert!(matches!(
            stacks::Host::create_container(&mut task.host, s)
                .await
                .err(),
            Some(HostError::Denied(_))
        ));
    });
    assert!(
        !docker_output(&["inspect", &name]).status.success(),
        "nothing was created"
    );
}

#[test]
fn a_granted_spec_is_created_on_its_networks_by_id() {
    let tag = unique_name("ce-stack");
    let (front, back) = (format!("{tag}-front"), format!("{tag}-back"));
    let name = format!("{tag}-svc");
    let _cleanup = Container {
        name: name.clone(),
        volumes: Vec::new(),
    };
    let grants = Grants {
        containers: Patterns::of(&[&format!("{tag}*")]),
        networks: Patterns::of(&[&format!("{tag}*")]),
        images: Patterns::of(&["run-test/*"]),
        ..Default::default()
    };
    let mut task = Task::new(grants);
    block(async {
        for network in [&front, &back] {
            let labels = vec![("run-test".to_owned(), "1".to_owned())];
            assert!(
                stacks::Host::network_create(&mut task.host, network.clone(), labels)
                    .await
                    .unwrap()
            );
        }
        let spec = stacks::ContainerSpec {
            name: name.clone(),
            image: BUSYBOX.into(),
            entrypoint: None,
            command: Some(vec!["sleep".into(), "60".into()]),
            env: vec![("A".into(), "1".into())],
            labels: vec![("run-test".into(), "1".into())],
            ports: Vec::new(),
            mounts: vec![stacks::MountSpec::Tmpfs(stacks::TmpfsMount {
                destination: "/scratch".into(),
                size_bytes: Some(1 << 20),
                mode: None,
            })],
            network_mode: stacks::NetworkMode::Networks(vec![
                stacks::NetworkAttachment {
                    network: front.clone(),
                    aliases: vec!["web".into()],
                    ipv4_address: None,
                    ipv6_address: None,
                },
                stacks::NetworkAttachment {
                    network: back.clone(),
                    aliases: Vec::new(),
                    ipv4_address: None,
                    ipv6_address: None,
                },
            ]),
            pid_mode: stacks::NamespaceMode::Private,
            ipc_mode: stacks::NamespaceMode::Private,
            hostname: Some("web".into()),
            domainname: None,
            healthcheck: None,
            restart: stacks::RestartPolicy::UnlessStopped,
            user: None,
            workdir: None,
            stop_signal: Some(runner::plugin::bindings::engine_types::Signal::Sigint),
            stop_grace_seconds: Some(3),
            cap_add: Vec::new(),
            cap_drop: vec!["NET_RAW".into()],
            security_opt: vec!["no-new-privileges".into()],
            privileged: false,
            read_only_rootfs: false,
            devices: Vec::new(),
            ulimits: Vec::new(),
            resources: stacks::Resources {
                memory_bytes: Some(64 << 20),
                memory_reservation_bytes: None,
                nano_cpus: None,
                pids_limit: Some(100),
                shm_size_bytes: None,
            },
            extra_hosts: vec![("gateway".into(), "10.0.0.1".into())],
            init: Some(true),
            platform: None,
            sysctls: Vec::new(),
            runtime: None,
            mac_address: None,
        };
        let handle = stacks::Host::create_container(&mut task.host, spec)
            .await
            .unwrap();
        task.host.start(again(&handle)).await.unwrap();
        let details = task.host.inspect(again(&handle)).await.unwrap();
        let mut joined: Vec<&str> = details
            .networks
            .iter()
            .map(|n| n.network.as_str())
            .collect();
        joined.sort();
        let mut expected = [back.as_str(), front.as_str()];
        expected.sort();
        assert_eq!(joined, expected);
        task.host.remove(again(&handle)).await.unwrap();
        for network in [&front, &back] {
            stacks::Host::network_remove(&mut task.host, network.clone())
                .await
                .unwrap();
        }
    });
}

#[test]
fn network_helpers_run_in_the_target_namespace_and_remove_is_no_oracle() {
    let c = Container::busybox("ce-netns", &[]);
    let other = Container::busybox("ce-netns-other", &[]);
    let grants = Grants {
        containers: Patterns::of(&[&c.name]),
        images: Patterns::of(&["run-test/chaos-helper"]),
        ..Default::default()
    };
    let mut task = Task::new(grants);
    block(async {
        let target = task.host.open(c.name.clone()).await.unwrap();
        let request = network_faults::HelperRequest {
            image: "run-test/chaos-helper".into(),
            command: vec!["ip".into(), "-o".into(), "link".into()],
            detach: false,
            timeout_seconds: Some(30),
            tag: None,
        };
        let result = network_faults::Host::run(&mut task.host, again(&target), request)
            .await
            .unwrap();
        assert_eq!(result.exit_code, 0, "{}", result.output);
        assert!(result.output.contains("eth0"), "{}", result.output);
        for name in [
            other.name.as_str(),
            c.name.as_str(),
            "ce-netns-nothing-here",
        ] {
            let error = network_faults::Host::remove(&mut task.host, name.into())
                .await
                .err();
            assert!(
                matches!(
                    &error,
                    Some(HostError::NotFound {
                        object: Object::NetworkHelper,
                        ..
                    })
                ),
                "{name}: {error:?}"
            );
        }
        assert!(
            network_faults::Host::helpers(&mut task.host, again(&target))
                .await
                .unwrap()
                .is_empty()
        );
    });
    assert_eq!(other.inspect("{{.State.Status}}"), "running");
}

#[test]
fn images_are_inspected_and_exported_by_id() {
    let c = Container::busybox("ce-image", &[]);
    let mut task = Task::new(containers(&[&c.name]));
    let id = docker(&["image", "inspect", "-f", "{{.Id}}", BUSYBOX])
        .trim()
        .to_owned();
    block(async {
        let details = images::Host::inspect(&mut task.host, BUSYBOX.into())
            .await
            .unwrap();
        assert_eq!(details.id, id);
        images::Host::export(
            &mut task.host,
            id[7..19].to_owned(),
            "out/image.tar".into(),
            Compression::None,
        )
        .await
        .unwrap();
        let denied = denial(
            images::Host::inspect(&mut task.host, "run-test/postgres:15".into())
                .await
                .err(),
        );
        assert_eq!(
            denied.grant,
            Some(Grant::new(GrantKind::Images, "run-test/postgres:15"))
        );
    });
    let tar = std::fs::read(task.path("out/image.tar")).unwrap();
    assert!(
        tar.windows(13).any(|w| w == b"manifest.json"),
        "a docker-save archive"
    );
}

#[test]
fn a_handle_acts_on_its_container_never_on_a_namesake() {
    let c = Container::busybox("ce-namesake", &[]);
    let mut task = Task::new(containers(&[&c.name]));
    let handle = block(task.host.open(c.name.clone())).unwrap();
    // Someone removes it and starts another under the same name.
    docker(&["rm", "-f", &c.name]);
    docker(&[
        "run",
        "-d",
        "--name",
        &c.name,
        "--label",
        "run-test=1",
        BUSYBOX,
        "sleep",
        "86400",
    ]);
    let error = block(task.host.stop(again(&handle), Some(1))).err();
    assert!(
        matches!(
            error,
            Some(HostError::NotFound {
                object: Object::Container,
                ..
            })
        ),
        "{error:?}"
    );
    assert_eq!(
        c.inspect("{{.State.Status}}"),
        "running",
        "the namesake is untouched"
    );
}
