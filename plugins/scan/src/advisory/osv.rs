//! OSV records (https://ossf.github.io/osv-schema/) for Debian and Alpine
//! packages: `affected[].package.ecosystem` is `Debian:12` or `Alpine:v3.11`,
//! ranges are `ECOSYSTEM` events. Records of other ecosystems are skipped.

use serde::Deserialize;

use super::{Advisory, Affected, Distro, Range, alpine_branch};
use crate::severity::{Severity, cvss3_base_score};

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

/// Parses one OSV JSON record; `Ok(None)` when it has no Debian or Alpine
/// package or is withdrawn.
pub fn parse(json: &[u8]) -> Result<Option<Advisory>, String> {
    let record: Record = serde_json::from_slice(json).map_err(|e| e.to_string())?;
    if record.withdrawn.is_some() {
        return Ok(None);
    }
    let mut severity = Severity::Unknown;
    let mut score = None;
    let mut vector = None;
    let mut consider = |entries: &[SeverityEntry]| {
        for entry in entries {
            match entry.kind.as_str() {
                "CVSS_V3" => {
                    if let Ok(s) = cvss3_base_score(&entry.score)
                        && score.is_none_or(|old| s > old)
                    {
                        score = Some(s);
                        vector = Some(entry.score.clone());
                    }
                }
                _ => {
                    if let Some(r) = Severity::from_rating(&entry.score) {
                        severity = severity.max(r);
                    }
                }
            }
        }
    };
    consider(&record.severity);
    for a in &record.affected {
        consider(&a.severity);
    }
    let rating = |v: &Option<serde_json::Value>| {
        v.as_ref()
            .and_then(|v| v.get("severity").or_else(|| v.get("urgency")))
            .and_then(|s| s.as_str())
            .and_then(Severity::from_rating)
    };
    let mut ratings: Vec<Severity> = record
        .affected
        .iter()
        .flat_map(|a| [rating(&a.ecosystem_specific), rating(&a.database_specific)])
        .flatten()
        .collect();
    ratings.extend(rating(&record.database_specific));
    let rated = ratings.into_iter().max();
    // A CVSS vector is the most precise; a source's word is next.
    let severity = match (score, rated) {
        (Some(s), _) => Severity::from_score(s),
        (None, Some(r)) => r.max(severity),
        (None, None) => severity,
    };
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
        affected.push(Affected {
            distro,
            release,
            package: package.name,
            ranges,
            versions: a.versions,
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
    Ok(Some(Advisory {
        id: record.id,
        aliases,
        summary,
        severity,
        score,
        vector,
        source: "osv".into(),
        affected,
    }))
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
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(a.score, Some(9.8));
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
        assert_eq!(a.severity, Severity::High);
        assert_eq!(a.affected[0].ranges[0].fixed, None);
        assert_eq!(a.affected[0].release.as_deref(), Some("3.11"));
        let json =
            br#"{"id": "G-1", "affected": [{"package": {"ecosystem": "npm", "name": "x"}}]}"#;
        assert!(parse(json).unwrap().is_none());
        assert!(parse(b"{").is_err());
    }
}
