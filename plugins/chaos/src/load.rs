//! The drill's write load: a client loop in a container that inserts one row
//! per transaction into `chaos_drill` and appends each id the server
//! acknowledged to a file, running before, during and after the fault.
//!
//! The loop runs inside a container (psql is there, and the plugin's single
//! thread stays free to make the fault and watch for the new leader), detached
//! by the shell. An id is written only after psql reports the commit, so the
//! file lists acknowledged writes exactly, give or take a last one lost with a
//! killed client (which errs on the safe side). Zero data loss means every
//! acknowledged id is on the new leader; rows committed whose answer never
//! reached the client are allowed either way.

use std::io::Read;
use std::time::Duration;

use run_plugin_sdk::containers::{self, Compression, Container, ExecRequest};
use run_plugin_sdk::{Access, Error};

use crate::check::psql;

/// The table the load writes.
pub const TABLE: &str = "chaos_drill";

/// Where the load runs and what it writes to.
pub struct LoadConfig<'a> {
    /// The container the client loop runs in.
    pub from: &'a str,
    /// `psql -h` (none: the local socket of `from`).
    pub host: Option<&'a str>,
    pub user: &'a str,
    pub database: &'a str,
    /// The loop ends by itself after this long, should nobody stop it.
    pub limit: Duration,
}

/// A running load.
pub struct Load {
    from: Container,
    /// The files' common prefix in `from` (`/tmp/run-chaos-load-ID`).
    prefix: String,
}

impl Load {
    /// Creates the table on `primary` and starts the loop.
    pub fn start(config: &LoadConfig<'_>, primary: &str, id: &str) -> Result<Load, Error> {
        psql(
            primary,
            config.user,
            config.database,
            &format!(
                "CREATE TABLE IF NOT EXISTS {TABLE} (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), note text)"
            ),
        )?;
        let prefix = format!("/tmp/run-chaos-load-{id}");
        let from = containers::open(config.from)?;
        let out = from
            .exec(&ExecRequest::new(["sh", "-c", &script(config, &prefix)]).timeout_seconds(30))?;
        if !out.success() {
            return Err(Error::failed(format!(
                "could not start the write load in `{}`: {}",
                config.from,
                out.stderr_text().trim()
            )));
        }
        Ok(Load { from, prefix })
    }

    /// How many writes have been acknowledged so far (the loop's container must run).
    pub fn count(&self) -> Result<u64, Error> {
        let out = self.from.exec(
            &ExecRequest::new(["sh", "-c", &format!("wc -l < {}.acked", self.prefix)])
                .timeout_seconds(10),
        )?;
        Ok(out.stdout_text().trim().parse().unwrap_or(0))
    }

    /// Every acknowledged id so far, read through the engine (this works on a
    /// killed, stopped or paused container too; `scratch` is a file in a
    /// write-granted directory for the archive), with the time of its acknowledgement (Unix
    /// milliseconds, the container's clock: the host's), in the order acknowledged.
    pub fn acknowledged_at(&self, scratch: &str) -> Result<Vec<(u64, Option<u64>)>, Error> {
        self.from.copy_out(
            &format!("{}.acked", self.prefix),
            scratch,
            Compression::None,
        )?;
        let text = read_text(scratch);
        let _ = std::fs::remove_file(scratch);
        Ok(parse_acks(&text?))
    }

    /// A load running `body` (a shell loop that appends `ID MILLIS` lines to
    /// `PREFIX.acked` and stops when `PREFIX.stop` exists) in `from`.
    pub fn spawn(from: &str, prefix: &str, body: &str) -> Result<Load, Error> {
        let container = containers::open(from)?;
        let script = format!(
            ": > {prefix}.acked && touch {prefix}.running && (sh -c {} > /dev/null 2>&1 < /dev/null &)",
            quote(&format!(
                "echo $$ > {prefix}.running; {body}; rm -f {prefix}.running"
            ))
        );
        let out = container.exec(&ExecRequest::new(["sh", "-c", &script]).timeout_seconds(30))?;
        if !out.success() {
            return Err(Error::failed(format!(
                "could not start the write load in `{from}`: {}",
                out.stderr_text().trim()
            )));
        }
        Ok(Load {
            from: container,
            prefix: prefix.to_owned(),
        })
    }

    /// Stops the loop and removes its files (once `from` runs again).
    pub fn stop(&self) -> Result<(), Error> {
        let p = &self.prefix;
        // `.running` holds the loop's pid. The loop must end by itself: it
        // runs orphaned under the container's PID 1, and PostgreSQL as PID 1
        // takes a child that died by a signal, or an orphaned psql exiting 2,
        // for a crashed backend and restarts (a just-promoted server then
        // comes back in recovery). So it gets long enough to see the stop
        // file (a write waits up to PGCONNECT_TIMEOUT=5 s on a stopped
        // server; a paused loop resumes mid-write), and is killed only as a
        // last resort (its pid checked first: a restarted container reuses pids).
        let alive = format!(
            "[ -e {p}.running ] && grep -q run-chaos-load /proc/$(cat {p}.running)/cmdline 2>/dev/null"
        );
        let script = format!(
            "touch {p}.stop; i=0; while {alive} && [ $i -lt 150 ]; do sleep 0.1; i=$((i+1)); done; \
             if {alive}; then kill $(cat {p}.running); fi; rm -f {p}.acked {p}.stop {p}.running"
        );
        let out = self
            .from
            .exec(&ExecRequest::new(["sh", "-c", &script]).timeout_seconds(30))?;
        if out.success() {
            Ok(())
        } else {
            Err(Error::failed(format!(
                "could not stop the write load in `{}`: {}",
                self.from.name(),
                out.stderr_text().trim()
            )))
        }
    }
}

