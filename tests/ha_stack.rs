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
        let mut test = Test::new().tasks(&tasks);
        for f in FILES {
            let text = std::fs::read_to_string(repo.join(f)).unwrap();
            test = test.file(&format!("ha/{f}"), &text);
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

    // Patroni: kill the leader under load; Patroni elects, the drill heals and
    // the old leader must come back as a streaming replica.
    let t = Instant::now();
    let drill = stack.run(&["test-failover", "--json"]);
    eprintln!("patroni drill in {:.1?}", t.elapsed());
    let r = report(&drill);
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
