//! The compiled advisory database: every advisory, indexed by distribution,
//! release and source package, serialized compactly (postcard) into the
//! cache directory under the digest of its inputs, so a scan with unchanged
//! advisories reads one file instead of parsing thousands of records.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Advisory, Affected, Distro};
use crate::cvss::Cvss;

/// Bumped whenever the serialized form changes.
pub const FORMAT_VERSION: u32 = 2;

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Database {
    pub advisories: Vec<Advisory>,
    /// `debian:12/openssl` (or `debian:*/openssl` for every release) →
    /// (advisory, affected entry).
    index: HashMap<String, Vec<(u32, u32)>>,
    /// The releases the data describes (`debian:12`, `alpine:3.11`, and
    /// `debian:*` for data about every release): a scanned OS outside them
    /// has no usable data.
    coverage: BTreeSet<String>,
    /// Per distribution (`debian`), the newest record's date in days since
    /// 1970-01-01: how current the data is.
    as_of: BTreeMap<String, i64>,
}

fn key(distro: Distro, release: Option<&str>, package: &str) -> String {
    format!("{}:{}/{package}", distro.as_str(), release.unwrap_or("*"))
}

fn release_key(distro: Distro, release: Option<&str>) -> String {
    format!("{}:{}", distro.as_str(), release.unwrap_or("*"))
}

impl Database {
    /// Indexes `advisories`, and gives each advisory without a CVSS of its
    /// own the CVSS published for its CVEs by another record (the second
    /// step of the precedence in `rating.rs`).
    pub fn build(mut advisories: Vec<Advisory>) -> Database {
        // A record about exactly one CVE (the CVE itself, osv.dev's
        // DEBIAN-CVE-…/ALPINE-CVE-…) publishes that CVE's score; a DSA with
        // a vector covering five CVEs does not score each of them.
        let mut published: HashMap<String, Cvss> = HashMap::new();
        for a in &advisories {
            let Some(cvss) = &a.cvss else { continue };
            let mut cves = a.cves();
            if let (Some(cve), None) = (cves.next(), cves.next()) {
                let mut best = published.remove(cve);
                Cvss::keep_best(&mut best, cvss.clone());
                published.insert(cve.to_owned(), best.expect("just set"));
            }
        }
        for a in &mut advisories {
            if a.cvss.is_some() {
                continue;
            }
            // Several CVEs: the most severe one's score.
            a.borrowed = a
                .cves()
                .filter_map(|cve| published.get(cve).map(|c| (cve, c)))
                .max_by(|(_, x), (_, y)| {
                    x.severity()
                        .cmp(&y.severity())
                        .then(x.score.total_cmp(&y.score))
                })
                .map(|(cve, c)| (cve.to_owned(), c.clone()));
        }
        let mut index: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
        let mut coverage = BTreeSet::new();
        let mut as_of: BTreeMap<String, i64> = BTreeMap::new();
        for (i, a) in advisories.iter().enumerate() {
            for (j, affected) in a.affected.iter().enumerate() {
                if let Some(date) = a.date {
                    let newest = as_of
                        .entry(affected.distro.as_str().to_owned())
                        .or_insert(date);
                    *newest = (*newest).max(date);
                }
                index
                    .entry(key(
                        affected.distro,
                        affected.release.as_deref(),
                        &affected.package,
                    ))
                    .or_default()
                    .push((i as u32, j as u32));
                coverage.insert(release_key(affected.distro, affected.release.as_deref()));
            }
        }
        Database {
            advisories,
            index,
            coverage,
            as_of,
        }
    }

    /// The newest record's date for `distro` (days since 1970-01-01).
    pub fn as_of(&self, distro: Distro) -> Option<i64> {
        self.as_of.get(distro.as_str()).copied()
    }

    /// Whether the data describes `distro` `release` at all.
    pub fn covers(&self, distro: Distro, release: &str) -> bool {
        self.coverage.contains(&release_key(distro, Some(release)))
            || self.coverage.contains(&release_key(distro, None))
    }

    /// The releases the data describes, for error messages (`debian 11`,
    /// `alpine 3.11`, …).
    pub fn coverage(&self) -> Vec<String> {
        self.coverage.iter().map(|k| k.replace(':', " ")).collect()
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
    use crate::advisory::{Range, SeveritySource, osv};
    use crate::severity::Severity;

    fn dsa(id: &str, cves: &[&str], release: &str) -> Advisory {
        let mut a = Advisory::new(id.into(), "debian-dsa");
        a.aliases = cves.iter().map(|c| c.to_string()).collect();
        a.affected = vec![Affected {
            distro: Distro::Debian,
            release: Some(release.into()),
            package: "x".into(),
            ranges: vec![Range {
                introduced: None,
                fixed: Some("2".into()),
                last_affected: None,
            }],
            versions: vec![],
            rating: Some(Severity::Low),
            status: None,
        }];
        a
    }

    fn cve_record(id: &str, vector: &str) -> Advisory {
        osv::parse(format!(r#"{{"id":"DEBIAN-{id}","upstream":["{id}"],"severity":[{{"type":"CVSS_V3","score":"{vector}"}}],
            "affected":[{{"package":{{"ecosystem":"Debian:12","name":"x"}},"ranges":[{{"type":"ECOSYSTEM","events":[{{"introduced":"0"}}]}}]}}]}}"#).as_bytes())
            .unwrap()
            .unwrap()
    }

    #[test]
    fn the_cve_score_beats_the_distribution_rating_and_the_cache_round_trips() {
        let critical = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
        let medium = "CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N";
        let db = Database::build(vec![
            dsa("DSA-1-1", &["CVE-1", "CVE-2"], "11"),
            dsa("DSA-3-1", &["CVE-3"], "11"),
            cve_record("CVE-1", medium),
            cve_record("CVE-2", critical),
        ]);
        let rate = |id: &str| {
            let (a, affected) = db
                .lookup(Distro::Debian, "11", "x")
                .find(|(a, _)| a.id == id)
                .unwrap();
            let r = a.rate(affected);
            (r.severity, r.source)
        };
        // The most severe of its CVEs' published scores.
        assert_eq!(
            rate("DSA-1-1"),
            (Severity::Critical, SeveritySource::CveCvss)
        );
        // No score anywhere: the distribution's rating.
        assert_eq!(
            rate("DSA-3-1"),
            (Severity::Low, SeveritySource::Distribution)
        );
        assert!(db.covers(Distro::Debian, "11") && db.covers(Distro::Debian, "12"));
        assert!(!db.covers(Distro::Debian, "10") && !db.covers(Distro::Alpine, "3.11"));
        assert_eq!(db.coverage(), ["debian 11", "debian 12"]);
        let db = Database::from_bytes(&db.to_bytes().unwrap()).unwrap();
        assert_eq!(db.lookup(Distro::Debian, "12", "x").count(), 2);
        assert_eq!(db.lookup(Distro::Debian, "10", "x").count(), 0);
        assert!(db.covers(Distro::Debian, "11"));
        assert!(Database::from_bytes(b"junk").is_err());
    }

    #[test]
    fn a_multi_cve_record_does_not_publish_a_score_for_each() {
        let mut many = dsa("DSA-9-1", &["CVE-7", "CVE-8"], "11");
        many.cvss = Some(Cvss::parse("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").unwrap());
        let db = Database::build(vec![many, dsa("DLA-1-1", &["CVE-7"], "11")]);
        let dla = db.advisories.iter().find(|a| a.id == "DLA-1-1").unwrap();
        assert_eq!(dla.borrowed, None);
    }
}
