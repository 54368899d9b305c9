//! OSV records (https://ossf.github.io/osv-schema/) for Debian and Alpine
//! packages: `affected[].package.ecosystem` is `Debian:12` or `Alpine:v3.11`,
//! ranges are `ECOSYSTEM` events. Records of other ecosystems are skipped.

use serde::Deserialize;

use super::{Advisory, Affected, Distro, Range, alpine_branch};
use crate::cvss::Cvss;
use crate::severity::Severity;

#[derive(Debug, Deserialize)]
struct Record {
    id: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    upstream: Vec<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    severity: Vec<SeverityEntry>,
    #[serde(default)]
    affected: Vec<RecordAffected>,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    modified: Option<String>,
    #[serde(default)]
    database_specific: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct SeverityEntry {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Debug, Deserialize)]
struct RecordAffected {
    package: Option<PackageRef>,
    #[serde(default)]
    ranges: Vec<RecordRange>,
    #[serde(default)]
    versions: Vec<String>,
    #[serde(default)]
    severity: Vec<SeverityEntry>,
    #[serde(default)]
    ecosystem_specific: Option<serde_json::Value>,
    #[serde(default)]
    database_specific: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct PackageRef {
    ecosystem: String,
    name: String,
}

#[derive(Debug, Deserialize)]
struct RecordRange {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// `Debian:12` → (Debian, Some("12")); `Alpine:v3.11` → (Alpine, Some("3.11")).
pub fn ecosystem(text: &str) -> Option<(Distro, Option<String>)> {
    let (name, release) = match text.split_once(':') {
        Some((n, r)) => (n, Some(r)),
        None => (text, None),
    };
    match name {
        "Debian" => Some((
            Distro::Debian,
            release.map(|r| r.split('.').next().unwrap_or(r).to_owned()),
        )),
        "Alpine" => Some((Distro::Alpine, release.map(alpine_branch))),
        _ => None,
    }
}

/// A rating word under `severity` or `urgency` in a `*_specific` object.
fn word(v: &Option<serde_json::Value>) -> Option<Severity> {
    v.as_ref()
        .and_then(|v| v.get("severity").or_else(|| v.get("urgency")))
        .and_then(|s| s.as_str())
        .and_then(Severity::from_rating)
}

/// Parses one OSV JSON record; `Ok(None)` when it has no Debian or Alpine
/// package or is withdrawn.
pub fn parse(json: &[u8]) -> Result<Option<Advisory>, String> {
    let record: Record = serde_json::from_slice(json).map_err(|e| e.to_string())?;
    if record.withdrawn.is_some() {
        return Ok(None);
    }
    // Every CVSS vector of the record (top level or per package): the best
    // one is the advisory's own score. A vector that does not parse is
    // skipped, so the next source in the precedence applies.
    let mut cvss: Option<Cvss> = None;
    let mut rating: Option<Severity> = None;
    let mut consider = |entries: &[SeverityEntry]| {
        for entry in entries {
            match entry.kind.as_str() {
                "CVSS_V2" | "CVSS_V3" | "CVSS_V4" => {
                    if let Ok(c) = Cvss::parse(&entry.score) {
                        Cvss::keep_best(&mut cvss, c);
                    }
                }
                // `Ubuntu` and other qualitative types carry a word.
                _ => rating = rating.max(Severity::from_rating(&entry.score)),
            }
        }
    };
    consider(&record.severity);
    for a in &record.affected {
        consider(&a.severity);
    }
    let rating = rating.max(word(&record.database_specific));
    let mut affected = Vec::new();
    for a in record.affected {
        let Some(package) = a.package else { continue };
        let Some((distro, release)) = ecosystem(&package.ecosystem) else {
            continue;
        };
        let mut ranges = Vec::new();
        for r in a.ranges.iter().filter(|r| r.kind == "ECOSYSTEM") {
            let mut current: Option<Range> = None;
            for event in &r.events {
                let get = |k: &str| event.get(k).and_then(|v| v.as_str()).map(str::to_owned);
                if let Some(intro) = get("introduced") {
                    if let Some(open) = current.take() {
                        ranges.push(open);
                    }
                    current = Some(Range {
                        introduced: Some(intro),
                        fixed: None,
                        last_affected: None,
                    });
                } else if let Some(fixed) = get("fixed") {
                    let mut range = current.take().unwrap_or(Range {
                        introduced: None,
                        fixed: None,
                        last_affected: None,
                    });
                    range.fixed = Some(fixed);
                    ranges.push(range);
                } else if let Some(last) = get("last_affected") {
                    let mut range = current.take().unwrap_or(Range {
                        introduced: None,
                        fixed: None,
                        last_affected: None,
                    });
                    range.last_affected = Some(last);
                    ranges.push(range);
                }
            }
            if let Some(open) = current {
                ranges.push(open);
            }
        }
        if ranges.is_empty() && a.versions.is_empty() {
            continue;
        }
        // osv.dev's DEBIAN-CVE records carry the tracker's urgency here.
        let rating = word(&a.ecosystem_specific).max(word(&a.database_specific));
        affected.push(Affected {
            distro,
            release,
            package: package.name,
            ranges,
            versions: a.versions,
            rating,
            status: None,
        });
    }
    if affected.is_empty() {
        return Ok(None);
    }
    let mut aliases = record.aliases;
    aliases.extend(
        record
            .upstream
            .into_iter()
            .filter(|u| u.starts_with("CVE-")),
    );
    aliases.retain(|a| *a != record.id);
    aliases.sort();
    aliases.dedup();
    let summary = record
        .summary
        .or_else(|| {
            record
                .details
                .map(|d| d.lines().next().unwrap_or("").to_owned())
        })
        .unwrap_or_default();
    let mut advisory = Advisory::new(record.id, "osv");
    advisory.aliases = aliases;
    advisory.summary = summary;
    advisory.cvss = cvss;
    advisory.rating = rating;
    advisory.affected = affected;
    advisory.date = record
        .modified
        .as_deref()
        .and_then(crate::date::parse_timestamp);
    Ok(Some(advisory))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_debian_record_with_a_cvss_vector() {
        let json = br#"{
          "id": "DSA-9999-1", "aliases": ["CVE-2099-0001"], "summary": "openssl - security update",
          "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
          "affected": [
            {"package": {"ecosystem": "Debian:12", "name": "openssl"},
             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.11-1~deb12u2"}]}]},
            {"package": {"ecosystem": "PyPI", "name": "x"}, "ranges": []}
          ]}"#;
        let a = parse(json).unwrap().unwrap();
        let rated = a.rate(&a.affected[0]);
        assert_eq!(rated.severity, Severity::Critical);
        assert_eq!(rated.score, Some(9.8));
        assert_eq!(a.affected.len(), 1);
        assert_eq!(a.affected[0].release.as_deref(), Some("12"));
        assert_eq!(
            a.affected[0].ranges[0].fixed.as_deref(),
            Some("3.0.11-1~deb12u2")
        );
        assert_eq!(a.aliases, ["CVE-2099-0001"]);
    }

    #[test]
    fn unfixed_rated_and_foreign_records() {
        let json = br#"{"id": "X-1", "database_specific": {"severity": "HIGH"},
          "affected": [{"package": {"ecosystem": "Alpine:v3.11", "name": "musl"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]}"#;
        let a = parse(json).unwrap().unwrap();
        assert_eq!(a.rate(&a.affected[0]).severity, Severity::High);
        assert_eq!(a.affected[0].ranges[0].fixed, None);
        assert_eq!(a.affected[0].release.as_deref(), Some("3.11"));
        let json =
            br#"{"id": "G-1", "affected": [{"package": {"ecosystem": "npm", "name": "x"}}]}"#;
        assert!(parse(json).unwrap().is_none());
        assert!(parse(b"{").is_err());
    }

    /// The shape osv.dev publishes for the Debian tracker's CVEs
    /// (`DEBIAN-CVE-…` in `Debian/all.zip`): NVD's primary CVSS v3 vector at
    /// the top, the tracker's urgency per release in `ecosystem_specific`.
    /// Facts of CVE-2022-37434 (zlib, NVD 9.8; fixed in bullseye by
    /// DSA-5218-1; bookworm shipped the fix).
    #[test]
    fn a_debian_cve_record_with_nvd_cvss_and_urgency() {
        let json = br#"{
          "id": "DEBIAN-CVE-2022-37434", "upstream": ["CVE-2022-37434"],
          "modified": "2024-09-01T00:00:00Z",
          "details": "zlib through 1.2.12 has a heap-based buffer over-read or buffer overflow in inflate in inflate.c via a large gzip header extra field.",
          "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
          "affected": [
            {"package": {"ecosystem": "Debian:11", "name": "zlib"},
             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1:1.2.11.dfsg-2+deb11u2"}]}],
             "ecosystem_specific": {"urgency": "not yet assigned"}},
            {"package": {"ecosystem": "Debian:12", "name": "zlib"},
             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1:1.2.11.dfsg-4.1"}]}],
             "ecosystem_specific": {"urgency": "high"}}
          ]}"#;
        let a = parse(json).unwrap().unwrap();
        assert_eq!(a.aliases, ["CVE-2022-37434"]);
        assert_eq!(a.cves().collect::<Vec<_>>(), ["CVE-2022-37434"]);
        assert_eq!(a.affected[0].rating, None);
        assert_eq!(a.affected[1].rating, Some(Severity::High));
        let rated = a.rate(&a.affected[1]);
        assert_eq!(
            (rated.severity, rated.source),
            (
                Severity::Critical,
                crate::advisory::SeveritySource::AdvisoryCvss
            )
        );
        assert!(a.summary.starts_with("zlib through 1.2.12"));
        assert_eq!(a.date, crate::date::days_from_civil(2024, 9, 1));
    }

    #[test]
    fn v2_and_v4_vectors_and_the_newest_wins() {
        let json = br#"{"id": "ALPINE-CVE-2099-1", "upstream": ["CVE-2099-1"],
          "severity": [{"type": "CVSS_V2", "score": "AV:N/AC:L/Au:N/C:C/I:C/A:C"},
                       {"type": "CVSS_V4", "score": "CVSS:4.0/AV:L/AC:H/AT:P/PR:H/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N"},
                       {"type": "CVSS_V3", "score": "not a vector"}],
          "affected": [{"package": {"ecosystem": "Alpine:v3.20", "name": "x"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2-r0"}]}]}]}"#;
        let a = parse(json).unwrap().unwrap();
        let c = a.cvss.as_ref().unwrap();
        assert_eq!(c.version, "4.0");
        assert_eq!(a.rate(&a.affected[0]).severity, Severity::Low);
    }
}
