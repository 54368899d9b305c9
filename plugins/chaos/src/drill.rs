//! A failover drill: fingerprint the primary's data, start a write load
//! against it, make the fault (kill, pause, stop or partition the primary)
//! while the load runs, time how long until the primary is seen down
//! (detect), a candidate answers as leader (elect; an orchestrator such as
//! Patroni elects it, or the drill promotes one when `promote` is given) and
//! the proxy routes writes to it; then heal: the old primary rejoins as a
//! replica (an orchestrator demotes it), or, without an orchestrator, it is
//! fenced (left stopped), since it would come back as a second primary.
//! Finally: exactly one primary, every other member a replica, every write
//! acknowledged (during the heal too) on the leader, every other table
//! unchanged; any difference fails the drill.
//!
//! With `members` instead of `primary`, the leader is found at run time: the
//! one member passing the `leader` check (Patroni: `GET /leader` 200).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use run_plugin_sdk::containers::{self, ExecRequest, Signal};
use run_plugin_sdk::{Error, log};
use serde::Deserialize;
use serde_json::json;

use crate::check::{Check, psql};
use crate::fault::{Env, Kind, new_id};
use crate::haproxy::Routing;
use crate::journal::Entry;
use crate::load::{self, Load, LoadConfig};
use crate::{duration, verify};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DrillConfig {
    /// The primary; without it, the one of `members` passing `leader`.
    pub primary: Option<String>,
    /// Containers that may become the leader (default: `members` but the primary).
    #[serde(default)]
    pub candidates: Vec<String>,
    /// Every node of the cluster, when the primary is found at run time.
    #[serde(default)]
    pub members: Vec<String>,
    /// kill (default), pause, stop or partition.
    #[serde(default = "default_fault")]
    pub fault: String,
    /// A command run in the first candidate once the primary is down (for
    /// setups without an orchestrator, e.g. `["pg_ctl", "promote"]`).
    pub promote: Option<Vec<String>>,
    /// Passes on the leader (default: SQL `SELECT NOT pg_is_in_recovery()`).
    pub leader: Option<Check>,
    /// Passes while the primary is up (default: SQL `SELECT 1`).
    pub health: Option<Check>,
    /// Passes on a node that takes writes; after the drill exactly one may
    /// (default: `leader`).
    pub primary_check: Option<Check>,
    /// Passes on a replica: the old primary once it rejoined, every other
    /// member after the drill (default: SQL `SELECT pg_is_in_recovery()`).
    pub replica: Option<Check>,
    /// `rejoin` (undo the fault and wait for the old primary to rejoin as a
    /// replica; default without `promote`) or `fence` (leave it stopped;
    /// default with `promote`, since nothing would demote it).
    pub heal: Option<String>,
    /// HAProxy's stats and the backend of the writes: times when it stops
    /// and starts routing writes to the old and the new leader.
    pub routing: Option<Routing>,
    #[serde(default = "default_user")]
    pub user: String,
    /// Where the write load goes (default `postgres`).
    #[serde(default = "default_database")]
    pub database: String,
    /// Writes the load has acknowledged when the fault is made (0: no load).
    #[serde(default = "default_rows")]
    pub rows: u32,
    /// The container the load's client runs in (default: the primary, over
    /// its local socket). Another container reaches the primary with `load-host`.
    pub load_from: Option<String>,
    /// `psql -h` for the load (e.g. the primary's address, or a proxy that
    /// follows the leader); a password comes from `load-from`'s environment.
    pub load_host: Option<String>,
    /// Databases fingerprinted (default: all).
    pub databases: Option<Vec<String>>,
    /// How long to wait for the load, for detection, for a new leader and
    /// for the old one to rejoin.
    #[serde(default = "default_timeout")]
    pub timeout: String,
}

fn default_fault() -> String {
    "kill".into()
}
fn default_user() -> String {
    "postgres".into()
}
fn default_database() -> String {
    "postgres".into()
}
fn default_rows() -> u32 {
    200
}
fn default_timeout() -> String {
    "60s".into()
}

