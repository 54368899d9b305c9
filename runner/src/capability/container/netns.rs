//! Helpers in a granted container's network namespace (added for the chaos
//! plugin): tc and iptables run there without any tool in the target's image.
//!
//! The helper image must be granted in `allow.images`, like every image a
//! task creates containers from: a helper holds NET_ADMIN inside the target's
//! namespace, so no image gets that power unless the task names it.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{ContainerHost, engine, engine_error, json};
use crate::plugin::bindings::container::{ContainerError, NetnsRequest, NetnsResult};

/// Labels every helper carries, so it can be found again (recovery) and only
/// helpers are ever removed through `netns-remove`.
pub const HELPER_LABEL: &str = "run.helper";
pub const TARGET_LABEL: &str = "run.netns.target";

/// The captured output kept from a helper.
const MAX_OUTPUT: usize = 64 << 10;
const DEFAULT_TIMEOUT: u32 = 60;

pub struct NetnsSpec {
    pub name: String,
    pub target: String,
    pub image: String,
    pub command: Vec<String>,
}

/// `run-netns-<target>-<pid><n>`: unique per process, recognisable by people.
fn helper_name(target: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() % 1_000_000)
        .unwrap_or_default();
    format!(
        "run-netns-{}-{}-{millis}-{n}",
        target.trim_start_matches('/'),
        std::process::id()
    )
}

impl ContainerHost {
    fn check_helper_image(&self, image: &str) -> Result<(), ContainerError> {
        if self.stack.allows_image(image) {
            return Ok(());
        }
        Err(ContainerError::Denied(format!(
            "helper image `{image}` is not granted to task `{}`; add it to the task: allow = {{ images = [\"{image}\"] }}",
            self.task
        )))
    }

    pub(super) async fn run_in_netns(
        &self,
        target: &str,
        request: NetnsRequest,
    ) -> Result<NetnsResult, ContainerError> {
        self.check(target)?;
        self.refuse_in_dry_run("netns-run")?;
        self.check_helper_image(&request.image)?;
        if request.command.is_empty() {
            return Err(ContainerError::Unsupported(
                "netns-run needs a command".into(),
            ));
        }
        let engine = engine().await?;
        let name = helper_name(target);
        let spec = NetnsSpec {
            name: name.clone(),
            target: target.trim_start_matches('/').to_owned(),
            image: request.image,
            command: request.command,
        };
        engine.netns_helper(spec).await.map_err(|e| match e {
            super::engine::EngineError::NotFound(m) => ContainerError::NotFound(m),
            other => ContainerError::Engine(format!(
                "cannot start a network helper for `{target}`: {other}"
            )),
        })?;
        if request.detach {
            return Ok(NetnsResult {
                helper: name,
                exit_code: 0,
                output: String::new(),
            });
        }
        let limit = Duration::from_secs(request.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT).into());
        let started = Instant::now();
        let result = loop {
            let inspect = match engine.inspect(&name).await {
                Ok(inspect) => inspect,
                Err(e) => break Err(engine_error(e)),
            };
            if inspect.pointer("/State/Running").and_then(Value::as_bool) != Some(true) {
                let exit_code = inspect
                    .pointer("/State/ExitCode")
                    .and_then(Value::as_i64)
                    .unwrap_or(-1);
                let mut output = engine.logs(&name, 2000).await.unwrap_or_default();
                if output.len() > MAX_OUTPUT {
                    let mut cut = output.len() - MAX_OUTPUT;
                    while !output.is_char_boundary(cut) {
                        cut += 1;
                    }
                    output = output.split_off(cut);
                }
                break Ok(NetnsResult {
                    helper: name.clone(),
                    exit_code,
                    output,
                });
            }
            if started.elapsed() >= limit {
                break Err(ContainerError::Timeout(format!(
                    "network helper for `{target}` did not finish within {}s",
                    limit.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let _ = engine.remove(&name).await;
        result
    }

    pub(super) async fn remove_netns_helper(&self, helper: &str) -> Result<(), ContainerError> {
        self.refuse_in_dry_run("netns-remove")?;
        let engine = engine().await?;
        let inspect = engine.inspect(helper).await.map_err(engine_error)?;
        let label = |key: &str| {
            inspect
                .pointer(&format!("/Config/Labels/{}", key.replace('/', "~1")))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        if label(HELPER_LABEL).as_deref() != Some("netns") {
            return Err(ContainerError::Denied(format!(
                "`{helper}` is not a network helper; netns-remove removes only those"
            )));
        }
        let target = label(TARGET_LABEL).unwrap_or_default();
        self.check(&target)?;
        engine.remove(helper).await.map_err(engine_error)
    }

    pub(super) async fn netns_helpers_of(
        &self,
        target: &str,
    ) -> Result<Vec<String>, ContainerError> {
        self.check(target)?;
        let target = target.trim_start_matches('/');
        let all = engine().await?.containers().await.map_err(engine_error)?;
        Ok(all
            .iter()
            .filter(|c| {
                c.pointer(&format!("/Labels/{HELPER_LABEL}"))
                    .and_then(Value::as_str)
                    == Some("netns")
                    && c.pointer(&format!("/Labels/{TARGET_LABEL}"))
                        .and_then(Value::as_str)
                        == Some(target)
            })
            .map(json::summary_name)
            .collect())
    }
}
