//! `images.build`: Compose's `build:` through the engine's classic builder.
//!
//! Order, as every engine call: the tag is checked against the reference
//! grammar and `allow.images`; the context is resolved to its canonical path
//! and checked against the read grants (`paths::bind_source`), then opened
//! by descriptor; the Dockerfile is read beneath it (or, outside it, through
//! the read grants); each base image (`FROM`) is checked against
//! `allow.images` and looked up locally. Only then is the context digested
//! (an unchanged one is not built again), archived on a blocking thread and
//! streamed to the engine in chunks.

mod context;
mod dockerfile;
mod ignore;

use std::collections::HashMap;
use std::path::{Component, Path};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use super::{find, pull};
use crate::capability::engine::backend::{BuildOptions, Engine, EngineError};
use crate::capability::engine::{HostError, HostResult, Scope};
use crate::capability::log::emit;
use crate::capability::paths::{self, PathError};
use crate::grant::image::ImageName;
use crate::grant::{Grant, GrantKind, Object};
use crate::plugin::bindings::images::{BuildOutcome, BuildRequest, BuildResult};
use crate::plugin::bindings::log::Level;

/// The label that keeps, on a built image, the digest it was built from.
pub const DIGEST_LABEL: &str = "run.build.digest";

/// The largest Dockerfile read (a Dockerfile is text; this bounds memory).
const DOCKERFILE_LIMIT: u64 = 1 << 20;

/// The Dockerfile as the engine will read it.
struct Dockerfile {
    /// Its path in the archive.
    name: String,
    text: String,
    /// Not in the context directory: added to the archive.
    extra: Option<context::Extra>,
}

pub async fn build(
    scope: &Scope,
    engine: &dyn Engine,
    request: BuildRequest,
) -> HostResult<BuildResult> {
    let limit = Duration::from_secs(request.timeout_seconds.max(1).into());
    match tokio::time::timeout(limit, build_within(scope, engine, request.clone())).await {
        Ok(result) => result,
        Err(_) => Err(HostError::Timeout {
            operation: format!("building image `{}`", request.tag),
            limit,
        }),
    }
}

async fn build_within(
    scope: &Scope,
    engine: &dyn Engine,
    request: BuildRequest,
) -> HostResult<BuildResult> {
    let name = scope.image_name(&request.tag)?;
    let ImageName::Reference(reference) = &name else {
        return Err(HostError::invalid(
            Object::Image,
            &request.tag,
            "a build is tagged with a name (`name:tag`), not an image ID",
        ));
    };
    if !scope.grants.allows_image(reference) {
        return Err(scope.deny_image(&name, &request.tag));
    }
    let tag = reference.familiar();

    let context_guest = request.context.clone();
    let canonical = paths::bind_source(&scope.preopens, &context_guest, false)
        .map_err(|e| context_error(scope, e))?;
    let context = {
        let canonical = canonical.clone();
        blocking(move || context::open(&canonical))
            .await
            .map_err(|e| HostError::io(&context_guest, e))?
    };
    let dockerfile = dockerfile(scope, &context, &request).await?;
    let ignore = {
        let text = context::read_file(&context, ".dockerignore")
            .map_err(|e| HostError::io(&format!("{context_guest}/.dockerignore"), e))?;
        let text = String::from_utf8_lossy(&text.unwrap_or_default()).into_owned();
        ignore::Ignore::parse(&text, &[dockerfile.name.as_str(), ".dockerignore"])
            .map_err(|e| HostError::io(&format!("{context_guest}/.dockerignore"), e))?
    };

    // Base images: granted, and here or to be pulled first.
    let mut missing = Vec::new();
    for base in dockerfile::bases(&dockerfile.text, &request.args) {
        let image = base.image.map_err(|text| {
            HostError::Conflict(format!(
                "Dockerfile line {}: FROM `{text}` uses a build argument with no value: give it in `args`",
                base.line
            ))
        })?;
        match scope.reachable_image(engine, &image).await {
            Ok(_) => {}
            Err(HostError::NotFound { .. }) => missing.push((image, base.line)),
            Err(e) => return Err(e),
        }
    }

    let digest = {
        let context = context
            .try_clone()
            .map_err(|e| HostError::io(&context_guest, e))?;
        let ignore = ignore.clone();
        let extra = options_text(&request, &dockerfile);
        blocking(move || context::digest(&context, &ignore, extra.as_bytes()))
            .await
            .map_err(|e| HostError::io(&context_guest, e))?
    };
    let missing_bases: Vec<String> = missing.iter().map(|(i, _)| i.clone()).collect();

    if !request.always {
        let images = engine.list_images().await?;
        if let Some(image) = find(&images, &name)
            && image.labels.get(DIGEST_LABEL) == Some(&digest)
        {
            return Ok(BuildResult {
                outcome: BuildOutcome::Unchanged,
                id: Some(image.id.clone()),
                digest,
                missing_bases,
            });
        }
    }
    if scope.plan {
        return Ok(BuildResult {
            outcome: BuildOutcome::WouldBuild,
            id: None,
            digest,
            missing_bases,
        });
    }

    for (image, line) in &missing {
        let Ok(ImageName::Reference(base)) = ImageName::parse(image) else {
            continue;
        };
        emit(
            &scope.task,
            Level::Info,
            &format!("build {tag}: pulling base image {image}"),
        );
        pull::pull(engine, &scope.task, &base, Duration::from_secs(600))
            .await
            .map_err(|e| {
                HostError::Conflict(format!(
                    "base image `{image}` (FROM, Dockerfile line {line}) is not on this machine, and {e}"
                ))
            })?;
    }

    let mut labels: HashMap<String, String> = request.labels.iter().cloned().collect();
    labels.insert(DIGEST_LABEL.to_owned(), digest.clone());
    let options = BuildOptions {
        dockerfile: dockerfile.name.clone(),
        tag: tag.clone(),
        args: request.args.iter().cloned().collect(),
        target: request.target.clone(),
        labels,
    };
    let (body, archived) = context::stream(context, ignore, dockerfile.extra);
    let mut step = String::new();
    let mut failure: Option<String> = None;
    let task = scope.task.clone();
    let mut progress = |info: bollard::models::BuildInfo| {
        if let Some(text) = &info.stream {
            for line in text.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
                if line.starts_with("Step ") {
                    step = line.to_owned();
                }
                emit(&task, Level::Info, &format!("build {tag}: {line}"));
            }
        }
        if let Some(detail) = info.error_detail {
            failure = Some(detail.message.unwrap_or_default());
        }
    };
    let built = engine.build_image(options, body, &mut progress).await;
    let archived = archived
        .await
        .map_err(|e| HostError::io(&request.context, e))?;
    if let Err(e) = archived
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(HostError::io(&request.context, e));
    }
    let at = if step.is_empty() {
        String::new()
    } else {
        format!(" at `{step}`")
    };
    match built {
        Err(EngineError::Failed { message, .. } | EngineError::NotFound(message)) => {
            return Err(HostError::Conflict(format!(
                "building image `{tag}` failed{at}: {message}"
            )));
        }
        Err(other) => return Err(other.into()),
        Ok(()) => {}
    }
    if let Some(message) = failure {
        return Err(HostError::Conflict(format!(
            "building image `{tag}` failed{at}: {}",
            message.trim()
        )));
    }
    let images = engine.list_images().await?;
    let image = find(&images, &name).ok_or_else(|| {
        HostError::Conflict(format!(
            "the engine reported no error but there is no image `{tag}` after the build"
        ))
    })?;
    Ok(BuildResult {
        outcome: BuildOutcome::Built,
        id: Some(image.id.clone()),
        digest,
        missing_bases,
    })
}

