//! A Redis Sentinel drill: find the master the Sentinels name, write through
//! the proxy under load (one `SADD` per write, each acknowledged id
//! recorded), kill, stop, pause or partition the master, time the Sentinels'
//! detection (`s_down`/`o_down`), their promotion of a replica and the
//! proxy's routing, heal, and wait for the old master to come back as a
//! replica of the new one. Then: exactly one master, named by every
//! Sentinel, the quorum reachable, and every acknowledged write on the new
//! master (the lost ids listed otherwise).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use run_plugin_sdk::containers::{self, ExecRequest};
use run_plugin_sdk::{Error, log};
use serde::Deserialize;
use serde_json::json;

use crate::drill::{drill_fault, ms, outage, poll, unix_ms};
use crate::duration;
use crate::fault::{Env, new_id};
use crate::haproxy::{Routing, names};
use crate::load::{self, Load};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SentinelConfig {
    /// The Sentinels' containers (asked with `redis-cli -p SENTINEL-PORT`).
    pub sentinels: Vec<String>,
    /// The Redis servers' containers (the master and its replicas). The
    /// password, if any, is `$REDIS_PASSWORD` in their environment.
    pub servers: Vec<String>,
    #[serde(default = "default_master_name")]
    pub master_name: String,
    #[serde(default = "default_sentinel_port")]
    pub sentinel_port: u16,
    /// kill (default), pause, stop or partition.
    #[serde(default = "default_fault")]
    pub fault: String,
    /// HAProxy's stats and the backend of the writes.
    pub routing: Option<Routing>,
    /// The container the load's `redis-cli` runs in; the password is
    /// `$REDISCLI_AUTH` or `$REDIS_PASSWORD` there.
    pub load_from: String,
    /// Where the load writes (the proxy), and its port.
    pub load_host: String,
    #[serde(default = "default_redis_port")]
    pub load_port: u16,
    /// Writes acknowledged before the fault.
    #[serde(default = "default_rows")]
    pub rows: u32,
    #[serde(default = "default_timeout")]
    pub timeout: String,
}

fn default_master_name() -> String {
    "mymaster".into()
}
fn default_sentinel_port() -> u16 {
    26379
}
fn default_redis_port() -> u16 {
    6379
}
fn default_fault() -> String {
    "kill".into()
}
fn default_rows() -> u32 {
    200
}
fn default_timeout() -> String {
    "60s".into()
}

impl SentinelConfig {
    pub fn containers(&self) -> Vec<&str> {
        let mut all: Vec<&str> = Vec::new();
        for c in self.sentinels.iter().chain(&self.servers) {
            if !all.contains(&c.as_str()) {
                all.push(c);
            }
        }
        if !all.contains(&self.load_from.as_str()) {
            all.push(&self.load_from);
        }
        all
    }
}

/// Single-quotes `s` for sh.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// `redis-cli --raw ARGS` in `container` (with its `$REDIS_PASSWORD` if
/// `auth`); the output lines, or None if it could not run or answered an error.
fn cli(container: &str, port: u16, auth: bool, args: &str) -> Option<Vec<String>> {
    let auth = if auth {
        "REDISCLI_AUTH=\"${REDISCLI_AUTH:-$REDIS_PASSWORD}\" "
    } else {
        ""
    };
    let script = format!("{auth}exec timeout 5 redis-cli --no-auth-warning --raw -p {port} {args}");
    let out = containers::open(container)
        .and_then(|c| c.exec(&ExecRequest::new(["sh", "-c", &script]).timeout_seconds(10)))
        .ok()?;
    let text = out.stdout_text();
    if !out.success() || text.starts_with("ERR") || text.starts_with("NOAUTH") {
        return None;
    }
    Some(text.lines().map(|l| l.trim().to_owned()).collect())
}

struct Cluster<'a> {
    config: &'a SentinelConfig,
}

impl Cluster<'_> {
    /// The server container Sentinel `s` names the master, as the name it gave.
    fn named_by(&self, s: &str) -> Option<String> {
        let c = self.config;
        let lines = cli(
            s,
            c.sentinel_port,
            false,
            &format!("SENTINEL get-master-addr-by-name {}", quote(&c.master_name)),
        )?;
        let host = lines.first()?.clone();
        Some(
            c.servers
                .iter()
                .find(|m| names(m, &host))
                .cloned()
                .unwrap_or(host),
        )
    }

    /// What every Sentinel names the master (None: no answer).
    fn named(&self) -> Vec<Option<String>> {
        self.config
            .sentinels
            .iter()
            .map(|s| self.named_by(s))
            .collect()
    }

    /// The master a majority of the Sentinels name.
    fn majority(&self) -> Option<String> {
        let named = self.named();
        let need = self.config.sentinels.len() / 2 + 1;
        named
            .iter()
            .flatten()
            .find(|m| named.iter().flatten().filter(|n| n == m).count() >= need)
            .cloned()
    }

    /// Whether some Sentinel flags the master down (`s_down` or `o_down`).
    fn flagged_down(&self) -> bool {
        let c = self.config;
        c.sentinels.iter().any(|s| {
            cli(
                s,
                c.sentinel_port,
                false,
                &format!("SENTINEL master {}", quote(&c.master_name)),
            )
            .is_some_and(|lines| {
                lines.windows(2).any(|w| {
                    w[0] == "flags" && (w[1].contains("s_down") || w[1].contains("o_down"))
                })
            })
        })
    }

    /// `INFO replication` of a server: role, master_host, master_link_status.
    fn replication(&self, server: &str) -> Option<(String, String, String)> {
        let lines = cli(server, 6379, true, "INFO replication")?;
        let field = |k: &str| {
            lines
                .iter()
                .find_map(|l| l.strip_prefix(&format!("{k}:")))
                .unwrap_or_default()
                .to_owned()
        };
        Some((
            field("role"),
            field("master_host"),
            field("master_link_status"),
        ))
    }

    fn masters(&self) -> Vec<String> {
        self.config
            .servers
            .iter()
            .filter(|s| self.replication(s).is_some_and(|r| r.0 == "master"))
            .cloned()
            .collect()
    }
}

