//! The `network-faults` interface: helper containers in a granted
//! container's network namespace (tc, iptables) without tools in its image.
//!
//! A helper joins the target by its ID (`container:<ID>`), holds NET_ADMIN
//! and nothing else (`cap-drop ALL`, `no-new-privileges`), and is made from
//! an image the task grants explicitly in `allow.images`: a helper holds
//! NET_ADMIN inside the target's namespace, so no image gets that power
//! unless the task names it. Helpers carry labels naming their target, so
//! they can be found again; `remove` removes only those, and answers the
//! same `not-found` for anything else, existing or not.
//!
//! `stress` starts the other kind of helper (`stress.rs`): stress-ng placed
//! in the target's cgroup rather than its network namespace, with no
//! network and no capability at all.

mod cgroup;
mod stress;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bollard::models::{ContainerCreateBody, HostConfig};
use futures_util::StreamExt;
use wasmtime::component::Resource;

use crate::capability::containers::ContainerHandle;
use crate::capability::engine::backend::{Engine, EngineError};
use crate::capability::engine::ids::{ContainerId, ImageId};
use crate::capability::engine::limits;
use crate::capability::engine::resolve::listed;
use crate::capability::engine::stream::Tail;
use crate::capability::engine::{EngineHost, HostError, HostResult, Scope};
use crate::capability::images;
use crate::grant::image::ImageName;
use crate::grant::{Grant, GrantKind, Object, name};
use crate::plugin::bindings::network_faults::{
    HelperRequest, HelperResult, Host, StressError, StressPlacement, StressRequest,
};

pub const HELPER_LABEL: &str = "run.helper";
/// The `HELPER_LABEL` of network helpers and of stress helpers.
pub const NETNS_HELPER: &str = "netns";
pub const STRESS_HELPER: &str = "stress";
pub const TARGET_LABEL: &str = "run.netns.target";
pub const TARGET_ID_LABEL: &str = "run.netns.target-id";
/// The plugin's tag of a helper (e.g. the id of the fault it makes).
pub const TAG_LABEL: &str = "run.netns.tag";
/// The longest tag (lowercase ASCII letters and digits).
const MAX_TAG: usize = 16;

/// The output kept from a helper.
const MAX_OUTPUT: usize = 64 << 10;
/// The log lines asked for (the output is cut to `MAX_OUTPUT` anyway).
const OUTPUT_LINES: u32 = 10_000;
const DEFAULT_TIMEOUT: u32 = 60;

/// `<kind>-<target>[-<tag>]-<pid>-<millis>-<n>` (kind `run-netns` or
/// `run-stress`): unique per process, recognisable by people, and within
/// the engine's name grammar (the target's name is, and so is a tag). A
/// plugin finds the helpers of one tag again by that prefix, e.g. after the
/// runner was killed.
fn helper_name(kind: &str, target: &str, tag: Option<&str>) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() % 1_000_000)
        .unwrap_or_default();
    let target: String = target.chars().take(100).collect();
    let tag = tag.map(|t| format!("-{t}")).unwrap_or_default();
    format!("{kind}-{target}{tag}-{}-{millis}-{n}", std::process::id())
}

/// A tag is 1 to `MAX_TAG` lowercase ASCII letters and digits.
fn check_tag(tag: &str) -> HostResult<()> {
    if (1..=MAX_TAG).contains(&tag.len())
        && tag
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        Ok(())
    } else {
        Err(HostError::Unsupported(format!(
            "a network helper's tag is 1 to {MAX_TAG} lowercase letters and digits, not `{}`",
            tag.escape_debug()
        )))
    }
}

/// A started helper, removed when dropped (unless detached on purpose).
struct Started {
    engine: Arc<dyn Engine>,
    id: Option<ContainerId>,
}

impl Started {
    fn keep(mut self) {
        self.id = None;
    }

    async fn remove(mut self) {
        if let Some(id) = self.id.take()
            && let Err(e) = self.engine.remove_container(&id).await
        {
            tracing::warn!("cannot remove network helper {}: {e}", id.short());
        }
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        if let Some(id) = self.id.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let engine = self.engine.clone();
            runtime.spawn(async move {
                let _ = engine.remove_container(&id).await;
            });
        }
    }
}