impl DrillConfig {
    /// Every container the drill names.
    pub fn containers(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self.primary.iter().map(String::as_str).collect();
        for c in self.members.iter().chain(&self.candidates) {
            if !all.contains(&c.as_str()) {
                all.push(c);
            }
        }
        all
    }
}

pub(crate) fn poll<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<(T, Instant)> {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return Some((v, Instant::now()));
        }
        if start.elapsed() >= limit || run_plugin_sdk::cancel::sleep(Duration::from_millis(200)) {
            return None;
        }
    }
}

pub(crate) fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The fault kinds a drill makes.
pub(crate) fn drill_fault(name: &str) -> Result<Kind, Error> {
    Ok(match name {
        "kill" => Kind::Kill {
            signal: Signal::Sigkill,
        },
        "pause" => Kind::Pause,
        "stop" => Kind::Stop,
        "partition" => Kind::Partition {
            peer: None,
            reject: false,
            direction: crate::net::Direction::Both,
        },
        other => {
            return Err(Error::invalid_input(format!(
                "drill.fault `{other}`: use kill, pause, stop or partition"
            )));
        }
    })
}

/// The write outage the load saw: the longest gap between consecutive
/// acknowledgements that ends after `fault_ms` (Unix ms); returns when
/// writes were acknowledged again, from the fault, and the gap.
pub(crate) fn outage(acks: &[(u64, Option<u64>)], fault_ms: u64) -> Option<(u64, u64)> {
    let mut times: Vec<u64> = acks.iter().filter_map(|a| a.1).collect();
    times.sort_unstable();
    times
        .windows(2)
        .filter(|w| w[1] > fault_ms)
        .map(|w| (w[1], w[1] - w[0]))
        .max_by_key(|&(_, gap)| gap)
        .map(|(again, gap)| (again.saturating_sub(fault_ms), gap))
}

/// The members passing `check`.
fn passing(members: &[&str], check: &Check) -> Vec<String> {
    members
        .iter()
        .filter(|m| check.run_on(Some(m)).is_ok())
        .map(|m| m.to_string())
        .collect()
}

