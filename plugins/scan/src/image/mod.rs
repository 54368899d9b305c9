//! What an image contains: its OS and installed packages, found by applying
//! its layers in order (with whiteouts) or by reading an unpacked root
//! filesystem.

pub mod apk;
pub mod archive;
pub mod dpkg;
pub mod files;
pub mod layer_cache;
pub mod os_release;
pub mod rootfs;

use serde::Serialize;

use crate::version::Scheme;

/// An installed binary package, with the source package advisories name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Package {
    pub name: String,
    pub version: String,
    /// The source package (dpkg `Source:`, apk `o:` origin); the name itself
    /// when the database does not say.
    pub source: String,
    pub source_version: String,
    pub arch: String,
    /// dpkg's state when it is not `installed` (`half-configured`,
    /// `unpacked`, `half-installed`, `triggers-pending`, …).
    pub status: Option<String>,
    pub scheme: Scheme,
    /// Index of the layer that installed this version; `None` for a rootfs.
    pub layer: Option<usize>,
}

/// The distribution, from os-release.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Os {
    /// `debian`, `alpine`, … (`ID`).
    pub id: String,
    /// `12`, `3.11.6`, … (`VERSION_ID`).
    pub version_id: String,
    /// `bookworm`, … (`VERSION_CODENAME`).
    pub codename: String,
    pub pretty_name: String,
}

/// One layer of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Layer {
    pub index: usize,
    /// The uncompressed layer's digest (`sha256:…`) from the image config.
    pub diff_id: Option<String>,
    /// The Dockerfile instruction that made it, from the image history.
    pub created_by: Option<String>,
}

/// What was found in one image or root filesystem.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Inventory {
    /// The image's name (a tag, the archive's file name or the directory).
    pub target: String,
    pub os: Option<Os>,
    pub packages: Vec<Package>,
    pub layers: Vec<Layer>,
}