impl Scope {
    /// The helper image: granted in `allow.images` (by the reference asked
    /// for, or one of its own tags for an ID), and present locally.
    async fn netns_helper_image(&self, engine: &dyn Engine, text: &str) -> HostResult<ImageId> {
        let name = self.image_name(text)?;
        let images = engine.list_images().await?;
        let found = images::find(&images, &name);
        let granted = match &name {
            ImageName::Reference(reference) => self.grants.allows_image(reference),
            ImageName::Id(_) => found.is_some_and(|image| {
                image
                    .repo_tags
                    .iter()
                    .filter_map(|t| crate::grant::image::ImageRef::parse(t).ok())
                    .any(|r| self.grants.allows_image(&r))
            }),
        };
        if !granted {
            let (shown, grant) = match &name {
                ImageName::Reference(r) => (
                    r.familiar(),
                    Some(Grant::new(GrantKind::Images, r.familiar())),
                ),
                ImageName::Id(_) => (text.to_owned(), None),
            };
            let denial = self
                .deny(Object::Image, &shown, grant)
                .because("a network helper's image must be granted in allow.images");
            return Err(denial.into());
        }
        found
            .and_then(|image| ImageId::parse(&image.id))
            .ok_or_else(|| HostError::not_found(Object::Image, text))
    }
}

/// The last `MAX_OUTPUT` bytes a container wrote.
async fn output(engine: &dyn Engine, id: &ContainerId) -> String {
    let mut stream = engine.logs(id, OUTPUT_LINES);
    let mut tail = Tail::new(MAX_OUTPUT);
    while let Some(Ok(chunk)) = stream.next().await {
        tail.push(&chunk);
    }
    tail.into_text()
}

