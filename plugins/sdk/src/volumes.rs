//! Named volumes. A volume is reachable when `allow.volumes` grants its name,
//! or when a granted container mounts it; creating and removing need
//! `allow.volumes`. Contents move between the engine and granted files as tar
//! streams, through short-lived helper containers the host makes.
//!
//! ```no_run
//! use run_plugin_sdk::volumes::{self, Compression};
//! # fn main() -> Result<(), run_plugin_sdk::Error> {
//! let info = volumes::snapshot("pgdata", "backups/pgdata.tar.zst", Compression::Zstd)?;
//! println!("{} bytes, sha256 {}", info.bytes, info.sha256);
//! # Ok(()) }
//! ```

use crate::__private::bindings::runner::plugin::volumes as wit;
pub use crate::__private::bindings::runner::plugin::volumes::VolumeSummary;
use crate::Error;
pub use crate::engine::{Compression, FileInfo};

/// Reachable volumes, sorted by name.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// for v in run_plugin_sdk::volumes::list()? {
///     println!("{} used by {}", v.name, v.used_by.join(", "));
/// }
/// # Ok(()) }
/// ```
pub fn list() -> Result<Vec<VolumeSummary>, Error> {
    Ok(wit::list()?)
}

/// Writes `volume`'s contents as a tar stream into the granted `file`.
///
/// ```no_run
/// use run_plugin_sdk::volumes::{self, Compression};
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let info = volumes::snapshot("pgdata", "backups/pgdata.tar.zst", Compression::Zstd)?;
/// # Ok(()) }
/// ```
pub fn snapshot(volume: &str, file: &str, compression: Compression) -> Result<FileInfo, Error> {
    Ok(wit::snapshot(volume, file, compression)?)
}

/// Replaces `volume`'s contents with a tar stream from the granted `file`.
/// Refused while a running container mounts the volume.
///
/// ```no_run
/// use run_plugin_sdk::volumes::{self, Compression};
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// volumes::restore("pgdata", "backups/pgdata.tar.zst", Compression::Zstd)?;
/// # Ok(()) }
/// ```
pub fn restore(volume: &str, file: &str, compression: Compression) -> Result<(), Error> {
    Ok(wit::restore(volume, file, compression)?)
}

/// Creates a named volume unless it exists; true when it was created.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let labels = [("com.docker.compose.project".to_string(), "demo".to_string())];
/// run_plugin_sdk::volumes::create("demo-pgdata", &labels)?;
/// # Ok(()) }
/// ```
pub fn create(name: &str, labels: &[(String, String)]) -> Result<bool, Error> {
    Ok(wit::create(name, labels)?)
}

/// Removes a named volume; no container may use it.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// run_plugin_sdk::volumes::remove("demo-pgdata")?;
/// # Ok(()) }
/// ```
pub fn remove(name: &str) -> Result<(), Error> {
    Ok(wit::remove(name)?)
}
