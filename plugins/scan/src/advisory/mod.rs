//! Advisories: which versions of which distribution package a vulnerability
//! affects. OSV is the canonical form; the Alpine secdb, the Debian
//! security tracker's JSON and its DSA/DLA lists are imported into the same
//! model.

pub mod alpine;
pub mod database;
pub mod debian;
pub mod debian_tracker;
pub mod load;
pub mod osv;
mod rating;

use serde::{Deserialize, Serialize};

use crate::cvss::Cvss;
use crate::severity::Severity;
use crate::version::Scheme;

pub use rating::SeveritySource;

/// One advisory (an OSV record, a DSA/DLA, one CVE of the Debian tracker or
/// of the Alpine secdb).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    pub id: String,
    /// Other ids for the same problem (CVEs of a DSA, …).
    pub aliases: Vec<String>,
    pub summary: String,
    /// The advisory's own CVSS: the best of the vectors it carries.
    pub cvss: Option<Cvss>,
    /// The source's own word for the whole advisory (OSV
    /// `database_specific.severity`, …).
    pub rating: Option<Severity>,
    /// Set when the database is built, for an advisory without CVSS of its
    /// own: a CVE it names and the CVSS another record publishes for it.
    pub borrowed: Option<(String, Cvss)>,
    /// Where it came from: `osv`, `alpine-secdb`, `debian-tracker`,
    /// `debian-dsa`, `debian-dla`.
    pub source: String,
    pub affected: Vec<Affected>,
    /// How current the record is, in days since 1970-01-01: its own date
    /// (OSV `modified`, a DSA's date), else its file's modification time.
    pub date: Option<i64>,
}

impl Advisory {
    /// An advisory with no severity information yet.
    pub fn new(id: String, source: &str) -> Advisory {
        Advisory {
            id,
            aliases: Vec::new(),
            summary: String::new(),
            cvss: None,
            rating: None,
            borrowed: None,
            source: source.to_owned(),
            affected: Vec::new(),
            date: None,
        }
    }

    /// Every id the advisory goes by.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str()).chain(self.aliases.iter().map(String::as_str))
    }

    /// The CVE ids it is about.
    pub fn cves(&self) -> impl Iterator<Item = &str> {
        self.ids().filter(|id| id.starts_with("CVE-"))
    }
}

/// The affected versions of one package of one distribution release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    pub distro: Distro,
    /// The normalised release (`12`, `3.11`), or `None` for every release.
    pub release: Option<String>,
    /// The source package name.
    pub package: String,
    pub ranges: Vec<Range>,
    /// Explicitly affected versions.
    pub versions: Vec<String>,
    /// The distribution's own rating for this package in this release (the
    /// Debian tracker's urgency).
    pub rating: Option<Severity>,
    /// Why an affected version has no fix, when the source says:
    /// `end-of-life`, `will-not-fix` (Debian `no-dsa`, ignored) or
    /// `fix-deferred` (postponed).
    pub status: Option<String>,
}

/// `[introduced, fixed)` or `[introduced, last_affected]`; no end: unfixed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// `None` (or OSV's `"0"`) is from the first version.
    pub introduced: Option<String>,
    pub fixed: Option<String>,
    pub last_affected: Option<String>,
}

/// The distributions whose package versions the scanner can compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Distro {
    Debian,
    Alpine,
}

impl Distro {
    pub fn scheme(self) -> Scheme {
        match self {
            Distro::Debian => Scheme::Dpkg,
            Distro::Alpine => Scheme::Apk,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Distro::Debian => "debian",
            Distro::Alpine => "alpine",
        }
    }

    /// An os-release `ID`.
    pub fn from_os_id(id: &str) -> Option<Distro> {
        match id {
            "debian" => Some(Distro::Debian),
            "alpine" => Some(Distro::Alpine),
            _ => None,
        }
    }
}

/// A Debian codename's release number (`bookworm` → `12`).
pub fn debian_release(codename: &str) -> Option<&'static str> {
    Some(match codename {
        "woody" => "3.0",
        "sarge" => "3.1",
        "etch" => "4",
        "lenny" => "5",
        "squeeze" => "6",
        "wheezy" => "7",
        "jessie" => "8",
        "stretch" => "9",
        "buster" => "10",
        "bullseye" => "11",
        "bookworm" => "12",
        "trixie" => "13",
        "forky" => "14",
        _ => return None,
    })
}