impl EngineHost {
    async fn run_helper(
        &mut self,
        target: &ContainerHandle,
        request: HelperRequest,
    ) -> HostResult<HelperResult> {
        let engine = self.engine().await?;
        let image = self
            .scope
            .netns_helper_image(engine.as_ref(), &request.image)
            .await?;
        if request.command.is_empty() {
            return Err(HostError::Unsupported(
                "network-faults.run needs a command".into(),
            ));
        }
        if let Some(tag) = &request.tag {
            check_tag(tag)?;
        }
        self.refuse_in_plan("network-faults.run")?;
        let name = helper_name("run-netns", &target.name, request.tag.as_deref());
        let mut labels = HashMap::from([
            (HELPER_LABEL.to_owned(), NETNS_HELPER.to_owned()),
            (TARGET_LABEL.to_owned(), target.name.clone()),
            (TARGET_ID_LABEL.to_owned(), target.id.as_str().to_owned()),
        ]);
        if let Some(tag) = request.tag {
            labels.insert(TAG_LABEL.to_owned(), tag);
        }
        let body = ContainerCreateBody {
            image: Some(image.as_str().to_owned()),
            entrypoint: Some(Vec::new()),
            cmd: Some(request.command),
            labels: Some(labels),
            host_config: Some(HostConfig {
                network_mode: Some(format!("container:{}", target.id)),
                cap_drop: Some(vec!["ALL".into()]),
                cap_add: Some(vec!["NET_ADMIN".into()]),
                security_opt: Some(vec!["no-new-privileges".into()]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let id = engine
            .create_container(Some(&name), None, body)
            .await
            .map_err(|e| e.on(Object::Container, &target.name))?;
        let started = Started {
            engine: engine.clone(),
            id: Some(id.clone()),
        };
        engine.start_container(&id).await.map_err(|e| {
            HostError::Conflict(format!(
                "cannot start a network helper for `{}`: {e}",
                target.name
            ))
        })?;
        if request.detach {
            started.keep();
            return Ok(HelperResult {
                helper: name,
                exit_code: 0,
                output: String::new(),
            });
        }
        let limit = Duration::from_secs(request.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT).into());
        let waited = limits::within(
            format!("network helper for `{}`", target.name),
            limit,
            engine.wait_container(&id),
        )
        .await;
        let result = match waited {
            Ok(exit_code) => Ok(HelperResult {
                helper: name,
                exit_code,
                output: output(engine.as_ref(), &id).await,
            }),
            Err(e) => Err(HostError::from(e)),
        };
        // Removing a running helper kills it.
        started.remove().await;
        result
    }
}

impl Scope {
    /// `helper` when it is a helper of a container the task may reach:
    /// labelled as one, and sharing the network namespace of a container (by
    /// the ID in its network mode, as the engine records it), or for a
    /// stress helper placed in its cgroup (by the ID ending its cgroup
    /// parent), whose canonical name the task grants.
    async fn own_helper(&self, engine: &dyn Engine, helper: &str) -> Option<ContainerId> {
        let found = listed(engine.list_containers().await.ok()?)
            .into_iter()
            .find(|c| c.name == helper)?;
        let labels = found.summary.labels.clone().unwrap_or_default();
        let kind = labels.get(HELPER_LABEL).map(String::as_str);
        if kind != Some(NETNS_HELPER) && kind != Some(STRESS_HELPER) {
            return None;
        }
        let inspect = engine.inspect_container(&found.id).await.ok()?;
        let host = inspect.host_config?;
        let target = if kind == Some(STRESS_HELPER) {
            cgroup::owner(&host.cgroup_parent?)?
        } else {
            ContainerId::parse(host.network_mode?.strip_prefix("container:")?)?
        };
        let target = match engine.inspect_container(&target).await {
            Ok(inspect) => inspect,
            // A stress helper outlives a target removed under it (its cgroup
            // stays while the helper is in it): it is known then by the name
            // the host labelled it with, for the very ID its cgroup names.
            Err(EngineError::NotFound(_)) if kind == Some(STRESS_HELPER) => {
                let same = labels.get(TARGET_ID_LABEL).map(String::as_str) == Some(target.as_str());
                let name = labels.get(TARGET_LABEL)?;
                return (same && self.grants.allows_container(name)).then_some(found.id);
            }
            Err(_) => return None,
        };
        let target_name = target.name?;
        let target_name = target_name.strip_prefix('/').unwrap_or(&target_name);
        self.grants
            .allows_container(target_name)
            .then_some(found.id)
    }
}

impl Host for EngineHost {
    async fn run(
        &mut self,
        target: Resource<ContainerHandle>,
        request: HelperRequest,
    ) -> HostResult<HelperResult> {
        let target = self.handle(&target)?;
        self.run_helper(&target, request).await
    }

    async fn remove(&mut self, helper: String) -> HostResult<()> {
        // One answer for everything that is not a helper of a granted
        // container, existing or not: nothing to learn from it.
        let not_found = || HostError::not_found(Object::NetworkHelper, &helper);
        if name::check_name(&helper).is_err() {
            return Err(not_found());
        }
        self.refuse_in_plan("network-faults.remove")?;
        let engine = self.engine().await?;
        let id = self
            .scope
            .own_helper(engine.as_ref(), &helper)
            .await
            .ok_or_else(not_found)?;
        engine.remove_container(&id).await.map_err(|_| not_found())
    }

    async fn helpers(&mut self, target: Resource<ContainerHandle>) -> HostResult<Vec<String>> {
        let target = self.handle(&target)?;
        let engine = self.engine().await?;
        let mode = format!("container:{}", target.id);
        let mut names = Vec::new();
        for c in listed(engine.list_containers().await?) {
            let helper = c.summary.labels.as_ref().and_then(|l| l.get(HELPER_LABEL));
            if helper.map(String::as_str) == Some(STRESS_HELPER) {
                // In the target's cgroup: by the ID ending its cgroup parent.
                let parent = match engine.inspect_container(&c.id).await {
                    Ok(inspect) => inspect.host_config.and_then(|h| h.cgroup_parent),
                    Err(EngineError::NotFound(_)) => None,
                    Err(e) => return Err(e.into()),
                };
                if parent.and_then(|p| cgroup::owner(&p)).as_ref() == Some(&target.id) {
                    names.push(c.name);
                }
                continue;
            }
            if helper.map(String::as_str) != Some(NETNS_HELPER) {
                continue;
            }
            // Podman lists no HostConfig: its inspect has the network mode.
            let joined = match c.summary.host_config.and_then(|h| h.network_mode) {
                Some(listed) => Some(listed),
                None => match engine.inspect_container(&c.id).await {
                    Ok(inspect) => inspect.host_config.and_then(|h| h.network_mode),
                    // Removed meanwhile: not a helper any more.
                    Err(EngineError::NotFound(_)) => None,
                    Err(e) => return Err(e.into()),
                },
            };
            if joined.as_ref() == Some(&mode) {
                names.push(c.name);
            }
        }
        names.sort();
        Ok(names)
    }

    async fn stress(
        &mut self,
        target: Resource<ContainerHandle>,
        request: StressRequest,
    ) -> wasmtime::Result<Result<StressPlacement, StressError>> {
        let result = match self.handle(&target) {
            Ok(target) => self.start_stress_helper(&target, request).await,
            Err(e) => Err(e.into()),
        };
        match result {
            Ok(placement) => Ok(Ok(placement)),
            Err(failure) => Ok(Err(failure.into_wit()?)),
        }
    }

    async fn plan_stress(
        &mut self,
        target: Resource<ContainerHandle>,
        request: StressRequest,
    ) -> wasmtime::Result<Result<StressPlacement, StressError>> {
        let result = match self.handle(&target) {
            Ok(target) => self.plan_stress_helper(&target, request).await,
            Err(e) => Err(e.into()),
        };
        match result {
            Ok(placement) => Ok(Ok(placement)),
            Err(failure) => Ok(Err(failure.into_wit()?)),
        }
    }
}
