//! `network-faults.stress`: stress-ng in a helper placed in the target's
//! cgroup (Pumba's `stress`), so the load counts against the target's CPU
//! and memory limits. The host resolves the cgroup itself (`cgroup.rs`)
//! from the granted target; the plugin gives numbers only, and the host
//! writes the command from them.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HostConfig};

use super::cgroup::{self, Facts};
use super::{
    HELPER_LABEL, STRESS_HELPER, Started, TAG_LABEL, TARGET_ID_LABEL, TARGET_LABEL, check_tag,
    helper_name,
};
use crate::capability::containers::ContainerHandle;
use crate::capability::engine::backend::EngineError;
use crate::capability::engine::{EngineHost, HostError, HostResult};
use crate::grant::Object;
use crate::plugin::bindings::network_faults::{
    StressError, StressPlacement, StressRequest, Unplaceable,
};

/// The most CPU workers one request may start.
const MAX_CPU_WORKERS: u32 = 1024;
/// The longest stress (a day): stress-ng's own timeout bounds every helper.
const MAX_TIMEOUT: u32 = 86_400;
/// The helper's user: nobody.
const NOBODY: &str = "65534:65534";

/// Why a stress failed, before it is converted to the WIT's `stress-error`.
pub enum Failure {
    Host(HostError),
    Unplaceable(Unplaceable),
    NoStressNg(String),
}

impl From<HostError> for Failure {
    fn from(e: HostError) -> Failure {
        Failure::Host(e)
    }
}

impl From<EngineError> for Failure {
    fn from(e: EngineError) -> Failure {
        Failure::Host(e.into())
    }
}

impl Failure {
    pub fn into_wit(self) -> wasmtime::Result<StressError> {
        Ok(match self {
            Failure::Host(e) => StressError::Engine(e.into_wit()?),
            Failure::Unplaceable(u) => StressError::Unplaceable(u),
            Failure::NoStressNg(image) => StressError::NoStressNg(image),
        })
    }
}

/// The request's numbers, checked.
fn check(request: &StressRequest) -> HostResult<()> {
    let bad = |why: String| Err(HostError::Unsupported(format!("stress: {why}")));
    if request.cpu_workers == 0 && request.memory_bytes == 0 {
        return bad("give CPU workers or memory bytes (or both)".into());
    }
    if request.cpu_workers > MAX_CPU_WORKERS {
        return bad(format!(
            "{} CPU workers is more than {MAX_CPU_WORKERS}",
            request.cpu_workers
        ));
    }
    if request.cpu_workers > 0 && !(1..=100).contains(&request.cpu_load) {
        return bad(format!(
            "a CPU load of {}% is not between 1 and 100",
            request.cpu_load
        ));
    }
    if !(1..=MAX_TIMEOUT).contains(&request.timeout_seconds) {
        return bad(format!(
            "a timeout of {} s is not between 1 s and {MAX_TIMEOUT} s",
            request.timeout_seconds
        ));
    }
    check_tag(&request.tag)
}

/// Whether the engine's refusal to start the helper says stress-ng is missing.
fn missing_program(message: &str) -> bool {
    message.contains("stress-ng")
        && (message.contains("not found") || message.contains("no such file"))
}

