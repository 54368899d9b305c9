//! A failover drill: fingerprint the primary's data, start a write load
//! against it, make the fault (kill, pause or stop the primary) while the load
//! runs, time how long until the primary is seen down (detect) and a candidate
//! answers as leader (recover), optionally promoting one, then check that
//! every write the primary acknowledged is on the new leader and every other
//! table is unchanged; heal, and fail on any difference.

use std::time::{Duration, Instant};

use run_plugin_sdk::containers::{self, ExecRequest, Signal};
use run_plugin_sdk::{Error, log};
use serde::Deserialize;

use crate::check::{Check, psql};
use crate::fault::{Env, Kind, new_id};
use crate::load::{self, Load, LoadConfig};
use crate::{duration, verify};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DrillConfig {
    pub primary: String,
    /// Containers that may become the leader (replicas).
    pub candidates: Vec<String>,
    /// kill (default), pause or stop.
    #[serde(default = "default_fault")]
    pub fault: String,
    /// A command run in the first candidate once the primary is down (for
    /// setups without an orchestrator, e.g. `["pg_ctl", "promote"]`).
    pub promote: Option<Vec<String>>,
    /// Passes on the new leader (default: SQL `SELECT NOT pg_is_in_recovery()`).
    pub leader: Option<Check>,
    /// Passes while the primary is up (default: SQL `SELECT 1`).
    pub health: Option<Check>,
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
    /// How long to wait for the load, for detection and for a new leader.
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

fn poll<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<(T, Instant)> {
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

pub fn run(config: &DrillConfig, env: &mut Env<'_>) -> Result<(), Error> {
    let timeout = duration::parse(&config.timeout)
        .map_err(|e| Error::invalid_input(format!("drill.timeout: {e}")))?;
    if config.candidates.is_empty() {
        return Err(Error::invalid_input(
            "drill.candidates must name at least one replica",
        ));
    }
    let kind = match config.fault.as_str() {
        "kill" => Kind::Kill {
            signal: Signal::Sigkill,
        },
        "pause" => Kind::Pause,
        "stop" => Kind::Stop,
        other => {
            return Err(Error::invalid_input(format!(
                "drill.fault `{other}`: use kill, pause or stop"
            )));
        }
    };
    let primary = config.primary.as_str();
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

    let load_table = format!("{}.public.{}", config.database, load::TABLE);

    // 1. Fingerprint every table but the load's, which changes throughout.
    let mut before = verify::snapshot(primary, &config.user, config.databases.as_deref())?;
    before.remove(&load_table);
    env.report
        .event(format!("{primary}: {} tables fingerprinted", before.len()));
    // 2. The write load, which goes on through the fault.
    let (load, acked_at_fault) = match config.rows {
        0 => (None, 0),
        rows => {
            let (load, n) = start_load(config, env, rows, timeout)?;
            (Some(load), n)
        }
    };
    // 3. The fault.
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
    let result = (|| -> Result<(), Error> {
        // 4. Detect.
        let Some((_, down_at)) = poll(timeout, || health.run_on(Some(primary)).err()) else {
            return Err(Error::failed(format!(
                "{primary} still passed its health check {} after the fault",
                duration::show(timeout)
            )));
        };
        env.report.time_to_detect_ms = Some(down_at.duration_since(fault_at).as_millis() as u64);
        env.report.event(format!("{primary}: detected down"));
        // 5. Promote.
        if let Some(command) = &config.promote {
            let target = &config.candidates[0];
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
        // 6. New leader.
        let found = poll(timeout, || {
            config
                .candidates
                .iter()
                .find(|c| leader_check.run_on(Some(c.as_str())).is_ok())
                .cloned()
        });
        let Some((leader, at)) = found else {
            return Err(Error::failed(format!(
                "no candidate passed the leader check ({}) within {}",
                leader_check.describe(),
                duration::show(timeout)
            )));
        };
        env.report.time_to_recover_ms = Some(at.duration_since(fault_at).as_millis() as u64);
        env.report.event(format!("{leader}: new leader"));
        // 7. Verify: the other tables are unchanged, every acknowledged write is there.
        let mut after = verify::snapshot(&leader, &config.user, config.databases.as_deref())?;
        after.remove(&load_table);
        let mut differences = verify::compare(&before, &after);
        if let Some(load) = &load {
            let scratch = format!("{}/load-{}.tar", env.dir, new_id());
            let acked = load.acknowledged(&scratch)?;
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
                differences.push(format!(
                    "{load_table}: {} of {} acknowledged writes are missing on {leader} (ids {})",
                    missing.len(),
                    acked.len(),
                    load::show(&missing, 10)
                ));
            }
        }
        if differences.is_empty() {
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
            return Ok(());
        }
        env.report.data_differences = differences.clone();
        Err(Error::failed(format!(
            "data lost in the failover from {primary} to {leader}:\n  {}",
            differences.join("\n  ")
        )))
    })();
    // 8. Heal, whatever happened; then stop the load (its container may be
    // the old primary, which runs again only now).
    let healed = env.undo(&entry);
    if let Some(load) = &load
        && let Err(e) = load.stop()
    {
        log::warn(format!(
            "{} (the load ends by itself within {})",
            e.message(),
            duration::show(load_limit(timeout))
        ));
    }
    result.and(healed)
}

/// How long the load's loop may run if nobody stops it.
fn load_limit(timeout: Duration) -> Duration {
    timeout * 3 + Duration::from_secs(60)
}

/// Starts the load and waits until it has `rows` acknowledged writes; returns
/// it with the count seen.
fn start_load(
    config: &DrillConfig,
    env: &mut Env<'_>,
    rows: u32,
    timeout: Duration,
) -> Result<(Load, u64), Error> {
    let from = config.load_from.as_deref().unwrap_or(&config.primary);
    let load = Load::start(
        &LoadConfig {
            from,
            host: config.load_host.as_deref(),
            user: &config.user,
            database: &config.database,
            limit: load_limit(timeout),
        },
        &config.primary,
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