pub fn run(config: &SentinelConfig, env: &mut Env<'_>) -> Result<(), Error> {
    let timeout = duration::parse(&config.timeout)
        .map_err(|e| Error::invalid_input(format!("sentinel.timeout: {e}")))?;
    let kind = drill_fault(&config.fault)?;
    if config.sentinels.is_empty() || config.servers.len() < 2 {
        return Err(Error::invalid_input(
            "sentinel drill: name the Sentinels (`sentinels`) and at least two Redis servers (`servers`)",
        ));
    }
    let cluster = Cluster { config };
    // 0. One master, named by the Sentinels' majority.
    let old = cluster.majority().ok_or_else(|| {
        Error::failed(format!(
            "before the drill, no majority of the Sentinels names a master of `{}`: {:?}",
            config.master_name,
            cluster.named()
        ))
    })?;
    let masters = cluster.masters();
    if masters != [old.clone()] {
        return Err(Error::failed(format!(
            "before the drill, expected exactly one Redis master ({old}, named by the Sentinels), found {}: {}",
            masters.len(),
            masters.join(", ")
        )));
    }
    env.report
        .event(format!("{old}: the master the Sentinels name"));

    // 1. The load.
    let id = new_id();
    let key = format!("run-chaos-drill:{id}");
    let prefix = format!("/tmp/run-chaos-load-{id}");
    let limit = timeout * 3 + Duration::from_secs(60);
    let body = format!(
        "export REDISCLI_AUTH=\"${{REDISCLI_AUTH:-$REDIS_PASSWORD}}\"; n=0; end=$(( $(date +%s) + {limit} )); \
         while [ ! -e {prefix}.stop ] && [ $(date +%s) -lt $end ]; do n=$((n+1)); \
           if r=$(timeout 5 redis-cli --no-auth-warning -h {host} -p {port} SADD {key} $n 2>/dev/null) && [ \"$r\" = 1 ]; \
           then echo \"$n $(date +%s%3N)\" >> {prefix}.acked; else sleep 0.2; fi; \
         done",
        limit = limit.as_secs(),
        host = quote(&config.load_host),
        port = config.load_port,
        key = quote(&key),
    );
    let load = Load::spawn(&config.load_from, &prefix, &body)?;
    let mut last = 0;
    let reached = poll(timeout, || {
        last = load.count().unwrap_or(last);
        (last >= u64::from(config.rows)).then_some(last)
    });
    let Some((acked_at_fault, _)) = reached else {
        let _ = load.stop();
        return Err(Error::failed(format!(
            "the Redis write load from {} had {last} of {} writes acknowledged after {}",
            config.load_from,
            config.rows,
            duration::show(timeout)
        )));
    };
    env.report.event(format!(
        "{}: write load running, {acked_at_fault} writes acknowledged; the fault comes now",
        config.load_from
    ));

    // 2. The fault, and what follows.
    let fault_unix = unix_ms();
    let entry = match env.apply(&kind, &old) {
        Ok(e) => e,
        Err(e) => {
            let _ = load.stop();
            return Err(e);
        }
    };
    let fault_at = Instant::now();
    let failover = watch(config, &cluster, env, &old, fault_at, timeout);
    // 3. Heal, whatever happened; then wait for the old master to follow the new one.
    let heal_start = Instant::now();
    let healed = env.undo(&entry);
    if let (Ok(new), Ok(())) = (&failover, &healed) {
        let rejoined = poll(timeout, || {
            cluster
                .replication(&old)
                .filter(|(role, host, link)| role == "slave" && names(new, host) && link == "up")
                .map(|_| ())
        });
        match rejoined {
            Some((_, at)) => {
                let t = ms(at.duration_since(heal_start));
                env.report
                    .drill
                    .insert("time_to_rejoin_ms".into(), json!(t));
                env.report.event(format!(
                    "{old}: a replica of {new} again {} after the heal",
                    duration::show(Duration::from_millis(t))
                ));
            }
            None => env.report.event(format!(
                "{old}: not a replica of {new} with its link up within {} of the heal",
                duration::show(timeout)
            )),
        }
    }
    // 4. Stop the load; what it saw.
    let scratch = format!("{}/load-{id}.tar", env.dir);
    let acks = load.acknowledged_at(&scratch);
    if let Err(e) = load.stop() {
        log::warn(e.message());
    }
    if let Ok(acks) = &acks
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
    let new = failover?;
    healed?;

    // 5. Exactly one master, named by every Sentinel, with its quorum.
    let mut problems = Vec::new();
    let masters = cluster.masters();
    env.report
        .drill
        .insert("primaries_after".into(), json!(masters));
    if masters != [new.clone()] {
        problems.push(format!(
            "expected exactly one Redis master after the drill ({new}), found {}: {}",
            masters.len(),
            if masters.is_empty() {
                "none".into()
            } else {
                masters.join(", ")
            }
        ));
    }
    let named = cluster.named();
    if named.iter().any(|n| n.as_deref() != Some(new.as_str())) {
        problems.push(format!(
            "not every Sentinel names {new} the master: {:?}",
            named
        ));
    }
    let quorum = cli(
        &config.sentinels[0],
        config.sentinel_port,
        false,
        &format!("SENTINEL ckquorum {}", quote(&config.master_name)),
    );
    if !quorum
        .as_ref()
        .is_some_and(|l| l.first().is_some_and(|f| f.starts_with("OK")))
    {
        problems.push(format!("SENTINEL CKQUORUM is not OK: {quorum:?}"));
    }
    if problems.is_empty() {
        env.report.event(format!(
            "{new}: the only master, named by all {} Sentinels, quorum OK",
            config.sentinels.len()
        ));
    }

    // 6. Every acknowledged write on the new master.
    let acked: BTreeSet<u64> = acks?.iter().map(|a| a.0).collect();
    let present: BTreeSet<u64> = cli(&new, 6379, true, &format!("SMEMBERS {}", quote(&key)))
        .ok_or_else(|| Error::failed(format!("could not read {key} on {new}")))?
        .iter()
        .filter_map(|l| l.parse().ok())
        .collect();
    let missing: Vec<u64> = acked.difference(&present).copied().collect();
    env.report.writes_acknowledged = Some(acked.len() as u64);
    env.report.writes_missing = Some(missing.len() as u64);
    env.report.event(format!(
        "{} writes acknowledged in all, {} of them after the fault began",
        acked.len(),
        (acked.len() as u64).saturating_sub(acked_at_fault)
    ));
    if !missing.is_empty() {
        env.report.drill.insert("lost_ids".into(), json!(missing));
        let difference = format!(
            "{key}: {} of {} acknowledged writes are missing on {new} (ids {})",
            missing.len(),
            acked.len(),
            load::show(&missing, 10)
        );
        env.report.data_differences.push(difference.clone());
        problems.push(format!(
            "data lost in the failover from {old} to {new}:\n  {difference}"
        ));
    } else {
        env.report
            .event(format!("{new}: every acknowledged write is there"));
    }
    let _ = cli(&new, 6379, true, &format!("DEL {}", quote(&key)));
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::failed(problems.join("\n")))
    }
}