/// The Dockerfile: inline, beneath the context, or elsewhere in the read
/// grants (then added to the archive under a generated name).
async fn dockerfile(
    scope: &Scope,
    context: &std::os::fd::OwnedFd,
    request: &BuildRequest,
) -> HostResult<Dockerfile> {
    let generated = |text: &str| {
        let hash = hex::encode(Sha256::digest(text.as_bytes()));
        format!(".run-dockerfile-{}", &hash[..12])
    };
    if let Some(text) = &request.dockerfile_inline {
        let name = generated(text);
        return Ok(Dockerfile {
            extra: Some(context::Extra {
                path: name.clone(),
                contents: text.as_bytes().to_vec(),
            }),
            name,
            text: text.clone(),
        });
    }
    let relative = request.dockerfile.as_deref().unwrap_or("Dockerfile");
    let path = Path::new(relative);
    let beneath = !relative.is_empty()
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if beneath {
        let guest = format!("{}/{relative}", request.context);
        let bytes = context::read_file(context, relative)
            .map_err(|e| HostError::io(&guest, e))?
            .ok_or_else(|| HostError::io(&guest, "no such Dockerfile"))?;
        if bytes.len() as u64 > DOCKERFILE_LIMIT {
            return Err(HostError::io(&guest, "larger than 1 MiB: not a Dockerfile"));
        }
        let name = path
            .components()
            .filter_map(|c| match c {
                Component::Normal(n) => n.to_str(),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("/");
        return Ok(Dockerfile {
            name,
            text: String::from_utf8_lossy(&bytes).into_owned(),
            extra: None,
        });
    }
    // Outside the context: a file the task may read, sent under a generated name.
    let guest = if path.is_absolute() {
        relative.to_owned()
    } else {
        format!("{}/{relative}", request.context)
    };
    let file = paths::open_read(&scope.preopens, &guest)
        .await
        .map_err(|e| scope.path_error(e))?;
    let mut bytes = Vec::new();
    file.take(DOCKERFILE_LIMIT + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| HostError::io(&guest, e))?;
    if bytes.len() as u64 > DOCKERFILE_LIMIT {
        return Err(HostError::io(&guest, "larger than 1 MiB: not a Dockerfile"));
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let name = generated(&text);
    Ok(Dockerfile {
        extra: Some(context::Extra {
            path: name.clone(),
            contents: bytes,
        }),
        name,
        text,
    })
}

/// What besides the files decides the image: the Dockerfile and the options.
fn options_text(request: &BuildRequest, dockerfile: &Dockerfile) -> String {
    let mut args = request.args.clone();
    args.sort();
    let mut labels = request.labels.clone();
    labels.sort();
    serde_json::json!({
        "dockerfile": dockerfile.name,
        "text": dockerfile.text,
        "args": args,
        "target": request.target,
        "labels": labels,
    })
    .to_string()
}

/// A context the task may not read names the context itself as the grant
/// to add (not its parent, as for a file).
fn context_error(scope: &Scope, error: PathError) -> HostError {
    match error {
        PathError::NotGranted(path, _) => scope
            .deny(
                Object::File,
                &path,
                Some(Grant::new(GrantKind::Read, &path)),
            )
            .because("a build context is read whole: grant the directory in allow.read")
            .into(),
        other => scope.path_error(other),
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(std::io::Error::other)?
}
