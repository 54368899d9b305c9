//! The Alpine security database (secdb): for one branch and repository,
//! each package's `secfixes` maps the version that fixed something to the
//! ids it fixed. Every id becomes an advisory affecting versions before it.
//! A fix version of `0` means the branch was never affected: skipped.

use serde::Deserialize;

use super::{Advisory, Affected, Distro, Range, alpine_branch};
use crate::severity::Severity;

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
    text.contains("distroversion:") && text.contains("secfixes")
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
                advisories.push(Advisory {
                    id: primary,
                    aliases: words.collect(),
                    summary: format!("{} fixed in {version}", pkg.name),
                    severity: Severity::Unknown,
                    score: None,
                    vector: None,
                    source: "alpine-secdb".into(),
                    affected: vec![Affected {
                        distro: Distro::Alpine,
                        release: Some(branch.clone()),
                        package: pkg.name.clone(),
                        ranges: vec![Range {
                            introduced: None,
                            fixed: Some(version.clone()),
                            last_affected: None,
                        }],
                        versions: Vec::new(),
                    }],
                });
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
}
