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
    pub applied_at_ms: u64,
    pub undone_at_ms: Option<u64>,
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
            undone_at_ms: None,
        });
    }

    pub fn undone(&mut self, entry: &Entry) {
        let at = self.now_ms();
        self.event(format!("{}: {} undone", entry.target, entry.fault));
        match self.faults.iter_mut().find(|f| f.id == entry.id) {
            Some(f) => f.undone_at_ms = Some(at),
            // A leftover from an earlier run, undone by recovery.
            None => self.faults.push(FaultRecord {
                id: entry.id.clone(),
                fault: entry.fault.clone(),
                target: entry.target.clone(),
                detail: format!("{} (left over, applied {})", entry.detail, entry.applied_at),
                applied_at_ms: 0,
                undone_at_ms: Some(at),
            }),
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
                let undone = match f.undone_at_ms {
                    Some(ms) => format!(
                        "undone after {}",
                        duration::show(std::time::Duration::from_millis(
                            ms.saturating_sub(f.applied_at_ms)
                        ))
                    ),
                    None => "NOT UNDONE (run with --recover)".into(),
                };
                out.push_str(&format!(
                    "  {} {} on {}: {}\n",
                    f.fault, f.id, f.target, undone
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
