//! A service's `build:` as the Compose Specification defines it: the short
//! form (`build: ./dir`, the context) and the long form.

use serde_yaml_ng::Value;

use super::{Reader, get, join};

/// What a service's image is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    /// The context, relative to the Compose file's directory.
    pub context: String,
    pub dockerfile: Option<String>,
    pub dockerfile_inline: Option<String>,
    /// `args`, a `KEY` without a value taken from the environment (and left
    /// out when unset), as Compose does.
    pub args: Vec<(String, String)>,
    pub target: Option<String>,
    pub labels: Vec<(String, String)>,
}

/// Keys of `build` this plugin reads.
const KEYS: &[&str] = &[
    "context",
    "dockerfile",
    "dockerfile_inline",
    "args",
    "target",
    "labels",
    // Read, no effect (noted): they tune the builder, not the image.
    "cache_from",
    "cache_to",
    "no_cache",
    "pull",
    "network",
    "platforms",
];

/// Keys of `build` it cannot honour, with why.
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "tags",
        "the image is tagged with `image` (or PROJECT-SERVICE) only",
    ),
    (
        "ssh",
        "a BuildKit feature: builds go through the engine's classic builder, which forwards no SSH agent or key; fetch what needs SSH before the build and COPY it from the context",
    ),
    ("secrets", "the classic builder has no build secrets"),
    (
        "additional_contexts",
        "a BuildKit feature: the engine's classic builder has one context; for `service:NAME`, give that service an `image:` name, FROM that name and depend on the service",
    ),
    ("extra_hosts", "not passed to the builder"),
    ("shm_size", "not passed to the builder"),
    ("ulimits", "not passed to the builder"),
    ("isolation", "Windows containers are not supported"),
    (
        "privileged",
        "a BuildKit entitlement: no build runs privileged (it would need the engine's --allow-insecure-entitlement and no grant can give it)",
    ),
    (
        "entitlements",
        "BuildKit entitlements: no build runs privileged or on the host's network (they would need the engine's --allow-insecure-entitlement and no grant can give them)",
    ),
    ("provenance", "no attestations are made"),
    ("sbom", "no attestations are made"),
];

impl Reader<'_> {
    pub(super) fn build(&mut self, value: &Value, path: &str) -> Result<Build, String> {
        let mut build = Build {
            context: ".".into(),
            dockerfile: None,
            dockerfile_inline: None,
            args: Vec::new(),
            target: None,
            labels: Vec::new(),
        };
        let Some(map) = value.as_mapping() else {
            build.context = self.text(value, path)?;
            check_context(&build.context, path)?;
            return Ok(build);
        };
        self.keys(map, KEYS, UNSUPPORTED, path);
        let at = |k: &str| join(path, k);
        if let Some(v) = get(map, "context") {
            build.context = self.text(v, &at("context"))?;
            check_context(&build.context, &at("context"))?;
        }
        if let Some(v) = get(map, "dockerfile") {
            build.dockerfile = Some(self.text(v, &at("dockerfile"))?);
        }
        if let Some(v) = get(map, "dockerfile_inline") {
            build.dockerfile_inline = Some(self.text(v, &at("dockerfile_inline"))?);
        }
        if let Some(v) = get(map, "args") {
            build.args = self.pairs(v, &at("args"), true)?;
        }
        if let Some(v) = get(map, "target") {
            build.target = Some(self.text(v, &at("target"))?).filter(|t| !t.is_empty());
        }
        if let Some(v) = get(map, "labels") {
            build.labels = self.pairs(v, &at("labels"), false)?;
        }
        for key in [
            "cache_from",
            "cache_to",
            "no_cache",
            "pull",
            "network",
            "platforms",
        ] {
            if get(map, key).is_some() {
                self.notes.push(format!(
                    "{} (the engine's classic builder and its cache are used)",
                    at(key)
                ));
            }
        }
        Ok(build)
    }
}

/// A context is a directory of the project: a Git URL or an HTTP(S) archive
/// would be fetched by the engine, outside the task's grants.
fn check_context(context: &str, path: &str) -> Result<(), String> {
    let remote = ["http://", "https://", "git://", "git@", "ssh://"];
    if remote.iter().any(|r| context.starts_with(r)) || context.contains(".git#") {
        return Err(format!(
            "{path}: remote build context `{context}` is not supported: clone it into the project and give its directory"
        ));
    }
    if context.is_empty() {
        return Err(format!("{path}: the build context is empty"));
    }
    Ok(())
}
