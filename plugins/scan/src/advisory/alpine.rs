//! The Alpine security database (secdb): for one branch and repository,
//! each package's `secfixes` maps the version that fixed something to the
//! ids it fixed. Every id becomes an advisory affecting versions before it.
//! A fix version of `0` means the branch was never affected: skipped.
//!
//! Two spellings of one format: the YAML of the archived
//! `alpine-secdb` repository (`v3.11/main.yaml`) and the JSON the live
//! secdb publishes (`v3.20/main.json`). The secdb carries no severity: its
//! findings take their CVE's published CVSS when another record in the
//! data has one (see `rating.rs`).

use serde::Deserialize;

use super::{Advisory, Affected, Distro, Range, alpine_branch};

#[derive(Debug, Deserialize)]
struct SecDb {
    distroversion: Option<String>,
    #[serde(default)]
    packages: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    pkg: Pkg,
}

#[derive(Debug, Deserialize)]
struct Pkg {
    name: String,
    #[serde(default)]
    secfixes: Option<serde_yaml_ng::Mapping>,
}

/// Whether `text` looks like a secdb file (so a directory walk can tell).
pub fn looks_like(text: &str) -> bool {
    (text.contains("distroversion:") || text.contains("\"distroversion\""))
        && text.contains("secfixes")
}

/// Parses the JSON form.
pub fn parse_json(json: &[u8]) -> Result<Vec<Advisory>, String> {
    let db: SecDb = serde_json::from_slice(json).map_err(|e| e.to_string())?;
    advisories(db)
}

fn scalar(value: &serde_yaml_ng::Value) -> Option<String> {
    match value {
        serde_yaml_ng::Value::String(s) => Some(s.clone()),
        serde_yaml_ng::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Parses one secdb YAML file.
pub fn parse(text: &str) -> Result<Vec<Advisory>, String> {
    let db: SecDb = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
    advisories(db)
}

fn advisories(db: SecDb) -> Result<Vec<Advisory>, String> {
    let branch = db
        .distroversion
        .map(|v| alpine_branch(&v))
        .ok_or("it has no `distroversion`")?;
    let mut advisories = Vec::new();
    for Entry { pkg } in db.packages {
        for (version, ids) in pkg.secfixes.into_iter().flatten() {
            let Some(version) = scalar(&version) else {
                continue;
            };
            if version == "0" {
                continue;
            }
            let ids = match ids {
                serde_yaml_ng::Value::Sequence(ids) => ids,
                _ => continue,
            };
            for id in ids.iter().filter_map(scalar) {
                let mut words = id.split_whitespace().map(str::to_owned);
                let Some(primary) = words.next() else {
                    continue;
                };
                let mut advisory = Advisory::new(primary, "alpine-secdb");
                advisory.aliases = words.collect();
                advisory.summary = format!("{} fixed in {version}", pkg.name);
                advisory.affected = vec![Affected {
                    distro: Distro::Alpine,
                    release: Some(branch.clone()),
                    package: pkg.name.clone(),
                    ranges: vec![Range {
                        introduced: None,
                        fixed: Some(version.clone()),
                        last_affected: None,
                    }],
                    versions: Vec::new(),
                    rating: None,
                    status: None,
                }];
                advisories.push(advisory);
            }
        }
    }
    Ok(advisories)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_shared_v3_11_main_secdb() {
        let path = crate::shared_data("advisories/alpine-secdb/v3.11/main.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(super::looks_like(&text));
        let advisories = super::parse(&text).unwrap();
        assert!(advisories.len() > 1000, "{}", advisories.len());
        let a = advisories
            .iter()
            .find(|a| a.id == "CVE-2019-14904")
            .unwrap();
        assert_eq!(a.affected[0].package, "ansible");
        assert_eq!(a.affected[0].release.as_deref(), Some("3.11"));
        assert_eq!(a.affected[0].ranges[0].fixed.as_deref(), Some("2.9.3-r0"));
        let talos = advisories
            .iter()
            .find(|a| a.aliases.iter().any(|x| x.starts_with("TALOS-")));
        assert!(talos.is_some_and(|a| a.id.starts_with("CVE-")));
    }

    /// The live secdb's JSON (`https://secdb.alpinelinux.org/v3.20/main.json`
    /// has this shape), with facts of real fixes: musl's CVE-2019-14697 and
    /// openssl's CVE-2024-5535 in 3.20, and a `0` (never affected) entry.
    #[test]
    fn the_json_form() {
        let json = br#"{
          "apkurl": "{{urlprefix}}/{{distroversion}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk",
          "archs": ["aarch64", "x86_64"], "reponame": "main",
          "urlprefix": "https://dl-cdn.alpinelinux.org/alpine", "distroversion": "v3.20",
          "packages": [
            {"pkg": {"name": "musl", "secfixes": {"1.1.23-r2": ["CVE-2019-14697"], "0": ["CVE-2025-0001"]}}},
            {"pkg": {"name": "openssl", "secfixes": {"3.3.1-r1": ["CVE-2024-5535"]}}}
          ]}"#;
        let text = std::str::from_utf8(json).unwrap();
        assert!(super::looks_like(text));
        let a = super::parse_json(json).unwrap();
        let ids: Vec<_> = a.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["CVE-2019-14697", "CVE-2024-5535"]);
        assert_eq!(a[1].affected[0].release.as_deref(), Some("3.20"));
        assert!(super::parse_json(b"{\"packages\": []}").is_err());
    }
}
