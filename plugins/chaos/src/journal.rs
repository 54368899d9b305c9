//! The on-disk journal of faults in force: an entry is written before a fault
//! is applied and removed after it is undone, so a runner killed mid-fault
//! leaves a record that `run chaos --recover` (or the next chaos task) undoes.
//!
//! Writes go to a temporary file renamed over the journal: a crash leaves
//! either the old or the new journal, never half of one.
//!
//! One run owns a journal at a time: opening it takes the runner's lock on
//! `journal.lock` beside it, held as long as the journal is (and released if
//! the runner dies). Without it, a second run sharing the directory would take the
//! first one's live faults for leftovers and undo them.

use std::fs;
use std::time::Duration;

use run_plugin_sdk::{Access, Error, lock};
use serde::{Deserialize, Serialize};

pub const FILE: &str = "journal.json";
pub const LOCK: &str = "journal.lock";

/// One fault that is (or may be) in force.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Unique per fault; network rules and chains carry it.
    pub id: String,
    /// pause, stop, kill, restart, loss, delay, bandwidth or partition.
    pub fault: String,
    pub target: String,
    /// What was done, for people (`30% loss (iptables statistic)`).
    pub detail: String,
    /// The helper image that can undo a network fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// A long-lived helper (the latency proxy) to remove.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helper: Option<String>,
    /// Whether the fault used a root qdisc (netem or tbf) to remove.
    #[serde(default)]
    pub qdisc: bool,
    /// When it was applied, RFC 3339.
    pub applied_at: String,
    /// A delay's delay plus jitter: undo waits a few of them for the
    /// connections through the proxy to end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// The container a network fault was made in (its ID and start time): a
    /// restart or a re-creation takes the fault away, and the run says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Document {
    entries: Vec<Entry>,
}

pub struct Journal {
    path: String,
    /// The lock on `journal.lock`; released when the journal goes.
    _lock: Option<lock::Guard>,
}

impl Journal {
    /// The journal in `dir` (created if missing: it must be write-granted),
    /// locked for this run; another live run's journal is refused.
    pub fn open(dir: &str) -> Result<Journal, Error> {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, Access::Write, e))?;
        let lock = format!("{dir}/{LOCK}");
        let guard = lock::acquire(&lock, Duration::ZERO).map_err(|e| {
            e.map_message(|m| format!(
                "{m}: another chaos run is using the journal in `{dir}` and its faults may be live, so this run leaves them alone; wait for it to end, or give this task its own `dir`"
            ))
        })?;
        Ok(Journal {
            _lock: Some(guard),
            ..Journal::at(dir)
        })
    }

    /// The journal in `dir` (created if missing), unlocked: to read only.
    pub fn unlocked(dir: &str) -> Result<Journal, Error> {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, Access::Write, e))?;
        Ok(Journal::at(dir))
    }

    /// The journal in `dir`, without taking the lock: to read it only (a
    /// data check warns about leftovers, it neither undoes nor waits for them).
    pub fn at(dir: &str) -> Journal {
        Journal {
            path: format!("{dir}/{FILE}"),
            _lock: None,
        }
    }

    pub fn entries(&self) -> Result<Vec<Entry>, Error> {
        match fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str::<Document>(&text)
                .map(|d| d.entries)
                .map_err(|e| {
                    Error::failed(format!(
                        "the chaos journal {} is damaged ({e}); undo its faults by hand and delete it",
                        self.path
                    ))
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(Error::io(&self.path, Access::Read, e)),
        }
    }

    fn save(&self, entries: Vec<Entry>) -> Result<(), Error> {
        if entries.is_empty() {
            return match fs::remove_file(&self.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(Error::io(&self.path, Access::Write, e))
                }
                _ => Ok(()),
            };
        }
        let text = serde_json::to_string_pretty(&Document { entries }).expect("entries serialize");
        let tmp = format!("{}.tmp", self.path);
        fs::write(&tmp, text + "\n").map_err(|e| Error::io(&tmp, Access::Write, e))?;
        fs::rename(&tmp, &self.path).map_err(|e| Error::io(&self.path, Access::Write, e))
    }

    /// Records `entry` (replacing one with the same id).
    pub fn record(&self, entry: &Entry) -> Result<(), Error> {
        let mut entries = self.entries()?;
        entries.retain(|e| e.id != entry.id);
        entries.push(entry.clone());
        self.save(entries)
    }

    /// Forgets fault `id` (it was undone).
    pub fn clear(&self, id: &str) -> Result<(), Error> {
        let mut entries = self.entries()?;
        entries.retain(|e| e.id != id);
        self.save(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str) -> Entry {
        Entry {
            id: id.into(),
            fault: "pause".into(),
            target: "db".into(),
            detail: "paused".into(),
            image: None,
            helper: None,
            qdisc: false,
            applied_at: "2026-01-01T00:00:00.000Z".into(),
            delay_ms: None,
            container_id: None,
            started_at: None,
        }
    }

    #[test]
    fn records_and_clears_and_removes_the_file_when_empty() {
        let dir = std::env::temp_dir().join(format!("chaos-journal-{}", std::process::id()));
        let dir = dir.to_str().unwrap();
        fs::create_dir_all(dir).unwrap();
        // Unlocked: the lock is the runner's, and unit tests run natively.
        let journal = Journal::at(dir);
        journal.record(&entry("a")).unwrap();
        journal.record(&entry("b")).unwrap();
        assert_eq!(journal.entries().unwrap().len(), 2);
        journal.clear("a").unwrap();
        assert_eq!(journal.entries().unwrap(), vec![entry("b")]);
        journal.clear("b").unwrap();
        assert!(!std::path::Path::new(&format!("{dir}/{FILE}")).exists());
        let _ = fs::remove_dir_all(dir);
    }
}
