//! The severity of a finding, and where it came from. The precedence (as
//! Trivy documents its vendor/NVD choice, and as docs/scan.md states it):
//!
//! 1. the advisory's own CVSS (the newest version it carries, then the
//!    highest score);
//! 2. else the CVSS published for one of its CVEs by another record in the
//!    data (osv.dev's `DEBIAN-CVE-…`/`ALPINE-CVE-…` records carry NVD's
//!    vector): a DSA, a Debian tracker entry or an Alpine secdb fix that
//!    carries no score takes its CVE's; with several CVEs, the highest;
//! 3. else the distribution's own rating of the package in that release
//!    (the Debian tracker's urgency) or of the advisory;
//! 4. else UNKNOWN.

use serde::Serialize;

use super::{Advisory, Affected};
use crate::severity::Severity;

/// Where a finding's severity came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SeveritySource {
    /// No source rates it.
    None,
    /// The distribution's rating (Debian urgency, OSV `database_specific`).
    Distribution,
    /// The CVSS another record publishes for the advisory's CVE.
    CveCvss,
    /// The advisory's own CVSS vector.
    AdvisoryCvss,
}

/// A severity with its score, vector and source.
#[derive(Debug, Clone, PartialEq)]
pub struct Rated {
    pub severity: Severity,
    pub score: Option<f64>,
    pub vector: Option<String>,
    pub source: SeveritySource,
}

impl Advisory {
    /// The severity of this advisory for one of its affected entries.
    pub fn rate(&self, affected: &Affected) -> Rated {
        let cvss = self
            .cvss
            .as_ref()
            .map(|c| (c, SeveritySource::AdvisoryCvss))
            .or_else(|| {
                self.borrowed
                    .as_ref()
                    .map(|(_, c)| (c, SeveritySource::CveCvss))
            });
        if let Some((c, source)) = cvss {
            return Rated {
                severity: c.severity(),
                score: Some(c.score),
                vector: Some(c.vector.clone()),
                source,
            };
        }
        match affected.rating.or(self.rating) {
            Some(severity) => Rated {
                severity,
                score: None,
                vector: None,
                source: SeveritySource::Distribution,
            },
            None => Rated {
                severity: Severity::Unknown,
                score: None,
                vector: None,
                source: SeveritySource::None,
            },
        }
    }
}
