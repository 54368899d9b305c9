//! What HAProxy routes to, from its stats page (`/stats;csv`): drills time
//! when the proxy stops sending writes to the old leader and starts sending
//! them to the new one.

use std::time::Instant;

use serde::Deserialize;
use serde_json::json;

use crate::check::http_get;
use crate::drill::ms;
use crate::report::Report;

/// Where the stats are and which backend carries the writes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Routing {
    /// `http://127.0.0.1:58404/stats;csv` (grant its address in `allow.network`).
    pub stats: String,
    /// The backend (or `listen` section) of the writes, e.g. `postgres_primary`.
    pub backend: String,
}

impl Routing {
    /// `host:port` of the stats page, for the network grant.
    pub fn address(&self) -> String {
        let rest = self.stats.strip_prefix("http://").unwrap_or(&self.stats);
        let host = rest.split('/').next().unwrap_or(rest);
        if host.contains(':') {
            host.to_owned()
        } else {
            format!("{host}:80")
        }
    }

    /// The status (`UP`, `DOWN`, `MAINT`, ...) of every server of the backend.
    pub fn servers(&self) -> Result<Vec<(String, String)>, String> {
        let (code, body) = http_get(&self.stats)?;
        if code != 200 {
            return Err(format!("{} answered {code}", self.stats));
        }
        parse(&body, &self.backend)
    }

    /// The status of the server that stands for container `member`, if the
    /// backend has one (see [`names`]).
    pub fn status_of(&self, member: &str) -> Result<Option<String>, String> {
        Ok(self
            .servers()?
            .into_iter()
            .find(|(server, _)| names(member, server))
            .map(|(_, status)| status))
    }
}

/// Whether container `member` is the one `name` stands for: the same name,
/// or a Compose service's container `PROJECT-SERVICE` for the service name
/// (HAProxy servers, Sentinels' answers and DNS use service names).
/// What a drill watches in HAProxy once per poll: the old server leaving
/// the write backend (`dropped`) and the new one taking it over (`routed`),
/// each timed from the fault and reported once.
impl Routing {
    pub fn watch(
        &self,
        old: &str,
        new: Option<&str>,
        (dropped, routed): (&mut bool, &mut bool),
        report: &mut Report,
        fault_at: Instant,
    ) {
        if !*dropped
            && self
                .status_of(old)
                .is_ok_and(|s| s.as_deref() != Some("UP"))
        {
            *dropped = true;
            report
                .drill
                .insert("proxy_drops_old_ms".into(), json!(ms(fault_at.elapsed())));
            report.event(format!(
                "{old}: no longer a server of {} in HAProxy",
                self.backend
            ));
        }
        if let Some(new) = new
            && !*routed
            && self.status_of(new).ok().flatten().as_deref() == Some("UP")
        {
            *routed = true;
            report
                .drill
                .insert("proxy_routes_new_ms".into(), json!(ms(fault_at.elapsed())));
            report.event(format!("{new}: HAProxy routes {} to it", self.backend));
        }
    }
}

pub fn names(member: &str, name: &str) -> bool {
    member == name || member.strip_suffix(name).is_some_and(|p| p.ends_with('-'))
}

/// The servers of `backend` in a `/stats;csv` page, with their status.
fn parse(csv: &str, backend: &str) -> Result<Vec<(String, String)>, String> {
    let mut lines = csv.trim_start().lines();
    let header = lines
        .next()
        .and_then(|h| h.strip_prefix("# "))
        .ok_or_else(|| {
            format!(
                "the stats page is not HAProxy's CSV (no `# pxname,...` header): {:?}",
                csv.chars().take(80).collect::<String>()
            )
        })?;
    let columns: Vec<&str> = header.split(',').collect();
    let col = |name: &str| {
        columns
            .iter()
            .position(|c| *c == name)
            .ok_or(format!("the stats CSV has no `{name}` column"))
    };
    let (px, sv, st) = (col("pxname")?, col("svname")?, col("status")?);
    Ok(lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f.len() > st && f[px] == backend && f[sv] != "FRONTEND" && f[sv] != "BACKEND")
        .map(|f| (f[sv].to_owned(), f[st].to_owned()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight\n\
        postgres_primary,FRONTEND,,,0,1,1000,3,0,0,0,0,0,,,,,OPEN,\n\
        postgres_primary,patroni-1,0,0,0,1,,3,0,0,,0,,0,0,0,0,UP,1\n\
        postgres_primary,patroni-2,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN,1\n\
        postgres_primary,BACKEND,0,0,0,1,100,3,0,0,0,0,,0,0,0,0,UP,1\n\
        redis_master,redis-1,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1\n";

    #[test]
    fn servers_of_one_backend_with_their_status() {
        assert_eq!(
            parse(CSV, "postgres_primary").unwrap(),
            [
                ("patroni-1".to_owned(), "UP".to_owned()),
                ("patroni-2".to_owned(), "DOWN".to_owned())
            ]
        );
        assert!(parse("not,csv\n", "x").is_err());
    }

    #[test]
    fn compose_containers_stand_for_their_service() {
        assert!(names("ha-patroni-1", "patroni-1"));
        assert!(names("patroni-1", "patroni-1"));
        assert!(!names("ha-patroni-11", "patroni-1"));
        assert!(!names("hapatroni-1", "patroni-1"));
    }
}
