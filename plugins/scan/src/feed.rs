//! Advisory data the scan fetches itself, as Trivy and Grype do: the
//! published sources the scanned OSes need (osv.dev's per-ecosystem zips,
//! the Debian security tracker's JSON, the Alpine secdb of each branch),
//! downloaded through the host's `http` capability into
//! `CACHE/sources/`, verified, and swapped in atomically.
//!
//! A download goes to `CACHE/sources/.incoming/FILE` (itself written as
//! `….part` and renamed when whole), is parsed with the format's own reader
//! and checked to describe what it should (the Debian records of a Debian
//! zip, the branch of a secdb), and only then renamed over the previous
//! copy; its size, SHA-256, entity tag and fetch time go to
//! `CACHE/sources/state.json` (written atomically too). A download that
//! fails or does not verify leaves the previous copy, which the scan keeps
//! using with a warning naming the source and the error; with no previous
//! copy the scan fails closed.
//!
//! `CACHE/sources/` has the layout of a mirror directory (`mirror-dir`), so
//! a copy of it serves an air-gapped machine.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use run_plugin_sdk::http::{Download, Get};
use run_plugin_sdk::{Access, Error, log};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::advisory::{Advisory, Distro, alpine_branch, load};
use crate::date;
use crate::image::Inventory;

/// osv.dev's bucket: `<ECOSYSTEM>/all.zip` below it.
pub const OSV: &str = "https://osv-vulnerabilities.storage.googleapis.com/";
/// The Debian security tracker's JSON, every release in one file.
pub const DEBIAN_TRACKER: &str = "https://security-tracker.debian.org/tracker/data/json";
/// The Alpine secdb: `vX.Y/main.json` and `vX.Y/community.json` below it.
pub const ALPINE_SECDB: &str = "https://secdb.alpinelinux.org/";

/// Where each published source is downloaded from (`config.mirrors`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirrors {
    /// A base URL ending in `/`.
    pub osv: String,
    /// The URL of the tracker's JSON file itself.
    pub debian_tracker: String,
    /// A base URL ending in `/`.
    pub alpine_secdb: String,
}

impl Default for Mirrors {
    fn default() -> Mirrors {
        Mirrors {
            osv: OSV.into(),
            debian_tracker: DEBIAN_TRACKER.into(),
            alpine_secdb: ALPINE_SECDB.into(),
        }
    }
}

impl Mirrors {
    /// The URL prefixes to grant in `allow.http`.
    pub fn prefixes(&self) -> [&str; 3] {
        [&self.osv, &self.debian_tracker, &self.alpine_secdb]
    }
}

/// What a downloaded file must turn out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// An OSV zip with records of this distribution.
    Osv(Distro),
    /// The tracker's JSON.
    DebianTracker,
    /// The secdb of this branch (`3.19`).
    AlpineSecdb(String),
}

/// One published file the scan needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// `osv Debian`, `debian tracker`, `alpine secdb v3.19 main`.
    pub name: String,
    pub url: String,
    /// Its path below `CACHE/sources/` and below a mirror directory.
    pub file: String,
    pub expect: Expect,
}

/// The sources the inventories' operating systems need, each once: a
/// Debian image needs osv.dev's `Debian/all.zip` and the tracker's JSON
/// (each covers every release: osv.dev's per-release zips are no longer
/// updated, and the tracker publishes one file); an Alpine image needs
/// `Alpine/all.zip` and the secdb of its own branch only.
pub fn needed(mirrors: &Mirrors, inventories: &[Inventory]) -> Vec<Source> {
    let mut sources: Vec<Source> = Vec::new();
    let mut add = |source: Source| {
        if !sources.iter().any(|s| s.file == source.file) {
            sources.push(source);
        }
    };
    for inventory in inventories {
        let Some(os) = &inventory.os else { continue };
        match Distro::from_os_id(&os.id) {
            Some(Distro::Debian) => {
                add(osv(mirrors, Distro::Debian));
                add(Source {
                    name: "debian tracker".into(),
                    url: mirrors.debian_tracker.clone(),
                    file: "debian/tracker.json".into(),
                    expect: Expect::DebianTracker,
                });
            }
            Some(Distro::Alpine) => {
                add(osv(mirrors, Distro::Alpine));
                if os.version_id.is_empty() {
                    continue;
                }
                let branch = alpine_branch(&os.version_id);
                for repo in ["main", "community"] {
                    add(Source {
                        name: format!("alpine secdb v{branch} {repo}"),
                        url: format!("{}v{branch}/{repo}.json", mirrors.alpine_secdb),
                        file: format!("alpine/v{branch}/{repo}.json"),
                        expect: Expect::AlpineSecdb(branch.clone()),
                    });
                }
            }
            None => {}
        }
    }
    sources
}

