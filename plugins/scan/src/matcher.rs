//! Matches an inventory's packages against the advisory database.

use crate::advisory::database::Database;
use crate::advisory::{Distro, os_release_key};
use crate::finding::{Finding, Kind, PackageRef};
use crate::image::Inventory;

/// What matching found, and why some packages could not be checked.
#[derive(Debug, Default)]
pub struct Matched {
    pub findings: Vec<Finding>,
    /// Set when the OS is unknown or unsupported (nothing could be matched).
    pub warning: Option<String>,
}

/// The vulnerabilities of `inventory`'s packages, one per package and
/// advisory id (the same CVE from two sources is reported once).
pub fn find(db: &Database, inventory: &Inventory) -> Matched {
    let Some(os) = &inventory.os else {
        return Matched {
            findings: Vec::new(),
            warning: Some(format!(
                "{}: no os-release found; the OS and its advisories are unknown",
                inventory.target
            )),
        };
    };
    let Some(distro) = Distro::from_os_id(&os.id) else {
        return Matched {
            findings: Vec::new(),
            warning: Some(format!(
                "{}: OS `{}` is not supported (debian and alpine are); its packages were not checked",
                inventory.target, os.id
            )),
        };
    };
    let Some(release) = os_release_key(distro, &os.version_id, &os.codename) else {
        return Matched {
            findings: Vec::new(),
            warning: Some(format!(
                "{}: the {} release is unknown",
                inventory.target, os.id
            )),
        };
    };
    let mut findings = Vec::new();
    for package in &inventory.packages {
        let mut mine: Vec<Finding> = Vec::new();
        for (advisory, affected) in db.lookup(distro, &release, &package.source) {
            let Some(fixed) = affected.affects(&package.source_version) else {
                continue;
            };
            // The same problem from two sources (a DSA and the OSV record of
            // its CVE, or a CVE listed twice) is reported once: keep the more
            // severe view, a known fix over none, and every id.
            let ids: Vec<&String> = std::iter::once(&advisory.id)
                .chain(&advisory.aliases)
                .collect();
            if let Some(existing) = mine
                .iter_mut()
                .find(|f| f.ids().any(|id| ids.iter().any(|i| *i == id)))
            {
                if advisory.severity > existing.severity {
                    existing.severity = advisory.severity;
                    existing.score = advisory.score;
                }
                if existing.fixed.is_none() {
                    existing.fixed = fixed;
                }
                for id in ids {
                    if *id != existing.id && !existing.aliases.contains(id) {
                        existing.aliases.push(id.clone());
                    }
                }
                continue;
            }
            let layer = package.layer.and_then(|i| inventory.layers.get(i));
            mine.push(Finding {
                kind: Kind::Vulnerability,
                target: inventory.target.clone(),
                id: advisory.id.clone(),
                aliases: advisory.aliases.clone(),
                severity: advisory.severity,
                score: advisory.score,
                title: advisory.summary.clone(),
                package: Some(PackageRef {
                    name: package.name.clone(),
                    version: package.version.clone(),
                    source: package.source.clone(),
                    source_version: package.source_version.clone(),
                    layer: package.layer.map(|i| i + 1),
                    layer_digest: layer.and_then(|l| l.diff_id.clone()),
                }),
                fixed,
                ignored: None,
            });
        }
        findings.extend(mine);
    }
    Matched {
        findings,
        warning: None,
    }
}
