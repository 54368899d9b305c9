//! A failover drill: write load on the primary, fingerprint its data, make
//! the fault (kill, pause or stop the primary), time how long until the
//! primary is seen down (detect) and a candidate answers as leader (recover),
//! optionally promoting one, fingerprint the new leader, heal, and fail on any
//! difference.

use std::time::{Duration, Instant};

use run_plugin_sdk::{Error, log};
use serde::Deserialize;

use crate::check::{Check, psql};
use crate::fault::{Env, Kind};
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
    /// Rows the load writes before the fault (0: none).
    #[serde(default = "default_rows")]
    pub rows: u32,
    /// Databases fingerprinted (default: all).
    pub databases: Option<Vec<String>>,
    /// How long to wait for detection and for a new leader.
    #[serde(default = "default_timeout")]
    pub timeout: String,
    /// How long candidates may take to replay the primary's last write.
    #[serde(default = "default_catch_up")]
    pub catch_up: String,
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
    500
}
fn default_timeout() -> String {
    "60s".into()
}
fn default_catch_up() -> String {
    "10s".into()
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
    let catch_up = duration::parse(&config.catch_up)
        .map_err(|e| Error::invalid_input(format!("drill.catch-up: {e}")))?;
    if config.candidates.is_empty() {
        return Err(Error::invalid_input(
            "drill.candidates must name at least one replica",
        ));
    }
    let kind = match config.fault.as_str() {
        "kill" => Kind::Kill {
            signal: "SIGKILL".into(),
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

    // 1. Write load.
    if config.rows > 0 {
        psql(
            primary,
            &config.user,
            &config.database,
            "CREATE TABLE IF NOT EXISTS chaos_drill (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), note text)",
        )?;
        let batch = 50;
        let mut written = 0;
        while written < config.rows {
            let n = batch.min(config.rows - written);
            psql(
                primary,
                &config.user,
                &config.database,
                &format!(
                    "INSERT INTO chaos_drill (note) SELECT 'drill row ' || g FROM generate_series(1, {n}) g"
                ),
            )?;
            written += n;
        }
        env.report
            .event(format!("{primary}: wrote {written} rows of load"));
    }
    // 2. Let replicas replay the last write (a lag here is data at risk).
    let lsn = psql(
        primary,
        &config.user,
        "postgres",
        "SELECT pg_current_wal_lsn()",
    )?
    .trim()
    .to_owned();
    for candidate in &config.candidates {
        let caught = poll(catch_up, || {
            let sql =
                format!("SELECT NOT pg_is_in_recovery() OR pg_last_wal_replay_lsn() >= '{lsn}'");
            (psql(candidate, &config.user, "postgres", &sql).ok()?.trim() == "t").then_some(())
        });
        match caught {
            Some(_) => env
                .report
                .event(format!("{candidate}: replayed up to {lsn}")),
            None => {
                log::warn(format!(
                    "{candidate} has not replayed {lsn} after {}: writes may be lost",
                    duration::show(catch_up)
                ));
                env.report
                    .event(format!("{candidate}: NOT caught up with {lsn}"));
            }
        }
    }
    // 3. Fingerprint, then the fault.
    let before = verify::snapshot(primary, &config.user, config.databases.as_deref())?;
    env.report
        .event(format!("{primary}: {} tables fingerprinted", before.len()));
    let entry = env.apply(&kind, primary)?;
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
            let out = run_plugin_sdk::container::exec(
                target,
                &run_plugin_sdk::container::ExecRequest::new(command.clone()).timeout_seconds(60),
            )?;
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
        // 7. Verify.
        let after = verify::snapshot(&leader, &config.user, config.databases.as_deref())?;
        let differences = verify::compare(&before, &after);
        if differences.is_empty() {
            env.report.event(format!(
                "{leader}: zero data loss ({} tables match)",
                after.len()
            ));
            // The new leader must take writes, not only answer the leader check.
            if config.rows > 0 {
                psql(
                    &leader,
                    &config.user,
                    &config.database,
                    "INSERT INTO chaos_drill (note) VALUES ('written after the failover')",
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
    // 8. Heal, whatever happened.
    let healed = env.undo(&entry);
    result.and(healed)
}
