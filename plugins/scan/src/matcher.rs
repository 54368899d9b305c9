//! Matches an inventory's packages against the advisory database.

use crate::advisory::database::Database;
use crate::advisory::{Distro, os_release_key};
use crate::date;
use crate::finding::{Finding, Kind, PackageRef};
use crate::image::Inventory;

/// What matching found, and a note when the data is old.
#[derive(Debug, Default)]
pub struct Matched {
    pub findings: Vec<Finding>,
    pub warning: Option<String>,
    /// The data's newest record is old (the age of data read from files;
    /// fetched data is dated by its fetch instead).
    pub stale: Option<String>,
}

/// Why an inventory cannot be matched. The scan fails closed on each: an
/// image whose packages cannot be checked must never pass a gate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoData {
    #[error(
        "{target}: no os-release, so the OS and its advisories are unknown ({packages} packages unchecked)"
    )]
    NoOs { target: String, packages: usize },
    #[error(
        "{target}: OS `{os}` is not supported (debian and alpine are): {packages} packages unchecked"
    )]
    Unsupported {
        target: String,
        os: String,
        packages: usize,
    },
    #[error(
        "{target}: the {os} release is unknown (os-release has no VERSION_ID or known VERSION_CODENAME)"
    )]
    UnknownRelease { target: String, os: String },
    #[error(
        "{target}: no advisory data for {distro} {release}; the advisories given cover {covered}"
    )]
    NotCovered {
        target: String,
        distro: String,
        release: String,
        covered: String,
    },
    #[error(
        "{target}: the {distro} advisory data is {age} days old (newest record {as_of}), older than max-age ({max} days)"
    )]
    Stale {
        target: String,
        distro: String,
        as_of: String,
        age: i64,
        max: i64,
    },
}

/// Data older than this is named in a warning even without a max-age.
const WARN_AGE_DAYS: i64 = 30;

