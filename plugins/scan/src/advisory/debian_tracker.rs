//! The Debian security tracker's JSON (`/tracker/data/json`): every source
//! package, every CVE (and `TEMP-` issue) filed against it, and per release
//! its status, fixed version and urgency:
//!
//! ```json
//! { "zlib": { "CVE-2022-37434": {
//!     "description": "zlib through 1.2.12 has a heap-based buffer over-read …",
//!     "scope": "remote", "debianbug": 1016710,
//!     "releases": {
//!       "bullseye": { "status": "resolved", "fixed_version": "1:1.2.11.dfsg-2+deb11u2",
//!                     "repositories": { "bullseye": "1:1.2.11.dfsg-2+deb11u2" }, "urgency": "not yet assigned" },
//!       "sid": { "status": "resolved", "fixed_version": "1:1.2.11.dfsg-4.1", "urgency": "not yet assigned" } } } } }
//! ```
//!
//! `resolved` with fixed version `0` is "never affected" (skipped);
//! `resolved` otherwise is fixed in that version; `open` and
//! `undetermined` are affected with no fix. `nodsa_reason` says why an open
//! issue has no fix (`ignored`: will not fix; `postponed`: deferred), and
//! the urgency is the distribution's rating (see `rating.rs`). One advisory
//! per CVE, with one affected entry per package and release. The file is
//! tens of MB: it is read as a stream, one package at a time.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;

use serde::Deserialize;
use serde::de::{DeserializeSeed, MapAccess, Visitor};

use super::{Advisory, Affected, Distro, Range, debian_release};
use crate::severity::Severity;

#[derive(Debug, Deserialize)]
struct Issue {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    releases: BTreeMap<String, Release>,
}

#[derive(Debug, Deserialize)]
struct Release {
    #[serde(default)]
    status: String,
    #[serde(default)]
    fixed_version: Option<String>,
    #[serde(default)]
    urgency: Option<String>,
    #[serde(default)]
    nodsa_reason: Option<String>,
}

/// Whether the start of a JSON file looks like the tracker's: an object of
/// package names whose first value is an object keyed by `CVE-`/`TEMP-` ids.
pub fn looks_like(head: &str) -> bool {
    let mut rest = head.trim_start();
    for expected in ['{', '"'] {
        let Some(r) = rest.strip_prefix(expected) else {
            return false;
        };
        rest = r.trim_start();
    }
    // Skip the package name (names have no escapes) and its colon.
    let Some((_, r)) = rest.split_once('"') else {
        return false;
    };
    let r = r.trim_start();
    let Some(r) = r.strip_prefix(':') else {
        return false;
    };
    let Some(r) = r.trim_start().strip_prefix('{') else {
        return false;
    };
    let r = r.trim_start();
    r.starts_with("\"CVE-") || r.starts_with("\"TEMP-")
}

/// Parses the tracker's JSON from `reader`.
pub fn parse(reader: impl Read) -> Result<Vec<Advisory>, String> {
    let mut by_id: BTreeMap<String, Advisory> = BTreeMap::new();
    let mut de =
        serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(1 << 16, reader));
    Packages(&mut by_id)
        .deserialize(&mut de)
        .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(by_id
        .into_values()
        .filter(|a| !a.affected.is_empty())
        .collect())
}

/// Visits the top-level object one package at a time.
struct Packages<'a>(&'a mut BTreeMap<String, Advisory>);

impl<'de> DeserializeSeed<'de> for Packages<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Packages<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of source packages")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(package) = map.next_key::<String>()? {
            let issues: BTreeMap<String, Issue> = map.next_value()?;
            for (id, issue) in issues {
                add(self.0, &package, id, issue);
            }
        }
        Ok(())
    }
}

