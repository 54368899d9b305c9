//! The compiled advisory database: every advisory, indexed by distribution,
//! release and source package, serialized compactly (postcard) into the
//! cache directory under the digest of its inputs, so a scan with unchanged
//! advisories reads one file instead of parsing thousands of records.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Advisory, Affected, Distro};
use crate::severity::Severity;

/// Bumped whenever the serialized form changes.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Database {
    pub advisories: Vec<Advisory>,
    /// `debian:12/openssl` (or `debian:*/openssl` for every release) →
    /// (advisory, affected entry).
    index: HashMap<String, Vec<(u32, u32)>>,
}

fn key(distro: Distro, release: Option<&str>, package: &str) -> String {
    format!("{}:{}/{package}", distro.as_str(), release.unwrap_or("*"))
}

impl Database {
    /// Indexes `advisories`. An advisory without a severity of its own takes
    /// the highest severity known for any of its aliases (a DSA takes its
    /// CVEs' CVSS-based severity from an OSV record).
    pub fn build(mut advisories: Vec<Advisory>) -> Database {
        let mut by_id: HashMap<String, (Severity, Option<f64>)> = HashMap::new();
        for a in &advisories {
            if a.severity == Severity::Unknown {
                continue;
            }
            for id in std::iter::once(&a.id).chain(&a.aliases) {
                let e = by_id.entry(id.clone()).or_insert((Severity::Unknown, None));
                if a.severity > e.0 {
                    *e = (a.severity, a.score);
                }
            }
        }
        for a in &mut advisories {
            if a.severity != Severity::Unknown {
                continue;
            }
            let best = std::iter::once(&a.id)
                .chain(&a.aliases)
                .filter_map(|id| by_id.get(id))
                .max_by(|x, y| x.0.cmp(&y.0));
            if let Some((severity, score)) = best {
                a.severity = *severity;
                a.score = *score;
            }
        }
        let mut index: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
        for (i, a) in advisories.iter().enumerate() {
            for (j, affected) in a.affected.iter().enumerate() {
                index
                    .entry(key(
                        affected.distro,
                        affected.release.as_deref(),
                        &affected.package,
                    ))
                    .or_default()
                    .push((i as u32, j as u32));
            }
        }
        Database { advisories, index }
    }

    /// The advisories naming `package` of `distro` `release` (and those for
    /// every release).
    pub fn lookup<'a>(
        &'a self,
        distro: Distro,
        release: &str,
        package: &str,
    ) -> impl Iterator<Item = (&'a Advisory, &'a Affected)> + 'a {
        [
            key(distro, Some(release), package),
            key(distro, None, package),
        ]
        .into_iter()
        .filter_map(|k| self.index.get(&k))
        .flatten()
        .map(|&(i, j)| {
            let a = &self.advisories[i as usize];
            (a, &a.affected[j as usize])
        })
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, String> {
        postcard::to_stdvec(&(FORMAT_VERSION, self)).map_err(|e| e.to_string())
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Database, String> {
        let (version, db): (u32, Database) =
            postcard::from_bytes(bytes).map_err(|e| e.to_string())?;
        if version != FORMAT_VERSION {
            return Err(format!("format {version}, expected {FORMAT_VERSION}"));
        }
        Ok(db)
    }

    /// Writes the database to `path` atomically (a temporary file renamed
    /// into place), so a reader never sees a partial cache.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let bytes = self.to_bytes().map_err(std::io::Error::other)?;
        let tmp = path.with_extension("partial");
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, path).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisory::{Range, osv};

    #[test]
    fn aliases_lend_severity_and_the_cache_round_trips() {
        let dsa = Advisory {
            id: "DSA-1-1".into(),
            aliases: vec!["CVE-1".into()],
            summary: String::new(),
            severity: Severity::Unknown,
            score: None,
            vector: None,
            source: "debian-dsa".into(),
            affected: vec![Affected {
                distro: Distro::Debian,
                release: Some("11".into()),
                package: "x".into(),
                ranges: vec![Range {
                    introduced: None,
                    fixed: Some("2".into()),
                    last_affected: None,
                }],
                versions: vec![],
            }],
        };
        let cve = osv::parse(br#"{"id":"CVE-1","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
            "affected":[{"package":{"ecosystem":"Debian:12","name":"x"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}"#)
            .unwrap()
            .unwrap();
        let db = Database::build(vec![dsa, cve]);
        let found: Vec<_> = db
            .lookup(Distro::Debian, "11", "x")
            .map(|(a, _)| (a.id.as_str(), a.severity))
            .collect();
        assert_eq!(found, [("DSA-1-1", Severity::Critical)]);
        let db = Database::from_bytes(&db.to_bytes().unwrap()).unwrap();
        assert_eq!(db.lookup(Distro::Debian, "12", "x").count(), 1);
        assert_eq!(db.lookup(Distro::Debian, "10", "x").count(), 0);
        assert!(Database::from_bytes(b"junk").is_err());
    }
}
