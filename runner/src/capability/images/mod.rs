//! The `images` interface. A reference is checked against the distribution
//! grammar (`grant/image.rs`), resolved to a local image's ID by listing
//! (its tags, digests and ID), and acted on by that ID. An image is reachable
//! when `allow.images` grants the reference asked for or one of the image's
//! own tags or digests, or when a granted container uses it; pulls need
//! `allow.images` and send the reference only as a query parameter. Builds
//! (`build/`) need `allow.images` for the tag and every base image, and
//! `allow.read` for the context.

mod archive;
mod build;
mod pull;
#[cfg(test)]
mod tests;

use std::collections::HashSet;

use bollard::models::{ImageInspect, ImageSummary};

use crate::capability::engine::backend::{Engine, Product};
use crate::capability::engine::ids::ImageId;
use crate::capability::engine::{EngineHost, HostError, HostResult, Scope, sorted_labels};
use crate::grant::image::{ImageName, ImageRef};
use crate::grant::{Grant, GrantKind, Object};
use crate::plugin::bindings::engine_types::{Compression, FileInfo};
use crate::plugin::bindings::images::{
    BuildRequest, BuildResult, Host, ImageDetails, ImageSummary as WitSummary,
};

/// A local image the task may reach.
pub struct Resolved {
    pub id: ImageId,
    pub summary: ImageSummary,
}

/// The local image `name` names: by ID, unique ID prefix, tag or digest.
/// None when there is none (or an ID prefix matches more than one).
pub fn find<'a>(images: &'a [ImageSummary], name: &ImageName) -> Option<&'a ImageSummary> {
    match name {
        ImageName::Id(text) => {
            let hex = text.strip_prefix("sha256:").unwrap_or(text);
            let mut matches = images.iter().filter(|i| {
                ImageId::parse(&i.id).is_some_and(|id| {
                    if text.starts_with("sha256:") {
                        id.hex() == hex
                    } else {
                        id.hex().starts_with(hex)
                    }
                })
            });
            match (matches.next(), matches.next()) {
                (Some(only), None) => Some(only),
                _ => None,
            }
        }
        ImageName::Reference(reference) => {
            let candidates = reference.candidates();
            images.iter().find(|i| {
                i.repo_tags
                    .iter()
                    .chain(&i.repo_digests)
                    .any(|t| candidates.iter().any(|c| c == t))
            })
        }
    }
}

impl Scope {
    pub(crate) fn image_name(&self, text: &str) -> HostResult<ImageName> {
        ImageName::parse(text).map_err(|p| HostError::invalid(Object::Image, text, p))
    }

    /// Whether `allow.images` grants one of the image's own tags or digests.
    fn grants_image_names(&self, image: &ImageSummary) -> bool {
        image
            .repo_tags
            .iter()
            .chain(&image.repo_digests)
            .filter_map(|t| ImageRef::parse(t).ok())
            .any(|r| self.grants.allows_image(&r))
    }

    /// The image IDs granted containers use.
    pub(crate) async fn images_in_use(&self, engine: &dyn Engine) -> HostResult<HashSet<String>> {
        Ok(self
            .granted_containers(engine)
            .await?
            .into_iter()
            .filter_map(|c| c.summary.image_id)
            .collect())
    }

    pub(crate) fn deny_image(&self, name: &ImageName, text: &str) -> HostError {
        match name {
            ImageName::Reference(reference) => {
                let familiar = reference.familiar();
                self.deny(
                    Object::Image,
                    &familiar,
                    Some(Grant::new(GrantKind::Images, &familiar)),
                )
                .into()
            }
            ImageName::Id(_) => self
                .deny(Object::Image, text, None)
                .because(
                    "an image ID is reachable through one of its tags in allow.images, or a granted container that uses it",
                )
                .into(),
        }
    }

    /// Resolves `text` to a local image the task may reach. An image the
    /// task may not reach is denied whether it exists or not; a granted
    /// reference with no local image is not found.
    pub(crate) async fn reachable_image(
        &self,
        engine: &dyn Engine,
        text: &str,
    ) -> HostResult<Resolved> {
        let name = self.image_name(text)?;
        let granted_reference =
            matches!(&name, ImageName::Reference(r) if self.grants.allows_image(r));
        let images = engine.list_images().await?;
        let found = find(&images, &name);
        let granted = granted_reference
            || match found {
                Some(image) => {
                    self.grants_image_names(image)
                        || self.images_in_use(engine).await?.contains(&image.id)
                }
                None => false,
            };
        if !granted {
            return Err(self.deny_image(&name, text));
        }
        let image = found.ok_or_else(|| HostError::not_found(Object::Image, text))?;
        let id =
            ImageId::parse(&image.id).ok_or_else(|| HostError::not_found(Object::Image, text))?;
        Ok(Resolved {
            id,
            summary: image.clone(),
        })
    }
}