/// The vulnerabilities of `inventory`'s packages, one per package and
/// advisory id (the same CVE from two sources is reported once). `today` is
/// days since 1970-01-01; `max_age` (days) fails data older than it.
pub fn find(
    db: &Database,
    inventory: &Inventory,
    today: i64,
    max_age: Option<i64>,
) -> Result<Matched, NoData> {
    let target = inventory.target.clone();
    let packages = inventory.packages.len();
    let Some(os) = &inventory.os else {
        // An empty image (scratch, a static binary) has nothing to check.
        if packages == 0 {
            return Ok(Matched {
                findings: Vec::new(),
                warning: Some(format!(
                    "{target}: no os-release and no package database: no OS packages to check"
                )),
                stale: None,
            });
        }
        return Err(NoData::NoOs { target, packages });
    };
    let Some(distro) = Distro::from_os_id(&os.id) else {
        return Err(NoData::Unsupported {
            target,
            os: os.id.clone(),
            packages,
        });
    };
    let Some(release) = os_release_key(distro, &os.version_id, &os.codename) else {
        return Err(NoData::UnknownRelease {
            target,
            os: os.id.clone(),
        });
    };
    if !db.covers(distro, &release) {
        let covered = db.coverage();
        return Err(NoData::NotCovered {
            target,
            distro: distro.as_str().into(),
            release,
            covered: if covered.is_empty() {
                "nothing (no Debian or Alpine record in them)".into()
            } else {
                covered.join(", ")
            },
        });
    }
    let mut stale = None;
    if let Some(as_of) = db.as_of(distro) {
        let age = today - as_of;
        if let Some(max) = max_age.filter(|max| age > *max) {
            return Err(NoData::Stale {
                target,
                distro: distro.as_str().into(),
                as_of: date::civil_date(as_of),
                age,
                max,
            });
        }
        if age > WARN_AGE_DAYS {
            stale = Some(format!(
                "the {} advisory data is {age} days old (newest record {}): findings fixed since then are missed (set max-age to fail instead)",
                distro.as_str(),
                date::civil_date(as_of)
            ));
        }
    }
    let mut findings = Vec::new();
    for package in &inventory.packages {
        let mut mine: Vec<Finding> = Vec::new();
        for (advisory, affected) in db.lookup(distro, &release, &package.source) {
            let Some(fixed) = affected.affects(&package.source_version) else {
                continue;
            };
            let rated = advisory.rate(affected);
            // The same problem from two sources (a DSA and the OSV record of
            // its CVE, or a CVE listed twice) is reported once: keep the more
            // severe view (a finding covering several CVEs is as severe as
            // the worst), a known fix over none, and every id.
            if let Some(existing) = mine
                .iter_mut()
                .find(|f| f.ids().any(|id| advisory.ids().any(|i| i == id)))
            {
                let better = (rated.severity, rated.source, rated.score.unwrap_or(-1.0))
                    > (
                        existing.severity,
                        existing.severity_source,
                        existing.score.unwrap_or(-1.0),
                    );
                if better {
                    existing.severity = rated.severity;
                    existing.score = rated.score;
                    existing.cvss = rated.vector;
                    existing.severity_source = rated.source;
                }
                if existing.fixed.is_none() {
                    existing.fixed = fixed;
                    existing.status = None;
                }
                if existing.fixed.is_none() && existing.status.is_none() {
                    existing.status = affected.status.clone();
                }
                for id in advisory.ids() {
                    if id != existing.id && !existing.aliases.iter().any(|a| a == id) {
                        existing.aliases.push(id.to_owned());
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
                severity: rated.severity,
                score: rated.score,
                severity_source: rated.source,
                cvss: rated.vector,
                title: advisory.summary.clone(),
                package: Some(PackageRef {
                    name: package.name.clone(),
                    version: package.version.clone(),
                    arch: package.arch.clone(),
                    status: package.status.clone(),
                    source: package.source.clone(),
                    source_version: package.source_version.clone(),
                    layer: package.layer.map(|i| i + 1),
                    layer_digest: layer.and_then(|l| l.diff_id.clone()),
                }),
                status: if fixed.is_none() {
                    affected.status.clone()
                } else {
                    None
                },
                fixed,
                location: None,
                ignored: None,
            });
        }
        findings.extend(mine);
    }
    Ok(Matched {
        findings,
        warning: None,
        stale,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisory::{Advisory, SeveritySource, alpine, debian, osv};
    use crate::image::{Os, Package};
    use crate::severity::Severity;
    use crate::version::Scheme;

    fn shared(name: &str) -> String {
        std::fs::read_to_string(crate::shared_data("advisories").join(name)).unwrap()
    }

    fn inventory(os: Option<(&str, &str)>, packages: &[(&str, &str, &str)]) -> Inventory {
        Inventory {
            target: "img".into(),
            os: os.map(|(id, version_id)| Os {
                id: id.into(),
                version_id: version_id.into(),
                ..Os::default()
            }),
            packages: packages
                .iter()
                .map(|(name, source, version)| Package {
                    name: (*name).into(),
                    version: (*version).into(),
                    source: (*source).into(),
                    source_version: (*version).into(),
                    arch: "x86_64".into(),
                    status: None,
                    scheme: if os.is_some_and(|(id, _)| id == "alpine") {
                        Scheme::Apk
                    } else {
                        Scheme::Dpkg
                    },
                    layer: None,
                })
                .collect(),
            layers: Vec::new(),
        }
    }

    /// osv.dev's record of a CVE for a distribution (the shape of its
    /// DEBIAN-CVE-…/ALPINE-CVE-… records), with NVD's vector.
    fn cve_record(id: &str, ecosystem: &str, package: &str, fixed: &str, vector: &str) -> Advisory {
        let prefix = if ecosystem.starts_with("Alpine") {
            "ALPINE"
        } else {
            "DEBIAN"
        };
        osv::parse(format!(r#"{{"id": "{prefix}-{id}", "upstream": ["{id}"], "modified": "2024-01-01T00:00:00Z",
            "severity": [{{"type": "CVSS_V3", "score": "{vector}"}}],
            "affected": [{{"package": {{"ecosystem": "{ecosystem}", "name": "{package}"}},
              "ranges": [{{"type": "ECOSYSTEM", "events": [{{"introduced": "0"}}, {{"fixed": "{fixed}"}}]}}]}}]}}"#).as_bytes())
            .unwrap()
            .unwrap()
    }

    const NVD_CRITICAL: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";

    /// The real Alpine secdb rates nothing; the CVE's NVD score (9.8 for
    /// musl's CVE-2019-14697) makes the secdb's fix a CRITICAL finding.
    #[test]
    fn a_real_critical_cve_in_the_alpine_secdb_is_critical() {
        let mut advisories = alpine::parse(&shared("alpine-secdb/v3.11/main.yaml")).unwrap();
        let only_secdb = Database::build(advisories.clone());
        let musl = inventory(Some(("alpine", "3.11.3")), &[("musl", "musl", "1.1.23-r1")]);
        let before = find(&only_secdb, &musl, 0, None).unwrap().findings;
        let f = before.iter().find(|f| f.id == "CVE-2019-14697").unwrap();
        assert_eq!(
            (f.severity, f.severity_source),
            (Severity::Unknown, SeveritySource::None)
        );
        advisories.push(cve_record(
            "CVE-2019-14697",
            "Alpine:v3.10",
            "musl",
            "1.1.22-r3",
            NVD_CRITICAL,
        ));
        let db = Database::build(advisories);
        let after = find(&db, &musl, 0, None).unwrap().findings;
        let f = after.iter().find(|f| f.id == "CVE-2019-14697").unwrap();
        assert_eq!(
            (f.severity, f.severity_source, f.score, f.fixed.as_deref()),
            (
                Severity::Critical,
                SeveritySource::CveCvss,
                Some(9.8),
                Some("1.1.23-r2")
            )
        );
        assert_eq!(f.cvss.as_deref(), Some(NVD_CRITICAL));
    }

    /// The real DSA list's DSA-5218-1 (zlib, CVE-2022-37434) takes its CVE's
    /// NVD score; the one finding carries both ids.
    #[test]
    fn a_real_critical_dsa_is_critical() {
        let mut advisories = debian::parse(&shared("debian-security-tracker/DSA-list")).unwrap();
        advisories.push(cve_record(
            "CVE-2022-37434",
            "Debian:11",
            "zlib",
            "1:1.2.11.dfsg-2+deb11u2",
            NVD_CRITICAL,
        ));
        let db = Database::build(advisories);
        let image = inventory(
            Some(("debian", "11")),
            &[("zlib1g", "zlib", "1:1.2.11.dfsg-2+deb11u1")],
        );
        let found = find(&db, &image, 0, None).unwrap().findings;
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].id, "DSA-5218-1");
        assert!(
            found[0]
                .aliases
                .iter()
                .any(|a| a == "DEBIAN-CVE-2022-37434")
        );
        assert_eq!(found[0].severity, Severity::Critical);
        let fixed = inventory(
            Some(("debian", "11")),
            &[("zlib1g", "zlib", "1:1.2.11.dfsg-2+deb11u2")],
        );
        assert!(find(&db, &fixed, 0, None).unwrap().findings.is_empty());
    }

    #[test]
    fn no_usable_data_fails_closed() {
        let db =
            Database::build(debian::parse(&shared("debian-security-tracker/DSA-list")).unwrap());
        // The lists end in April 2023, before any bookworm advisory.
        let bookworm = inventory(Some(("debian", "12")), &[("zlib1g", "zlib", "1")]);
        let e = find(&db, &bookworm, 0, None).unwrap_err();
        assert!(matches!(e, NoData::NotCovered { .. }), "{e}");
        assert!(
            e.to_string().contains("no advisory data for debian 12"),
            "{e}"
        );
        assert!(e.to_string().contains("debian 11"), "{e}");
        let alpine = inventory(Some(("alpine", "3.11.6")), &[("musl", "musl", "1")]);
        assert!(matches!(
            find(&db, &alpine, 0, None),
            Err(NoData::NotCovered { .. })
        ));
        let ubuntu = inventory(Some(("ubuntu", "22.04")), &[("bash", "bash", "1")]);
        assert!(matches!(
            find(&db, &ubuntu, 0, None),
            Err(NoData::Unsupported { .. })
        ));
        let no_os = inventory(None, &[("bash", "bash", "1")]);
        assert!(matches!(
            find(&db, &no_os, 0, None),
            Err(NoData::NoOs { .. })
        ));
        let no_release = inventory(Some(("alpine", "")), &[("musl", "musl", "1")]);
        assert!(matches!(
            find(&db, &no_release, 0, None),
            Err(NoData::UnknownRelease { .. })
        ));
        // An empty image has nothing to check: a warning, not a failure.
        let scratch = inventory(None, &[]);
        assert!(find(&db, &scratch, 0, None).unwrap().warning.is_some());
    }

    #[test]
    fn stale_data_warns_or_fails() {
        let db =
            Database::build(debian::parse(&shared("debian-security-tracker/DSA-list")).unwrap());
        let newest = crate::date::days_from_civil(2023, 3, 29).unwrap();
        let image = inventory(
            Some(("debian", "11")),
            &[("zlib1g", "zlib", "1:1.2.11.dfsg-2+deb11u2")],
        );
        let fresh = find(&db, &image, newest + 3, Some(7)).unwrap();
        assert_eq!(fresh.stale, None);
        let old = find(&db, &image, newest + 100, None).unwrap();
        let w = old.stale.unwrap();
        assert!(w.contains("100 days old (newest record 2023-03-29)"), "{w}");
        let e = find(&db, &image, newest + 100, Some(7)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "img: the debian advisory data is 100 days old (newest record 2023-03-29), older than max-age (7 days)"
        );
    }

    #[test]
    fn two_architectures_are_two_findings() {
        let mut image = inventory(
            Some(("debian", "11")),
            &[
                ("zlib1g", "zlib", "1:1.2.11.dfsg-2+deb11u1"),
                ("zlib1g", "zlib", "1:1.2.11.dfsg-2+deb11u1"),
            ],
        );
        image.packages[0].arch = "amd64".into();
        image.packages[1].arch = "i386".into();
        let db =
            Database::build(debian::parse(&shared("debian-security-tracker/DSA-list")).unwrap());
        let found = find(&db, &image, 0, None).unwrap().findings;
        let archs: Vec<_> = found
            .iter()
            .map(|f| f.package.as_ref().unwrap().arch.as_str())
            .collect();
        assert_eq!(archs, ["amd64", "i386"]);
    }
}
