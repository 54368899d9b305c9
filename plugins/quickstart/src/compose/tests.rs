use std::collections::BTreeMap;

use run_plugin_sdk::stacks::RestartPolicy;

use super::*;

fn env(name: &str) -> Option<String> {
    (name == "PGPASS").then(|| "secret".to_owned())
}

fn no_files(path: &str) -> Result<String, String> {
    Err(format!("no file {path}"))
}

fn read(text: &str) -> Result<Stack, Problems> {
    parse(
        text,
        &Sources {
            lookup: &env,
            read: &no_files,
        },
    )
}

const DEMO: &str = r#"
name: demo
x-common: &common
  restart: "no"
services:
  db:
    image: run-test/postgres:15
    environment:
      POSTGRES_PASSWORD: ${PGPASS}
    ports: ["127.0.0.1:55432:5432"]
    volumes: ["pgdata:/var/lib/postgresql/data"]
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U postgres"]
      interval: 1s
      retries: 30
  init:
    <<: *common
    image: run-test/busybox:latest
    command: sh -c 'echo "init done"'
    depends_on:
      db:
        condition: service_healthy
  web:
    image: run-test/busybox:latest
    command: ["httpd", "-f", "-p", "8080"]
    ports:
      - target: 8080
        published: "58080"
    depends_on:
      init: { condition: service_completed_successfully }
    networks:
      default:
        aliases: [www]
    x-run:
      ready: { http: "http://127.0.0.1:58080/" }
      timeout: 30s
    build: .
volumes:
  pgdata:
"#;

#[test]
fn reads_the_demo_stack() {
    let stack = read(DEMO).unwrap();
    assert_eq!(stack.name.as_deref(), Some("demo"));
    let names: Vec<_> = stack.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["db", "init", "web"]);
    let db = &stack.services[0];
    assert_eq!(
        db.environment,
        [("POSTGRES_PASSWORD".to_string(), "secret".to_string())]
    );
    assert_eq!(
        db.ports,
        [Port {
            host_ip: Some("127.0.0.1".into()),
            host_port: Some(55432),
            container_port: 5432,
            protocol: "tcp".into()
        }]
    );
    assert_eq!(db.volumes[0].kind, "volume");
    let init = &stack.services[1];
    assert_eq!(init.restart, RestartPolicy::No);
    assert_eq!(
        init.command.as_ref().unwrap(),
        &["sh", "-c", "echo \"init done\""]
    );
    assert_eq!(init.depends_on[0].service, "db");
    assert_eq!(init.depends_on[0].condition, Condition::Healthy);
    let web = &stack.services[2];
    assert_eq!(web.ports[0].host_port, Some(58080));
    assert_eq!(web.ready.http.as_deref(), Some("http://127.0.0.1:58080/"));
    assert_eq!(web.ready.timeout_ms, Some(30_000));
    assert_eq!(
        web.networks,
        [("default".to_string(), vec!["www".to_string()])]
    );
    // `build: .` (short form): the context is the Compose file's directory.
    assert_eq!(web.build.as_ref().unwrap().context, ".");
    assert!(stack.unsupported.is_empty(), "{:?}", stack.unsupported);
    assert!(stack.missing_env.is_empty());
}

#[test]
fn missing_variables_are_reported() {
    let stack = parse(
        DEMO,
        &Sources {
            lookup: &|_| None,
            read: &no_files,
        },
    )
    .unwrap();
    assert_eq!(stack.missing_env[0].name, "PGPASS");
}

#[test]
fn short_forms() {
    assert_eq!(short_port("80").unwrap().host_port, None);
    assert_eq!(short_port("8080:80/udp").unwrap().protocol, "udp");
    assert!(short_port("8000-8010:80").is_err());
    let bind = short_volume("./html:/www:ro").unwrap();
    assert_eq!((bind.kind.as_str(), bind.read_only), ("bind", true));
    let anonymous = short_volume("/var/lib/data").unwrap();
    assert_eq!(
        (anonymous.kind.as_str(), anonymous.source.as_str()),
        ("volume", "")
    );
    assert_eq!(
        split_shell("a 'b c' \"d\\\"e\"").unwrap(),
        ["a", "b c", "d\"e"]
    );
    assert_eq!(parse_bytes("512m").unwrap(), 512 << 20);
    assert_eq!(parse_bytes("1.5GB").unwrap(), 3 << 29);
    assert!(parse_bytes("lots").is_err());
}

#[test]
fn bad_files_say_where() {
    let e = read("services:\n  a:\n    image: x\n    depends_on: [b]\n").unwrap_err();
    assert_eq!(e, ["services.a.depends_on: no service `b`"]);
    let e = read("services: [").unwrap_err();
    assert!(e[0].starts_with("not valid YAML"), "{e:?}");
    let e = read("version: '3'\nservices:\n  a: {image: x}\n").unwrap();
    assert!(e.unsupported.is_empty());
}