fn details(inspect: ImageInspect, summary: &ImageSummary, product: &Product) -> ImageDetails {
    let raw = serde_json::to_string(&inspect).unwrap_or_default();
    let config = inspect.config.unwrap_or_default();
    ImageDetails {
        id: inspect.id.unwrap_or_else(|| summary.id.clone()),
        tags: product.shown_image_names(&inspect.repo_tags.unwrap_or_default()),
        digests: product.shown_image_names(&inspect.repo_digests.unwrap_or_default()),
        layers: inspect.root_fs.and_then(|r| r.layers).unwrap_or_default(),
        os: inspect.os.unwrap_or_default(),
        architecture: inspect.architecture.unwrap_or_default(),
        created: inspect.created.unwrap_or_default(),
        size: inspect
            .size
            .and_then(|s| u64::try_from(s).ok())
            .unwrap_or(0),
        user: config.user.filter(|u| !u.is_empty()),
        env: config.env.unwrap_or_default(),
        entrypoint: config.entrypoint,
        command: config.cmd,
        labels: sorted_labels(config.labels),
        raw,
    }
}

impl Host for EngineHost {
    async fn list(&mut self) -> HostResult<Vec<WitSummary>> {
        let engine = self.engine().await?;
        let used = self.scope.images_in_use(engine.as_ref()).await?;
        let product = engine.product().await?;
        let mut images: Vec<WitSummary> = engine
            .list_images()
            .await?
            .into_iter()
            .filter(|i| used.contains(&i.id) || self.scope.grants_image_names(i))
            .map(|i| WitSummary {
                tags: product.shown_image_names(&i.repo_tags),
                id: i.id,
                size: u64::try_from(i.size).unwrap_or(0),
                created: i.created,
            })
            .collect();
        images.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(images)
    }

    async fn inspect(&mut self, image: String) -> HostResult<ImageDetails> {
        let engine = self.engine().await?;
        let resolved = self.scope.reachable_image(engine.as_ref(), &image).await?;
        let inspect = engine
            .inspect_image(&resolved.id)
            .await
            .map_err(|e| e.on(Object::Image, &image))?;
        let product = engine.product().await?;
        Ok(details(inspect, &resolved.summary, &product))
    }

    async fn export(
        &mut self,
        image: String,
        file: String,
        compression: Compression,
    ) -> HostResult<FileInfo> {
        let engine = self.engine().await?;
        let resolved = self.scope.reachable_image(engine.as_ref(), &image).await?;
        self.refuse_in_plan("images.export")?;
        // By ID, so a tag moved meanwhile cannot change what is saved; the
        // archive then names exactly the reference asked for, whatever the
        // engine wrote (`archive.rs`), and nothing when asked by ID.
        let repo_tags = match self.scope.image_name(&image)? {
            ImageName::Reference(reference) => reference.tagged().into_iter().collect(),
            ImageName::Id(_) => Vec::new(),
        };
        let source = archive::name_exactly(
            engine.export_image(&resolved.id),
            repo_tags,
            format!("exporting image `{image}`"),
            engine.address().to_owned(),
        );
        Ok(self
            .scope
            .write_stream(source, &file, compression)
            .await?
            .info)
    }

    async fn present(&mut self, image: String) -> HostResult<bool> {
        let engine = self.engine().await?;
        let name = self.scope.image_name(&image)?;
        if let ImageName::Reference(reference) = &name
            && self.grants.allows_image(reference)
        {
            return Ok(find(&engine.list_images().await?, &name).is_some());
        }
        // Not granted by reference: present only if reachable otherwise, and
        // the same denial for an absent image as for an ungranted one.
        self.scope
            .reachable_image(engine.as_ref(), &image)
            .await
            .map(|_| true)
    }

    async fn pull(&mut self, image: String, timeout_seconds: u32) -> HostResult<()> {
        let name = self.scope.image_name(&image)?;
        let ImageName::Reference(reference) = &name else {
            return Err(HostError::invalid(
                Object::Image,
                &image,
                "an image ID cannot be pulled: pull a reference (`name:tag`)",
            ));
        };
        if !self.grants.allows_image(reference) {
            return Err(self.scope.deny_image(&name, &image));
        }
        self.refuse_in_plan("images.pull")?;
        let engine = self.engine().await?;
        pull::pull(
            engine.as_ref(),
            &self.task,
            reference,
            std::time::Duration::from_secs(timeout_seconds.max(1).into()),
        )
        .await
    }

    async fn build(&mut self, request: BuildRequest) -> HostResult<BuildResult> {
        let engine = self.engine().await?;
        build::build(&self.scope, engine.as_ref(), request).await
    }
}
