//! `build:` services: each image built, or found built from the same
//! context, through the host's `images.build`, before anything is pulled or
//! created. The image is the service's `image`, else `PROJECT-SERVICE`, as
//! Compose v2 names it. Without `--build` an image is rebuilt only when the
//! digest of its context, Dockerfile and options differs from the one it
//! was built from (Compose rebuilds only a missing image unless told;
//! rebuilding on a change is what `docker compose up --build` is used for,
//! without paying for a build each time); `--build` builds anyway (the
//! engine's layer cache still applies).

use std::collections::BTreeMap;

use run_plugin_sdk::images::{self, BuildOutcome, BuildRequest, BuildResult};
use run_plugin_sdk::{Error, log};

use crate::config::Config;
use crate::plan::Plan;

/// Each built service's result, by service name.
pub type Built = BTreeMap<String, BuildResult>;

/// Builds (or, under `--plan`, checks) every service with `build`, each
/// image once.
pub fn run(config: &Config, plan: &Plan, always: bool) -> Result<Built, Error> {
    let mut built = Built::new();
    let mut by_tag: BTreeMap<String, BuildResult> = BTreeMap::new();
    for service in &plan.services {
        let Some(build) = &service.service.build else {
            continue;
        };
        let name = &service.service.name;
        let image = &service.spec.image;
        if let Some(done) = by_tag.get(image) {
            built.insert(name.clone(), done.clone());
            continue;
        }
        let context = config.relative_to_file(&build.context);
        let request = BuildRequest {
            context: context.clone(),
            dockerfile: build.dockerfile.clone(),
            dockerfile_inline: build.dockerfile_inline.clone(),
            args: build.args.clone(),
            target: build.target.clone(),
            labels: build.labels.clone(),
            tag: image.clone(),
            always,
            timeout_seconds: config.build_timeout,
        };
        let result = images::build(&request).map_err(|e| e.context(format!("service `{name}`")))?;
        match result.outcome {
            BuildOutcome::Built => log::info(format!(
                "{name}: built {image} from {context} ({})",
                short(result.id.as_deref().unwrap_or_default())
            )),
            BuildOutcome::Unchanged => log::info(format!(
                "{name}: image up to date ({image}, built from the same context)"
            )),
            BuildOutcome::WouldBuild => {}
        }
        by_tag.insert(image.clone(), result.clone());
        built.insert(name.clone(), result);
    }
    Ok(built)
}

/// How the plan shows a service's build.
pub fn describe(config: &Config, plan: &Plan, built: &Built, service: &str) -> Option<String> {
    let planned = plan.service(service);
    let build = planned.service.build.as_ref()?;
    let result = built.get(service)?;
    let context = config.relative_to_file(&build.context);
    let mut text = match result.outcome {
        BuildOutcome::WouldBuild => format!("would build from {context}"),
        BuildOutcome::Unchanged => format!("built from {context}, up to date"),
        BuildOutcome::Built => format!("built from {context}"),
    };
    if !result.missing_bases.is_empty() {
        text.push_str(&format!(
            "; base images not here, pulled first: {}",
            result.missing_bases.join(", ")
        ));
    }
    Some(text)
}

fn short(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}