/// Issue 15: a typo got "unsupported, ignore it"; a `build` error hid every
/// other problem (`build` is read now, so it is no problem at all); `restart: sometimes` was found after part of the stack started.
#[test]
fn every_problem_is_reported_at_once_with_a_did_you_mean() {
    let yaml = r#"
services:
  web:
    build: .
    comand: ["serve"]
    enviroment: {A: "1"}
    restart: sometimes
    stop_signal: SIGNOPE
    ports: ["80/icmp"]
    mem_limit: lots
  db:
    image: postgres
    healthcheck: {test: "true", interval: soon}
    depends_on: [nowhere]
"#;
    let problems = read(yaml).unwrap_err();
    let expected = [
        "services.web.comand: unknown key; did you mean `command`?",
        "services.web.enviroment: unknown key; did you mean `environment`?",
        "services.web.restart: restart policy `sometimes`",
        "services.web.stop_signal: unknown signal `SIGNOPE`",
        "services.web.ports[0]: unknown protocol `icmp`",
        "services.web.mem_limit: `lots` is not a size",
        "services.db.healthcheck.interval: `soon` is not a duration",
        "services.db.depends_on: no service `nowhere`",
    ];
    for want in expected {
        assert!(
            problems.iter().any(|p| p.starts_with(want)),
            "no problem starting {want:?} in {problems:#?}"
        );
    }
    assert_eq!(problems.len(), expected.len(), "{problems:#?}");
}

/// Issue 15: `x-b: &b {<<: *a, B: "2"}` then `environment: {<<: *b}` was rejected.
#[test]
fn merge_keys_work_at_any_depth() {
    let yaml = r#"
x-a: &a {A: "1", B: "0"}
x-b: &b {<<: *a, B: "2"}
x-svc: &svc
  image: busybox
  environment:
    <<: *b
services:
  s:
    <<: *svc
    command: ["true"]
"#;
    let stack = read(yaml).unwrap();
    let env: BTreeMap<_, _> = stack.services[0].environment.iter().cloned().collect();
    assert_eq!(env.get("A").map(String::as_str), Some("1"));
    assert_eq!(env.get("B").map(String::as_str), Some("2"));
}

#[test]
fn env_files_come_before_environment_and_can_be_optional() {
    let files = |path: &str| match path {
        "app.env" => Ok("A=from-file\nB=from-file\n# comment\nC=${PGPASS}\n".to_owned()),
        other => Err(format!("no file {other}")),
    };
    let yaml = "services:\n  s:\n    image: x\n    env_file: [app.env, {path: gone.env, required: false}]\n    environment: {B: mine}\n";
    let stack = parse(
        yaml,
        &Sources {
            lookup: &env,
            read: &files,
        },
    )
    .unwrap();
    let vars: BTreeMap<_, _> = stack.services[0].environment.iter().cloned().collect();
    assert_eq!(vars["A"], "from-file");
    assert_eq!(vars["B"], "mine");
    assert_eq!(vars["C"], "secret");
    let yaml = "services:\n  s:\n    image: x\n    env_file: missing.env\n";
    let e = parse(
        yaml,
        &Sources {
            lookup: &env,
            read: &files,
        },
    )
    .unwrap_err();
    assert_eq!(
        e,
        ["services.s.env_file: `missing.env` cannot be read: no file missing.env"]
    );
}

#[test]
fn the_keys_real_files_use_are_read() {
    let yaml = r#"
services:
  s:
    image: x
    hostname: box
    domainname: example.test
    stop_signal: SIGINT
    stop_grace_period: 1m30s
    cap_add: [NET_ADMIN]
    cap_drop: [ALL]
    security_opt: ["no-new-privileges:true"]
    privileged: true
    read_only: true
    init: true
    tmpfs: ["/run:size=64m"]
    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 64}
    mem_limit: 512m
    cpus: "1.5"
    pids_limit: 100
    platform: linux/amd64
    profiles: [debug]
    secrets: [token, {source: cert, target: /etc/cert.pem}]
    volumes: ["/data", "/abs/host:/mnt"]
    extra_hosts: ["db.local:10.0.0.2"]
    healthcheck: {test: ["CMD", "true"], start_period: 5s, start_interval: 1s}
    deploy: {resources: {limits: {memory: 1g, pids: 50}, reservations: {memory: 256m}}}
secrets:
  token: {file: ./token.txt}
  cert: {file: ./cert.pem}
"#;
    let s = &read(yaml).unwrap().services[0];
    assert_eq!(s.hostname.as_deref(), Some("box"));
    assert_eq!(
        s.stop_signal,
        Some(run_plugin_sdk::containers::Signal::Sigint)
    );
    assert_eq!(s.stop_grace_ms, Some(90_000));
    assert!(s.privileged && s.read_only && s.init == Some(true));
    assert_eq!(s.volumes[2].kind, "tmpfs");
    assert_eq!(s.volumes[2].size_bytes, Some(64 << 20));
    assert_eq!(s.ulimits.len(), 2);
    assert_eq!(
        s.limits.memory_bytes,
        Some(1 << 30),
        "deploy wins over mem_limit"
    );
    assert_eq!(s.limits.memory_reservation_bytes, Some(256 << 20));
    assert_eq!(s.limits.nano_cpus, Some(1_500_000_000));
    assert_eq!(s.limits.pids, Some(50));
    assert_eq!(s.secrets[1].target.as_deref(), Some("/etc/cert.pem"));
    assert_eq!(s.volumes[0].source, "");
    assert_eq!(s.volumes[1].kind, "bind");
    assert_eq!(
        s.extra_hosts,
        [("db.local".to_string(), "10.0.0.2".to_string())]
    );
}