pub fn run(config: &DrillConfig, env: &mut Env<'_>) -> Result<(), Error> {
    let timeout = duration::parse(&config.timeout)
        .map_err(|e| Error::invalid_input(format!("drill.timeout: {e}")))?;
    let kind = drill_fault(&config.fault)?;
    let fence = match config.heal.as_deref() {
        None => config.promote.is_some(),
        Some("fence") => true,
        Some("rejoin") => false,
        Some(other) => {
            return Err(Error::invalid_input(format!(
                "drill.heal `{other}`: use rejoin or fence"
            )));
        }
    };
    let leader_check = config.leader.clone().unwrap_or(Check {
        sql: Some("SELECT NOT pg_is_in_recovery()".into()),
        user: config.user.clone(),
        ..Check::default()
    });
    let health = config.health.clone().unwrap_or(Check {
        sql: Some("SELECT 1".into()),
        expect: Some("1".into()),
        user: config.user.clone(),
        ..Check::default()
    });
    // With a named primary, "takes writes" is PostgreSQL's own answer; with
    // members, the leader check (e.g. Patroni's /primary or /leader).
    let primary_check = config.primary_check.clone().unwrap_or_else(|| {
        if config.primary.is_some() {
            Check {
                sql: Some("SELECT NOT pg_is_in_recovery()".into()),
                user: config.user.clone(),
                ..Check::default()
            }
        } else {
            leader_check.clone()
        }
    });
    let replica_check = config.replica.clone().unwrap_or(Check {
        sql: Some("SELECT pg_is_in_recovery()".into()),
        user: config.user.clone(),
        ..Check::default()
    });
    let members = config.containers();

    // 0. Exactly one primary before anything happens.
    let primaries = passing(&members, &primary_check);
    let primary = match (&config.primary, primaries.as_slice()) {
        (Some(p), [only]) if only == p => p.clone(),
        (None, [only]) => only.clone(),
        (_, found) => {
            return Err(Error::failed(format!(
                "before the drill, expected exactly one primary{} among {}, found {}: {} (check {})",
                config
                    .primary
                    .as_ref()
                    .map(|p| format!(" ({p})"))
                    .unwrap_or_default(),
                members.join(", "),
                found.len(),
                if found.is_empty() {
                    "none".into()
                } else {
                    found.join(", ")
                },
                primary_check.describe()
            )));
        }
    };
    let candidates: Vec<String> = if config.candidates.is_empty() {
        members
            .iter()
            .filter(|m| **m != primary)
            .map(|m| m.to_string())
            .collect()
    } else {
        config.candidates.clone()
    };
    if candidates.is_empty() {
        return Err(Error::invalid_input(
            "drill.candidates (or drill.members) must name at least one replica",
        ));
    }
    env.report.event(format!("{primary}: the primary"));
    let primary = primary.as_str();

    let load_table = format!("{}.public.{}", config.database, load::TABLE);

    // 1. Fingerprint every table but the load's, which changes throughout.
    let mut before = verify::snapshot(primary, &config.user, config.databases.as_deref())?;
    before.remove(&load_table);
    env.report
        .event(format!("{primary}: {} tables fingerprinted", before.len()));
    // 2. The write load, which goes on through the fault and the heal.
    let (load, acked_at_fault) = match config.rows {
        0 => (None, 0),
        rows => {
            let (load, n) = start_load(config, primary, env, rows, timeout)?;
            (Some(load), n)
        }
    };
    // The old primary's last log line: what it logs after this is what it
    // did through the fault and the heal (e.g. Patroni's pg_rewind).
    let log_mark = containers::open(primary)
        .and_then(|c| c.logs(1))
        .unwrap_or_default();
    // 3. The fault.
    let fault_unix = unix_ms();
    let entry = match env.apply(&kind, primary) {
        Ok(entry) => entry,
        Err(e) => {
            if let Some(load) = &load {
                let _ = load.stop();
            }
            return Err(e);
        }
    };
    let fault_at = Instant::now();
    let failover = failover(
        config,
        env,
        primary,
        &candidates,
        &health,
        &leader_check,
        fault_at,
        timeout,
    );
    // 4. Heal, whatever happened.
    let heal_start = Instant::now();
    let healed = if fence {
        fence_off(env, &entry, &kind)
    } else {
        env.undo(&entry)
    };
    let mut split = None;
    if healed.is_ok() && !fence {
        split = rejoin(
            env,
            primary,
            &members,
            &primary_check,
            &replica_check,
            heal_start,
            timeout,
        );
    }
    if healed.is_ok() && !fence {
        report_rewind(env, primary, &log_mark);
    }
    // 5. The load stops only now: what it wrote during the heal counts too.
    let acks = load.as_ref().map(|load| {
        let scratch = format!("{}/load-{}.tar", env.dir, new_id());
        let acks = load.acknowledged_at(&scratch);
        if let Err(e) = load.stop() {
            log::warn(format!(
                "{} (the load ends by itself within {})",
                e.message(),
                duration::show(load_limit(timeout))
            ));
        }
        acks
    });
    if let Some(Ok(acks)) = &acks
        && let Some((again, gap)) = outage(acks, fault_unix)
    {
        env.report
            .drill
            .insert("writes_again_ms".into(), json!(again));
        env.report
            .drill
            .insert("write_outage_ms".into(), json!(gap));
        env.report.event(format!(
            "writes acknowledged again {} after the fault (longest outage {})",
            duration::show(Duration::from_millis(again)),
            duration::show(Duration::from_millis(gap))
        ));
    }
    let leader = failover?;
    healed?;

    // 6. Exactly one primary, every other member a replica.
    let live: Vec<&str> = members
        .iter()
        .copied()
        .filter(|m| !(fence && *m == primary))
        .collect();
    let primaries = passing(&live, &primary_check);
    env.report
        .drill
        .insert("primaries_after".into(), json!(primaries));
    let mut problems = Vec::new();
    if let Some(both) = &split {
        problems.push(format!(
            "split brain: {} took writes at once while {primary} rejoined",
            both.join(" and ")
        ));
    }
    if primaries != [leader.clone()] {
        problems.push(format!(
            "expected exactly one primary after the drill ({leader}), found {}: {}",
            primaries.len(),
            if primaries.is_empty() {
                "none".into()
            } else {
                primaries.join(", ")
            }
        ));
    }
    // The other replicas follow the new leader by restarting their WAL
    // receiver; one that does so while the old leader rejoins (a stop heals
    // in seconds) is not streaming yet at this instant: wait for it, within
    // the drill's timeout. A drill already failed (a split brain, the wrong
    // primaries) is checked once, not waited on.
    let wait = if problems.is_empty() {
        timeout
    } else {
        Duration::ZERO
    };
    let mut not_replicas: Vec<&str> = Vec::new();
    let _ = poll(wait, || {
        not_replicas = live
            .iter()
            .copied()
            .filter(|m| *m != leader && replica_check.run_on(Some(m)).is_err())
            .collect();
        not_replicas.is_empty().then_some(())
    });
    if !not_replicas.is_empty() {
        problems.push(format!(
            "not a healthy replica after the drill ({}): {}",
            replica_check.describe(),
            not_replicas.join(", ")
        ));
    }
    if problems.is_empty() {
        env.report.event(format!(
            "{leader}: the only primary; {} replica(s) healthy",
            live.len() - 1
        ));
    }

    // 7. Verify: the other tables are unchanged, every acknowledged write is there.
    let mut after = verify::snapshot(&leader, &config.user, config.databases.as_deref())?;
    after.remove(&load_table);
    let mut differences = verify::compare(&before, &after);
    if let Some(acks) = acks {
        let acked: std::collections::BTreeSet<u64> = acks?.iter().map(|a| a.0).collect();
        let present = ids_on(&leader, config, &acked)?;
        let missing: Vec<u64> = acked.difference(&present).copied().collect();
        env.report.event(format!(
            "{} writes acknowledged in all, {} of them after the fault began",
            acked.len(),
            (acked.len() as u64).saturating_sub(acked_at_fault)
        ));
        env.report.writes_acknowledged = Some(acked.len() as u64);
        env.report.writes_missing = Some(missing.len() as u64);
        if !missing.is_empty() {
            env.report.drill.insert("lost_ids".into(), json!(missing));
            differences.push(format!(
                "{load_table}: {} of {} acknowledged writes are missing on {leader} (ids {})",
                missing.len(),
                acked.len(),
                load::show(&missing, 10)
            ));
        }
    }
    if !differences.is_empty() {
        env.report.data_differences = differences.clone();
        problems.push(format!(
            "data lost in the failover from {primary} to {leader}:\n  {}",
            differences.join("\n  ")
        ));
    }
    if !problems.is_empty() {
        return Err(Error::failed(problems.join("\n")));
    }
    env.report.event(format!(
        "{leader}: zero data loss ({} tables match{})",
        after.len(),
        if load.is_some() {
            ", every acknowledged write is there"
        } else {
            ""
        }
    ));
    // The new leader must take writes, not only answer the leader check.
    if load.is_some() {
        psql(
            &leader,
            &config.user,
            &config.database,
            &format!(
                "INSERT INTO {} (note) VALUES ('written after the failover')",
                load::TABLE
            ),
        )
        .map_err(|e| {
            Error::failed(format!(
                "the new leader {leader} refused a write: {}",
                e.message()
            ))
        })?;
        env.report.event(format!("{leader}: accepts writes"));
    }
    Ok(())
}

