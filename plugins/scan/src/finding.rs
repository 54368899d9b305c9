//! A finding: a vulnerable package in an image, or a hardening gap in a
//! running container. Both go through the same policy and outputs.

use serde::Serialize;

use crate::advisory::SeveritySource;
use crate::severity::Severity;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Vulnerability,
    Hardening,
}

/// The package a vulnerability is in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageRef {
    pub name: String,
    pub version: String,
    /// The package's architecture (`amd64`, `i386`, `all`, `x86_64`); a
    /// package installed for two architectures is two packages.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub arch: String,
    /// dpkg's state when the package is not fully installed
    /// (`half-configured`, `unpacked`, …): its files are there all the same.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    pub source: String,
    pub source_version: String,
    /// 1-based layer number that installed this version (`None` for a rootfs).
    pub layer: Option<usize>,
    /// That layer's diff id.
    pub layer_digest: Option<String>,
}

/// Where in a file a finding is (a Compose service's setting).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: String,
    /// 1-based.
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub kind: Kind,
    /// The image (or rootfs) scanned, or the container audited.
    pub target: String,
    /// The advisory id (`CVE-…`, `DSA-…`) or hardening rule id (`RUN-H…`).
    pub id: String,
    pub aliases: Vec<String>,
    pub severity: Severity,
    pub score: Option<f64>,
    /// Where the severity came from (see docs/scan.md, "Severity").
    pub severity_source: SeveritySource,
    /// The CVSS vector the score is computed from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cvss: Option<String>,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<PackageRef>,
    /// The file and line (a Compose file's hardening findings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The version that fixes it; `None`: no fix yet.
    pub fixed: Option<String>,
    /// Why there is no fix, when the source says (`will-not-fix`,
    /// `fix-deferred`, `end-of-life`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Why it is ignored (from the ignore file), when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
}

impl Finding {
    /// Every id the finding goes by.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str()).chain(self.aliases.iter().map(String::as_str))
    }

    /// The key findings sort by: most severe first, then target, package, id.
    pub fn sort_key(&self) -> impl Ord + '_ {
        (
            std::cmp::Reverse(self.severity),
            &self.target,
            self.kind,
            self.package.as_ref().map(|p| p.name.as_str()),
            &self.id,
        )
    }
}