/// `3.11.6` or `v3.11` → `3.11`: Alpine advisories are per branch.
pub fn alpine_branch(version: &str) -> String {
    let v = version.trim().trim_start_matches('v');
    let mut parts = v.split(['.', '_']);
    match (parts.next(), parts.next()) {
        (Some(major), Some(minor)) => format!("{major}.{minor}"),
        _ => v.to_owned(),
    }
}

/// The release key of an image's OS for `distro`.
pub fn os_release_key(distro: Distro, version_id: &str, codename: &str) -> Option<String> {
    match distro {
        Distro::Debian => {
            let major = version_id.split('.').next().unwrap_or("");
            if !major.is_empty() {
                Some(major.to_owned())
            } else {
                debian_release(codename).map(str::to_owned)
            }
        }
        Distro::Alpine => (!version_id.is_empty()).then(|| alpine_branch(version_id)),
    }
}

impl Affected {
    /// Whether `version` is affected; when it is, the version that fixes it
    /// (if any).
    pub fn affects(&self, version: &str) -> Option<Option<String>> {
        let scheme = self.distro.scheme();
        use std::cmp::Ordering::*;
        if self
            .versions
            .iter()
            .any(|v| scheme.compare(v, version) == Equal)
        {
            let fixed = self.ranges.iter().find_map(|r| r.fixed.clone());
            return Some(fixed);
        }
        for range in &self.ranges {
            let after_start = match range.introduced.as_deref() {
                None | Some("0") => true,
                Some(intro) => scheme.compare(version, intro) != Less,
            };
            if !after_start {
                continue;
            }
            if let Some(fixed) = &range.fixed {
                if scheme.compare(version, fixed) == Less {
                    return Some(Some(fixed.clone()));
                }
            } else if let Some(last) = &range.last_affected {
                if scheme.compare(version, last) != Greater {
                    return Some(None);
                }
            } else {
                return Some(None);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn affected(distro: Distro, ranges: Vec<Range>) -> Affected {
        Affected {
            distro,
            release: None,
            package: "p".into(),
            ranges,
            versions: vec![],
            rating: None,
            status: None,
        }
    }

    fn range(i: Option<&str>, f: Option<&str>, l: Option<&str>) -> Range {
        Range {
            introduced: i.map(Into::into),
            fixed: f.map(Into::into),
            last_affected: l.map(Into::into),
        }
    }

    #[test]
    fn ranges_under_each_scheme() {
        let a = affected(
            Distro::Debian,
            vec![range(Some("0"), Some("2:1.20.11-1+deb11u6"), None)],
        );
        assert_eq!(
            a.affects("2:1.20.11-1+deb11u5"),
            Some(Some("2:1.20.11-1+deb11u6".into()))
        );
        assert_eq!(a.affects("2:1.20.11-1+deb11u6"), None);
        assert_eq!(
            a.affects("1.20.11-1+deb11u9"),
            Some(Some("2:1.20.11-1+deb11u6".into()))
        );
        let a = affected(Distro::Alpine, vec![range(None, Some("1.1.1g-r0"), None)]);
        assert!(a.affects("1.1.1d-r3").is_some());
        assert!(a.affects("1.1.1g-r0").is_none());
        assert!(a.affects("1.1.1g-r1").is_none());
        let a = affected(
            Distro::Debian,
            vec![range(Some("1.2"), None, Some("1.4-1"))],
        );
        assert_eq!(a.affects("1.1"), None);
        assert_eq!(a.affects("1.3"), Some(None));
        assert_eq!(a.affects("1.4-1"), Some(None));
        assert_eq!(a.affects("1.4-2"), None);
        let a = affected(Distro::Debian, vec![range(Some("0"), None, None)]);
        assert_eq!(a.affects("99"), Some(None));
    }

    #[test]
    fn release_keys() {
        assert_eq!(
            os_release_key(Distro::Debian, "12", "bookworm").as_deref(),
            Some("12")
        );
        assert_eq!(
            os_release_key(Distro::Debian, "", "trixie").as_deref(),
            Some("13")
        );
        assert_eq!(
            os_release_key(Distro::Alpine, "3.11.6", "").as_deref(),
            Some("3.11")
        );
        assert_eq!(alpine_branch("v3.9"), "3.9");
    }
}
