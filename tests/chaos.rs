//! The built-in `chaos` plugin against real containers: each fault measured
//! rather than trusted (loss over hundreds of TCP connects, bandwidth from a
//! timed transfer, latency through the proxy, partitions refusing
//! connections), container faults seen through inspect, everything restored
//! (no rule, qdisc or paused container left) at the end of the duration, on
//! Ctrl-C, and after SIGKILL of the runner followed by `--recover`; zero
//! data loss on its own and in a failover drill between two PostgreSQL
//! containers with streaming replication.
//!
//! Needs a Docker Engine and the test images (`images::ensure()` builds them,
//! run-test/chaos-helper:latest included).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::images::{self, BUSYBOX, Container, POSTGRES, docker, docker_output};
use crate::support::running::Running;
use crate::test::Test;

const HELPER: &str = "run-test/chaos-helper:latest";
const PORT: u16 = 8080;

/// A `chaos` task reaching `containers`, with the helper image granted.
fn tasks(containers: &[&str], extra: &str) -> String {
    let list: Vec<String> = containers.iter().map(|c| format!("\"{c}\"")).collect();
    format!(
        r#"[tasks.chaos]
plugin = "chaos"
config = {{ helper-image = "{HELPER}"{extra} }}
allow = {{ containers = [{}], images = ["{HELPER}"], write = [".chaos"] }}
"#,
        list.join(", ")
    )
}

/// A busybox web server on port 8080 serving `/www/big` (`kib` KiB).
fn web(kib: u32) -> Container {
    let script = format!(
        "mkdir -p /www && dd if=/dev/urandom of=/www/big bs=1024 count={kib} 2>/dev/null && echo ok >/www/index.html && exec httpd -f -p {PORT} -h /www"
    );
    let c = Container::run("run-test-chaos-web", &[], BUSYBOX, &["sh", "-c", &script]);
    let addr = addr(&c);
    let start = Instant::now();
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "httpd in {} did not start",
            c.name
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    c
}

fn addr(c: &Container) -> SocketAddr {
    format!("{}:{PORT}", c.ip()).parse().unwrap()
}

/// Runs `run ARGS` in the test's directory (which keeps its files across runs).
fn run(test: &Test, args: &[&str]) -> std::process::Output {
    test.command().args(args).output().unwrap()
}

/// iptables rules and qdiscs in `c`'s network namespace, seen by a probe
/// container of our own (not through the plugin).
fn netns_state(c: &Container) -> String {
    let net = format!("container:{}", c.name);
    let out = docker_output(&[
        "run",
        "--rm",
        "--network",
        &net,
        "--cap-add",
        "NET_ADMIN",
        "--entrypoint",
        "",
        HELPER,
        "sh",
        "-c",
        "iptables-save; tc qdisc show",
    ]);
    assert!(
        out.status.success(),
        "probe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn assert_restored(c: &Container) {
    let state = netns_state(c);
    assert!(
        !state.contains("RUN-CHAOS"),
        "chaos rules left in {}:\n{state}",
        c.name
    );
    assert!(
        !state.contains("c4a0:"),
        "chaos qdisc left in {}:\n{state}",
        c.name
    );
    assert_eq!(c.inspect("{{.State.Status}}"), "running");
    let helpers = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=run.netns.target={}", c.name),
    ]);
    assert!(
        helpers.trim().is_empty(),
        "helpers left for {}: {helpers}",
        c.name
    );
}

/// Fraction of `n` TCP connects to `addr` that fail within `timeout`.
fn failed_connects(addr: SocketAddr, n: u32, timeout: Duration) -> f64 {
    let failed = (0..n)
        .filter(|_| TcpStream::connect_timeout(&addr, timeout).is_err())
        .count();
    failed as f64 / f64::from(n)
}

/// GET `path` over HTTP/1.0; returns the body length and the time taken.
fn get(addr: SocketAddr, path: &str) -> (usize, Duration) {
    let start = Instant::now();
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\n\r\n").unwrap();
    let mut body = Vec::new();
    s.read_to_end(&mut body).unwrap();
    (body.len(), start.elapsed())
}