/// Detect, promote (if asked), elect, route: returns the new leader.
#[allow(clippy::too_many_arguments)]
fn failover(
    config: &DrillConfig,
    env: &mut Env<'_>,
    primary: &str,
    candidates: &[String],
    health: &Check,
    leader_check: &Check,
    fault_at: Instant,
    timeout: Duration,
) -> Result<String, Error> {
    let (mut detected, mut promoted, mut dropped) = (false, config.promote.is_none(), false);
    let (mut leader, mut routed): (Option<String>, bool) = (None, config.routing.is_none());
    if config.routing.is_none() {
        dropped = true;
    }
    loop {
        if !detected && health.run_on(Some(primary)).is_err() {
            detected = true;
            env.report.time_to_detect_ms = Some(ms(fault_at.elapsed()));
            env.report.event(format!("{primary}: detected down"));
        }
        if let Some(routing) = &config.routing {
            if let Err(e) = routing.servers()
                && !env
                    .report
                    .events
                    .iter()
                    .any(|ev| ev.what.starts_with("HAProxy stats:"))
            {
                env.report.event(format!("HAProxy stats: {e}"));
            }
            routing.watch(
                primary,
                leader.as_deref(),
                (&mut dropped, &mut routed),
                env.report,
                fault_at,
            );
        }
        if detected && !promoted {
            promoted = true;
            let command = config.promote.clone().unwrap_or_default();
            let target = &candidates[0];
            let request = ExecRequest::new(command.clone()).timeout_seconds(60);
            let out = containers::open(target)?.exec(&request)?;
            if !out.success() {
                return Err(Error::failed(format!(
                    "promote {command:?} in {target} exited {}: {}",
                    out.exit_code,
                    out.stderr_text().trim()
                )));
            }
            env.report
                .event(format!("{target}: promoted with {command:?}"));
        }
        if leader.is_none()
            && let Some(new) = candidates
                .iter()
                .find(|c| leader_check.run_on(Some(c.as_str())).is_ok())
        {
            let at = ms(fault_at.elapsed());
            env.report.time_to_recover_ms = Some(at);
            env.report
                .drill
                .insert("time_to_elect_ms".into(), json!(at));
            env.report.event(format!("{new}: new leader"));
            leader = Some(new.clone());
            continue;
        }
        if let (true, true, true, Some(new)) = (detected, dropped, routed, &leader) {
            return Ok(new.clone());
        }
        if fault_at.elapsed() >= timeout
            || run_plugin_sdk::cancel::sleep(Duration::from_millis(100))
        {
            let missing = [
                (!detected).then(|| {
                    format!(
                        "{primary} still passed its health check ({})",
                        health.describe()
                    )
                }),
                (leader.is_none()).then(|| {
                    format!(
                        "no candidate passed the leader check ({})",
                        leader_check.describe()
                    )
                }),
                (!dropped).then(|| format!("HAProxy still routed to {primary}")),
                (leader.is_some() && !routed)
                    .then(|| "HAProxy did not route to the new leader".to_owned()),
            ];
            let missing: Vec<String> = missing.into_iter().flatten().collect();
            return Err(Error::failed(format!(
                "{} after the fault: {}",
                duration::show(fault_at.elapsed()),
                missing.join("; ")
            )));
        }
    }
}

