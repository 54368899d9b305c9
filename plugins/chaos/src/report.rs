//! What happened: a timeline, the faults applied and undone, the drill's
//! times to detect and to recover, and data differences. Printed for people,
//! written as JSON (`<dir>/report-<time>.json`) for CI.

use std::time::Instant;

use run_plugin_sdk::time::Timestamp;
use serde::Serialize;

use crate::duration;
use crate::journal::Entry;

#[derive(Debug, Serialize)]
pub struct Event {
    /// Milliseconds since the run started.
    pub at_ms: u64,
    pub what: String,
}

#[derive(Debug, Serialize)]
pub struct FaultRecord {
    pub id: String,
    pub fault: String,
    pub target: String,
    pub detail: String,
    /// Since the run started; 0 for a fault left over by an earlier run
    /// (`applied_at` says when that one was applied).
    pub applied_at_ms: u64,
    /// When it was applied, RFC 3339.
    pub applied_at: String,
    pub undone_at_ms: Option<u64>,
    /// How long it was in force: from when it was applied (by this run or a
    /// killed one) until it was undone or lost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_ms: Option<u64>,
    /// When it stopped holding before its end, and why (its container
    /// restarted, was unpaused, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost_at_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost: Option<String>,
    /// Applied by an earlier run (killed), undone by this one.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub left_over: bool,
    /// What undo found in force and put back.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub undid: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub task: String,
    pub started_at: String,
    pub outcome: String,
    pub events: Vec<Event>,
    pub faults: Vec<FaultRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_to_detect_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_to_recover_ms: Option<u64>,
    /// A drill's write load: writes the primary acknowledged, and how many of
    /// them the new leader lacks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub writes_acknowledged: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub writes_missing: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub data_differences: Vec<String>,
    /// An orchestrated drill's findings (drill.rs, sentinel.rs): its times
    /// (`*_ms`), the lost ids, the primaries after the drill.
    #[serde(flatten)]
    pub drill: serde_json::Map<String, serde_json::Value>,
    #[serde(skip)]
    start: Option<Instant>,
}

impl Report {
    pub fn new(task: &str) -> Report {
        Report {
            task: task.into(),
            started_at: Timestamp::now().rfc3339(),
            outcome: "running".into(),
            events: Vec::new(),
            faults: Vec::new(),
            time_to_detect_ms: None,
            time_to_recover_ms: None,
            writes_acknowledged: None,
            writes_missing: None,
            data_differences: Vec::new(),
            drill: serde_json::Map::new(),
            start: Some(Instant::now()),
        }
    }

    pub fn now_ms(&self) -> u64 {
        self.start.map_or(0, |s| s.elapsed().as_millis() as u64)
    }

    pub fn event(&mut self, what: impl Into<String>) {
        let at_ms = self.now_ms();
        self.events.push(Event {
            at_ms,
            what: what.into(),
        });
    }

    pub fn applied(&mut self, entry: &Entry) {
        let at = self.now_ms();
        self.event(format!(
            "{}: {} applied ({})",
            entry.target, entry.fault, entry.detail
        ));
        self.faults.push(FaultRecord {
            id: entry.id.clone(),
            fault: entry.fault.clone(),
            target: entry.target.clone(),
            detail: entry.detail.clone(),
            applied_at_ms: at,
            applied_at: entry.applied_at.clone(),
            undone_at_ms: None,
            held_ms: None,
            lost_at_ms: None,
            lost: None,
            left_over: false,
            undid: Vec::new(),
        });
    }

    /// `entry` stopped holding before its end.
    pub fn lost(&mut self, entry: &Entry, why: &str) {
        let at = self.now_ms();
        self.event(format!("{}: {} LOST: {why}", entry.target, entry.fault));
        if let Some(f) = self.faults.iter_mut().find(|f| f.id == entry.id) {
            f.lost_at_ms = Some(at);
            f.lost = Some(why.to_owned());
            f.held_ms = Some(at.saturating_sub(f.applied_at_ms));
        }
    }

    pub fn undone(&mut self, entry: &Entry, what: &[String]) {
        let at = self.now_ms();
        if what.is_empty() {
            self.event(format!("{}: {} undone", entry.target, entry.fault));
        } else {
            self.event(format!(
                "{}: {} undone: {}",
                entry.target,
                entry.fault,
                what.join("; ")
            ));
        }
        match self.faults.iter_mut().find(|f| f.id == entry.id) {
            Some(f) => {
                f.undone_at_ms = Some(at);
                f.held_ms.get_or_insert(at.saturating_sub(f.applied_at_ms));
                f.undid = what.to_vec();
            }
            // A leftover from an earlier run, undone by recovery: it was in
            // force from when that run applied it.
            None => {
                let held_ms = Timestamp::parse_rfc3339(&entry.applied_at)
                    .map(|t| Timestamp::now().millis().saturating_sub(t.millis()));
                self.faults.push(FaultRecord {
                    id: entry.id.clone(),
                    fault: entry.fault.clone(),
                    target: entry.target.clone(),
                    detail: format!(
                        "{} (left over by an earlier run, applied {})",
                        entry.detail, entry.applied_at
                    ),
                    applied_at_ms: 0,
                    applied_at: entry.applied_at.clone(),
                    undone_at_ms: Some(at),
                    held_ms,
                    lost_at_ms: None,
                    lost: None,
                    left_over: true,
                    undid: what.to_vec(),
                })
            }
        }
    }

    /// The human form: one line per event, then the faults and the times.
    pub fn human(&self) -> String {
        let mut out = format!(
            "chaos report for task `{}` ({}): {}\n",
            self.task, self.started_at, self.outcome
        );
        for e in &self.events {
            out.push_str(&format!(
                "  {:>8}  {}\n",
                format!(
                    "+{}",
                    duration::show(std::time::Duration::from_millis(e.at_ms))
                ),
                e.what
            ));
        }
        if !self.faults.is_empty() {
            out.push_str("faults:\n");
            for f in &self.faults {
                let show = |ms: u64| duration::show(std::time::Duration::from_millis(ms));
                let mut state = match (f.undone_at_ms, f.held_ms) {
                    (Some(_), Some(held)) if f.left_over => {
                        format!(
                            "left over since {}, undone {} after it was applied",
                            f.applied_at,
                            show(held)
                        )
                    }
                    (Some(ms), _) => {
                        format!("undone after {}", show(ms.saturating_sub(f.applied_at_ms)))
                    }
                    (None, _) => "NOT UNDONE (run with --recover)".into(),
                };
                if let (Some(at), Some(why)) = (f.lost_at_ms, &f.lost) {
                    state = format!(
                        "LOST after {} ({why}); {state}",
                        show(at.saturating_sub(f.applied_at_ms))
                    );
                }
                out.push_str(&format!(
                    "  {} {} on {}: {}\n",
                    f.fault, f.id, f.target, state
                ));
            }
        }
        if let Some(ms) = self.time_to_detect_ms {
            out.push_str(&format!(
                "time to detect: {}\n",
                duration::show(std::time::Duration::from_millis(ms))
            ));
        }
        if let Some(ms) = self.time_to_recover_ms {
            out.push_str(&format!(
                "time to recover: {}\n",
                duration::show(std::time::Duration::from_millis(ms))
            ));
        }
        if let (Some(acked), Some(missing)) = (self.writes_acknowledged, self.writes_missing) {
            out.push_str(&format!(
                "writes acknowledged: {acked}, missing on the new leader: {missing}\n"
            ));
        }
        for d in &self.data_differences {
            out.push_str(&format!("data difference: {d}\n"));
        }
        out
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serializes")
    }
}