/// The loop, started in the background with its output detached so that the
/// exec returns at once.
fn script(config: &LoadConfig<'_>, p: &str) -> String {
    let host = config
        .host
        .map(|h| format!(" -h {}", quote(h)))
        .unwrap_or_default();
    let psql = format!(
        "psql -X -q -At -v ON_ERROR_STOP=1 -U {} -d {}{host}",
        quote(config.user),
        quote(config.database)
    );
    let insert = format!("INSERT INTO {TABLE} (note) VALUES ('load') RETURNING id");
    // A client waits at most 5 s to connect (a paused server accepts TCP).
    let body = format!(
        "echo $$ > {p}.running; export PGCONNECT_TIMEOUT=5; end=$(( $(date +%s) + {limit} )); \
         while [ ! -e {p}.stop ] && [ $(date +%s) -lt $end ]; do \
           if id=$({psql} -c \"{insert}\" 2>/dev/null); then echo \"$id $(date +%s%3N)\" >> {p}.acked; else sleep 0.2; fi; \
         done; rm -f {p}.running",
        limit = config.limit.as_secs().max(1),
    );
    format!(
        ": > {p}.acked && touch {p}.running && (sh -c {} > /dev/null 2>&1 < /dev/null &)",
        quote(&body)
    )
}

/// Single-quotes `s` for sh.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The text of the one file in the tar archive `file`.
fn read_text(file: &str) -> Result<String, Error> {
    let archive = std::fs::File::open(file).map_err(|e| Error::io(file, Access::Read, e))?;
    let mut archive = tar::Archive::new(archive);
    let mut text = String::new();
    let entries = archive
        .entries()
        .map_err(|e| Error::io(file, Access::Read, e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| Error::io(file, Access::Read, e))?;
        if entry.header().entry_type().is_file() {
            entry
                .read_to_string(&mut text)
                .map_err(|e| Error::io(file, Access::Read, e))?;
        }
    }
    Ok(text)
}

/// `ID [MILLIS]` per line; a torn last line (a killed client mid-append) is skipped.
fn parse_acks(text: &str) -> Vec<(u64, Option<u64>)> {
    text.lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let id = words.next()?.parse().ok()?;
            Some((id, words.next().and_then(|t| t.parse().ok())))
        })
        .collect()
}

/// One id per line; a torn last line (a killed client mid-append) is skipped.
#[cfg(test)]
fn parse_ids(text: &str) -> std::collections::BTreeSet<u64> {
    parse_acks(text).into_iter().map(|a| a.0).collect()
}

/// `ids` for people: up to `max` of them, then how many more.
pub fn show(ids: &[u64], max: usize) -> String {
    let mut shown: Vec<String> = ids.iter().take(max).map(u64::to_string).collect();
    if ids.len() > max {
        shown.push(format!("and {} more", ids.len() - max));
    }
    shown.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_read_one_per_line_skipping_a_torn_one() {
        let ids: Vec<u64> = parse_ids("1\n2\n\n3\n4").into_iter().collect();
        assert_eq!(ids, [1, 2, 3, 4]);
        assert_eq!(parse_ids("7\n8\n9x").len(), 2);
    }

    #[test]
    fn the_loop_quotes_what_it_is_given() {
        let config = LoadConfig {
            from: "pg",
            host: Some("db's host"),
            user: "postgres",
            database: "app",
            limit: Duration::from_secs(120),
        };
        let s = script(&config, "/tmp/run-chaos-load-abc");
        assert!(s.starts_with(": > /tmp/run-chaos-load-abc.acked && touch /tmp/run-chaos-load-abc.running && (sh -c '"), "{s}");
        assert!(s.contains("+ 120 ))"), "{s}");
        assert!(s.ends_with("' > /dev/null 2>&1 < /dev/null &)"), "{s}");
    }

    #[test]
    fn quoting_survives_the_shell_twice() {
        let nasty = "db's \"host\" $HOME `x`";
        let inner = format!("printf %s {}", quote(nasty));
        let out = std::process::Command::new("sh")
            .args(["-c", &format!("sh -c {}", quote(&inner))])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), nasty);
    }

    #[test]
    fn acknowledgements_carry_their_time_when_the_client_gave_one() {
        assert_eq!(
            parse_acks("1 1700000000123\n2\n3 17000000002"),
            [
                (1, Some(1_700_000_000_123)),
                (2, None),
                (3, Some(17_000_000_002))
            ]
        );
        assert_eq!(
            parse_ids("4 99\n5 x\n"),
            std::collections::BTreeSet::from([4, 5])
        );
    }

    #[test]
    fn long_id_lists_are_cut_short() {
        assert_eq!(show(&[1, 2, 3], 5), "1, 2, 3");
        assert_eq!(show(&[1, 2, 3, 4], 2), "1, 2, and 2 more");
    }
}