fn add(by_id: &mut BTreeMap<String, Advisory>, package: &str, id: String, issue: Issue) {
    let advisory = by_id.entry(id.clone()).or_insert_with(|| {
        let mut a = Advisory::new(id, "debian-tracker");
        a.summary = issue
            .description
            .as_deref()
            .and_then(|d| d.lines().next())
            .unwrap_or("")
            .to_owned();
        a
    });
    for (codename, release) in issue.releases {
        let Some(number) = debian_release(&codename) else {
            continue; // sid, experimental: no image reports them as a release
        };
        let fixed = release.fixed_version.filter(|v| !v.is_empty());
        let (fixed, status) = match release.status.as_str() {
            "resolved" => match fixed {
                Some(v) if v == "0" => continue,
                Some(v) => (Some(v), None),
                None => continue,
            },
            // `open`, `undetermined`: affected, no fix yet.
            _ => {
                let status = match release.nodsa_reason.as_deref() {
                    Some("ignored") => Some("will-not-fix"),
                    Some("postponed") => Some("fix-deferred"),
                    _ if release.urgency.as_deref() == Some("end-of-life") => Some("end-of-life"),
                    _ => None,
                };
                (None, status.map(str::to_owned))
            }
        };
        advisory.affected.push(Affected {
            distro: Distro::Debian,
            release: Some(number.to_owned()),
            package: package.to_owned(),
            ranges: vec![Range {
                introduced: None,
                fixed,
                last_affected: None,
            }],
            versions: Vec::new(),
            rating: release.urgency.as_deref().and_then(Severity::from_rating),
            status,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written from the tracker's JSON format with real advisories' facts:
    /// zlib CVE-2022-37434 (fixed in bullseye by DSA-5218-1), openssl
    /// CVE-2023-0286 (urgency high, fixed in bookworm's 3.0.8-1 and
    /// bullseye's 1.1.1n-0+deb11u4), apt CVE-2011-3374 (unimportant, open
    /// everywhere), a postponed no-dsa issue, a release never affected, and a
    /// TEMP- issue.
    const TRACKER: &str = r#"{
  "zlib": {
    "CVE-2022-37434": {
      "description": "zlib through 1.2.12 has a heap-based buffer over-read or buffer overflow in inflate in inflate.c via a large gzip header extra field.",
      "scope": "remote", "debianbug": 1016710,
      "releases": {
        "bookworm": {"status": "resolved", "repositories": {"bookworm": "1:1.2.13.dfsg-1"}, "fixed_version": "1:1.2.11.dfsg-4.1", "urgency": "not yet assigned"},
        "bullseye": {"status": "resolved", "repositories": {"bullseye": "1:1.2.11.dfsg-2+deb11u2"}, "fixed_version": "1:1.2.11.dfsg-2+deb11u2", "urgency": "not yet assigned"},
        "sid": {"status": "resolved", "repositories": {"sid": "1:1.3.dfsg+really1.3.1-1"}, "fixed_version": "1:1.2.11.dfsg-4.1", "urgency": "not yet assigned"}
      }
    }
  },
  "openssl": {
    "CVE-2023-0286": {
      "description": "There is a type confusion vulnerability relating to X.400 address processing inside an X.509 GeneralName.",
      "scope": "remote",
      "releases": {
        "bookworm": {"status": "resolved", "repositories": {"bookworm": "3.0.11-1~deb12u2"}, "fixed_version": "3.0.8-1", "urgency": "high"},
        "bullseye": {"status": "resolved", "repositories": {"bullseye": "1.1.1w-0+deb11u1"}, "fixed_version": "1.1.1n-0+deb11u4", "urgency": "high"},
        "buster": {"status": "open", "repositories": {"buster": "1.1.1n-0+deb10u3"}, "urgency": "high", "nodsa": "Minor issue", "nodsa_reason": "postponed"}
      }
    },
    "CVE-2010-0928": {
      "description": "OpenSSL 0.9.8i on the Gaisler Research LEON3 SoC ...",
      "scope": "local",
      "releases": {
        "bookworm": {"status": "open", "repositories": {"bookworm": "3.0.11-1~deb12u2"}, "urgency": "unimportant"}
      }
    }
  },
  "apt": {
    "CVE-2011-3374": {
      "description": "It was found that apt-key in apt, all versions, do not correctly validate gpg keys with the master keyring, leading to a potential man-in-the-middle attack.",
      "scope": "remote", "debianbug": 642480,
      "releases": {
        "bookworm": {"status": "open", "repositories": {"bookworm": "2.6.1"}, "urgency": "unimportant"},
        "bullseye": {"status": "open", "repositories": {"bullseye": "2.2.4"}, "urgency": "unimportant", "nodsa": "Minor", "nodsa_reason": "ignored"}
      }
    },
    "TEMP-0000000-A1B2C3": {
      "description": "apt: an issue without a CVE",
      "releases": {
        "bookworm": {"status": "resolved", "fixed_version": "0", "urgency": "low"}
      }
    }
  }
}"#;

    #[test]
    fn releases_statuses_and_urgencies() {
        assert!(looks_like(TRACKER));
        assert!(!looks_like(r#"{"id": "CVE-1", "affected": []}"#));
        assert!(!looks_like(r#"{"apt": {"description": "x"}}"#));
        let advisories = parse(TRACKER.as_bytes()).unwrap();
        let ids: Vec<_> = advisories.iter().map(|a| a.id.as_str()).collect();
        // The TEMP- issue never affected a release: no advisory.
        assert_eq!(
            ids,
            [
                "CVE-2010-0928",
                "CVE-2011-3374",
                "CVE-2022-37434",
                "CVE-2023-0286"
            ]
        );
        let zlib = &advisories[2];
        let releases: Vec<_> = zlib
            .affected
            .iter()
            .map(|a| {
                (
                    a.release.as_deref().unwrap(),
                    a.ranges[0].fixed.as_deref(),
                    a.rating,
                )
            })
            .collect();
        assert_eq!(
            releases,
            [
                ("12", Some("1:1.2.11.dfsg-4.1"), None),
                ("11", Some("1:1.2.11.dfsg-2+deb11u2"), None)
            ]
        );
        assert!(zlib.summary.starts_with("zlib through 1.2.12"));
        let openssl = &advisories[3];
        let buster = openssl
            .affected
            .iter()
            .find(|a| a.release.as_deref() == Some("10"))
            .unwrap();
        assert_eq!(buster.ranges[0].fixed, None);
        assert_eq!(buster.status.as_deref(), Some("fix-deferred"));
        assert_eq!(buster.rating, Some(Severity::High));
        assert_eq!(openssl.rate(buster).severity, Severity::High);
        let apt = &advisories[1];
        assert_eq!(apt.affected[0].rating, Some(Severity::Low));
        assert_eq!(apt.affected[1].status.as_deref(), Some("will-not-fix"));
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert!(parse(&b"{\"zlib\": {\"CVE-1\": {\"releases\": 3}}}"[..]).is_err());
        assert!(parse(&b"{\"zlib\": {}"[..]).is_err());
        assert!(parse(&b"{} trailing"[..]).is_err());
    }
}