impl EngineHost {
    /// Everything but the start: the image's grant, the request, the target
    /// (running) and its cgroup, the command.
    async fn place_stress(
        &mut self,
        target: &ContainerHandle,
        request: &StressRequest,
    ) -> Result<(StressPlacement, bollard::models::ContainerCreateBody), Failure> {
        let engine = self.engine().await?;
        let image = self
            .scope
            .netns_helper_image(engine.as_ref(), &request.image)
            .await?;
        check(request)?;
        let inspect = engine
            .inspect_container(&target.id)
            .await
            .map_err(|e| e.on(Object::Container, &target.name))?;
        let state = inspect.state.unwrap_or_default();
        if state.running != Some(true) {
            return Err(HostError::Conflict(format!(
                "cannot stress `{}`: it is not running (a stopped container has no cgroup to load)",
                target.name
            ))
            .into());
        }
        let facts = Facts::of(&engine.product().await?, &engine.info().await?);
        let own_parent = inspect
            .host_config
            .and_then(|h| h.cgroup_parent)
            .unwrap_or_default();
        let unplaceable = |reason: String| {
            Failure::Unplaceable(Unplaceable {
                container: target.name.clone(),
                engine: facts.engine.to_owned(),
                cgroup_driver: facts.driver.clone(),
                cgroup_version: facts.version.clone(),
                rootless: facts.rootless,
                reason,
            })
        };
        let parent =
            cgroup::target_cgroup(&facts, target.id.as_str(), &own_parent).map_err(unplaceable)?;
        // Where the engine is local, the target's first process tells where
        // it really is (a daemon started with a cgroup parent of its own
        // puts containers elsewhere).
        if engine.is_local()
            && let Some(pid) = state.pid.filter(|p| *p > 0)
            && let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
            && cgroup::matches_proc(&text, &parent) == Some(false)
        {
            return Err(unplaceable(format!(
                "the target's processes are not in `{parent}`, where {} puts a container by default \
                 (the daemon has a cgroup parent of its own?): /proc/{pid}/cgroup says\n{}",
                facts.engine,
                text.trim_end()
            )));
        }
        let command = cgroup::command(
            request.cpu_workers,
            request.cpu_load,
            request.memory_bytes,
            request.timeout_seconds,
        );
        let labels = HashMap::from([
            (HELPER_LABEL.to_owned(), STRESS_HELPER.to_owned()),
            (TARGET_LABEL.to_owned(), target.name.clone()),
            (TARGET_ID_LABEL.to_owned(), target.id.as_str().to_owned()),
            (TAG_LABEL.to_owned(), request.tag.clone()),
        ]);
        let body = ContainerCreateBody {
            image: Some(image.as_str().to_owned()),
            entrypoint: Some(Vec::new()),
            cmd: Some(command.clone()),
            user: Some(NOBODY.to_owned()),
            working_dir: Some("/tmp".to_owned()),
            labels: Some(labels),
            host_config: Some(HostConfig {
                cgroup_parent: Some(parent.clone()),
                network_mode: Some("none".to_owned()),
                cap_drop: Some(vec!["ALL".into()]),
                security_opt: Some(vec!["no-new-privileges".into()]),
                ..Default::default()
            }),
            ..Default::default()
        };
        Ok((
            StressPlacement {
                cgroup_parent: parent,
                command,
                helper: String::new(),
            },
            body,
        ))
    }

    pub(super) async fn plan_stress_helper(
        &mut self,
        target: &ContainerHandle,
        request: StressRequest,
    ) -> Result<StressPlacement, Failure> {
        Ok(self.place_stress(target, &request).await?.0)
    }

    pub(super) async fn start_stress_helper(
        &mut self,
        target: &ContainerHandle,
        request: StressRequest,
    ) -> Result<StressPlacement, Failure> {
        let (mut placement, body) = self.place_stress(target, &request).await?;
        self.refuse_in_plan("network-faults.stress")?;
        let engine = self.engine().await?;
        let name = helper_name("run-stress", &target.name, Some(&request.tag));
        let id = engine
            .create_container(Some(&name), None, body)
            .await
            .map_err(|e| e.on(Object::Container, &target.name))?;
        let started = Started {
            engine: engine.clone(),
            id: Some(id.clone()),
        };
        if let Err(e) = engine.start_container(&id).await {
            let message = e.to_string();
            started.remove().await;
            if missing_program(&message.to_ascii_lowercase()) {
                return Err(Failure::NoStressNg(request.image));
            }
            return Err(HostError::Conflict(format!(
                "cannot start the stress helper for `{}`: {message}",
                target.name
            ))
            .into());
        }
        started.keep();
        placement.helper = name;
        Ok(placement)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_saying_stress_ng_is_missing_is_recognised() {
        assert!(missing_program(
            "oci runtime create failed: exec: \"stress-ng\": executable file not found in $path: unknown"
        ));
        assert!(!missing_program(
            "oci runtime create failed: permission denied"
        ));
    }
}