/// Without an orchestrator the old primary would come back as a second
/// primary: it is left stopped (a paused or partitioned one is stopped first).
fn fence_off(env: &mut Env<'_>, entry: &Entry, kind: &Kind) -> Result<(), Error> {
    if matches!(kind, Kind::Kill { .. } | Kind::Stop) {
        // Already down: it stays so, and the journal forgets the fault.
        env.journal.clear(&entry.id)?;
    } else {
        env.undo(entry)?;
        containers::open(&entry.target)?.stop(Some(10))?;
    }
    env.report.event(format!(
        "{}: fenced (left stopped: nothing would demote it, it would be a second primary)",
        entry.target
    ));
    Ok(())
}

/// Waits for the healed old primary to pass the replica check, watching for
/// a second primary all along; returns the primaries if two were seen at once.
fn rejoin(
    env: &mut Env<'_>,
    old: &str,
    members: &[&str],
    primary_check: &Check,
    replica_check: &Check,
    heal_start: Instant,
    timeout: Duration,
) -> Option<Vec<String>> {
    let mut split = None;
    let found = poll(timeout, || {
        let primaries = passing(members, primary_check);
        if primaries.len() > 1 {
            split = Some(primaries);
            return Some(false);
        }
        replica_check.run_on(Some(old)).is_ok().then_some(true)
    });
    match found {
        Some((true, at)) => {
            let t = ms(at.duration_since(heal_start));
            env.report
                .drill
                .insert("time_to_rejoin_ms".into(), json!(t));
            env.report.event(format!(
                "{old}: rejoined as a replica {} after the heal",
                duration::show(Duration::from_millis(t))
            ));
        }
        Some((false, _)) => {
            let both = split.clone().unwrap_or_default();
            env.report.event(format!(
                "split brain: {} are primaries at once",
                both.join(", ")
            ));
            env.report.drill.insert("split_brain".into(), json!(both));
        }
        None => env.report.event(format!(
            "{old}: did not pass the replica check ({}) within {} of the heal",
            replica_check.describe(),
            duration::show(timeout)
        )),
    }
    split
}

