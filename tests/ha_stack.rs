//! The HA dev stack (demo/ha/compose.yaml) under the real `run`: one stack,
//! started once through the quickstart plugin (synchronous mode, a project
//! name and host ports of its own), then the Patroni failover drill and the
//! Redis Sentinel drill of the chaos plugin against it, each checked from
//! outside the tool (every node asked directly whether it is a primary), then
//! a graceful `down --volumes`.
//!
//! The stack takes ~25–45 s to be ready on the 2-core CI machine and each
//! drill ~30–60 s, so this file starts it once, in one test. Needs the HA
//! images (tests/images/build-ha.sh, run by `images::ensure`).

use std::net::TcpListener;
use std::path::Path;
use std::time::Instant;

use crate::scan::advisories;
use crate::support::images::{self, docker, docker_output, unique_name};
use crate::test::{Outcome, Test};

/// The files of demo/ha, copied into the test's project.
const FILES: &[&str] = &[
    "compose.yaml",
    "patroni/patroni.yml",
    "haproxy/haproxy.cfg",
    "haproxy/sentinels.conf",
    "redis/redis.conf",
    "redis/sentinel.conf",
    "migrate.sh",
];

/// Removes whatever the project left (containers, network, volumes), even
/// when the test failed half-way.
struct Stack {
    name: String,
    test: Test,
    env: Vec<(String, String)>,
}

