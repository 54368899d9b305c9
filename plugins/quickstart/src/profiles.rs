//! Compose profiles: a service with `profiles` runs only when one of them is
//! enabled (the task's `profiles`, or `COMPOSE_PROFILES`; `*` enables all).

use crate::compose::{Problems, Stack};
use crate::config::Config;

/// Drops the services whose profiles are all disabled; a service that stays
/// and requires one of them is a problem.
pub fn apply(
    stack: &mut Stack,
    config: &Config,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), Problems> {
    let mut active: Vec<String> = config.profiles.clone();
    if let Some(list) = lookup("COMPOSE_PROFILES") {
        active.extend(
            list.split(',')
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty()),
        );
    }
    let enabled = |profiles: &[String]| {
        profiles.is_empty()
            || active.iter().any(|a| a == "*")
            || profiles.iter().any(|p| active.contains(p))
    };
    let (kept, dropped): (Vec<_>, Vec<_>) = std::mem::take(&mut stack.services)
        .into_iter()
        .partition(|s| enabled(&s.profiles));
    let mut problems = Vec::new();
    for service in &kept {
        for dep in service.depends_on.iter().filter(|d| d.required) {
            if let Some(off) = dropped.iter().find(|s| s.name == dep.service) {
                problems.push(format!(
                    "services.{}.depends_on: service `{}` is only in profile {} (enable it with `profiles` in the task's config or COMPOSE_PROFILES)",
                    service.name,
                    off.name,
                    off.profiles.join(", ")
                ));
            }
        }
    }
    if kept.is_empty() && problems.is_empty() {
        problems.push(format!(
            "every service is in a disabled profile ({}): enable one with `profiles` in the task's config or COMPOSE_PROFILES",
            dropped
                .iter()
                .flat_map(|s| s.profiles.iter().cloned())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    stack.services = kept;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}