/// The lines a rejoining node logs about pg_rewind (Patroni: `running
/// pg_rewind from patroni-2`, `pg_rewind exit code=0`, and pg_rewind's own
/// `servers diverged at WAL location …`).
fn rewind_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains("pg_rewind") && !l.contains("pg_rewind is not needed"))
        .map(str::trim)
        .collect()
}

/// Whether the old primary needed pg_rewind to rejoin: the lines about it in
/// its log since `mark` (its last line before the fault). Reported as
/// `pg_rewind` (true/false), `pg_rewind_runs` (finished runs) and
/// `pg_rewind_log`; a log that cannot be read leaves them out.
fn report_rewind(env: &mut Env<'_>, old: &str, mark: &str) {
    let log = match containers::open(old).and_then(|c| c.logs(5000)) {
        Ok(log) => log,
        Err(e) => {
            log::warn(format!("{old}: cannot read its log for pg_rewind: {e}"));
            return;
        }
    };
    let mark = mark.trim_end();
    let since = match (mark.is_empty(), log.rfind(mark)) {
        (false, Some(at)) => &log[at + mark.len()..],
        _ => &log[..],
    };
    let lines = rewind_lines(since);
    // Patroni logs `running pg_rewind from X in progress` every loop while
    // it runs, and `pg_rewind exit code=N` once at the end: a run is the
    // latter (a failed rewind may be retried after crash recovery).
    let runs = lines
        .iter()
        .filter(|l| l.contains("pg_rewind exit code="))
        .count();
    let rewound = runs > 0 || lines.iter().any(|l| l.contains("running pg_rewind"));
    env.report.drill.insert("pg_rewind".into(), json!(rewound));
    env.report
        .drill
        .insert("pg_rewind_runs".into(), json!(runs));
    if lines.is_empty() {
        env.report
            .event(format!("{old}: no pg_rewind in its log since the fault"));
        return;
    }
    env.report
        .drill
        .insert("pg_rewind_log".into(), json!(lines));
    let diverged = lines
        .iter()
        .find_map(|l| l.split_once("servers diverged at ").map(|(_, at)| at));
    env.report.event(format!(
        "{old}: {}{}",
        match runs {
            0 => "logged about pg_rewind".to_owned(),
            1 => "rewound with pg_rewind to rejoin".to_owned(),
            n => format!("rewound with pg_rewind to rejoin ({n} runs)"),
        },
        diverged.map_or_else(String::new, |at| format!(" (servers diverged at {at})"))
    ));
}

/// How long the load's loop may run if nobody stops it.
fn load_limit(timeout: Duration) -> Duration {
    timeout * 3 + Duration::from_secs(60)
}