#[test]
fn sysctls_runtime_and_fixed_addresses_are_read() {
    let stack = read(
        r#"
services:
  dns:
    image: busybox
    sysctls: { net.core.somaxconn: 1024, net.ipv4.tcp_syncookies: 0 }
    runtime: runsc
    mac_address: 02:42:ac:1c:00:05
    networks:
      front: { ipv4_address: 172.28.0.5, ipv6_address: "fd00:28::5", aliases: [ns] }
  web:
    image: busybox
    sysctls: ["net.ipv4.ip_unprivileged_port_start=80"]
networks:
  front:
    enable_ipv6: true
    ipam:
      driver: default
      config:
        - subnet: 172.28.0.0/16
          ip_range: 172.28.5.0/24
          gateway: 172.28.0.1
          aux_addresses: { host1: 172.28.1.5 }
        - subnet: "fd00:28::/64"
"#,
    )
    .unwrap();
    let dns = &stack.services[0];
    assert_eq!(
        dns.sysctls,
        [
            ("net.core.somaxconn".to_owned(), "1024".to_owned()),
            ("net.ipv4.tcp_syncookies".to_owned(), "0".to_owned())
        ]
    );
    assert_eq!(dns.runtime.as_deref(), Some("runsc"));
    assert_eq!(dns.mac_address.as_deref(), Some("02:42:ac:1c:00:05"));
    assert_eq!(
        dns.addresses,
        [(
            "front".to_owned(),
            Some("172.28.0.5".to_owned()),
            Some("fd00:28::5".to_owned())
        )]
    );
    assert_eq!(
        stack.services[1].sysctls[0].0,
        "net.ipv4.ip_unprivileged_port_start"
    );
    let front = &stack.networks["front"];
    assert!(front.enable_ipv6);
    assert_eq!(
        front.ipam[0],
        Pool {
            subnet: "172.28.0.0/16".into(),
            gateway: Some("172.28.0.1".into()),
            ip_range: Some("172.28.5.0/24".into()),
            aux_addresses: vec![("host1".into(), "172.28.1.5".into())],
        }
    );
    assert!(stack.unsupported.is_empty(), "{:?}", stack.unsupported);
}

/// A fixed address is this project's to give only on its own network, in a
/// subnet the file gives it, for one container.
#[test]
fn fixed_addresses_need_the_projects_own_subnet() {
    let problems = read(
        r#"
services:
  a:
    image: busybox
    networks: { shared: { ipv4_address: 10.9.0.5 } }
  b:
    image: busybox
    networks: { own: { ipv4_address: 10.8.0.5 } }
  c:
    image: busybox
    deploy: { replicas: 2 }
    networks: { own: { ipv4_address: 10.7.0.5, ipv6_address: 10.7.0.6 } }
networks:
  shared: { external: true }
  own:
    ipam: { config: [{ subnet: 10.7.0.0/16 }] }
"#,
    )
    .unwrap_err();
    let text = problems.join("\n");
    for expected in [
        "services.a.networks.shared: a fixed address needs the network to be this project's own; `shared` is external",
        "services.b.networks.own.ipv4_address: `10.8.0.5` is in no subnet of network `own`",
        "services.c.networks.own.ipv6_address: `10.7.0.6` is not an IPv6 address",
        "services.c.networks.own: a fixed address names one container, and the service runs 2",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

/// BuildKit-only build keys are refused each with why (the classic builder
/// the engine's API gives has none of them); a pool without a subnet and a
/// per-network MAC address say what to write instead.
#[test]
fn keys_the_engine_cannot_honour_are_refused_with_why() {
    let stack = read(
        r#"
services:
  app:
    build:
      context: .
      ssh: [default]
      additional_contexts: { base: ../base }
      privileged: true
      entitlements: [network.host]
    networks: { n: { mac_address: 02:42:ac:1c:00:05 } }
networks:
  n:
    ipam: { driver: custom, options: { a: b } }
"#,
    )
    .unwrap();
    let text = stack.unsupported.join("\n");
    for expected in [
        "services.app.build.ssh (a BuildKit feature",
        "services.app.build.additional_contexts (a BuildKit feature",
        "services.app.build.privileged (a BuildKit entitlement",
        "services.app.build.entitlements (BuildKit entitlements",
        "services.app.networks.n.mac_address (one MAC address per container",
        "networks.n.ipam.driver (custom; only the engine's `default` IPAM driver)",
        "networks.n.ipam.options (IPAM driver options are not passed to the engine)",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    let problems = read("services:\n  a: {image: busybox}\nnetworks:\n  n: {ipam: {config: [{gateway: 10.0.0.1}]}}\n")
        .unwrap_err()
        .join("\n");
    assert!(
        problems.contains("networks.n.ipam.config[0]: a pool needs a `subnet`"),
        "{problems}"
    );
}
