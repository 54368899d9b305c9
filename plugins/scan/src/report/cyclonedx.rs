//! A CycloneDX 1.6 SBOM (JSON) of the packages found: one component per
//! installed package with its package URL, plus the operating system, and a
//! `vulnerabilities` section (VEX): one entry per advisory with its ratings,
//! references to its other ids, and the components it affects. Checked
//! against the official 1.6 schema in the tests.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Report, percent_encode};
use crate::advisory::SeveritySource;
use crate::finding::{Finding, Kind};
use crate::image::{Inventory, Package};
use crate::severity::Severity;
use crate::version::Scheme;

/// A component's `bom-ref`: its purl, qualified by the image it is in.
fn component_ref(purl: &str, target: &str) -> String {
    format!("{purl}&target={}", percent_encode(target))
}

fn rating(f: &Finding) -> Value {
    let severity = match f.severity {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
        Severity::Unknown => "unknown",
    };
    let mut r = json!({ "severity": severity });
    if let Some(score) = f.score {
        r["score"] = json!(score);
    }
    if let Some(vector) = &f.cvss {
        r["vector"] = json!(vector);
        r["method"] = json!(if vector.starts_with("CVSS:4.0/") {
            "CVSSv4"
        } else if vector.starts_with("CVSS:3.1/") {
            "CVSSv31"
        } else if vector.starts_with("CVSS:3.0/") {
            "CVSSv3"
        } else {
            "CVSSv2"
        });
    } else if f.severity_source == SeveritySource::Distribution {
        r["method"] = json!("other");
    }
    r["source"] = json!({ "name": match f.severity_source {
        SeveritySource::AdvisoryCvss => "advisory",
        SeveritySource::CveCvss => "cve",
        SeveritySource::Distribution => "distribution",
        SeveritySource::None => "none",
    }});
    r
}

/// `CVE-…` ids link to the CVE record; others name their kind.
fn reference(id: &str) -> Value {
    if id.starts_with("CVE-") {
        json!({ "id": id, "source": { "name": "CVE", "url": format!("https://www.cve.org/CVERecord?id={id}") } })
    } else {
        json!({ "id": id, "source": { "name": id.split('-').next().unwrap_or(id) } })
    }
}

/// The `vulnerabilities` section: one entry per advisory id.
fn vulnerabilities(report: &Report) -> Vec<Value> {
    let mut by_id: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in report
        .findings
        .iter()
        .filter(|f| f.kind == Kind::Vulnerability)
    {
        by_id.entry(f.id.as_str()).or_default().push(f);
    }
    by_id
        .into_iter()
        .map(|(id, group)| {
            let worst = group
                .iter()
                .max_by_key(|f| (f.severity, f.severity_source))
                .expect("a group has a finding");
            let mut aliases: Vec<&str> = group
                .iter()
                .flat_map(|f| f.aliases.iter().map(String::as_str))
                .collect();
            aliases.sort_unstable();
            aliases.dedup();
            let mut affects: Vec<Value> = group
                .iter()
                .filter_map(|f| {
                    let p = f.package.as_ref()?;
                    let inventory = report.inventories.iter().find(|i| i.target == f.target)?;
                    let package = inventory
                        .packages
                        .iter()
                        .find(|q| q.name == p.name && q.arch == p.arch && q.version == p.version)?;
                    Some(json!({
                        "ref": component_ref(&purl(inventory, package), &f.target),
                        "versions": [{ "version": p.version, "status": "affected" }],
                    }))
                })
                .collect();
            affects.dedup();
            let mut v = json!({
                "bom-ref": format!("vulnerability:{id}"),
                "id": id,
                "source": { "name": id.split('-').next().unwrap_or(id) },
                "ratings": [rating(worst)],
                "affects": affects,
            });
            if !aliases.is_empty() {
                v["references"] = json!(aliases.iter().map(|a| reference(a)).collect::<Vec<_>>());
            }
            if !worst.title.is_empty() {
                v["description"] = json!(worst.title);
            }
            let fixes: Vec<String> = group
                .iter()
                .filter_map(|f| {
                    Some(format!(
                        "upgrade {} to {}",
                        f.package.as_ref()?.name,
                        f.fixed.as_ref()?
                    ))
                })
                .collect();
            if !fixes.is_empty() {
                v["recommendation"] = json!(fixes.join("; "));
            }
            // The ignore file's reason and the distribution's no-fix status
            // are the analysis a VEX consumer reads.
            let mut analysis = serde_json::Map::new();
            if let Some(reason) = group.iter().find_map(|f| f.ignored.as_ref()) {
                analysis.insert("detail".into(), json!(format!("ignored: {reason}")));
            }
            let response: Vec<&str> = group
                .iter()
                .filter_map(|f| match f.status.as_deref() {
                    Some("will-not-fix") => Some("will_not_fix"),
                    Some("end-of-life") => Some("can_not_fix"),
                    _ => None,
                })
                .collect();
            if let Some(first) = response.first() {
                analysis.insert("response".into(), json!([first]));
            }
            if !analysis.is_empty() {
                v["analysis"] = Value::Object(analysis);
            }
            v
        })
        .collect()
}

