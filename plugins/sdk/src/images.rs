//! Local images. An image is reachable when `allow.images` grants its
//! reference (`name` means `name:latest`), or when a granted container uses
//! it; pulls need `allow.images`.
//!
//! ```no_run
//! use run_plugin_sdk::images::{self, Compression};
//! # fn main() -> Result<(), run_plugin_sdk::Error> {
//! if !images::present("busybox:latest")? {
//!     images::pull("busybox:latest", 300)?;
//! }
//! images::export("busybox:latest", "out/busybox.tar", Compression::None)?;
//! # Ok(()) }
//! ```

use crate::__private::bindings::runner::plugin::images as wit;
pub use crate::__private::bindings::runner::plugin::images::{
    BuildOutcome, BuildRequest, BuildResult, ImageDetails, ImageSummary,
};
use crate::Error;
pub use crate::engine::{Compression, FileInfo};

/// Reachable images, sorted by ID.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// for i in run_plugin_sdk::images::list()? {
///     println!("{} {:?} {} bytes", i.id, i.tags, i.size);
/// }
/// # Ok(()) }
/// ```
pub fn list() -> Result<Vec<ImageSummary>, Error> {
    Ok(wit::list()?)
}

/// `image` in detail.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let image = run_plugin_sdk::images::inspect("postgres:16")?;
/// println!("{} layers, {}/{}", image.layers.len(), image.os, image.architecture);
/// # Ok(()) }
/// ```
pub fn inspect(image: &str) -> Result<ImageDetails, Error> {
    Ok(wit::inspect(image)?)
}

/// Writes `docker save IMAGE` into the granted `file`.
///
/// ```no_run
/// use run_plugin_sdk::images::{self, Compression};
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let info = images::export("postgres:16", "backups/postgres.tar.zst", Compression::Zstd)?;
/// # Ok(()) }
/// ```
pub fn export(image: &str, file: &str, compression: Compression) -> Result<FileInfo, Error> {
    Ok(wit::export(image, file, compression)?)
}

/// Whether a granted image is present locally.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let here = run_plugin_sdk::images::present("busybox:latest")?;
/// # Ok(()) }
/// ```
pub fn present(image: &str) -> Result<bool, Error> {
    Ok(wit::present(image)?)
}

/// Pulls a granted image within `timeout_seconds` (progress goes to the log);
/// fails with the registry's reason.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// run_plugin_sdk::images::pull("busybox:latest", 300)?;
/// # Ok(()) }
/// ```
pub fn pull(image: &str, timeout_seconds: u32) -> Result<(), Error> {
    Ok(wit::pull(image, timeout_seconds)?)
}

/// Builds an image from a context directory the task may read (Compose's
/// `build:`), tagged `request.tag` (granted by `allow.images`); the build's
/// progress goes to the log. Unless `always`, an image already built from
/// the same context, Dockerfile and options is left as it is
/// ([`BuildOutcome::Unchanged`]); under `run --plan` every check runs and
/// nothing is built ([`BuildOutcome::WouldBuild`]).
///
/// ```no_run
/// use run_plugin_sdk::images::{self, BuildRequest};
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let built = images::build(&BuildRequest {
///     context: "app".into(),
///     args: vec![("VERSION".into(), "1.2".into())],
///     target: Some("release".into()),
///     tag: "myapp-web:latest".into(),
///     timeout_seconds: 600,
///     ..Default::default()
/// })?;
/// println!("{:?} {:?}", built.outcome, built.id);
/// # Ok(()) }
/// ```
pub fn build(request: &BuildRequest) -> Result<BuildResult, Error> {
    Ok(wit::build(request)?)
}