/// Starts the load and waits until it has `rows` acknowledged writes; returns
/// it with the count seen.
fn start_load(
    config: &DrillConfig,
    primary: &str,
    env: &mut Env<'_>,
    rows: u32,
    timeout: Duration,
) -> Result<(Load, u64), Error> {
    let from = config.load_from.as_deref().unwrap_or(primary);
    let load = Load::start(
        &LoadConfig {
            from,
            host: config.load_host.as_deref(),
            user: &config.user,
            database: &config.database,
            limit: load_limit(timeout),
        },
        primary,
        &new_id(),
    )?;
    let mut last = 0;
    let reached = poll(timeout, || {
        last = load.count().unwrap_or(last);
        (last >= u64::from(rows)).then_some(last)
    });
    match reached {
        Some((n, _)) => {
            env.report.event(format!(
                "{from}: write load running, {n} writes acknowledged; the fault comes now"
            ));
            Ok((load, n))
        }
        None => {
            let _ = load.stop();
            Err(Error::failed(format!(
                "the write load from {from} had {last} of {rows} writes acknowledged after {}: is the primary taking writes?",
                duration::show(timeout)
            )))
        }
    }
}

/// Which of `ids` are on `leader` (none when it lacks the table).
fn ids_on(
    leader: &str,
    config: &DrillConfig,
    ids: &std::collections::BTreeSet<u64>,
) -> Result<std::collections::BTreeSet<u64>, Error> {
    let (Some(low), Some(high)) = (ids.first(), ids.last()) else {
        return Ok(Default::default());
    };
    let table = load::TABLE;
    let exists = psql(
        leader,
        &config.user,
        &config.database,
        &format!("SELECT to_regclass('public.{table}') IS NOT NULL"),
    )?;
    if exists.trim() != "t" {
        return Ok(Default::default());
    }
    let out = psql(
        leader,
        &config.user,
        &config.database,
        &format!("SELECT id FROM {table} WHERE id BETWEEN {low} AND {high}"),
    )?;
    Ok(out.lines().filter_map(|l| l.trim().parse().ok()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outage_is_the_longest_gap_ending_after_the_fault() {
        let acks = [
            (1, Some(1_000)),
            (2, Some(1_100)),
            (3, Some(1_200)),
            (4, Some(16_000)),
            (5, Some(16_100)),
            (6, None),
        ];
        // Fault at 1 150: the write at 1 200 was in flight; writes again at 16 000.
        assert_eq!(outage(&acks, 1_150), Some((14_850, 14_800)));
        assert_eq!(outage(&acks[..3], 5_000), None);
    }

    #[test]
    fn the_rewind_is_read_from_patronis_log() {
        let log = "2026-12-05 08:46:59,677 INFO: demoted self because DCS is not accessible and I was a leader
2026-12-05 08:47:01,611 INFO: running pg_rewind from patroni-2
2026-12-05 08:47:06,675 INFO: pg_rewind exit code=0
2026-12-05 08:47:06,675 INFO:  stderr=pg_rewind: servers diverged at WAL location 0/403D038 on timeline 1
2026-12-05 08:47:07,000 INFO: no action. I am (patroni-3), a secondary, and following a leader";
        assert_eq!(
            super::rewind_lines(log),
            [
                "2026-12-05 08:47:01,611 INFO: running pg_rewind from patroni-2",
                "2026-12-05 08:47:06,675 INFO: pg_rewind exit code=0",
                "2026-12-05 08:47:06,675 INFO:  stderr=pg_rewind: servers diverged at WAL location 0/403D038 on timeline 1"
            ]
        );
        assert!(super::rewind_lines("INFO: Lock owner: patroni-2; I am patroni-3").is_empty());
    }

    #[test]
    fn drills_make_four_faults_and_refuse_others() {
        assert!(drill_fault("partition").is_ok());
        let e = drill_fault("restart").unwrap_err();
        assert!(
            e.message().contains("kill, pause, stop or partition"),
            "{e}"
        );
    }
}