pub fn render(report: &Report) -> String {
    let mut components = Vec::new();
    for inventory in report.inventories {
        if let Some(os) = &inventory.os {
            components.push(json!({
                "type": "operating-system",
                "bom-ref": format!("os:{}:{}", inventory.target, os.id),
                "name": os.id,
                "version": os.version_id,
                "description": os.pretty_name,
            }));
        }
        for p in &inventory.packages {
            let purl = purl(inventory, p);
            let mut properties = vec![
                json!({ "name": "run-scan:source", "value": p.source }),
                json!({ "name": "run-scan:source-version", "value": p.source_version }),
                json!({ "name": "run-scan:target", "value": inventory.target }),
                json!({ "name": "run-scan:layer", "value": p.layer.map_or("-".to_owned(), |l| (l + 1).to_string()) }),
            ];
            if let Some(state) = &p.status {
                properties.push(json!({ "name": "run-scan:dpkg-state", "value": state }));
            }
            components.push(json!({
                "type": "library",
                "bom-ref": component_ref(&purl, &inventory.target),
                "name": p.name,
                "version": p.version,
                "purl": purl,
                "properties": properties,
            }));
        }
    }
    // A stable serial number: the same packages give the same SBOM id.
    let mut hash = Sha256::new();
    for c in &components {
        hash.update(c["bom-ref"].as_str().unwrap_or("").as_bytes());
    }
    let h = hash.finalize();
    let hex: String = h.iter().take(16).map(|b| format!("{b:02x}")).collect();
    let uuid = format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    );
    let subject: Value = match report.inventories {
        [one] => {
            json!({ "type": "container", "bom-ref": format!("target:{}", one.target), "name": one.target })
        }
        _ => json!({ "type": "application", "bom-ref": "targets", "name": "scanned images" }),
    };
    let bom = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{uuid}"),
        "version": 1,
        "metadata": {
            "tools": { "components": [{ "type": "application", "name": "run-scan", "version": env!("CARGO_PKG_VERSION") }] },
            "component": subject,
            "properties": data_properties(report),
        },
        "components": components,
        "vulnerabilities": vulnerabilities(report),
    });
    let mut text = serde_json::to_string_pretty(&bom).unwrap_or_default();
    text.push('\n');
    text
}

/// The advisory data's age and sources, as name/value properties.
fn data_properties(report: &Report) -> Vec<Value> {
    let Some(data) = report.data else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let (Some(as_of), Some(age)) = (data.as_of(), data.age()) {
        out.push(json!({ "name": "run-scan:advisory-data:as-of", "value": crate::feed::timestamp(as_of) }));
        out.push(json!({ "name": "run-scan:advisory-data:age-seconds", "value": age.to_string() }));
    }
    for s in &data.sources {
        let mut value = format!("{} {}", s.name, s.from);
        if let Some(t) = s.fetched {
            value.push_str(&format!(" fetched {}", crate::feed::timestamp(t)));
        }
        if let Some(t) = s.checked {
            value.push_str(&format!(" checked {}", crate::feed::timestamp(t)));
        }
        if let Some(h) = &s.sha256 {
            value.push_str(&format!(" sha256 {h}"));
        }
        out.push(json!({ "name": "run-scan:advisory-data:source", "value": value }));
    }
    out
}