fn osv(mirrors: &Mirrors, distro: Distro) -> Source {
    let ecosystem = match distro {
        Distro::Debian => "Debian",
        Distro::Alpine => "Alpine",
    };
    Source {
        name: format!("osv {ecosystem}"),
        url: format!("{}{ecosystem}/all.zip", mirrors.osv),
        file: format!("osv/{ecosystem}/all.zip"),
        expect: Expect::Osv(distro),
    }
}

/// What the cache knows of one downloaded file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub url: String,
    pub etag: Option<String>,
    pub sha256: String,
    pub size: u64,
    /// When these bytes were downloaded (seconds since 1970).
    pub fetched: u64,
    /// When the server last confirmed them current (a download or a 304).
    pub checked: u64,
}

/// `CACHE/sources/state.json`: file → entry.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    sources: BTreeMap<String, Entry>,
}

/// One source as the reports show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    pub name: String,
    /// Where it came from: a URL, or a file of a mirror directory or of
    /// `config.advisories`.
    pub from: String,
    /// When its bytes were downloaded (or, for a file, last modified).
    pub fetched: Option<u64>,
    /// When its source last confirmed it current.
    pub checked: Option<u64>,
    pub etag: Option<String>,
    pub sha256: Option<String>,
    pub size: Option<u64>,
    /// Why the last refresh failed (the previous copy is in use).
    pub error: Option<String>,
}

impl Status {
    /// How current it is: when its source last confirmed it, else when it
    /// was fetched.
    pub fn as_of(&self) -> Option<u64> {
        self.checked.or(self.fetched)
    }
}

/// The advisory data a scan used: where from, and how old.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DataInfo {
    /// The scan's time (seconds since 1970).
    pub now: u64,
    pub sources: Vec<Status>,
}

impl DataInfo {
    /// When the least current source was last confirmed current.
    pub fn as_of(&self) -> Option<u64> {
        self.sources.iter().filter_map(Status::as_of).min()
    }

    /// Seconds since then.
    pub fn age(&self) -> Option<u64> {
        self.as_of().map(|t| self.now.saturating_sub(t))
    }
}

/// How to get the data.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    /// `CACHE/sources`.
    pub dir: Option<String>,
    /// Read the files from this directory instead of fetching them.
    pub mirror_dir: Option<&'a str>,
    /// Never fetch.
    pub offline: bool,
    /// Fetch every source now, whatever its age.
    pub update: bool,
    /// A source last checked longer ago than this (seconds) is checked
    /// again (a conditional request with its entity tag).
    pub refresh: u64,
    pub now: u64,
    /// `run --plan`: nothing is fetched.
    pub plan: bool,
}

/// The files to compile, and what the reports say about them.
#[derive(Debug, Default)]
pub struct Prepared {
    pub files: Vec<String>,
    /// Files verified by this run, already parsed: not read again.
    pub parsed: HashMap<PathBuf, Vec<Advisory>>,
    pub status: Vec<Status>,
    pub warnings: Vec<String>,
    /// Sources with no usable copy: the scan fails closed.
    pub missing: Vec<String>,
}

