//! When the host runs a container's health check itself (Podman without
//! systemd, see `health.rs`): as Docker schedules it. The first check is
//! due one interval after the container started (`start-interval` instead of
//! `interval` during the start period, as Docker 25 does), each next one an
//! interval after the previous one.
//!
//! The engine's clock says when the container started and when its last
//! check ran (its health log), so a container that has waited long already
//! is checked at once; the host's own clock decides the rest, so an engine
//! whose clock is off (a remote one) can make a check neither run twice in
//! one interval nor never run: without the engine's word the first check
//! is due one interval after the host first waited for it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use bollard::models::{ContainerInspectResponse, HealthConfig};
use tokio::time::Instant;

use crate::capability::engine::ids::ContainerId;

/// Docker's defaults for a check that does not say (`0` means the default).
const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A container's health check timing, from its configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub interval: Duration,
    pub timeout: Duration,
    pub start_period: Duration,
    pub start_interval: Option<Duration>,
}

impl Schedule {
    /// None when the container has no check (none, or `NONE`).
    pub fn of(config: Option<&HealthConfig>) -> Option<Schedule> {
        let config = config?;
        match config.test.as_deref()?.first().map(String::as_str) {
            None | Some("NONE") => return None,
            Some(_) => {}
        }
        let nanos = |n: Option<i64>| {
            n.and_then(|n| u64::try_from(n).ok())
                .filter(|&n| n > 0)
                .map(Duration::from_nanos)
        };
        Some(Schedule {
            interval: nanos(config.interval).unwrap_or(DEFAULT_INTERVAL),
            timeout: nanos(config.timeout).unwrap_or(DEFAULT_TIMEOUT),
            start_period: nanos(config.start_period).unwrap_or_default(),
            start_interval: nanos(config.start_interval),
        })
    }

    /// The time between checks, `since_start` after the container started.
    pub fn period(&self, since_start: Option<Duration>) -> Duration {
        match (self.start_interval, since_start) {
            (Some(start), Some(since)) if since < self.start_period => start,
            _ => self.interval,
        }
    }
}

/// The engine's record as time before now, on the engine's clock (a time
/// in the future counts as now).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineTimes {
    /// Since the container started (`State.StartedAt`).
    pub since_start: Option<Duration>,
    /// Since its last check started (the last `State.Health.Log` entry).
    pub since_last_check: Option<Duration>,
}

impl EngineTimes {
    pub fn of(inspect: &ContainerInspectResponse, now: SystemTime) -> EngineTimes {
        let state = inspect.state.as_ref();
        let since = |time: Option<&String>| {
            let time = humantime::parse_rfc3339(time?).ok()?;
            Some(now.duration_since(time).unwrap_or_default())
        };
        let last_check = state
            .and_then(|s| s.health.as_ref())
            .and_then(|h| h.log.as_ref())
            .and_then(|log| log.last())
            .and_then(|check| check.start.as_ref());
        EngineTimes {
            since_start: since(state.and_then(|s| s.started_at.as_ref())),
            since_last_check: since(last_check),
        }
    }
}

/// What the host did about one container's check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Runs {
    /// When the host first waited for the container's health.
    pub first_wait: Instant,
    /// When the host last ran its check.
    pub last_run: Option<Instant>,
}

/// Whether the check is due `now`.
pub fn due(schedule: &Schedule, runs: &Runs, engine: EngineTimes, now: Instant) -> bool {
    let period = schedule.period(engine.since_start);
    match runs.last_run {
        Some(last) => now.duration_since(last) >= period,
        None => {
            // The engine's last word: its last check, else the container's start.
            let quiet = engine.since_last_check.or(engine.since_start);
            quiet.is_some_and(|quiet| quiet >= period)
                || now.duration_since(runs.first_wait) >= period
        }
    }
}

/// The host's runs, per container, for one task: every wait and poll of a
/// container shares them, so polling never runs a check more often than
/// its interval.
#[derive(Debug, Default)]
pub struct HealthRuns(Mutex<HashMap<ContainerId, Runs>>);