/// Detection, promotion by the Sentinels, routing: returns the new master.
fn watch(
    config: &SentinelConfig,
    cluster: &Cluster<'_>,
    env: &mut Env<'_>,
    old: &str,
    fault_at: Instant,
    timeout: Duration,
) -> Result<String, Error> {
    let (mut detected, mut dropped, mut routed) =
        (false, config.routing.is_none(), config.routing.is_none());
    let mut new: Option<String> = None;
    loop {
        if new.is_none()
            && let Some(m) = cluster.majority()
            && m != old
        {
            let at = ms(fault_at.elapsed());
            env.report.time_to_recover_ms = Some(at);
            env.report
                .drill
                .insert("time_to_elect_ms".into(), json!(at));
            env.report.event(format!("{m}: the Sentinels' new master"));
            new = Some(m);
            if !detected {
                detected = true;
                env.report.time_to_detect_ms = Some(at);
            }
        }
        if !detected && cluster.flagged_down() {
            detected = true;
            env.report.time_to_detect_ms = Some(ms(fault_at.elapsed()));
            env.report
                .event(format!("{old}: the Sentinels see it down"));
        }
        if let Some(routing) = &config.routing {
            routing.watch(
                old,
                new.as_deref(),
                (&mut dropped, &mut routed),
                env.report,
                fault_at,
            );
        }
        if let (true, true, Some(n)) = (dropped, routed, &new) {
            return Ok(n.clone());
        }
        if fault_at.elapsed() >= timeout
            || run_plugin_sdk::cancel::sleep(Duration::from_millis(100))
        {
            return Err(Error::failed(format!(
                "{} after the fault: {}",
                duration::show(fault_at.elapsed()),
                match &new {
                    None => "the Sentinels promoted no new master".to_owned(),
                    Some(n) => format!("HAProxy does not route to the new master {n}"),
                }
            )));
        }
    }
}