impl Drop for Stack {
    fn drop(&mut self) {
        let label = format!("label=com.docker.compose.project={}", self.name);
        for id in docker(&["ps", "-aq", "--filter", &label]).split_whitespace() {
            let _ = docker_output(&["rm", "-f", "-v", id]);
        }
        let _ = docker_output(&["network", "rm", &format!("{}-default", self.name)]);
        for v in docker(&["volume", "ls", "-q", "--filter", &label]).split_whitespace() {
            let _ = docker_output(&["volume", "rm", "-f", v]);
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Stack {
    fn new() -> Stack {
        images::ensure();
        let name = unique_name("run-test-ha");
        let ports: Vec<u16> = (0..4).map(|_| free_port()).collect();
        let [pg, pg_ro, redis, stats] = ports[..] else {
            unreachable!()
        };
        let n = &name;
        let debian = advisories("debian-security-tracker");
        let tasks = format!(
            r#"[tasks.up]
plugin = "quickstart"
config = {{ file = "ha/compose.yaml", project = "{n}", timeout = 180 }}
env = ["HA_SYNCHRONOUS_MODE", "HA_PG_PORT", "HA_PG_RO_PORT", "HA_REDIS_PORT", "HA_STATS_PORT"]
allow = {{ read = ["ha"], containers = ["{n}-*"], images = ["run-test/*"], networks = ["{n}-*"], volumes = ["{n}-*"], ports = ["{pg}", "{pg_ro}", "{redis}", "{stats}"] }}

[tasks.down]
plugin = "quickstart"
config = {{ file = "ha/compose.yaml", project = "{n}", mode = "down" }}
allow = {{ read = ["ha"], containers = ["{n}-*"], networks = ["{n}-*"], volumes = ["{n}-*"] }}

[tasks.test-failover]
plugin = "chaos"
config = {{ mode = "drill", helper-image = "run-test/chaos-helper:latest", drill = {{ members = ["{n}-patroni-1", "{n}-patroni-2", "{n}-patroni-3"], leader = {{ http = "http://{{ip}}:8008/leader" }}, health = {{ http = "http://{{ip}}:8008/leader" }}, primary-check = {{ http = "http://{{ip}}:8008/primary" }}, replica = {{ sql = "SELECT pg_is_in_recovery() AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')" }}, routing = {{ stats = "http://127.0.0.1:{stats}/stats;csv", backend = "postgres_primary" }}, load-from = "{n}-client", load-host = "haproxy", rows = 30, timeout = "90s" }} }}
allow = {{ containers = ["{n}-patroni-*", "{n}-client"], images = ["run-test/chaos-helper:*"], write = [".chaos"], network = ["*:8008", "127.0.0.1:{stats}"] }}

[tasks.ha-backup]
plugin = "backup"
config = {{ targets = ["{n}-patroni-1", "{n}-patroni-2", "{n}-patroni-3"], role = "primary", dir = "backups", keep = 10 }}
allow = {{ containers = ["{n}-patroni-1", "{n}-patroni-2", "{n}-patroni-3"], write = ["backups"] }}

[tasks.ha-restore]
plugin = "backup"
config = {{ targets = ["{n}-patroni-1", "{n}-patroni-2", "{n}-patroni-3"], role = "primary", dir = "backups", mode = "restore" }}
allow = {{ containers = ["{n}-patroni-1", "{n}-patroni-2", "{n}-patroni-3"], read = ["backups"] }}

[tasks.ha-snapshot]
plugin = "backup"
config = {{ targets = ["{n}-patroni-1", "{n}-patroni-2", "{n}-patroni-3"], dir = "backups", mode = "snapshot" }}
allow = {{ containers = ["{n}-patroni-1", "{n}-patroni-2", "{n}-patroni-3"], write = ["backups"] }}

[tasks.ha-reset-db]
before = ["ha-backup"]
command = "docker exec {n}-client psql -v ON_ERROR_STOP=1 -c 'DROP DATABASE IF EXISTS demo WITH (FORCE)' -c 'CREATE DATABASE demo'"

[tasks.ha-migrate]
before = ["ha-backup"]
command = "HA_CLIENT={n}-client sh ha/migrate.sh"

[tasks.ha-sanitize]
plugin = "sanitize"
config = {{ targets = ["{n}-patroni-1", "{n}-patroni-2", "{n}-patroni-3"], role = "primary", database = "demo", name = "ha-demo", dir = "snapshots", policy = "sanitize/policy.toml" }}
allow = {{ containers = ["{n}-patroni-1", "{n}-patroni-2", "{n}-patroni-3"], write = ["snapshots"], read = ["sanitize"], env = ["SANITIZE_KEY", "SANITIZED"] }}

[tasks.ha-seed]
plugin = "sanitize"
config = {{ mode = "seed", targets = ["{n}-patroni-1", "{n}-patroni-2", "{n}-patroni-3"], role = "primary", database = "dev", dir = "snapshots", name = "ha-demo" }}
allow = {{ containers = ["{n}-patroni-1", "{n}-patroni-2", "{n}-patroni-3"], read = ["snapshots"], env = ["SANITIZE_KEY"] }}

[tasks.ha-scan]
plugin = "scan"
config = {{ advisories = ["{debian}", "osv"], cache = ".cache/scan", containers = "{n}-*", format = "json", hardening = false }}
allow = {{ containers = ["{n}-*"], read = ["{debian}", "osv"], write = [".cache/scan"] }}

[tasks.test-redis-failover]
plugin = "chaos"
config = {{ mode = "sentinel-drill", helper-image = "run-test/chaos-helper:latest", sentinel = {{ sentinels = ["{n}-sentinel-1", "{n}-sentinel-2", "{n}-sentinel-3"], servers = ["{n}-redis-1", "{n}-redis-2"], routing = {{ stats = "http://127.0.0.1:{stats}/stats;csv", backend = "redis_master" }}, load-from = "{n}-client", load-host = "haproxy", rows = 30, timeout = "90s" }} }}
allow = {{ containers = ["{n}-sentinel-*", "{n}-redis-*", "{n}-client"], images = ["run-test/chaos-helper:*"], write = [".chaos"], network = ["127.0.0.1:{stats}"] }}
"#
        );
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo/ha");
        let repo = if repo.is_dir() {
            repo
        } else {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/ha")
        };
        let examples = repo.join("../../examples/sanitize");
        let mut test = Test::new()
            .tasks(&tasks)
            .file(
                "sanitize/policy.toml",
                &std::fs::read_to_string(examples.join("policy.toml")).unwrap(),
            )
            // The shared Debian lists end before bookworm (the images' release):
            // a made-up record for bash, in every image, gives each a finding.
            .file(
                "osv/TEST-BASH-1.json",
                r#"{"id": "TEST-BASH-1", "summary": "bash: made-up problem fixed in a later version",
 "database_specific": {"severity": "MEDIUM"},
 "affected": [{"package": {"ecosystem": "Debian:12", "name": "bash"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "99.0-1"}]}]}]}"#,
            )
            .file(
                "shop.sql",
                &std::fs::read_to_string(examples.join("shop.sql")).unwrap(),
            );
        for f in FILES {
            let text = std::fs::read_to_string(repo.join(f)).unwrap();
            test = test.file(&format!("ha/{f}"), &text);
        }
        // The repository's migrations, which `ha-migrate` applies.
        for entry in std::fs::read_dir(repo.join("../../migrations")).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            test = test.file(
                &format!("migrations/{name}"),
                &std::fs::read_to_string(&path).unwrap(),
            );
        }
        let env = [
            ("HA_SYNCHRONOUS_MODE", "on".to_owned()),
            ("HA_PG_PORT", pg.to_string()),
            ("HA_PG_RO_PORT", pg_ro.to_string()),
            ("HA_REDIS_PORT", redis.to_string()),
            ("HA_STATS_PORT", stats.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        Stack { name, test, env }
    }

    fn run(&self, args: &[&str]) -> Outcome {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.test.invoke_env(&env, args)
    }

    fn run_env(&self, extra: &[(&str, &str)], args: &[&str]) -> Outcome {
        let mut env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        env.extend_from_slice(extra);
        let out = self.test.invoke_env(&env, args);
        // A transcript for the docs (`-- --nocapture`).
        eprintln!("$ run {}\n{}{}", args.join(" "), out.stdout, out.stderr);
        out
    }

    /// `psql -c SQL` in the client, through HAProxy to the leader; stdout.
    fn sql(&self, database: &str, sql: &str) -> String {
        docker(&[
            "exec",
            &self.container("client"),
            "psql",
            "-XAtq",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            database,
            "-c",
            sql,
        ])
        .trim()
        .to_owned()
    }

    /// `psql -c SQL` in one Patroni node itself; stdout.
    fn sql_on(&self, service: &str, database: &str, sql: &str) -> String {
        docker(&[
            "exec",
            &self.container(service),
            "psql",
            "-XAtq",
            "-U",
            "postgres",
            "-d",
            database,
            "-c",
            sql,
        ])
        .trim()
        .to_owned()
    }

    fn container(&self, service: &str) -> String {
        format!("{}-{service}", self.name)
    }

    /// The Patroni nodes whose PostgreSQL is not in recovery, asked directly.
    fn pg_primaries(&self) -> Vec<String> {
        ["patroni-1", "patroni-2", "patroni-3"]
            .into_iter()
            .filter(|s| {
                let out = docker_output(&[
                    "exec",
                    &self.container(s),
                    "psql",
                    "-XAtq",
                    "-U",
                    "postgres",
                    "-c",
                    "SELECT pg_is_in_recovery()",
                ]);
                String::from_utf8_lossy(&out.stdout).trim() == "f"
            })
            .map(str::to_owned)
            .collect()
    }

    /// The Redis servers saying `role:master`, asked directly.
    fn redis_masters(&self) -> Vec<String> {
        ["redis-1", "redis-2"]
            .into_iter()
            .filter(|s| {
                let out = docker_output(&[
                    "exec",
                    "-e",
                    "REDISCLI_AUTH=ha-demo",
                    &self.container(s),
                    "redis-cli",
                    "--no-auth-warning",
                    "INFO",
                    "replication",
                ]);
                String::from_utf8_lossy(&out.stdout).contains("role:master")
            })
            .map(str::to_owned)
            .collect()
    }
}