/// Brings every needed source up to date (as far as the options allow) and
/// says which files to compile.
pub fn prepare(sources: &[Source], options: &Options) -> Result<Prepared, Error> {
    let mut out = Prepared::default();
    if let Some(mirror) = options.mirror_dir {
        for source in sources {
            let path = format!("{}/{}", mirror.trim_end_matches('/'), source.file);
            match fs::metadata(&path) {
                Ok(meta) if meta.is_file() => {
                    out.files.push(path.clone());
                    out.status.push(Status {
                        name: source.name.clone(),
                        from: path,
                        fetched: modified(&meta),
                        checked: None,
                        etag: None,
                        sha256: None,
                        size: Some(meta.len()),
                        error: None,
                    });
                }
                _ => out.missing.push(format!(
                    "{}: {path} is not in the mirror directory {mirror}",
                    source.name
                )),
            }
        }
        return Ok(out);
    }
    let Some(dir) = &options.dir else {
        return Err(Error::invalid_input(
            "fetching advisory data needs config.cache (a write grant) to keep it in",
        ));
    };
    let state_path = format!("{dir}/state.json");
    let mut state: State = fs::read(&state_path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    let mut changed = false;
    for source in sources {
        let local = format!("{dir}/{}", source.file);
        let exists = Path::new(&local).is_file();
        // An entry without its file (or for another URL) describes nothing.
        let entry = state
            .sources
            .get(&source.file)
            .filter(|e| exists && e.url == source.url)
            .cloned();
        let due = options.update
            || entry
                .as_ref()
                .is_none_or(|e| options.now.saturating_sub(e.checked) >= options.refresh);
        let mut error = None;
        let mut entry = entry;
        if due && options.offline {
            if !exists {
                out.missing.push(format!(
                    "{}: --offline and never fetched into {local} (run once without --offline, or set mirror-dir)",
                    source.name
                ));
                continue;
            }
        } else if due && options.plan {
            log::info(format!("would fetch {} from {}", source.name, source.url));
            if !exists {
                out.missing.push(format!(
                    "{}: not fetched yet (run without --plan)",
                    source.name
                ));
                continue;
            }
        } else if due {
            let etag = entry
                .as_ref()
                .filter(|_| !options.update)
                .and_then(|e| e.etag.clone());
            match fetch(source, dir, &local, etag.as_deref(), options.now) {
                Ok(Fetched::NotModified) => {
                    if let Some(e) = &mut entry {
                        e.checked = options.now;
                    }
                    changed = true;
                }
                Ok(Fetched::New(new, advisories)) => {
                    out.parsed.insert(PathBuf::from(&local), advisories);
                    entry = Some(new);
                    changed = true;
                }
                Err(why) => {
                    if entry.is_none() && !exists {
                        out.missing
                            .push(format!("{} ({}): {why}", source.name, source.url));
                        continue;
                    }
                    let since = entry
                        .as_ref()
                        .map(|e| format!(" fetched {}", timestamp(e.fetched)))
                        .unwrap_or_default();
                    let w = format!(
                        "{}: {why}; the scan uses the previous copy{since}",
                        source.name
                    );
                    log::warn(&w);
                    out.warnings.push(w);
                    error = Some(why);
                }
            }
        }
        if let Some(e) = &entry {
            state.sources.insert(source.file.clone(), e.clone());
        }
        out.files.push(local.clone());
        let size = fs::metadata(&local).ok();
        out.status.push(match entry {
            Some(e) => Status {
                name: source.name.clone(),
                from: e.url,
                fetched: Some(e.fetched),
                checked: Some(e.checked),
                etag: e.etag,
                sha256: Some(e.sha256),
                size: Some(e.size),
                error,
            },
            // A file from an older cache without its entry.
            None => Status {
                name: source.name.clone(),
                from: source.url.clone(),
                fetched: size.as_ref().and_then(modified),
                checked: None,
                etag: None,
                sha256: None,
                size: size.map(|m| m.len()),
                error,
            },
        });
    }
    if changed {
        let text = serde_json::to_vec_pretty(&state).map_err(|e| Error::failed(e.to_string()))?;
        write_atomically(Path::new(&state_path), &text)
            .map_err(|e| Error::io(&state_path, Access::Write, e))?;
    }
    Ok(out)
}

enum Fetched {
    NotModified,
    New(Entry, Vec<Advisory>),
}

/// Downloads `source` into `.incoming/`, verifies it, and renames it over
/// `local`. The error is a sentence naming what went wrong.
fn fetch(
    source: &Source,
    dir: &str,
    local: &str,
    etag: Option<&str>,
    now: u64,
) -> Result<Fetched, String> {
    let incoming = format!("{dir}/.incoming/{}", source.file);
    if let Some(parent) = Path::new(&incoming).parent() {
        fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    let progress = log::Progress::start(format!("fetching {}", source.name), None);
    let got = Get::new(&source.url).if_none_match(etag).save(&incoming);
    progress.finish(None);
    let (bytes, etag) = match got {
        Ok(Download::NotModified) => {
            log::debug(format!("{}: not modified", source.name));
            return Ok(Fetched::NotModified);
        }
        Ok(Download::Saved { bytes, etag }) => (bytes, etag),
        Err(e) => return Err(format!("the download failed: {}", e.message())),
    };
    let checked = verify(Path::new(&incoming), bytes, &source.expect);
    let advisories = match checked {
        Ok(a) => a,
        Err(why) => {
            let _ = fs::remove_file(&incoming);
            return Err(format!(
                "the download from {} is not usable ({bytes} bytes): {why}",
                source.url
            ));
        }
    };
    let sha256 = sha256_of(Path::new(&incoming)).map_err(|e| format!("{incoming}: {e}"))?;
    if let Some(parent) = Path::new(local).parent() {
        fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    fs::rename(&incoming, local).map_err(|e| format!("{local}: {e}"))?;
    log::info(format!(
        "{}: fetched {bytes} bytes, {} advisories",
        source.name,
        advisories.len()
    ));
    Ok(Fetched::New(
        Entry {
            url: source.url.clone(),
            etag,
            sha256,
            size: bytes,
            fetched: now,
            checked: now,
        },
        advisories,
    ))
}

/// Parses a downloaded file with its format's reader and checks that it is
/// what its source publishes.
pub fn verify(path: &Path, bytes: u64, expect: &Expect) -> Result<Vec<Advisory>, String> {
    let on_disk = fs::metadata(path).map_err(|e| e.to_string())?.len();
    if on_disk != bytes {
        return Err(format!("{on_disk} bytes on disk, {bytes} received"));
    }
    if bytes == 0 {
        return Err("it is empty".into());
    }
    let advisories = load::read_one(path).map_err(|e| match e {
        load::LoadError::Parse { why, .. } => why,
        other => other.to_string(),
    })?;
    let describes = |distro: Distro, release: Option<&str>| {
        advisories.iter().any(|a| {
            a.affected.iter().any(|x| {
                x.distro == distro && release.is_none_or(|r| x.release.as_deref() == Some(r))
            })
        })
    };
    match expect {
        Expect::Osv(distro) if !describes(*distro, None) => Err(format!(
            "it has no OSV record of a {} package",
            distro.as_str()
        )),
        Expect::DebianTracker if !describes(Distro::Debian, None) => Err(
            "it is not the Debian security tracker's JSON (no package of a Debian release)".into(),
        ),
        Expect::AlpineSecdb(branch) => {
            // A branch's repository may have no fixes yet; one that has
            // some must be of the branch asked for.
            match advisories
                .iter()
                .flat_map(|a| &a.affected)
                .find_map(|x| x.release.as_deref().filter(|r| *r != branch))
            {
                Some(other) => Err(format!("it is the secdb of v{other}, not v{branch}")),
                None if advisories.is_empty() && !secdb_shaped(path) => {
                    Err("it is not an Alpine secdb (no `distroversion` and `packages`)".into())
                }
                None => Ok(advisories),
            }
        }
        _ => Ok(advisories),
    }
}

/// Whether an empty secdb still has the secdb's shape.
fn secdb_shaped(path: &Path) -> bool {
    let Ok(bytes) = fs::read(path) else {
        return false;
    };
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .is_ok_and(|v| v.get("distroversion").is_some() && v.get("packages").is_some())
}

fn sha256_of(path: &Path) -> std::io::Result<String> {
    let mut file = fs::File::open(path)?;
    let mut hash = Sha256::new();
    let mut buffer = vec![0; 1 << 16];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hash.update(&buffer[..n]);
    }
    Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn modified(meta: &fs::Metadata) -> Option<u64> {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
}

/// Writes `bytes` through a temporary file renamed into place.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("json.partial");
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}

/// Now, in seconds since 1970.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `2026-12-05T14:03:00Z`.
pub fn timestamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rest = secs % 86_400;
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        date::civil_date(days),
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// `45 s`, `12 min`, `5 h`, `3 days`.
pub fn human_age(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 2 * 86_400 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

/// The status of `config.advisories` inputs: each root with its newest
/// file's modification time.
pub fn local_status(roots: &[String]) -> Vec<Status> {
    roots
        .iter()
        .map(|root| {
            let files = load::input_files(std::slice::from_ref(root)).unwrap_or_default();
            Status {
                name: "file".into(),
                from: root.clone(),
                fetched: files.iter().map(|f| f.modified_secs()).max(),
                checked: None,
                etag: None,
                sha256: None,
                size: Some(files.iter().map(|f| f.size()).sum()),
                error: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Os;

    fn inventory(id: &str, version: &str) -> Inventory {
        Inventory {
            target: "t".into(),
            os: Some(Os {
                id: id.into(),
                version_id: version.into(),
                codename: String::new(),
                pretty_name: String::new(),
            }),
            ..Inventory::default()
        }
    }

    #[test]
    fn only_what_the_scanned_systems_need() {
        let m = Mirrors::default();
        let names = |inv: &[Inventory]| -> Vec<String> {
            needed(&m, inv).into_iter().map(|s| s.url).collect()
        };
        assert_eq!(
            names(&[inventory("debian", "12"), inventory("debian", "11")]),
            [
                "https://osv-vulnerabilities.storage.googleapis.com/Debian/all.zip",
                "https://security-tracker.debian.org/tracker/data/json"
            ]
        );
        assert_eq!(
            names(&[inventory("alpine", "3.19.1")]),
            [
                "https://osv-vulnerabilities.storage.googleapis.com/Alpine/all.zip",
                "https://secdb.alpinelinux.org/v3.19/main.json",
                "https://secdb.alpinelinux.org/v3.19/community.json"
            ]
        );
        assert!(names(&[inventory("fedora", "40")]).is_empty());
        let files: Vec<String> = needed(&m, &[inventory("alpine", "3.19.1")])
            .into_iter()
            .map(|s| s.file)
            .collect();
        assert_eq!(
            files,
            [
                "osv/Alpine/all.zip",
                "alpine/v3.19/main.json",
                "alpine/v3.19/community.json"
            ]
        );
    }

    #[test]
    fn times_and_ages() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(timestamp(1_764_943_380), "2025-12-05T14:03:00Z");
        assert_eq!(human_age(59), "59 s");
        assert_eq!(human_age(7200), "2 h");
        assert_eq!(human_age(3 * 86_400), "3 days");
        let info = DataInfo {
            now: 1000,
            sources: vec![
                Status {
                    name: "a".into(),
                    from: "x".into(),
                    fetched: Some(100),
                    checked: Some(900),
                    etag: None,
                    sha256: None,
                    size: None,
                    error: None,
                },
                Status {
                    name: "b".into(),
                    from: "y".into(),
                    fetched: Some(400),
                    checked: None,
                    etag: None,
                    sha256: None,
                    size: None,
                    error: None,
                },
            ],
        };
        assert_eq!(info.age(), Some(600));
    }

    #[test]
    fn a_download_must_be_what_its_source_publishes() {
        let dir = std::env::temp_dir().join(format!("scan-feed-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.join(name);
            fs::write(&p, text).unwrap();
            (p, text.len() as u64)
        };
        let (p, n) = write(
            "main.json",
            r#"{"distroversion": "v3.11", "reponame": "main", "packages": [{"pkg": {"name": "musl", "secfixes": {"1.1.23-r2": ["CVE-2019-14697"]}}}]}"#,
        );
        assert_eq!(
            verify(&p, n, &Expect::AlpineSecdb("3.11".into()))
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            verify(&p, n, &Expect::AlpineSecdb("3.19".into())).unwrap_err(),
            "it is the secdb of v3.11, not v3.19"
        );
        assert!(
            verify(&p, n + 1, &Expect::AlpineSecdb("3.11".into()))
                .unwrap_err()
                .contains("received")
        );
        let (p, n) = write("tracker.json", r#"{"zlib": {"CVE-1": {"releases": {"#);
        let e = verify(&p, n, &Expect::DebianTracker).unwrap_err();
        assert!(e.contains("EOF"), "{e}");
        let (p, n) = write("all.zip", "PK not really a zip");
        assert!(verify(&p, n, &Expect::Osv(Distro::Debian)).is_err());
        let (p, n) = write("empty.json", "");
        assert_eq!(
            verify(&p, n, &Expect::DebianTracker).unwrap_err(),
            "it is empty"
        );
        let _ = fs::remove_dir_all(&dir);
    }
}