/// `pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12`.
fn purl(inventory: &Inventory, p: &Package) -> String {
    let (kind, namespace) = match p.scheme {
        Scheme::Dpkg => (
            "deb",
            inventory.os.as_ref().map_or("debian", |o| o.id.as_str()),
        ),
        Scheme::Apk => (
            "apk",
            inventory.os.as_ref().map_or("alpine", |o| o.id.as_str()),
        ),
    };
    let mut qualifiers = Vec::new();
    if !p.arch.is_empty() {
        qualifiers.push(format!("arch={}", percent_encode(&p.arch)));
    }
    if let Some(os) = &inventory.os {
        qualifiers.push(format!(
            "distro={}-{}",
            percent_encode(&os.id),
            percent_encode(&os.version_id)
        ));
    }
    if p.source != p.name {
        let key = if p.scheme == Scheme::Apk {
            "origin"
        } else {
            "upstream"
        };
        qualifiers.push(format!("{key}={}", percent_encode(&p.source)));
    }
    let mut purl = format!(
        "pkg:{kind}/{}/{}@{}",
        percent_encode(namespace),
        percent_encode(&p.name),
        percent_encode(&p.version)
    );
    if !qualifiers.is_empty() {
        purl.push('?');
        purl.push_str(&qualifiers.join("&"));
    }
    purl
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisory::database::Database;
    use crate::advisory::{Distro, debian};
    use crate::image::{Os, Package};
    use crate::matcher;
    use crate::policy::Policy;

    fn package(
        name: &str,
        arch: &str,
        source: &str,
        version: &str,
        status: Option<&str>,
    ) -> Package {
        Package {
            name: name.into(),
            version: version.into(),
            source: source.into(),
            source_version: version.into(),
            arch: arch.into(),
            status: status.map(Into::into),
            scheme: Scheme::Dpkg,
            layer: Some(0),
        }
    }

    /// A bullseye image against the real DSA list plus an NVD-scored CVE
    /// record: the SBOM with its vulnerabilities is valid CycloneDX 1.6.
    #[test]
    fn the_sbom_with_vulnerabilities_is_schema_valid() {
        let text = std::fs::read_to_string(crate::shared_data(
            "advisories/debian-security-tracker/DSA-list",
        ))
        .unwrap();
        let mut advisories = debian::parse(&text).unwrap();
        advisories.push(crate::advisory::osv::parse(br#"{"id": "DEBIAN-CVE-2022-37434", "upstream": ["CVE-2022-37434"],
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
            "affected": [{"package": {"ecosystem": "Debian:11", "name": "zlib"},
              "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1:1.2.11.dfsg-2+deb11u2"}]}]}]}"#).unwrap().unwrap());
        let db = Database::build(advisories);
        let inventory = Inventory {
            target: "app:1".into(),
            os: Some(Os {
                id: "debian".into(),
                version_id: "11".into(),
                codename: "bullseye".into(),
                pretty_name: "Debian GNU/Linux 11 (bullseye)".into(),
            }),
            packages: vec![
                package("zlib1g", "amd64", "zlib", "1:1.2.11.dfsg-2+deb11u1", None),
                package("zlib1g", "i386", "zlib", "1:1.2.11.dfsg-2+deb11u1", None),
                package(
                    "xserver-common",
                    "all",
                    "xorg-server",
                    "2:1.20.11-1+deb11u5",
                    Some("half-configured"),
                ),
                package("bash", "amd64", "bash", "5.1-2+deb11u1", None),
            ],
            layers: vec![crate::image::Layer {
                index: 0,
                diff_id: Some("sha256:00".into()),
                created_by: None,
            }],
        };
        assert_eq!(Distro::from_os_id("debian"), Some(Distro::Debian));
        let mut findings = matcher::find(&db, &inventory, 0, None).unwrap().findings;
        assert!(findings.len() >= 3, "{findings:?}");
        findings
            .iter_mut()
            .filter(|f| f.id == "DSA-5380-1")
            .for_each(|f| f.ignored = Some("no X server".into()));
        findings.extend(crate::hardening::audit("pg", &Default::default()));
        let inventories = [inventory];
        let report = Report {
            inventories: &inventories,
            audited: &[],
            findings: &findings,
            policy: &Policy::default(),
            expired: &[],
            warnings: &[],
            data: None,
        };
        let bom: Value = serde_json::from_str(&render(&report)).unwrap();
        crate::cyclonedx_schema::assert_valid(&bom);
        assert_eq!(bom["specVersion"], "1.6");
        let vulns = bom["vulnerabilities"].as_array().unwrap();
        let zlib = vulns.iter().find(|v| v["id"] == "DSA-5218-1").unwrap();
        assert_eq!(zlib["ratings"][0]["severity"], "critical");
        assert_eq!(zlib["ratings"][0]["method"], "CVSSv31");
        assert_eq!(zlib["ratings"][0]["score"], 9.8);
        // One entry, both architectures affected.
        assert_eq!(zlib["affects"].as_array().unwrap().len(), 2);
        let refs: Vec<&str> = zlib["references"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert_eq!(refs, ["CVE-2022-37434", "DEBIAN-CVE-2022-37434"]);
        let xorg = vulns.iter().find(|v| v["id"] == "DSA-5380-1").unwrap();
        assert_eq!(xorg["analysis"]["detail"], "ignored: no X server");
        assert_eq!(xorg["ratings"][0]["severity"], "unknown");
        // Every affected ref names a component.
        let components: Vec<&str> = bom["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["bom-ref"].as_str().unwrap())
            .collect();
        for v in vulns {
            for a in v["affects"].as_array().unwrap() {
                assert!(components.contains(&a["ref"].as_str().unwrap()), "{a}");
            }
        }
        // Hardening findings are not component vulnerabilities.
        assert!(
            !vulns
                .iter()
                .any(|v| v["id"].as_str().unwrap().starts_with("RUN-H"))
        );
        let half = bom["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "xserver-common")
            .unwrap();
        assert!(
            half["properties"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["value"] == "half-configured")
        );
    }
}