/// The manifest of the newest backup in `backups/` (by name: the stamp).
fn newest_manifest(stack: &Stack) -> serde_json::Value {
    let mut names: Vec<String> = std::fs::read_dir(stack.test.path("backups"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql.zst.json"))
        .collect();
    names.sort();
    let last = names.last().expect("a backup manifest");
    serde_json::from_slice(&std::fs::read(stack.test.path(&format!("backups/{last}"))).unwrap())
        .unwrap()
}

/// Backups, restores, snapshots and sanitized seeds against the Patroni
/// cluster: each task names all three members and acts on the primary.
fn backups_follow_the_primary(stack: &Stack, primary: &str) {
    let leader = stack.container(primary);
    stack.sql(
        "postgres",
        "CREATE TABLE items (id int PRIMARY KEY, note text); \
         INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 1000) g",
    );
    let t = Instant::now();
    stack
        .run_env(&[], &["ha-backup"])
        .ok()
        .stdout_contains(&format!("backed up container `{leader}` into backups/"));
    eprintln!("ha-backup in {:.1?}", t.elapsed());
    let manifest = newest_manifest(stack);
    assert_eq!(manifest["container"], leader, "{manifest:#}");
    assert_eq!(manifest["name"], stack.container("patroni"), "{manifest:#}");

    // Lose rows, then restore through the primary: Patroni replicates it.
    stack.sql("postgres", "DELETE FROM items WHERE id > 10");
    let t = Instant::now();
    stack
        .run_env(&[], &["--yes", "ha-restore", "--latest"])
        .ok()
        .stdout_contains(&format!("into container `{leader}`"));
    eprintln!("ha-restore in {:.1?}", t.elapsed());
    assert_eq!(stack.sql("postgres", "SELECT count(*) FROM items"), "1000");
    let replica = ["patroni-1", "patroni-2", "patroni-3"]
        .into_iter()
        .find(|s| *s != primary)
        .unwrap();
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    while stack.sql_on(replica, "postgres", "SELECT count(*) FROM items") != "1000" {
        assert!(Instant::now() < deadline, "the restore reached the replica");
        std::thread::sleep(std::time::Duration::from_millis(500));
    }

    // A snapshot would pause the leader: refused before anything is touched.
    let out = stack.run_env(&[], &["ha-snapshot"]);
    assert_ne!(out.status, Some(0), "{}", out.context());
    let out = out.stderr_contains("names a cluster's members (`targets`): a snapshot pauses");
    assert!(out.stderr.contains("failover"), "{}", out.context());
    assert_eq!(stack.pg_primaries(), [primary], "no failover");

    // Only replicas named: refused, each member with its role.
    let replicas: Vec<String> = ["patroni-1", "patroni-2", "patroni-3"]
        .into_iter()
        .filter(|s| *s != primary)
        .map(|s| stack.container(s))
        .collect();
    let tasks = std::fs::read_to_string(stack.test.path("tasks.toml")).unwrap();
    std::fs::write(
        stack.test.path("tasks.toml"),
        format!(
            "{tasks}\n[tasks.replicas-backup]\nplugin = \"backup\"\nconfig = {{ targets = [\"{a}\", \"{b}\"], dir = \"backups\" }}\nallow = {{ containers = [\"{a}\", \"{b}\"], write = [\"backups\"] }}\n",
            a = replicas[0],
            b = replicas[1]
        ),
    )
    .unwrap();
    stack
        .run_env(&[], &["replicas-backup"])
        .status(1)
        .stderr_contains(&format!(
            "no primary among 2: `{}` (replica), `{}` (replica); nothing was done",
            replicas[0], replicas[1]
        ));

    // Sanitize from the primary, seed the primary's dev database.
    let shop = std::fs::read(stack.test.path("shop.sql")).unwrap();
    stack.sql("postgres", "CREATE DATABASE demo");
    let mut load = std::process::Command::new("docker")
        .args(["exec", "-i", &stack.container("client")])
        .args(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", "demo"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(load.stdin.as_mut().unwrap(), &shop).unwrap();
    drop(load.stdin.take());
    assert!(load.wait().unwrap().success(), "shop.sql loaded");
    let key = ("SANITIZE_KEY", "an-example-key-of-32-characters!");
    stack
        .run_env(&[("SANITIZED", "1"), key], &["ha-sanitize"])
        .ok();
    let seeded = stack
        .run_env(&[key], &["--yes", "ha-seed"])
        .ok()
        .stdout_contains(&format!(
            "seeded database `dev` in container `{leader}` from snapshots/ha-demo.sql"
        ));
    let customers: u64 = stack
        .sql("dev", "SELECT count(*) FROM customers")
        .parse()
        .unwrap();
    let all: u64 = stack
        .sql("demo", "SELECT count(*) FROM customers")
        .parse()
        .unwrap();
    assert!(
        customers > 0 && customers < all,
        "{customers} of {all}{}",
        seeded.context()
    );
    // No real email reached the dev database.
    let real = stack.sql("demo", "SELECT email FROM customers");
    let real: std::collections::HashSet<&str> = real.lines().collect();
    let masked = stack.sql("dev", "SELECT email FROM customers");
    assert!(
        masked.lines().all(|e| !real.contains(e)),
        "a real email in dev"
    );
}

/// How many times `container`'s log says a pg_rewind of Patroni's ended, read with
/// `docker logs` (not through `run`).
fn rewinds_in_log(container: &str) -> usize {
    let out = docker_output(&["logs", container]);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    text.matches("pg_rewind exit code=").count()
}

/// The drill's `pg_rewind` says what the old leader's log says, counted
/// from outside: Patroni ran it `pg_rewind_runs` more times than `before`.
fn assert_rewind_reported(r: &serde_json::Value, old: &str, before: usize) {
    let runs = rewinds_in_log(old) - before;
    eprintln!("{old}: {runs} pg_rewind run(s) in its log during the drill");
    assert_eq!(
        r["pg_rewind"],
        serde_json::json!(runs > 0),
        "{runs} runs: {r:#}"
    );
    assert_eq!(r["pg_rewind_runs"], serde_json::json!(runs), "{r:#}");
    if runs > 0 {
        assert!(
            r["events"].to_string().contains("rewound with pg_rewind"),
            "{r:#}"
        );
        eprintln!("{:#}", r["pg_rewind_log"]);
    }
}

fn report(out: &Outcome) -> serde_json::Value {
    let start = out
        .stdout
        .find('{')
        .unwrap_or_else(|| panic!("no JSON report{}", out.context()));
    serde_json::from_str(&out.stdout[start..]).unwrap()
}

#[test]
fn the_ha_stack_comes_up_survives_both_failover_drills_and_goes_down() {
    let stack = Stack::new();
    let t = Instant::now();
    let up = stack.run(&["up"]).ok();
    eprintln!("ha stack ready in {:.1?}", t.elapsed());
    for service in ["patroni-1", "haproxy", "sentinel-3", "client"] {
        assert!(
            up.stdout
                .contains(&format!("{}  ", stack.container(service))),
            "{service} in the table{}",
            up.context()
        );
    }
    let before = stack.pg_primaries();
    assert_eq!(before.len(), 1, "one primary after up: {before:?}");
    backups_follow_the_primary(&stack, &before[0]);

    // Patroni: kill the leader under load; Patroni elects, the drill heals and
    // the old leader must come back as a streaming replica.
    let rewinds = rewinds_in_log(&stack.container(&before[0]));
    let t = Instant::now();
    let drill = stack.run(&["test-failover", "--json"]);
    eprintln!("patroni drill in {:.1?}", t.elapsed());
    let r = report(&drill);
    eprintln!(
        "kill: elect {} ms, writes again {} ms, rejoin {} ms, pg_rewind {}",
        r["time_to_elect_ms"], r["writes_again_ms"], r["time_to_rejoin_ms"], r["pg_rewind"]
    );
    assert_eq!(drill.status, Some(0), "{r:#}{}", drill.context());
    assert_eq!(r["outcome"], "ok");
    assert_eq!(r["faults"][0]["fault"], "kill");
    let old = r["faults"][0]["target"].as_str().unwrap().to_owned();
    assert_eq!(old, stack.container(&before[0]), "{r:#}");
    assert_eq!(r["writes_missing"], 0, "{r:#}");
    assert!(r["writes_acknowledged"].as_u64().unwrap() > 30, "{r:#}");
    for key in [
        "time_to_detect_ms",
        "time_to_elect_ms",
        "proxy_drops_old_ms",
        "proxy_routes_new_ms",
        "writes_again_ms",
        "time_to_rejoin_ms",
    ] {
        assert!(r[key].as_u64().is_some(), "{key}: {r:#}");
    }
    assert!(r["time_to_elect_ms"].as_u64() >= r["time_to_detect_ms"].as_u64());
    let after = stack.pg_primaries();
    assert_eq!(
        after.len(),
        1,
        "exactly one primary, seen from outside: {after:?}"
    );
    assert_ne!(after[0], before[0], "a new leader");
    assert_eq!(
        r["primaries_after"],
        serde_json::json!([stack.container(&after[0])])
    );
    assert!(!stack.pg_primaries().contains(&before[0]));
    assert!(!stack.test.path(".chaos/journal.json").exists());
    assert_rewind_reported(&r, &old, rewinds);

    // After the failover, a destructive task backs up the new leader first.
    let leader = stack.container(&after[0]);
    stack
        .run_env(&[], &["ha-reset-db"])
        .ok()
        .stdout_contains(&format!("backed up container `{leader}`"));
    let manifest = newest_manifest(&stack);
    assert_eq!(manifest["container"], leader, "{manifest:#}");
    assert_eq!(manifest["hook_for"], "ha-reset-db", "{manifest:#}");
    assert_eq!(manifest["pinned"], true, "{manifest:#}");
    assert_eq!(
        stack.sql(
            "demo",
            "SELECT count(*) FROM pg_tables WHERE tablename = 'customers'"
        ),
        "0"
    );

    // Migrations go to the new leader after a backup, each file once (the
    // second run applies none), and work (002's trigger logs 001's table).
    stack
        .run_env(&[], &["ha-migrate"])
        .ok()
        .stdout_contains(&format!("backed up container `{leader}`"))
        .stdout_contains("applied 001_app_settings.sql")
        .stdout_contains("2 migration(s) applied; 2 in schema_migrations");
    stack
        .run_env(&[], &["ha-migrate"])
        .ok()
        .stdout_contains("0 migration(s) applied; 2 in schema_migrations");
    assert_eq!(
        stack.sql(
            "demo",
            "UPDATE app_settings SET value = 'dark' WHERE key = 'theme' RETURNING value"
        ),
        "dark"
    );
    assert_eq!(stack.sql("demo", "SELECT new_value FROM audit_log"), "dark");

    // The stack's images, scanned through its containers.
    let t = Instant::now();
    let scan = stack.run(&["ha-scan"]).ok();
    eprintln!("ha-scan in {:.1?}", t.elapsed());
    let start = scan
        .stdout
        .find('{')
        .unwrap_or_else(|| panic!("no JSON{}", scan.context()));
    let r: serde_json::Value = serde_json::from_str(&scan.stdout[start..]).unwrap();
    let mut scanned: Vec<&str> = r["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["target"].as_str().unwrap())
        .collect();
    scanned.sort();
    assert_eq!(
        scanned,
        [
            "run-test/etcd:3.4",
            "run-test/ha-client:latest",
            "run-test/haproxy:2.6",
            "run-test/patroni:15",
            "run-test/redis:7.0"
        ],
        "{}",
        scan.context()
    );
    let bash = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == "TEST-BASH-1")
        .count();
    assert_eq!(bash, 5, "one bash finding per image{}", scan.context());

    // The other two faults on the leader, through `run`: a stop (Patroni
    // hands over within its 60 s grace period) and a partition (the cut-off
    // leader demotes itself; it usually needs pg_rewind to rejoin). The stop
    // fault leaves the timeout to the engine, which takes the container's
    // own: Compose's stop_grace_period, set by `run up`.
    assert_eq!(
        docker(&[
            "inspect",
            "-f",
            "{{.Config.StopTimeout}}",
            &stack.container("patroni-1")
        ])
        .trim(),
        "60"
    );
    for fault in ["stop", "partition"] {
        let leader = stack.pg_primaries();
        assert_eq!(leader.len(), 1, "{leader:?}");
        let leader = stack.container(&leader[0]);
        let rewinds = rewinds_in_log(&leader);
        let t = Instant::now();
        let drill = stack.run(&["test-failover", fault, "--json"]);
        eprintln!("patroni {fault} drill in {:.1?}", t.elapsed());
        let r = report(&drill);
        eprintln!(
            "{fault}: detect {} ms, elect {} ms, routes {} ms, writes again {} ms (outage {} ms), rejoin {} ms, pg_rewind {}, {} writes, {} missing",
            r["time_to_detect_ms"],
            r["time_to_elect_ms"],
            r["proxy_routes_new_ms"],
            r["writes_again_ms"],
            r["write_outage_ms"],
            r["time_to_rejoin_ms"],
            r["pg_rewind"],
            r["writes_acknowledged"],
            r["writes_missing"]
        );
        assert_eq!(drill.status, Some(0), "{r:#}{}", drill.context());
        assert_eq!(r["faults"][0]["fault"], fault, "{r:#}");
        assert_eq!(r["faults"][0]["target"], leader.as_str(), "{r:#}");
        assert_eq!(r["writes_missing"], 0, "{r:#}");
        assert!(r["time_to_rejoin_ms"].as_u64().is_some(), "{r:#}");
        let now = stack.pg_primaries();
        assert_eq!(now.len(), 1, "exactly one primary after {fault}: {now:?}");
        assert_ne!(
            stack.container(&now[0]),
            leader,
            "a new leader after {fault}"
        );
        assert_rewind_reported(&r, &leader, rewinds);
    }
    assert!(!stack.test.path(".chaos/journal.json").exists());

    // Redis: kill the master; the Sentinels promote the replica.
    let masters = stack.redis_masters();
    assert_eq!(masters.len(), 1, "{masters:?}");
    let t = Instant::now();
    let drill = stack.run(&["test-redis-failover", "--json"]);
    eprintln!("redis drill in {:.1?}", t.elapsed());
    let r = report(&drill);
    assert_eq!(drill.status, Some(0), "{r:#}{}", drill.context());
    assert_eq!(r["writes_missing"], 0, "{r:#}");
    assert!(r["time_to_elect_ms"].as_u64().is_some(), "{r:#}");
    assert!(r["time_to_rejoin_ms"].as_u64().is_some(), "{r:#}");
    let now = stack.redis_masters();
    assert_eq!(now.len(), 1, "exactly one Redis master: {now:?}");
    assert_ne!(now, masters, "the Sentinels promoted the replica");

    let t = Instant::now();
    stack.run(&["--yes", "down", "--volumes"]).ok();
    eprintln!("ha stack down in {:.1?}", t.elapsed());
    let label = format!("label=com.docker.compose.project={}", stack.name);
    assert_eq!(docker(&["ps", "-aq", "--filter", &label]).trim(), "");
}