impl HealthRuns {
    /// Whether the check of `id` is due `now`; if so, it counts as run now.
    pub fn start_if_due(
        &self,
        id: &ContainerId,
        schedule: &Schedule,
        engine: EngineTimes,
        now: Instant,
    ) -> bool {
        let mut runs = self.0.lock().expect("not poisoned");
        let runs = runs.entry(id.clone()).or_insert(Runs {
            first_wait: now,
            last_run: None,
        });
        let due = due(schedule, runs, engine, now);
        if due {
            runs.last_run = Some(now);
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn every(interval: u64) -> Schedule {
        Schedule {
            interval: S(interval),
            timeout: S(5),
            start_period: Duration::ZERO,
            start_interval: None,
        }
    }

    fn config(test: &[&str]) -> HealthConfig {
        HealthConfig {
            test: Some(test.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn the_schedule_is_the_containers_with_dockers_defaults() {
        assert_eq!(Schedule::of(None), None);
        assert_eq!(Schedule::of(Some(&config(&["NONE"]))), None);
        assert_eq!(Schedule::of(Some(&config(&[]))), None);
        assert_eq!(
            Schedule::of(Some(&config(&["CMD-SHELL", "true"]))),
            Some(Schedule {
                interval: S(30),
                timeout: S(30),
                start_period: Duration::ZERO,
                start_interval: None,
            })
        );
        // As Podman 4.3.1 reports `--health-interval 1s` (nanoseconds).
        let podman = HealthConfig {
            interval: Some(1_000_000_000),
            timeout: Some(5_000_000_000),
            start_period: Some(60_000_000_000),
            start_interval: Some(0),
            ..config(&["CMD", "pg_isready"])
        };
        assert_eq!(
            Schedule::of(Some(&podman)),
            Some(Schedule {
                interval: S(1),
                timeout: S(5),
                start_period: S(60),
                start_interval: None,
            })
        );
    }

    #[test]
    fn the_start_interval_applies_during_the_start_period_only() {
        let schedule = Schedule {
            start_period: S(60),
            start_interval: Some(S(1)),
            ..every(30)
        };
        assert_eq!(schedule.period(Some(S(10))), S(1));
        assert_eq!(schedule.period(Some(S(61))), S(30));
        assert_eq!(schedule.period(None), S(30));
    }

    #[test]
    fn the_first_check_is_due_an_interval_after_the_start() {
        let now = Instant::now();
        let runs = Runs {
            first_wait: now,
            last_run: None,
        };
        let started = |secs| EngineTimes {
            since_start: Some(S(secs)),
            since_last_check: None,
        };
        assert!(!due(&every(5), &runs, started(2), now));
        assert!(due(&every(5), &runs, started(5), now));
        // Started long ago and never checked (no systemd): at once.
        assert!(due(&every(5), &runs, started(3600), now));
    }

    #[test]
    fn a_recent_check_of_the_engines_own_is_not_repeated() {
        let now = Instant::now();
        let runs = Runs {
            first_wait: now,
            last_run: None,
        };
        let engine = EngineTimes {
            since_start: Some(S(3600)),
            since_last_check: Some(S(1)),
        };
        assert!(!due(&every(5), &runs, engine, now));
    }

    #[test]
    fn after_a_run_the_next_is_due_one_interval_later_by_the_hosts_clock() {
        let start = Instant::now();
        let runs = Runs {
            first_wait: start,
            last_run: Some(start),
        };
        // The engine's clock is ignored once the host ran a check: a skewed
        // one can neither hurry nor stop it.
        let skewed = EngineTimes {
            since_start: Some(S(3600)),
            since_last_check: Some(S(3600)),
        };
        assert!(!due(
            &every(2),
            &runs,
            skewed,
            start + Duration::from_millis(1999)
        ));
        assert!(due(&every(2), &runs, skewed, start + S(2)));
    }

    #[test]
    fn without_the_engines_word_the_hosts_own_wait_counts() {
        let start = Instant::now();
        let runs = Runs {
            first_wait: start,
            last_run: None,
        };
        // An engine clock ahead of the host's: everything "just happened".
        let ahead = EngineTimes {
            since_start: Some(Duration::ZERO),
            since_last_check: None,
        };
        assert!(!due(&every(3), &runs, ahead, start + S(1)));
        assert!(due(&every(3), &runs, ahead, start + S(3)));
        assert!(due(&every(3), &runs, EngineTimes::default(), start + S(3)));
    }

    #[test]
    fn engine_times_come_from_the_start_and_the_last_check() {
        let inspect: ContainerInspectResponse = serde_json::from_str(
            r#"{"State": {"Status": "running", "StartedAt": "2026-12-05T17:20:55.012154726Z",
                "Health": {"Status": "starting", "FailingStreak": 1, "Log": [
                  {"Start": "2026-12-05T17:21:03.464169552Z", "End": "2026-12-05T17:21:03.571898908Z", "ExitCode": 1, "Output": ""}]}}}"#,
        )
        .unwrap();
        let now = humantime::parse_rfc3339("2026-12-05T17:21:05.012154726Z").unwrap();
        let times = EngineTimes::of(&inspect, now);
        assert_eq!(times.since_start, Some(S(10)));
        assert_eq!(
            times.since_last_check,
            Some(Duration::from_nanos(1_547_985_174))
        );
        // A time ahead of the host's counts as now; an unreadable one as unknown.
        let early = humantime::parse_rfc3339("2026-12-05T17:00:00Z").unwrap();
        assert_eq!(
            EngineTimes::of(&inspect, early).since_start,
            Some(Duration::ZERO)
        );
        let blank = ContainerInspectResponse::default();
        assert_eq!(EngineTimes::of(&blank, now), EngineTimes::default());
    }

    #[test]
    fn a_due_check_counts_as_run_for_the_next_poll() {
        let runs = HealthRuns::default();
        let id = ContainerId::parse(&"ab".repeat(32)).unwrap();
        let old = EngineTimes {
            since_start: Some(S(3600)),
            since_last_check: None,
        };
        let now = Instant::now();
        assert!(runs.start_if_due(&id, &every(1), old, now));
        assert!(!runs.start_if_due(&id, &every(1), old, now + Duration::from_millis(500)));
        assert!(runs.start_if_due(&id, &every(1), old, now + S(1)));
    }
}