#[test]
fn container_faults_are_seen_through_inspect_and_undone() {
    let c = Container::busybox("run-test-chaos-ctr", &[]);
    let test = Test::new().tasks(&tasks(&[&c.name], ""));
    for (fault, during) in [("pause", "paused"), ("stop", "exited"), ("kill", "exited")] {
        let mut run = Running::start(
            &test,
            &["chaos", fault, "--target", &c.name, "--duration", "2s"],
        );
        run.wait_for("chaos: applied");
        assert_eq!(c.inspect("{{.State.Status}}"), during, "during {fault}");
        let (status, log) = run.finish();
        assert_eq!(status, Some(0), "{fault}:\n{log}");
        assert!(log.contains("undone after"), "{log}");
        assert_eq!(c.inspect("{{.State.Status}}"), "running", "after {fault}");
    }
    let started = c.inspect("{{.State.StartedAt}}");
    let out = run(&test, &["chaos", "restart", "--target", &c.name]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(
        c.inspect("{{.State.StartedAt}}"),
        started,
        "restart starts it again"
    );
    assert!(
        !test.path(".chaos/journal.json").exists(),
        "the journal is cleared"
    );
}

#[test]
fn a_glob_with_random_picks_one_target_and_labels_select() {
    let a = Container::run(
        "run-test-chaos-pick",
        &["--label", "chaos-role=victim"],
        BUSYBOX,
        &["sleep", "86400"],
    );
    let b = Container::busybox("run-test-chaos-pick", &[]);
    let test = Test::new().tasks(&tasks(&["run-test-chaos-pick-*"], ""));
    let mut run = Running::start(
        &test,
        &[
            "chaos",
            "pause",
            "--target",
            "run-test-chaos-pick-*",
            "--random",
            "--duration",
            "2s",
        ],
    );
    run.wait_for("chaos: applied");
    let paused = [&a, &b]
        .iter()
        .filter(|c| c.inspect("{{.State.Paused}}") == "true")
        .count();
    assert_eq!(paused, 1, "--random pauses exactly one");
    assert_eq!(run.finish().0, Some(0));
    let mut run = Running::start(
        &test,
        &[
            "chaos",
            "pause",
            "--target",
            "label=chaos-role=victim",
            "--duration",
            "2s",
        ],
    );
    run.wait_for("chaos: applied");
    assert_eq!(a.inspect("{{.State.Paused}}"), "true");
    assert_eq!(b.inspect("{{.State.Paused}}"), "false");
    assert_eq!(run.finish().0, Some(0));
    assert_eq!(a.inspect("{{.State.Paused}}"), "false");
}

/// Fraction of `n` TCP connects to a closed port at `ip` whose answer (a
/// reset, sent by the target) never came within `timeout`. A closed port has
/// no accept queue to overflow, so every missing answer is a dropped packet.
fn unanswered_connects(ip: &str, n: u32, timeout: Duration) -> f64 {
    let addr: SocketAddr = format!("{ip}:9").parse().unwrap();
    let lost = (0..n)
        .filter(|_| match TcpStream::connect_timeout(&addr, timeout) {
            Err(e) => e.kind() != std::io::ErrorKind::ConnectionRefused,
            Ok(_) => panic!("port 9 of {ip} is open"),
        })
        .count();
    lost as f64 / f64::from(n)
}

#[test]
fn loss_drops_about_the_asked_share_and_ctrl_c_undoes_it() {
    let c = web(1);
    let ip = c.ip();
    assert_eq!(
        unanswered_connects(&ip, 50, Duration::from_millis(300)),
        0.0,
        "no loss before"
    );
    let test = Test::new().tasks(&tasks(&[&c.name], ""));
    let mut run = Running::start(
        &test,
        &[
            "chaos",
            "loss",
            "--target",
            &c.name,
            "--percent",
            "30",
            "--duration",
            "120s",
        ],
    );
    run.wait_for("chaos: applied");
    let share = unanswered_connects(&ip, 300, Duration::from_millis(250));
    eprintln!(
        "measured: asked 30% loss, {:.1}% of 300 connects unanswered",
        share * 100.0
    );
    assert!(
        (0.2..=0.4).contains(&share),
        "asked 30% loss, measured {:.1}%",
        share * 100.0
    );
    run.signal("-INT");
    let (status, log) = run.finish();
    assert_eq!(status, Some(130), "{log}");
    assert!(log.contains("undid loss"), "{log}");
    assert_restored(&c);
    assert_eq!(
        unanswered_connects(&ip, 50, Duration::from_millis(300)),
        0.0,
        "no loss after"
    );
}

#[test]
fn bandwidth_is_limited_for_a_timed_transfer() {
    let c = web(384);
    let addr = addr(&c);
    let (bytes, fast) = get(addr, "/big");
    assert!(bytes > 384 * 1024, "got {bytes} bytes");
    let test = Test::new().tasks(&tasks(&[&c.name], ""));
    let mut run = Running::start(
        &test,
        &[
            "chaos",
            "bandwidth",
            "--target",
            &c.name,
            "--rate",
            "1mbit",
            "--duration",
            "60s",
        ],
    );
    run.wait_for("chaos: applied");
    let (bytes, slow) = get(addr, "/big");
    let rate = bytes as f64 / slow.as_secs_f64();
    eprintln!(
        "measured: asked 1mbit (125000 B/s), {rate:.0} B/s over {bytes} bytes in {slow:?} (unlimited: {fast:?})"
    );
    // 1 mbit/s = 125 000 bytes/s; tbf's bucket lets a little more through at first.
    assert!(
        (90_000.0..=160_000.0).contains(&rate),
        "asked 125000 B/s, measured {rate:.0} B/s ({fast:?} before)"
    );
    run.signal("-TERM");
    let (status, log) = run.finish();
    assert_eq!(status, Some(130), "{log}");
    assert_restored(&c);
}

#[test]
fn latency_is_added_through_the_proxy_when_the_kernel_has_no_netem() {
    let c = web(1);
    let addr = addr(&c);
    let (_, before) = get(addr, "/index.html");
    let test = Test::new().tasks(&tasks(&[&c.name], ""));
    let mut run = Running::start(
        &test,
        &[
            "chaos",
            "delay",
            "--target",
            &c.name,
            "--delay",
            "300ms",
            "--port",
            "8080",
            "--duration",
            "60s",
        ],
    );
    run.wait_for("chaos: applied");
    let times: Vec<Duration> = (0..5).map(|_| get(addr, "/index.html").1).collect();
    eprintln!(
        "measured: asked 300ms through the proxy, requests took {times:?} (before: {before:?})"
    );
    for t in &times {
        assert!(
            *t >= Duration::from_millis(290) && *t < Duration::from_millis(590),
            "asked 300ms, measured {times:?} (before: {before:?})"
        );
    }
    run.signal("-INT");
    let (status, log) = run.finish();
    assert_eq!(status, Some(130), "{log}");
    assert!(log.contains("netem") || log.contains("proxy"), "{log}");
    assert_restored(&c);
    assert!(get(addr, "/index.html").1 < Duration::from_millis(250));
}

#[test]
fn without_ports_latency_says_what_this_kernel_cannot_do() {
    let c = web(1);
    let test = Test::new().tasks(&tasks(&[&c.name], ""));
    let out = run(
        &test,
        &[
            "chaos",
            "delay",
            "--target",
            &c.name,
            "--delay",
            "100ms",
            "--duration",
            "5s",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !stderr.contains("chaos: applied") {
        assert!(!out.status.success());
        assert!(
            stderr.contains("cannot delay packets") && stderr.contains("--port"),
            "{stderr}"
        );
    }
    assert_restored(&c);
}

#[test]
fn partitions_refuse_or_drop_and_can_spare_all_but_one_peer() {
    let c = web(1);
    let peer = Container::busybox("run-test-chaos-peer", &[]);
    let addr = addr(&c);
    let test = Test::new().tasks(&tasks(&[&c.name, &peer.name], ""));

    let mut run = Running::start(
        &test,
        &[
            "chaos",
            "partition",
            "--target",
            &c.name,
            "--reject",
            "--duration",
            "60s",
        ],
    );
    run.wait_for("chaos: applied");
    let err = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
    run.signal("-INT");
    assert_eq!(run.finish().0, Some(130));
    assert_restored(&c);

    let mut run = Running::start(
        &test,
        &[
            "chaos",
            "partition",
            "--target",
            &c.name,
            "--duration",
            "60s",
        ],
    );
    run.wait_for("chaos: applied");
    assert_eq!(
        failed_connects(addr, 5, Duration::from_millis(500)),
        1.0,
        "a dropped partition times out"
    );
    run.signal("-INT");
    assert_eq!(run.finish().0, Some(130));
    assert_restored(&c);

    // Busybox's static wget crashes here; a plain connect is enough.
    let connect = format!("nc -w 2 {} {PORT} </dev/null", c.ip());
    let from_peer = || peer.exec(&["sh", "-c", &connect]).status.success();
    assert!(from_peer(), "the peer reaches the target before");
    let mut run = Running::start(
        &test,
        &[
            "chaos",
            "partition",
            "--target",
            &c.name,
            "--peer",
            &peer.name,
            "--duration",
            "60s",
        ],
    );
    run.wait_for("chaos: applied");
    assert!(!from_peer(), "the peer is cut off");
    assert_eq!(
        failed_connects(addr, 5, Duration::from_millis(500)),
        0.0,
        "others still connect"
    );
    run.signal("-INT");
    assert_eq!(run.finish().0, Some(130));
    assert_restored(&c);
    assert!(from_peer());
}

#[test]
fn after_sigkill_of_the_runner_recover_undoes_everything() {
    let c = web(1);
    let test = Test::new().tasks(&tasks(&[&c.name], ""));
    let mut net = Running::start(
        &test,
        &[
            "chaos",
            "partition",
            "--target",
            &c.name,
            "--reject",
            "--duration",
            "300s",
        ],
    );
    net.wait_for("chaos: applied");
    net.signal("-KILL");
    net.finish();
    assert!(
        netns_state(&c).contains("RUN-CHAOS"),
        "the killed run left its rules"
    );
    let journal = std::fs::read_to_string(test.path(".chaos/journal.json")).unwrap();
    assert!(journal.contains("partition"), "{journal}");

    let out = run(&test, &["chaos", "--recover"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 fault(s) undone"),
        "{stderr}"
    );
    assert_restored(&c);
    assert!(!test.path(".chaos/journal.json").exists());
}

/// A chaos run holding `c` paused for 300 s, once the pause is applied.
fn paused_by_a_run(test: &Test, c: &Container) -> Running {
    let mut run = Running::start(
        test,
        &["chaos", "pause", "--target", &c.name, "--duration", "300s"],
    );
    run.wait_for("chaos: applied");
    run
}

#[test]
fn the_next_chaos_task_undoes_what_a_killed_run_left() {
    let c = Container::busybox("run-test-chaos-kill9", &[]);
    let test = Test::new().tasks(&tasks(&[&c.name], ""));
    let pause = paused_by_a_run(&test, &c);
    pause.signal("-KILL");
    pause.finish();
    assert_eq!(
        c.inspect("{{.State.Paused}}"),
        "true",
        "the killed run left it paused"
    );
    let out = run(&test, &["chaos", "restart", "--target", &c.name]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("undoing 1 fault(s) left by an earlier run"),
        "{stderr}"
    );
    assert_eq!(c.inspect("{{.State.Status}}"), "running");
    assert!(!test.path(".chaos/journal.json").exists());
}

#[test]
fn kill_sends_the_asked_signal() {
    // sh as PID 1 gets SIGTERM only through its trap, which exits 3: a
    // SIGKILL (the default) would end it with 137 and print nothing.
    let c = Container::run(
        "run-test-chaos-signal",
        &[],
        BUSYBOX,
        &[
            "sh",
            "-c",
            "trap 'echo got TERM; exit 3' TERM; while :; do sleep 0.1; done",
        ],
    );
    let test = Test::new().tasks(&tasks(&[&c.name], ""));
    let mut kill = Running::start(
        &test,
        &[
            "chaos",
            "kill",
            "--target",
            &c.name,
            "--signal",
            "SIGTERM",
            "--duration",
            "3s",
        ],
    );
    kill.wait_for("chaos: applied");
    let start = Instant::now();
    while c.inspect("{{.State.Status}}") != "exited" {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "SIGTERM did not end it"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        c.inspect("{{.State.ExitCode}}"),
        "3",
        "ended by its TERM trap"
    );
    let (status, log) = kill.finish();
    assert_eq!(status, Some(0), "{log}");
    assert!(log.contains("killed with SIGTERM"), "{log}");
    assert_eq!(c.inspect("{{.State.Status}}"), "running", "started again");
    assert!(c.logs().contains("got TERM"));
}

#[test]
fn a_second_run_on_the_same_journal_leaves_the_first_ones_faults_alone() {
    let c = Container::busybox("run-test-chaos-owner", &[]);
    let test = Test::new().tasks(&tasks(&[&c.name], ""));
    let first = paused_by_a_run(&test, &c);
    // `--recover` would undo every fault in the journal: the live one is not
    // a leftover, so the second run must stop instead.
    let out = run(&test, &["chaos", "--recover"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("`.chaos/journal.lock` is locked by pid ")
            && stderr.contains(", task chaos, since ")
            && stderr.contains("another chaos run is using the journal in `.chaos`"),
        "{stderr}"
    );
    assert_eq!(
        c.inspect("{{.State.Paused}}"),
        "true",
        "the first run's fault is untouched"
    );
    first.signal("-INT");
    let (status, log) = first.finish();
    assert_eq!(status, Some(130), "{log}");
    assert_eq!(c.inspect("{{.State.Paused}}"), "false");
    // The lock went with the first run: the next one goes ahead.
    let out = run(&test, &["chaos", "--recover"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_helper_image_and_targets_must_be_granted() {
    let c = web(1);
    let test = Test::new().tasks(&format!(
        "[tasks.chaos]\nplugin = \"chaos\"\nconfig = {{ helper-image = \"{HELPER}\" }}\nallow = {{ containers = [\"{}\"], write = [\".chaos\"] }}\n",
        c.name
    ));
    let out = run(
        &test,
        &[
            "chaos",
            "loss",
            "--target",
            &c.name,
            "--percent",
            "10",
            "--duration",
            "5s",
        ],
    );
    // Both are the task's needs: refused before anything runs, naming the
    // grant to add.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("denied") && stderr.contains(&format!("images = [\"{HELPER}\"]")),
        "{stderr}"
    );
    let out = run(
        &test,
        &[
            "chaos",
            "pause",
            "--target",
            "run-test-chaos-nobody",
            "--duration",
            "5s",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("containers = [\"run-test-chaos-nobody\"]"),
        "{stderr}"
    );
    assert_restored(&c);
}

/// A PostgreSQL primary and a streaming replica of it (pg_basebackup); the
/// replica is started with `replica_args` besides its own.
fn primary_and_replica(replica_args: &[&str]) -> (Container, Container) {
    let primary = Container::postgres("run-test-chaos-pg-primary");
    let out = primary.exec(&[
        "sh",
        "-c",
        "echo 'host replication all 0.0.0.0/0 scram-sha-256' >> \"$PGDATA/pg_hba.conf\"",
    ]);
    assert!(out.status.success());
    primary.psql("SELECT pg_reload_conf()");
    let script = format!(
        "mkdir -p \"$PGDATA\" && chown postgres:postgres \"$PGDATA\" && chmod 700 \"$PGDATA\" && \
         exec setpriv --reuid=postgres --regid=postgres --init-groups sh -c \
         'pg_basebackup -h {} -U postgres -D \"$PGDATA\" -R -X stream && exec postgres -D \"$PGDATA\"'",
        primary.ip()
    );
    let password = format!("PGPASSWORD={}", images::POSTGRES_PASSWORD);
    let mut args = vec!["-e", &password, "--entrypoint", "sh"];
    args.extend_from_slice(replica_args);
    let replica = Container::run(
        "run-test-chaos-pg-replica",
        &args,
        POSTGRES,
        &["-c", &script],
    );
    replica.wait_healthy();
    assert_eq!(replica.psql("SELECT pg_is_in_recovery()"), "t");
    (primary, replica)
}

/// Makes every commit on `primary` wait for the replica's flush: what zero
/// data loss on failover needs (with asynchronous replication the last
/// acknowledged writes can be lost, and the drill would say so).
fn synchronous(primary: &Container) {
    primary.psql("ALTER SYSTEM SET synchronous_standby_names = '*'");
    primary.psql("SELECT pg_reload_conf()");
    let start = Instant::now();
    while primary.psql("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'") != "1"
    {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the replica never became synchronous"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Promotion without an orchestrator, for `drill_tasks`.
const PROMOTE: &str = r#", promote = ["psql", "-U", "postgres", "-c", "SELECT pg_promote()"]"#;

/// A drill task; `extra` adds fields to the drill table, `allow` to the grants.
fn drill_tasks(primary: &Container, replica: &Container, extra: &str, allow: &str) -> String {
    format!(
        r#"[tasks.test-failover]
plugin = "chaos"
config = {{ mode = "drill", drill = {{ primary = "{p}", candidates = ["{r}"], rows = 100, timeout = "120s"{extra} }} }}
allow = {{ containers = ["{p}", "{r}"], write = [".chaos"]{allow} }}
"#,
        p = primary.name,
        r = replica.name
    )
}

/// The JSON report a `--json` run printed.
fn json_report(out: &std::process::Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let start = stdout.find('{').unwrap_or_else(|| {
        panic!(
            "no report:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    serde_json::from_str(&stdout[start..]).unwrap()
}

#[test]
fn a_failover_drill_under_write_load_loses_nothing_with_a_synchronous_replica() {
    let (primary, replica) = primary_and_replica(&[]);
    synchronous(&primary);
    primary.psql("CREATE TABLE orders (id int PRIMARY KEY, item text); INSERT INTO orders SELECT g, 'item ' || g FROM generate_series(1, 1000) g");
    let test = Test::new().tasks(&drill_tasks(&primary, &replica, PROMOTE, ""));
    let out = run(&test, &["test-failover", "--json"]);
    let report = json_report(&out);
    assert!(
        out.status.success(),
        "{report:#}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(report["outcome"], "ok");
    assert!(report["time_to_detect_ms"].as_u64().is_some(), "{report}");
    assert!(
        report["time_to_recover_ms"].as_u64().unwrap()
            >= report["time_to_detect_ms"].as_u64().unwrap()
    );
    assert_eq!(report["faults"][0]["fault"], "kill");
    assert!(
        report["faults"][0]["undone_at_ms"].is_null(),
        "fenced, not restarted: {report}"
    );
    let acked = report["writes_acknowledged"].as_u64().unwrap();
    assert!(acked >= 100, "the fault came after 100 writes: {report}");
    assert_eq!(report["writes_missing"], 0, "{report}");
    assert_eq!(
        replica.psql("SELECT pg_is_in_recovery()"),
        "f",
        "the replica was promoted"
    );
    assert_eq!(replica.psql("SELECT count(*) FROM orders"), "1000");
    let rows: u64 = replica
        .psql("SELECT count(*) FROM chaos_drill")
        .parse()
        .unwrap();
    assert!(
        rows > acked,
        "every acknowledged write plus the one after the failover: {rows} rows, {acked} acknowledged"
    );
    let events = report["events"].to_string();
    assert!(
        events.contains("write load running")
            && events.contains("accepts writes")
            && events.contains("new leader"),
        "{events}"
    );
    assert_eq!(
        primary.inspect("{{.State.Status}}"),
        "exited",
        "without an orchestrator the old primary is fenced: started again it would be a second primary"
    );
    assert!(events.contains("fenced"), "{events}");
    assert_eq!(report["primaries_after"], serde_json::json!([replica.name]));
    assert!(!test.path(".chaos/journal.json").exists());
}

/// The defect of issue 16: a heal that starts the old primary again, with
/// nothing to demote it, makes a second primary. The drill must say so and
/// fail, however many writes arrived safely. Checked from outside: both
/// servers really are primaries afterwards.
#[test]
fn a_heal_that_makes_a_second_primary_fails_the_drill_as_split_brain() {
    let (primary, replica) = primary_and_replica(&[]);
    synchronous(&primary);
    let extra = format!(r#"{PROMOTE}, heal = "rejoin""#);
    let test = Test::new().tasks(&drill_tasks(&primary, &replica, &extra, ""));
    let out = run(&test, &["test-failover", "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let report = json_report(&out);
    assert!(
        stderr.contains(&format!(
            "expected exactly one primary after the drill ({})",
            replica.name
        )),
        "{stderr}"
    );
    assert!(stderr.contains("split brain"), "{stderr}");
    assert_eq!(
        report["split_brain"].as_array().map(Vec::len),
        Some(2),
        "{report:#}"
    );
    assert_eq!(
        report["primaries_after"].as_array().map(Vec::len),
        Some(2),
        "{report:#}"
    );
    assert_eq!(primary.psql("SELECT pg_is_in_recovery()"), "f");
    assert_eq!(replica.psql("SELECT pg_is_in_recovery()"), "f");
    assert!(
        report["outcome"].as_str().unwrap().starts_with("failed"),
        "{report:#}"
    );
}

#[test]
fn a_drill_with_a_lagging_replica_lists_the_lost_writes() {
    let (primary, replica) = primary_and_replica(&[]);
    primary.psql("CREATE TABLE chaos_drill (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), note text); INSERT INTO chaos_drill (note) VALUES ('before')");
    let start = Instant::now();
    while replica.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'chaos_drill'") != "1" {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the table never reached the replica"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Deliberate loss: the replica stops receiving WAL, so the load's writes never reach it.
    replica.psql("ALTER SYSTEM SET primary_conninfo = ''");
    replica.psql("SELECT pg_reload_conf()");
    std::thread::sleep(Duration::from_secs(1));
    let out = run(
        &Test::new().tasks(&drill_tasks(&primary, &replica, PROMOTE, "")),
        &["test-failover", "--json"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let report = json_report(&out);
    let acked = report["writes_acknowledged"].as_u64().unwrap();
    assert!(acked >= 100, "{report}");
    assert_eq!(report["writes_missing"].as_u64(), Some(acked), "{report}");
    let lost = format!(
        "postgres.public.chaos_drill: {acked} of {acked} acknowledged writes are missing on {} (ids 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, and {} more)",
        replica.name,
        acked - 10
    );
    assert!(stderr.contains("data lost in the failover"), "{stderr}");
    assert!(stderr.contains(&lost), "{lost}\n{stderr}");
    assert_eq!(
        primary.inspect("{{.State.Status}}"),
        "exited",
        "fenced even though the drill failed"
    );
}

/// A Patroni-style `/leader` endpoint: busybox httpd in the replica's network
/// namespace serving `www/leader`, which the promote command creates, so the
/// endpoint answers 200 only once the replica leads.
#[test]
fn a_drill_finds_the_leader_over_http_and_sees_the_primary_down_over_tcp() {
    let www = tempfile::tempdir().unwrap();
    let mount = format!("{}:/www", www.path().display());
    let (primary, replica) = primary_and_replica(&["-v", &mount]);
    synchronous(&primary);
    let api = Container::run(
        "run-test-chaos-pg-api",
        &[
            "--network",
            &format!("container:{}", replica.name),
            "-v",
            &mount,
        ],
        BUSYBOX,
        &["httpd", "-f", "-p", "8008", "-h", "/www"],
    );
    let extra = format!(
        r#", fault = "stop", promote = ["sh", "-c", "psql -U postgres -c 'SELECT pg_promote()' && touch /www/leader"], leader = {{ http = "http://{{ip}}:8008/leader" }}, health = {{ tcp = "{{ip}}:5432" }}, load-from = "{r}", load-host = "{ip}""#,
        r = replica.name,
        ip = primary.ip()
    );
    let test = Test::new().tasks(&drill_tasks(
        &primary,
        &replica,
        &extra,
        r#", network = ["*:8008", "*:5432"]"#,
    ));
    let out = run(&test, &["test-failover", "--json"]);
    let report = json_report(&out);
    assert!(
        out.status.success(),
        "{report:#}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(report["faults"][0]["fault"], "stop");
    assert_eq!(report["writes_missing"], 0, "{report}");
    let events = report["events"].to_string();
    assert!(
        events.contains(&format!("{}: write load running", replica.name))
            && events.contains(&format!("{}: new leader", replica.name)),
        "{events}"
    );
    assert!(www.path().join("leader").exists());
    drop(api);
}

#[test]
fn verify_data_alone_catches_a_deleted_row() {
    let db = Container::postgres("run-test-chaos-verify");
    db.psql("CREATE TABLE accounts (id int PRIMARY KEY, balance int); INSERT INTO accounts SELECT g, g * 10 FROM generate_series(1, 200) g");
    let toml = format!(
        "[tasks.verify-data]\nplugin = \"chaos\"\nconfig = {{ mode = \"verify-data\", verify = {{ container = \"{}\" }} }}\nallow = {{ containers = [\"{}\"], write = [\".chaos\"] }}\n",
        db.name, db.name
    );
    let test = Test::new().tasks(&toml);
    let out = run(&test, &["verify-data", "--save"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&test, &["verify-data"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("zero data loss"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    db.psql("UPDATE accounts SET balance = 0 WHERE id = 7");
    let out = run(&test, &["verify-data"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("postgres.public.accounts: same row count (200) but different contents"),
        "{stderr}"
    );
    db.psql("DELETE FROM accounts WHERE id = 8");
    let out = run(&test, &["verify-data"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("postgres.public.accounts: 200 rows before, 199 after (-1)"),
        "{stderr}"
    );
}

#[test]
fn a_scenario_runs_its_steps_and_stops_at_a_failed_check_with_everything_undone() {
    let c = Container::busybox("run-test-chaos-scenario", &[]);
    let toml = format!(
        r#"[tasks.game-day]
plugin = "chaos"
config = {{ mode = "scenario", helper-image = "{HELPER}", steps = [
    {{ fault = "pause", target = "{n}", duration = "1s" }},
    {{ wait = "200ms" }},
    {{ check = {{ container = "{n}", command = ["true"] }} }},
    {{ fault = "partition", target = "{n}", duration = "1s" }},
    {{ check = {{ container = "{n}", command = ["sh", "-c", "exit 3"] }} }},
    {{ fault = "stop", target = "{n}", duration = "1s" }},
] }}
allow = {{ containers = ["{n}"], images = ["{HELPER}"], write = [".chaos"] }}
"#,
        n = c.name
    );
    let test = Test::new().tasks(&toml);
    let out = run(&test, &["game-day", "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("step 5: check command"), "{stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&stdout[stdout.find('{').unwrap()..]).unwrap();
    let faults: Vec<&str> = report["faults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fault"].as_str().unwrap())
        .collect();
    assert_eq!(faults, ["pause", "partition"], "step 6 never ran: {report}");
    assert!(
        report["faults"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["undone_at_ms"].is_u64()),
        "{report}"
    );
    assert_restored(&c);
    let reports = std::fs::read_dir(test.path(".chaos"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("report-")
        })
        .count();
    assert_eq!(
        reports, 1,
        "the JSON report is written to the task's directory"
    );
}

#[test]
fn recover_forgets_faults_of_containers_that_are_gone() {
    let c = Container::busybox("run-test-chaos-gone", &[]);
    let test = Test::new().tasks(&tasks(&[&c.name], ""));
    let pause = paused_by_a_run(&test, &c);
    pause.signal("-KILL");
    pause.finish();
    docker(&["rm", "-f", &c.name]);
    let out = run(&test, &["chaos", "--recover"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("no longer exists"), "{stderr}");
    assert!(!test.path(".chaos/journal.json").exists());
}

#[test]
fn verify_data_compares_two_containers() {
    let a = Container::postgres("run-test-chaos-verify-a");
    let b = Container::postgres("run-test-chaos-verify-b");
    let data = "CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, 'n' || g FROM generate_series(1, 50) g";
    a.psql(data);
    b.psql(data);
    let toml = format!(
        "[tasks.verify-data]\nplugin = \"chaos\"\nconfig = {{ mode = \"verify-data\", verify = {{ container = \"{b}\", against = \"{a}\", databases = [\"postgres\"] }} }}\nallow = {{ containers = [\"{a}\", \"{b}\"], write = [\".chaos\"] }}\n",
        a = a.name,
        b = b.name
    );
    let test = Test::new().tasks(&toml);
    let out = run(&test, &["verify-data"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(&format!("match {}", a.name)),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    b.psql("INSERT INTO items VALUES (51, 'extra')");
    let out = run(&test, &["verify-data"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("postgres.public.items: 50 rows before, 51 after (+1)"),
        "{stderr}"
    );
}

// ------------------------------------------------------------------------
// Defects of issue 16, each measured from outside the tool.

/// A TCP server in the helper image that answers each connection with the
/// address it came from (`peer 172.17.0.1`).
fn echo_peer() -> Container {
    let script = r#"import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', 8080)); s.listen(128)
while True:
    c, a = s.accept()
    try:
        c.recv(100); c.sendall(('peer %s\n' % a[0]).encode())
    except OSError:
        pass
    c.close()
"#;
    let c = Container::run(
        "run-test-chaos-echo",
        &[],
        HELPER,
        &["python3", "-c", script],
    );
    let addr = addr(&c);
    let start = Instant::now();
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{} did not start",
            c.name
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    c
}

/// One connection to the echo server: the address it saw, or the error.
fn ask_peer(addr: SocketAddr) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(3))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(b"hi")?;
    let mut answer = String::new();
    s.read_to_string(&mut answer)?;
    if !answer.starts_with("peer ") {
        return Err(std::io::Error::other(format!("answer {answer:?}")));
    }
    Ok(answer.trim().trim_start_matches("peer ").to_owned())
}

/// Helper containers of `c` (running or exited), by name.
fn helpers_of(c: &Container) -> String {
    docker(&[
        "ps",
        "-a",
        "--format",
        "{{.Names}} {{.Status}}",
        "--filter",
        &format!("label=run.netns.target={}", c.name),
    ])
}

/// The routing rules of `c`'s namespace (the latency proxy adds one).
fn ip_rules(c: &Container) -> String {
    let net = format!("container:{}", c.name);
    docker(&[
        "run",
        "--rm",
        "--network",
        &net,
        "--entrypoint",
        "",
        HELPER,
        "ip",
        "rule",
        "show",
    ])
}

#[test]
fn latency_keeps_the_clients_address_and_its_undo_refuses_no_connection() {
    let c = echo_peer();
    let addr = addr(&c);
    let direct = ask_peer(addr).unwrap();
    let test = Test::new().tasks(&tasks(&[&c.name], ""));
    let mut run = Running::start(
        &test,
        &[
            "chaos",
            "delay",
            "--target",
            &c.name,
            "--delay",
            "200ms",
            "--port",
            "8080",
            "--duration",
            "60s",
        ],
    );
    run.wait_for("chaos: applied");
    let start = Instant::now();
    let seen = ask_peer(addr).unwrap();
    let took = start.elapsed();
    eprintln!("measured: the target saw {seen} through the proxy ({direct} directly), in {took:?}");
    assert!(took >= Duration::from_millis(190), "not delayed: {took:?}");
    assert_eq!(seen, direct, "the proxy hid the client's address");
    assert_ne!(seen, c.ip());

    // A client connecting in a loop while the fault is undone.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let client = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let (mut ok, mut failed) = (0u32, Vec::new());
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match ask_peer(addr) {
                    Ok(_) => ok += 1,
                    Err(e) => failed.push(e.to_string()),
                }
            }
            (ok, failed)
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    run.signal("-INT");
    let (status, log) = run.finish();
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (ok, failed) = client.join().unwrap();
    eprintln!(
        "measured: {ok} connections during the undo, {} failed: {failed:?}",
        failed.len()
    );
    assert_eq!(status, Some(130), "{log}");
    assert!(
        failed.is_empty(),
        "connections failed during the undo: {failed:?}\n{log}"
    );
    assert!(ok >= 3, "too few connections to tell: {ok}");
    assert_restored(&c);
    assert!(!ip_rules(&c).contains("0xc4a0"), "{}", ip_rules(&c));
    assert!(ask_peer(addr).is_ok());
}

#[test]
fn recover_after_a_kill_during_setup_removes_the_proxy_and_every_helper() {
    let c = web(1);
    let test = Test::new().tasks(&tasks(&[&c.name], ""));
    let run = Running::start(
        &test,
        &[
            "chaos",
            "delay",
            "--target",
            &c.name,
            "--delay",
            "300ms",
            "--port",
            "8080",
            "--duration",
            "300s",
        ],
    );
    // Killed as soon as the proxy exists: the fault is being set up.
    let start = Instant::now();
    while !docker(&[
        "ps",
        "--format",
        "{{.Command}}",
        "--filter",
        &format!("label=run.netns.target={}", c.name),
    ])
    .contains("python3")
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no proxy started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    run.signal("-KILL");
    run.finish();
    let left = helpers_of(&c);
    assert!(
        left.contains("run-netns-"),
        "the killed run left its proxy: {left:?}"
    );

    let out = self::run(&test, &["chaos", "--recover"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}");
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("recovered: 1 fault(s) undone"), "{stdout}");
    assert!(
        stdout.contains("removed helper container run-netns-"),
        "{stdout}"
    );
    assert_restored(&c);
    assert!(helpers_of(&c).trim().is_empty(), "{}", helpers_of(&c));
    assert!(!test.path(".chaos/journal.json").exists());
}

fn reports(test: &Test) -> Vec<serde_json::Value> {
    let mut names: Vec<_> = std::fs::read_dir(test.path(".chaos"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("report-"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|n| {
            serde_json::from_str(
                &std::fs::read_to_string(test.path(&format!(".chaos/{n}"))).unwrap(),
            )
            .unwrap()
        })
        .collect()
}

#[test]
fn recovery_counts_from_when_the_fault_was_applied_and_reports_never_collide() {
    let c = Container::busybox("run-test-chaos-held", &[]);
    let test = Test::new().tasks(&tasks(&[&c.name], ""));
    let pause = paused_by_a_run(&test, &c);
    pause.signal("-KILL");
    pause.finish();
    std::thread::sleep(Duration::from_secs(3));
    let out = run(&test, &["chaos", "--recover"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("unpaused"), "{stdout}");
    let recovered = reports(&test);
    let fault = &recovered[0]["faults"][0];
    let held = fault["held_ms"].as_u64().unwrap();
    eprintln!("measured: the leftover pause was held {held} ms");
    assert!(
        held >= 3000,
        "counted from the recovery, not the fault: {fault}"
    );
    assert_eq!(fault["left_over"], true);
    // Three more runs within about a second: three more reports.
    for _ in 0..3 {
        assert!(run(&test, &["chaos", "--recover"]).status.success());
    }
    assert_eq!(reports(&test).len(), 4, "reports overwrote each other");
}

#[test]
fn verify_data_is_neither_blocked_nor_undone_by_another_runs_faults() {
    let pg = Container::postgres("run-test-chaos-vd");
    let other = Container::busybox("run-test-chaos-vd-other", &[]);
    let toml = format!(
        "{}[tasks.verify-data]\nplugin = \"chaos\"\nconfig = {{ mode = \"verify-data\", verify = {{ container = \"{}\" }} }}\nallow = {{ containers = [\"{}\"], write = [\".chaos\"] }}\n",
        tasks(&[&other.name], ""),
        pg.name,
        pg.name
    );
    let test = Test::new().tasks(&toml);
    // A live run holds the journal (and its lock) with a fault on a
    // container the data check may not touch.
    let pause = paused_by_a_run(&test, &other);
    let out = run(&test, &["verify-data", "--save"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("may still be in force"), "{stderr}");
    assert_eq!(
        other.inspect("{{.State.Paused}}"),
        "true",
        "verify-data undid another run's fault"
    );
    assert!(test.path(".chaos/baseline.json").exists());
    // Killed: the fault is a leftover now, and still does not block it.
    pause.signal("-KILL");
    pause.finish();
    let out = run(&test, &["verify-data"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(run(&test, &["chaos", "--recover"]).status.success());
    assert_eq!(other.inspect("{{.State.Paused}}"), "false");
}

#[test]
fn a_target_restarted_mid_fault_is_reported_lost() {
    let c = web(1);
    let test = Test::new().tasks(&tasks(&[&c.name], ""));
    let mut run = Running::start(
        &test,
        &[
            "chaos",
            "loss",
            "--target",
            &c.name,
            "--percent",
            "50",
            "--duration",
            "8s",
            "--json",
        ],
    );
    run.wait_for("chaos: applied");
    docker(&["restart", "-t", "1", &c.name]);
    let (status, log) = run.finish();
    assert_eq!(status, Some(1), "{log}");
    // A restart is a stop, then a start: the check may see either (on
    // Podman the stopped moment lasts longer); both say the fault is gone.
    let lost = |text: &str| text.contains("restarted") || text.contains("stopped (exited)");
    assert!(log.contains("did not hold") && lost(&log), "{log}");
    let report = reports(&test).pop().unwrap();
    let fault = &report["faults"][0];
    assert!(lost(fault["lost"].as_str().unwrap()), "{report}");
    assert!(fault["lost_at_ms"].as_u64().unwrap() < 8000, "{report}");
    assert_restored(&c);
}

#[test]
fn the_plan_resolves_targets_and_shows_the_rules_and_bad_input_fails() {
    let c = web(1);
    let allow = "run-test-chaos-web*";
    let test = Test::new().tasks(&tasks(&[allow], ""));
    let out = run(
        &test,
        &[
            "--plan",
            "chaos",
            "loss",
            "--target",
            allow,
            "--percent",
            "30",
            "--duration",
            "5s",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(&format!("`{}`", c.name)), "{stdout}");
    assert!(
        stdout.contains("-m statistic --mode random --probability 0.3 -j DROP"),
        "{stdout}"
    );
    assert!(stdout.contains("netem loss 30%"), "{stdout}");
    assert!(!stdout.contains("Fields {"), "a Debug dump: {stdout}");
    assert_restored(&c);

    for (args, says) in [
        (
            vec![
                "--plan",
                "chaos",
                "loss",
                "--target",
                "run-test-chaos-web-none*",
                "--percent",
                "30",
                "--duration",
                "5s",
            ],
            "run-test-chaos-web-none*",
        ),
        (
            vec![
                "--plan",
                "chaos",
                "loss",
                "--target",
                allow,
                "--duration",
                "5s",
            ],
            "--percent",
        ),
        (
            vec![
                "--dry-run",
                "chaos",
                "loss",
                "--target",
                allow,
                "--duration",
                "5s",
            ],
            "--percent",
        ),
        (
            vec![
                "--dry-run",
                "chaos",
                "loss",
                "--target",
                allow,
                "--percent",
                "30",
            ],
            "--duration",
        ),
    ] {
        let out = run(&test, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} passed: {stderr}");
        assert!(
            stderr.contains("`chaos`") && stderr.contains(says),
            "{args:?}: {stderr}"
        );
    }
}

// ------------------------------------------------------------------------
// Pumba parity.

#[test]
fn faults_only_netem_makes_are_refused_naming_the_module_or_made() {
    let c = web(1);
    let test = Test::new().tasks(&tasks(&[&c.name], ""));
    for args in [
        vec!["duplicate", "--percent", "5"],
        vec!["corrupt", "--percent", "5"],
        vec!["reorder", "--percent", "25", "--delay", "10ms"],
        vec!["loss", "--percent", "5", "--correlation", "25"],
        vec![
            "delay",
            "--delay",
            "10ms",
            "--jitter",
            "5ms",
            "--distribution",
            "normal",
            "--port",
            "8080",
        ],
    ] {
        let mut all = vec!["chaos"];
        all.extend(&args);
        all.extend(["--target", &c.name, "--duration", "1s"]);
        let out = run(&test, &all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("chaos: applied") {
            // A kernel with sch_netem.
            assert!(out.status.success(), "{stderr}");
            assert!(stderr.contains("netem"), "{stderr}");
        } else {
            assert!(!out.status.success(), "{args:?}: {stderr}");
            assert!(stderr.contains("sch_netem"), "{args:?}: {stderr}");
        }
        assert_restored(&c);
    }
}

#[test]
fn a_pick_takes_a_count_or_a_share_of_the_matches_and_an_interval_repeats() {
    let cs: Vec<Container> = (0..3)
        .map(|_| Container::busybox("run-test-chaos-pick", &[]))
        .collect();
    let names: Vec<&str> = cs.iter().map(|c| c.name.as_str()).collect();
    let glob = "run-test-chaos-pick*";
    let test = Test::new().tasks(&tasks(&[glob], ""));
    let paused = || {
        cs.iter()
            .filter(|c| c.inspect("{{.State.Paused}}") == "true")
            .count()
    };
    for (pick, expected) in [("2", 2), ("34%", 2), ("1%", 1)] {
        let mut run = Running::start(
            &test,
            &[
                "chaos",
                "pause",
                "--target",
                glob,
                "--pick",
                pick,
                "--duration",
                "60s",
            ],
        );
        for _ in 0..expected {
            run.wait_for("chaos: applied");
        }
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(paused(), expected, "--pick {pick}");
        run.signal("-INT");
        assert_eq!(run.finish().0, Some(130));
        assert_eq!(paused(), 0);
    }
    let start = Instant::now();
    let mut run = Running::start(
        &test,
        &[
            "chaos",
            "pause",
            "--target",
            names[0],
            "--duration",
            "1s",
            "--interval",
            "2s",
        ],
    );
    run.wait_for("chaos: undid");
    run.wait_for("chaos: applied");
    run.wait_for("chaos: undid");
    let two_rounds = start.elapsed();
    run.signal("-INT");
    let (status, log) = run.finish();
    eprintln!("measured: two rounds of a 1s pause every 2s in {two_rounds:?}");
    assert_eq!(status, Some(130), "{log}");
    assert!(two_rounds >= Duration::from_secs(3), "{two_rounds:?}");
    assert_eq!(paused(), 0);
}

#[test]
fn one_way_partitions_and_per_peer_loss_spare_the_rest() {
    let c = web(1);
    let peer = Container::run(
        "run-test-chaos-peerweb",
        &[],
        BUSYBOX,
        &[
            "sh",
            "-c",
            "mkdir -p /www && echo ok >/www/index.html && exec httpd -f -p 8080 -h /www",
        ],
    );
    let test = Test::new().tasks(&tasks(&[&c.name, &peer.name], ""));
    let addr = addr(&c);
    let to_peer = format!("nc -w 2 {} {PORT} </dev/null", peer.ip());
    let target_reaches_peer = || c.exec(&["sh", "-c", &to_peer]).status.success();
    let to_target = format!("nc -w 2 {} {PORT} </dev/null", c.ip());
    let peer_reaches_target = || peer.exec(&["sh", "-c", &to_target]).status.success();
    std::thread::sleep(Duration::from_millis(300));
    assert!(target_reaches_peer() && peer_reaches_target());

    // Inbound only: nothing reaches the target, the target still reaches out.
    let mut run = Running::start(
        &test,
        &[
            "chaos",
            "partition",
            "--target",
            &c.name,
            "--direction",
            "in",
            "--duration",
            "60s",
        ],
    );
    run.wait_for("chaos: applied");
    assert_eq!(failed_connects(addr, 3, Duration::from_millis(500)), 1.0);
    assert!(
        target_reaches_peer(),
        "an inbound partition cut the target's own connections"
    );
    run.signal("-INT");
    assert_eq!(run.finish().0, Some(130));
    assert_restored(&c);

    // Outbound only: the target answers, but cannot reach out.
    let mut run = Running::start(
        &test,
        &[
            "chaos",
            "partition",
            "--target",
            &c.name,
            "--direction",
            "out",
            "--duration",
            "60s",
        ],
    );
    run.wait_for("chaos: applied");
    assert_eq!(failed_connects(addr, 3, Duration::from_millis(500)), 0.0);
    assert!(!target_reaches_peer());
    run.signal("-INT");
    assert_eq!(run.finish().0, Some(130));
    assert_restored(&c);

    // All of the traffic to the peer lost, none of the rest.
    let mut run = Running::start(
        &test,
        &[
            "chaos",
            "loss",
            "--target",
            &c.name,
            "--peer",
            &peer.name,
            "--percent",
            "100",
            "--duration",
            "60s",
        ],
    );
    run.wait_for("chaos: applied");
    assert!(!peer_reaches_target(), "the peer still reaches the target");
    assert_eq!(failed_connects(addr, 5, Duration::from_millis(500)), 0.0);
    run.signal("-INT");
    assert_eq!(run.finish().0, Some(130));
    assert_restored(&c);
    assert!(peer_reaches_target());
}

#[test]
fn a_rate_on_one_port_slows_that_port_only_and_remove_removes() {
    let c = web(384);
    let test = Test::new().tasks(&tasks(&[&c.name], ""));
    let addr = addr(&c);
    let (bytes, fast) = get(addr, "/big");
    let mut run = Running::start(
        &test,
        &[
            "chaos",
            "bandwidth",
            "--target",
            &c.name,
            "--rate",
            "1mbit",
            "--port",
            "8080",
            "--duration",
            "60s",
        ],
    );
    run.wait_for("chaos: applied");
    let (_, slow) = get(addr, "/big");
    let rate = bytes as f64 / slow.as_secs_f64();
    eprintln!(
        "measured: 1mbit on port 8080: {rate:.0} B/s over {bytes} bytes ({fast:?} unlimited)"
    );
    assert!((90_000.0..=160_000.0).contains(&rate), "{rate:.0} B/s");
    // Other ports (the ping of another port here) are not limited: a
    // transfer from the target on another port runs at full speed.
    let other = "httpd -p 8081 -h /www && echo started";
    assert!(c.exec(&["sh", "-c", other]).status.success());
    let other_addr: SocketAddr = format!("{}:8081", c.ip()).parse().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let (_, other_time) = get(other_addr, "/big");
    eprintln!("measured: port 8081 took {other_time:?} for the same file");
    assert!(
        other_time < slow / 3,
        "port 8081 was limited too: {other_time:?} vs {slow:?}"
    );
    run.signal("-INT");
    assert_eq!(run.finish().0, Some(130));
    assert_restored(&c);

    let out = self::run(&test, &["chaos", "remove", "--target", &c.name]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let gone = docker_output(&["inspect", &c.name]);
    assert!(!gone.status.success(), "{} still exists", c.name);
}

/// A file of `c`'s cgroup for `controller` (`cpuacct`, `memory`), found from
/// outside the tool: the cgroup `/proc/<pid>/cgroup` names for its first
/// process (cgroup v1).
fn cgroup_file(c: &Container, controller: &str, file: &str) -> PathBuf {
    container_cgroup_file(&c.name, controller, file)
}

/// [`cgroup_file`] of any container, by name.
fn container_cgroup_file(name: &str, controller: &str, file: &str) -> PathBuf {
    let pid = docker(&["inspect", "-f", "{{.State.Pid}}", name]);
    let pid = pid.trim();
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let path = text
        .lines()
        .find_map(|line| {
            let mut parts = line.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            controllers
                .split(',')
                .any(|k| k == controller)
                .then(|| path.to_owned())
        })
        .unwrap_or_else(|| panic!("no {controller} cgroup in /proc/{pid}/cgroup:\n{text}"));
    Path::new("/sys/fs/cgroup")
        .join(controller)
        .join(path.trim_start_matches('/'))
        .join(file)
}

fn read_number(path: &Path) -> u64 {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .parse()
        .unwrap()
}

/// CPUs' worth of time the cgroup used over `window` (1.0: one CPU all along).
fn cpu_rate(usage: &Path, window: Duration) -> f64 {
    let (before, start) = (read_number(usage), Instant::now());
    std::thread::sleep(window);
    let used = read_number(usage) - before;
    used as f64 / start.elapsed().as_nanos() as f64
}

/// Removes the stress helpers of a target when dropped, should a test fail
/// before the tool removed them (they outlive their target).
struct NoStressLeft(String);

impl Drop for NoStressLeft {
    fn drop(&mut self) {
        let filter = format!("label=run.netns.target={}", self.0);
        let ids = docker(&[
            "ps",
            "-aq",
            "--filter",
            "label=run.helper=stress",
            "--filter",
            &filter,
        ]);
        for id in ids.split_whitespace() {
            let _ = docker_output(&["rm", "-f", id]);
        }
    }
}

/// The stress helpers of `c`, running or not, by the labels the host sets.
fn stress_helpers(c: &Container) -> String {
    docker(&[
        "ps",
        "-a",
        "--format",
        "{{.Names}}",
        "--filter",
        "label=run.helper=stress",
        "--filter",
        &format!("label=run.netns.target={}", c.name),
    ])
    .trim()
    .to_owned()
}

#[test]
fn stress_loads_the_targets_cgroup_within_its_cpu_limit_and_stops_after() {
    // Half a CPU at most: two workers at 100% are held to it only if they
    // run in the target's cgroup.
    let c = Container::run(
        "run-test-chaos-stress",
        &["--cpus", "0.5"],
        BUSYBOX,
        &["sleep", "86400"],
    );
    let _cleanup = NoStressLeft(c.name.clone());
    let usage = cgroup_file(&c, "cpuacct", "cpuacct.usage");
    let cgroup = Path::new("/").join(
        usage
            .parent()
            .unwrap()
            .strip_prefix("/sys/fs/cgroup/cpuacct")
            .unwrap(),
    );
    let test = Test::new().tasks(&tasks(&[&c.name], ""));
    let idle = cpu_rate(&usage, Duration::from_secs(1));
    let mut load = Running::start(
        &test,
        &[
            "chaos",
            "stress",
            "--target",
            &c.name,
            "--cpu",
            "2",
            "--duration",
            "8s",
        ],
    );
    load.wait_for("chaos: applied");
    let helper = stress_helpers(&c);
    assert!(!helper.is_empty(), "no stress helper runs");
    // The helper's own cgroup, a child of the target's.
    let helper_usage = container_cgroup_file(&helper, "cpuacct", "cpuacct.usage");
    assert!(
        helper_usage.starts_with(usage.parent().unwrap()),
        "the helper's cgroup {} is not under the target's {}",
        helper_usage.display(),
        usage.display()
    );
    std::thread::sleep(Duration::from_millis(500));
    let (target_before, helper_before, start) = (
        read_number(&usage),
        read_number(&helper_usage),
        Instant::now(),
    );
    std::thread::sleep(Duration::from_secs(4));
    let elapsed = start.elapsed().as_nanos() as f64;
    let during = (read_number(&usage) - target_before) as f64 / elapsed;
    let by_helper = (read_number(&helper_usage) - helper_before) as f64 / elapsed;
    let (status, log) = load.finish();
    assert_eq!(status, Some(0), "{log}");
    let after = cpu_rate(&usage, Duration::from_secs(2));
    eprintln!(
        "target's cgroup: {idle:.3} CPU idle, {during:.3} under stress ({by_helper:.3} by the helper; limit 0.5), {after:.3} after"
    );
    assert!(idle < 0.05, "idle {idle}");
    // On a shared machine the workers get what the scheduler gives them
    // (idle is 0.001; under a load average of 16, 0.07 was seen): the
    // target's usage rises by what the helper used, never past the limit.
    assert!(
        (0.03..=0.6).contains(&during),
        "two workers in a cgroup limited to 0.5 CPU used {during:.3} CPU"
    );
    assert!(
        (during - by_helper).abs() < 0.05,
        "the target's rise ({during:.3}) is not the helper's use ({by_helper:.3})"
    );
    assert!(
        after < 0.05,
        "the load went on after the fault: {after:.3} CPU"
    );
    assert!(stress_helpers(&c).is_empty(), "the helper is left");
    // The report says what ran, and where.
    assert!(
        log.contains("stress-ng --cpu 2 --cpu-load 100 --timeout 13s")
            && log.contains(&format!("cgroup {}", cgroup.display())),
        "{log}"
    );
    assert!(log.contains("undone after"), "{log}");
    assert!(!test.path(".chaos/journal.json").exists());
}

#[test]
fn memory_stress_counts_against_the_targets_memory_and_its_limit_holds() {
    let c = Container::run(
        "run-test-chaos-stressmem",
        &["--memory", "64m"],
        BUSYBOX,
        &["sleep", "86400"],
    );
    let _cleanup = NoStressLeft(c.name.clone());
    let usage = cgroup_file(&c, "memory", "memory.usage_in_bytes");
    let failcnt = cgroup_file(&c, "memory", "memory.failcnt");
    let oom_control = cgroup_file(&c, "memory", "memory.oom_control");
    // Times the limit was hit (a charge failed) or the OOM killer ran in it.
    let limit_hits = || {
        let oom_kills: u64 = std::fs::read_to_string(&oom_control)
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("oom_kill "))
            .map_or(0, |n| n.trim().parse().unwrap());
        read_number(&failcnt) + oom_kills
    };
    let test = Test::new().tasks(&tasks(&[&c.name], ""));
    let mib = |n: u64| n as f64 / f64::from(1 << 20);
    // Within the limit: the target's usage rises by what the worker holds.
    let before = read_number(&usage);
    let mut load = Running::start(
        &test,
        &[
            "chaos",
            "stress",
            "--target",
            &c.name,
            "--memory",
            "32m",
            "--duration",
            "6s",
        ],
    );
    load.wait_for("chaos: applied");
    let mut peak = 0;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(4) {
        peak = peak.max(read_number(&usage));
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, log) = load.finish();
    assert_eq!(status, Some(0), "{log}");
    eprintln!(
        "target's memory: {:.1} MiB before, {:.1} MiB at most under a 32 MiB stress",
        mib(before),
        mib(peak)
    );
    assert!(
        peak >= before + (28 << 20),
        "a 32 MiB stress raised the target's memory from {:.1} to {:.1} MiB only",
        mib(before),
        mib(peak)
    );
    // Beyond the limit: held to 64 MiB, the limit hit (failcnt).
    let fails = limit_hits();
    let mut load = Running::start(
        &test,
        &[
            "chaos",
            "stress",
            "--target",
            &c.name,
            "--memory",
            "256m",
            "--duration",
            "5s",
        ],
    );
    load.wait_for("chaos: applied");
    let mut peak = 0;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        peak = peak.max(read_number(&usage));
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, log) = load.finish();
    assert_eq!(status, Some(0), "{log}");
    let hits = limit_hits() - fails;
    eprintln!(
        "a 256 MiB stress in a 64 MiB target: {:.1} MiB at most, the limit hit {hits} times",
        mib(peak)
    );
    assert!(
        peak <= 64 << 20,
        "{:.1} MiB is over the 64 MiB limit",
        mib(peak)
    );
    assert!(
        peak >= 48 << 20,
        "the load did not reach the limit: {:.1} MiB",
        mib(peak)
    );
    assert!(hits > 0, "the limit was never hit");
    assert_eq!(c.inspect("{{.State.Status}}"), "running");
    assert!(stress_helpers(&c).is_empty(), "the helper is left");
}

#[test]
fn after_sigkill_of_the_runner_recover_removes_the_stress_helper() {
    let c = Container::busybox("run-test-chaos-stresskill", &[]);
    let _cleanup = NoStressLeft(c.name.clone());
    let usage = cgroup_file(&c, "cpuacct", "cpuacct.usage");
    let test = Test::new().tasks(&tasks(&[&c.name], ""));
    let mut load = Running::start(
        &test,
        &[
            "chaos",
            "stress",
            "--target",
            &c.name,
            "--cpu",
            "1",
            "--duration",
            "300s",
        ],
    );
    load.wait_for("chaos: applied");
    load.signal("-KILL");
    load.finish();
    let left = stress_helpers(&c);
    assert!(!left.is_empty(), "the killed run left no helper");
    let loaded = cpu_rate(&usage, Duration::from_secs(2));
    assert!(
        loaded > 0.03,
        "the left helper loads the target: {loaded:.3} CPU"
    );
    let journal = std::fs::read_to_string(test.path(".chaos/journal.json")).unwrap();
    assert!(
        journal.contains("\"stress\"") && journal.contains(&left),
        "{journal}"
    );

    let out = run(&test, &["chaos", "--recover"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("1 fault(s) undone")
            && stdout.contains(&format!("removed helper container {left}")),
        "{stdout}"
    );
    assert!(stress_helpers(&c).is_empty(), "recover left the helper");
    std::thread::sleep(Duration::from_millis(300));
    let after = cpu_rate(&usage, Duration::from_secs(2));
    assert!(
        after < 0.05,
        "the load went on after --recover: {after:.3} CPU"
    );
    assert!(!test.path(".chaos/journal.json").exists());
}

#[test]
fn stress_is_refused_without_grants_or_stress_ng_and_the_plan_shows_the_cgroup() {
    let c = Container::busybox("run-test-chaos-stressno", &[]);
    let _cleanup = NoStressLeft(c.name.clone());
    let usage = cgroup_file(&c, "cpuacct", "cpuacct.usage");
    let cgroup = Path::new("/")
        .join(
            usage
                .parent()
                .unwrap()
                .strip_prefix("/sys/fs/cgroup/cpuacct")
                .unwrap(),
        )
        .display()
        .to_string();
    let stress = [
        "chaos",
        "stress",
        "--target",
        &c.name,
        "--cpu",
        "1",
        "--duration",
        "5s",
    ];
    // The target not granted: refused before anything runs, naming the grant.
    let test = Test::new().tasks(&tasks(&["run-test-chaos-somebody-else"], ""));
    let out = run(&test, &stress);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("containers = [\"{}\"]", c.name)),
        "{stderr}"
    );
    // The helper image not granted.
    let test = Test::new().tasks(&format!(
        "[tasks.chaos]\nplugin = \"chaos\"\nconfig = {{ helper-image = \"{HELPER}\" }}\nallow = {{ containers = [\"{}\"], write = [\".chaos\"] }}\n",
        c.name
    ));
    let out = run(&test, &stress);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("images = [\"{HELPER}\"]")),
        "{stderr}"
    );
    // A granted image without stress-ng: said, nothing left.
    let test = Test::new().tasks(&format!(
        "[tasks.chaos]\nplugin = \"chaos\"\nconfig = {{ helper-image = \"{BUSYBOX}\" }}\nallow = {{ containers = [\"{}\"], images = [\"{BUSYBOX}\"], write = [\".chaos\"] }}\n",
        c.name
    ));
    let out = run(&test, &stress);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("the helper image `{BUSYBOX}` has no stress-ng")),
        "{stderr}"
    );
    assert!(stress_helpers(&c).is_empty(), "a helper is left");
    assert!(!test.path(".chaos/journal.json").exists());
    // Nothing to load: refused by the dry run already.
    let test = Test::new().tasks(&tasks(&[&c.name], ""));
    let out = run(
        &test,
        &[
            "--dry-run",
            "chaos",
            "stress",
            "--target",
            &c.name,
            "--duration",
            "5s",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("stress needs --cpu"), "{stderr}");
    // The plan: the target's cgroup as the host resolves it, and the command.
    let out = run(
        &test,
        &[
            "--plan",
            "chaos",
            "stress",
            "--target",
            &c.name,
            "--cpu",
            "1",
            "--cpu-load",
            "50",
            "--memory",
            "16m",
            "--duration",
            "5s",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("`{}`: cgroup {cgroup}", c.name)),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "stress-ng --cpu 1 --cpu-load 50 --vm 1 --vm-bytes 16777216 --vm-keep --timeout 10s --metrics-brief"
        ),
        "{stdout}"
    );
    assert!(stress_helpers(&c).is_empty(), "the plan started a helper");
}

#[test]
fn a_target_removed_under_a_stress_loses_it_and_its_helper_is_removed() {
    let c = Container::busybox("run-test-chaos-stressgone", &[]);
    let _cleanup = NoStressLeft(c.name.clone());
    let test = Test::new().tasks(&tasks(&[&c.name], ""));
    let mut load = Running::start(
        &test,
        &[
            "chaos",
            "stress",
            "--target",
            &c.name,
            "--cpu",
            "1",
            "--duration",
            "6s",
        ],
    );
    load.wait_for("chaos: applied");
    let helper = stress_helpers(&c);
    assert!(!helper.is_empty(), "no stress helper runs");
    docker(&["rm", "-f", &c.name]);
    let (status, log) = load.finish();
    assert_ne!(status, Some(0), "a lost stress fails the task:\n{log}");
    assert!(log.contains("was removed"), "{log}");
    assert!(
        log.contains(&format!("removed helper container {helper}")),
        "{log}"
    );
    assert!(
        stress_helpers(&c).is_empty(),
        "the helper outlived its target"
    );
    assert!(!test.path(".chaos/journal.json").exists());
}
