//! `scan` fetching its own advisory data through the real `http` capability
//! and the real `run` binary: a local HTTPS server under a test CA serves
//! the published sources in their real formats (osv.dev's per-ecosystem
//! zips, the Debian security tracker's JSON, the Alpine secdb as JSON, made
//! at test time from the real secdb in `../shared/data/advisories`), and
//! the tests check the first fetch, a warm scan that fetches nothing, a
//! stale database revalidated or refused, a corrupt download that keeps the
//! previous data, offline mode, a mirror directory, and the CRITICAL gate
//! failing on a real critical CVE of the real PostgreSQL image.

use std::path::Path;

use serde_json::Value;

use crate::support::http_server::{Reply, Server, TestCa};
use crate::support::images::{self, POSTGRES, docker, unique_name};
use crate::support::{cyclonedx, sarif};
use crate::test::Test;

const BOOKWORM_OS: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n";

/// zlib as bookworm ships it (and as run-test/postgres:15 has it), and an
/// OpenSSL from before bookworm's fix of CVE-2023-5678.
const BOOKWORM_STATUS: &str = "\
Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1

Package: libssl3
Status: install ok installed
Architecture: amd64
Source: openssl
Version: 3.0.11-1~deb12u2
";

/// The Debian security tracker's JSON (`/tracker/data/json`: source package
/// → issue → release), written with the facts of two real CVEs:
/// CVE-2023-45853 (MiniZip in zlib, NVD 9.8, left unfixed in bookworm as a
/// minor issue) and CVE-2023-5678 (OpenSSL X9.42 DH keys, fixed in bookworm
/// by 3.0.13-1~deb12u1).
const TRACKER: &str = r#"{
  "openssl": {
    "CVE-2023-5678": {
      "description": "Issue summary: Generating excessively long X9.42 DH keys or checking excessively long X9.42 DH keys or parameters may be very slow.",
      "scope": "local",
      "releases": {
        "bookworm": { "status": "resolved", "repositories": { "bookworm": "3.0.15-1~deb12u1" }, "fixed_version": "3.0.13-1~deb12u1", "urgency": "not yet assigned" },
        "sid": { "status": "resolved", "repositories": { "sid": "3.3.2-2" }, "fixed_version": "3.1.4-2", "urgency": "not yet assigned" }
      }
    }
  },
  "zlib": {
    "CVE-2023-45853": {
      "description": "MiniZip in zlib through 1.3 has an integer overflow and resultant heap-based buffer overflow in zipOpenNewFileInZip4_64 via a long filename, comment, or extra field.",
      "scope": "remote",
      "debianbug": 1054290,
      "releases": {
        "bookworm": { "status": "open", "repositories": { "bookworm": "1:1.2.13.dfsg-1" }, "nodsa": "Minor issue", "nodsa_reason": "ignored", "urgency": "not yet assigned" },
        "sid": { "status": "resolved", "repositories": { "sid": "1:1.3.dfsg+really1.3.1-1" }, "fixed_version": "1:1.3.dfsg+really1.3.1-1", "urgency": "not yet assigned" }
      }
    }
  }
}"#;

/// osv.dev's records of the same CVEs for Debian (`DEBIAN-CVE-…`, carrying
/// NVD's vectors: 9.8 and 5.3).
const OSV_ZLIB: &str = r#"{"id": "DEBIAN-CVE-2023-45853", "modified": "2025-11-20T08:00:00Z", "upstream": ["CVE-2023-45853"],
 "details": "MiniZip in zlib through 1.3 has an integer overflow and resultant heap-based buffer overflow in zipOpenNewFileInZip4_64 via a long filename, comment, or extra field.",
 "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
 "affected": [{"package": {"ecosystem": "Debian:12", "name": "zlib"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
   "ecosystem_specific": {"urgency": "not yet assigned"}}]}"#;
const OSV_OPENSSL: &str = r#"{"id": "DEBIAN-CVE-2023-5678", "modified": "2025-11-20T08:00:00Z", "upstream": ["CVE-2023-5678"],
 "details": "Generating excessively long X9.42 DH keys or checking excessively long X9.42 DH keys or parameters may be very slow.",
 "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L"}],
 "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssl"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.13-1~deb12u1"}]}]}]}"#;

/// osv.dev's record of CVE-2019-1551 for Alpine (NVD 5.3).
const OSV_ALPINE: &str = r#"{"id": "ALPINE-CVE-2019-1551", "modified": "2025-11-20T08:00:00Z", "upstream": ["CVE-2019-1551"],
 "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N"}],
 "affected": [{"package": {"ecosystem": "Alpine:v3.11", "name": "openssl"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.1.1d-r3"}]}]}]}"#;

/// A zip of OSV records, as osv.dev publishes `ECOSYSTEM/all.zip` (stored
/// entries, written here after the PKWARE APPNOTE: local headers, the
/// central directory, its end record).
fn osv_zip(records: &[(&str, &str)]) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let (mut out, mut central) = (Vec::new(), Vec::new());
    for (name, json) in records {
        let (name, data) = (name.as_bytes(), json.as_bytes());
        let offset = out.len() as u32;
        let crc = crc32(data);
        let size = data.len() as u32;
        // Version 2.0, no flags, stored, 1980-01-01 00:00.
        let common = |v: &mut Vec<u8>| {
            for x in [20u16, 0, 0, 0, 0x21] {
                v.extend(x.to_le_bytes());
            }
            for x in [crc, size, size] {
                v.extend(x.to_le_bytes());
            }
            v.extend((name.len() as u16).to_le_bytes());
            v.extend(0u16.to_le_bytes());
        };
        out.extend(0x0403_4b50u32.to_le_bytes());
        common(&mut out);
        out.extend(name);
        out.extend(data);
        central.extend(0x0201_4b50u32.to_le_bytes());
        central.extend(20u16.to_le_bytes());
        common(&mut central);
        for x in [0u16, 0, 0] {
            central.extend(x.to_le_bytes());
        }
        central.extend(0u32.to_le_bytes());
        central.extend(offset.to_le_bytes());
        central.extend(name);
    }
    let (start, len, n) = (out.len() as u32, central.len() as u32, records.len() as u16);
    out.extend(central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    for x in [0u16, 0, n, n] {
        out.extend(x.to_le_bytes());
    }
    out.extend(len.to_le_bytes());
    out.extend(start.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

fn debian_zip() -> Vec<u8> {
    osv_zip(&[
        ("DEBIAN-CVE-2023-45853.json", OSV_ZLIB),
        ("DEBIAN-CVE-2023-5678.json", OSV_OPENSSL),
    ])
}

/// `../shared/data/advisories/NAME` (the nearest ancestor that has it).
fn shared(name: &str) -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    root.ancestors()
        .map(|d| d.join("../shared/data/advisories"))
        .find(|d| d.is_dir())
        .expect("../shared/data/advisories next to the workspace")
        .join(name)
}

/// The real Alpine secdb of a branch, in the JSON form
/// secdb.alpinelinux.org publishes (the archive has it as YAML).
fn secdb_json(branch: &str, repo: &str) -> Vec<u8> {
    let text =
        std::fs::read_to_string(shared(&format!("alpine-secdb/v{branch}/{repo}.yaml"))).unwrap();
    let secdb = yaml_subset(&text);
    assert_eq!(
        secdb["packages"].as_array().unwrap().len(),
        text.matches("- pkg:").count(),
        "every package of the secdb converted"
    );
    assert_eq!(secdb["distroversion"], format!("v{branch}"));
    serde_json::to_vec(&secdb).unwrap()
}

/// The block YAML the secdb is written in (maps, lists, plain or quoted
/// scalars, comments; a list may sit at its key's indentation) as JSON.
fn yaml_subset(text: &str) -> Value {
    let mut lines: Vec<(usize, String)> = text
        .lines()
        .filter(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#') && t != "---"
        })
        .map(|l| (l.len() - l.trim_start().len(), l.trim().to_owned()))
        .collect();
    fn scalar(text: &str) -> Value {
        Value::String(text.trim().trim_matches('"').trim_matches('\'').to_owned())
    }
    fn block(lines: &mut [(usize, String)], i: &mut usize, indent: usize) -> Value {
        if lines[*i].1.starts_with('-') {
            let mut items = Vec::new();
            while *i < lines.len() && lines[*i].0 == indent && lines[*i].1.starts_with('-') {
                let rest = lines[*i].1[1..].trim().to_owned();
                if rest.ends_with(':') || rest.contains(": ") {
                    lines[*i] = (indent + 2, rest);
                    items.push(block(lines, i, indent + 2));
                } else {
                    items.push(scalar(&rest));
                    *i += 1;
                }
            }
            return Value::Array(items);
        }
        let mut map = serde_json::Map::new();
        while *i < lines.len() && lines[*i].0 == indent && !lines[*i].1.starts_with('-') {
            let line = lines[*i].1.clone();
            *i += 1;
            let (key, value) = match line.split_once(": ") {
                Some((k, v)) => (k, v.trim()),
                None => (line.trim_end_matches(':'), ""),
            };
            let key = key.trim_matches('"').to_owned();
            if !value.is_empty() {
                map.insert(key, scalar(value));
            } else if *i < lines.len()
                && (lines[*i].0 > indent || (lines[*i].0 == indent && lines[*i].1.starts_with('-')))
            {
                let inner = lines[*i].0;
                map.insert(key, block(lines, i, inner));
            } else {
                map.insert(key, Value::Null);
            }
        }
        Value::Object(map)
    }
    let mut i = 0;
    block(&mut lines, &mut i, 0)
}

/// A server publishing the Debian sources (and Alpine's, for 3.11).
struct Published {
    _ca: TestCa,
    ca_pem: String,
    server: Server,
    base: String,
}

impl Published {
    fn new() -> Published {
        let ca = TestCa::new();
        let server = Server::https(&ca);
        let base = format!("https://localhost:{}", server.port);
        server.route(
            "/osv/Debian/all.zip",
            Reply::ok(debian_zip()).etag("\"d1\""),
        );
        server.route("/tracker/data/json", Reply::ok(TRACKER).etag("\"t1\""));
        server.route(
            "/osv/Alpine/all.zip",
            Reply::ok(osv_zip(&[("ALPINE-CVE-2019-1551.json", OSV_ALPINE)])).etag("\"a1\""),
        );
        for repo in ["main", "community"] {
            server.route(
                &format!("/secdb/v3.11/{repo}.json"),
                Reply::ok(secdb_json("3.11", repo)),
            );
        }
        Published {
            ca_pem: ca.ca_pem.clone(),
            _ca: ca,
            server,
            base,
        }
    }

    /// The request targets so far.
    fn requests(&self) -> Vec<String> {
        self.server.seen().into_iter().map(|s| s.target).collect()
    }

    /// A project whose `scan` task fetches from this server.
    fn project(&self, extra_config: &str) -> Test {
        let base = &self.base;
        Test::new()
            .tasks(&format!(
                r#"[tasks.scan]
plugin = "scan"
config = {{ cache = ".cache/scan", mirrors = {{ osv = "{base}/osv/", debian-tracker = "{base}/tracker/data/json", alpine-secdb = "{base}/secdb/" }}{extra_config} }}
allow = {{ read = ["rootfs"], write = [".cache/scan"], http = ["{base}/"] }}
"#
            ))
            .file("ca.pem", &self.ca_pem)
            .env("RUN_HTTP_CA_FILE", "ca.pem")
            .file("rootfs/etc/os-release", BOOKWORM_OS)
            .file("rootfs/var/lib/dpkg/status", BOOKWORM_STATUS)
    }
}

/// (package, CVE, fixed, severity) of every vulnerability finding.
fn found(report: &Value) -> Vec<(String, String, String, String)> {
    let mut rows: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "vulnerability")
        .map(|f| {
            let cve = std::iter::once(&f["id"])
                .chain(f["aliases"].as_array().unwrap())
                .filter_map(Value::as_str)
                .find(|id| id.starts_with("CVE-"))
                .unwrap_or("-")
                .to_owned();
            (
                f["package"]["name"].as_str().unwrap().to_owned(),
                cve,
                f["fixed"].as_str().unwrap_or("-").to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    rows.sort();
    rows
}

fn expected_bookworm() -> Vec<(String, String, String, String)> {
    vec![
        (
            "libssl3".into(),
            "CVE-2023-5678".into(),
            "3.0.13-1~deb12u1".into(),
            "MEDIUM".into(),
        ),
        (
            "zlib1g".into(),
            "CVE-2023-45853".into(),
            "-".into(),
            "CRITICAL".into(),
        ),
    ]
}

fn state(test: &Test) -> Value {
    serde_json::from_slice(&std::fs::read(test.path(".cache/scan/sources/state.json")).unwrap())
        .unwrap()
}

/// Makes every source look last checked `days` ago.
fn age_state(test: &Test, days: u64) {
    let mut state = state(test);
    for entry in state["sources"].as_object_mut().unwrap().values_mut() {
        let checked = entry["checked"].as_u64().unwrap();
        entry["checked"] = (checked - days * 86_400).into();
        entry["fetched"] = (checked - days * 86_400).into();
    }
    std::fs::write(
        test.path(".cache/scan/sources/state.json"),
        serde_json::to_vec(&state).unwrap(),
    )
    .unwrap();
}

#[test]
fn first_fetch_then_warm_then_forced_update() {
    let published = Published::new();
    let test = published.project("");
    let scan = ["scan", "--rootfs", "rootfs", "--format", "json"];
    let first = test.invoke(&scan).ok();
    let report = first.json();
    assert_eq!(found(&report), expected_bookworm());
    // Only what a Debian system needs: no Alpine source.
    assert_eq!(
        published.requests(),
        ["/osv/Debian/all.zip", "/tracker/data/json"]
    );
    // The data's sources, with their fetch times, in the report.
    let data = &report["advisory_data"];
    let sources = data["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 2, "{data}");
    assert_eq!(sources[0]["name"], "osv Debian");
    assert_eq!(
        sources[0]["from"],
        format!("{}/osv/Debian/all.zip", published.base)
    );
    assert_eq!(sources[0]["etag"], "\"d1\"");
    assert_eq!(sources[0]["size"], debian_zip().len());
    assert_eq!(sources[1]["sha256"].as_str().unwrap().len(), 64);
    assert!(sources[1]["fetched"].as_str().unwrap().ends_with('Z'));
    assert!(data["age_seconds"].as_u64().unwrap() < 600, "{data}");
    assert_eq!(
        std::fs::read(test.path(".cache/scan/sources/osv/Debian/all.zip")).unwrap(),
        debian_zip()
    );
    assert!(
        !test
            .path(".cache/scan/sources/.incoming/osv/Debian/all.zip")
            .exists(),
        "nothing left half-way"
    );

    // Warm: nothing is fetched, the compiled database is reused.
    let table = test.invoke(&["scan", "--rootfs", "rootfs"]).ok();
    assert_eq!(published.requests().len(), 2, "{}", table.context());
    assert!(
        table.stdout.contains("advisory data: ")
            && table.stdout.contains("osv Debian")
            && table.stdout.contains("debian tracker"),
        "{}",
        table.stdout
    );
    let compiled: Vec<_> = std::fs::read_dir(test.path(".cache/scan"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".db"))
        .collect();
    assert_eq!(compiled.len(), 1);

    // --update fetches again, unconditionally.
    test.invoke(&["scan", "--rootfs", "rootfs", "--update"])
        .ok();
    let seen = published.server.seen();
    assert_eq!(seen.len(), 4);
    assert!(
        seen[2..]
            .iter()
            .all(|s| s.header("if-none-match").is_none())
    );
}

#[test]
fn stale_data_is_revalidated_and_max_age_warns_or_fails() {
    let published = Published::new();
    let test = published.project("");
    let scan = ["scan", "--rootfs", "rootfs", "--format", "json"];
    test.invoke(&scan).ok();
    // Older than the refresh interval (1 day): a conditional request each,
    // answered "not modified", and the data counts as current again.
    age_state(&test, 3);
    let report = test.invoke(&scan).ok().json();
    let seen = published.server.seen();
    assert_eq!(seen.len(), 4);
    assert_eq!(seen[2].header("if-none-match"), Some("\"d1\""));
    assert_eq!(seen[3].header("if-none-match"), Some("\"t1\""));
    assert!(report["advisory_data"]["age_seconds"].as_u64().unwrap() < 600);
    assert_eq!(found(&report), expected_bookworm());

    // Stale and the source unreachable: the previous data is used, with a
    // warning; --max-age fails (exit 4), or warns with max-age-action.
    age_state(&test, 10);
    published.server.route(
        "/osv/Debian/all.zip",
        Reply {
            status: 503,
            ..Reply::ok("down")
        },
    );
    published.server.route(
        "/tracker/data/json",
        Reply {
            status: 503,
            ..Reply::ok("down")
        },
    );
    test.invoke(&["scan", "--rootfs", "rootfs"])
        .ok()
        .stderr_contains("osv Debian: the download failed: GET ")
        .stderr_contains("HTTP status 503; the scan uses the previous copy fetched ");
    test.invoke(&["scan", "--rootfs", "rootfs", "--max-age", "7d"])
        .status(4)
        .stderr_contains(
            "no usable advisory data: osv Debian: the data was last confirmed current ",
        )
        .stderr_contains("10 days ago, longer than max-age (7 days)");
    let warned = test
        .invoke(&[
            "scan",
            "--rootfs",
            "rootfs",
            "--max-age",
            "7d",
            "--max-age-action",
            "warn",
            "--format",
            "json",
        ])
        .ok()
        .stderr_contains("10 days ago, longer than max-age (7 days)");
    let report = warned.json();
    assert_eq!(found(&report), expected_bookworm());
    assert!(report["advisory_data"]["age_seconds"].as_u64().unwrap() >= 10 * 86_400);
    assert!(
        report["advisory_data"]["sources"][0]["error"]
            .as_str()
            .unwrap()
            .contains("503")
    );
}

#[test]
fn a_corrupt_download_keeps_the_previous_data() {
    let published = Published::new();
    let test = published.project("");
    let scan = ["scan", "--rootfs", "rootfs", "--format", "json"];
    test.invoke(&scan).ok();
    let before = std::fs::read(test.path(".cache/scan/sources/debian/tracker.json")).unwrap();
    // A truncated tracker file and a zip with no Debian record.
    published.server.route(
        "/tracker/data/json",
        Reply::ok(&TRACKER.as_bytes()[..TRACKER.len() / 2]).etag("\"t2\""),
    );
    published.server.route(
        "/osv/Debian/all.zip",
        Reply::ok(osv_zip(&[("ALPINE-CVE-2019-1551.json", OSV_ALPINE)])).etag("\"d2\""),
    );
    let kept = test
        .invoke(&["scan", "--rootfs", "rootfs", "--update", "--format", "json"])
        .ok()
        .stderr_contains("debian tracker: the download from ")
        .stderr_contains("is not usable (")
        .stderr_contains("osv Debian: the download from ")
        .stderr_contains("it has no OSV record of a debian package")
        .stderr_contains("the scan uses the previous copy fetched ");
    let report = kept.json();
    assert_eq!(found(&report), expected_bookworm());
    assert_eq!(
        std::fs::read(test.path(".cache/scan/sources/debian/tracker.json")).unwrap(),
        before
    );
    assert_eq!(
        state(&test)["sources"]["debian/tracker.json"]["etag"],
        "\"t1\""
    );
    assert!(
        !test
            .path(".cache/scan/sources/.incoming/debian/tracker.json")
            .exists()
    );

    // With no previous copy, a corrupt download fails closed, naming it.
    published
        .project("")
        .invoke(&["scan", "--rootfs", "rootfs", "--fail-on", "LOW"])
        .status(4)
        .stderr_contains("no usable advisory data: osv Debian (")
        .stderr_contains("debian tracker (");
}

#[test]
fn offline_uses_the_cache_and_fails_closed_without_it() {
    let published = Published::new();
    let test = published.project("");
    test.invoke(&["scan", "--rootfs", "rootfs", "--offline"])
        .status(4)
        .stderr_contains(
            "no usable advisory data: osv Debian: --offline and never fetched into .cache/scan/sources/osv/Debian/all.zip",
        );
    assert!(published.requests().is_empty());
    test.invoke(&["scan", "--rootfs", "rootfs"]).ok();
    age_state(&test, 3);
    let report = test
        .invoke(&[
            "scan",
            "--rootfs",
            "rootfs",
            "--offline",
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(published.requests().len(), 2, "offline fetches nothing");
    assert_eq!(found(&report), expected_bookworm());
    // Offline needs no http grant.
    let offline_only = Test::new()
        .tasks(
            r#"[tasks.scan]
plugin = "scan"
config = { cache = ".cache/scan", offline = true }
allow = { read = ["rootfs"], write = [".cache/scan"] }
"#,
        )
        .file("rootfs/etc/os-release", BOOKWORM_OS)
        .file("rootfs/var/lib/dpkg/status", BOOKWORM_STATUS);
    offline_only
        .invoke(&["scan", "--rootfs", "rootfs"])
        .status(4)
        .stderr_contains("--offline and never fetched");
}

#[test]
fn a_mirror_directory_serves_an_air_gapped_scan() {
    let test = Test::new()
        .tasks(
            r#"[tasks.scan]
plugin = "scan"
config = { mirror-dir = "mirror" }
allow = { read = ["rootfs", "mirror"] }
"#,
        )
        .file("rootfs/etc/os-release", BOOKWORM_OS)
        .file("rootfs/var/lib/dpkg/status", BOOKWORM_STATUS)
        .file("mirror/debian/tracker.json", TRACKER)
        .dir("mirror/osv/Debian");
    std::fs::write(test.path("mirror/osv/Debian/all.zip"), debian_zip()).unwrap();
    let report = test
        .invoke(&["scan", "--rootfs", "rootfs", "--format", "json"])
        .ok()
        .json();
    assert_eq!(found(&report), expected_bookworm());
    assert_eq!(
        report["advisory_data"]["sources"][1]["from"],
        "mirror/debian/tracker.json"
    );
    // A mirror without a needed file fails closed, naming it.
    std::fs::remove_file(test.path("mirror/debian/tracker.json")).unwrap();
    test.invoke(&["scan", "--rootfs", "rootfs"])
        .status(4)
        .stderr_contains(
            "debian tracker: mirror/debian/tracker.json is not in the mirror directory mirror",
        );
}

#[test]
fn an_alpine_system_fetches_its_own_branch_only() {
    let published = Published::new();
    let test = published
        .project("")
        .file(
            "alpine/etc/os-release",
            "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.11.6\n",
        )
        .file(
            "alpine/lib/apk/db/installed",
            "P:libcrypto1.1\nV:1.1.1d-r2\nA:x86_64\no:openssl\n\nP:musl\nV:1.1.24-r2\nA:x86_64\no:musl\n",
        )
        .tasks(&format!(
            r#"[tasks.scan]
plugin = "scan"
config = {{ cache = ".cache/scan", mirrors = {{ osv = "{base}/osv/", debian-tracker = "{base}/tracker/data/json", alpine-secdb = "{base}/secdb/" }} }}
allow = {{ read = ["alpine"], write = [".cache/scan"], http = ["{base}/"] }}
"#,
            base = published.base
        ));
    let report = test
        .invoke(&["scan", "--rootfs", "alpine", "--format", "json"])
        .ok()
        .json();
    assert_eq!(
        published.requests(),
        [
            "/osv/Alpine/all.zip",
            "/secdb/v3.11/main.json",
            "/secdb/v3.11/community.json"
        ]
    );
    // The real secdb's fix of CVE-2019-1551, rated by osv.dev's record.
    let rows = found(&report);
    assert!(
        rows.contains(&(
            "libcrypto1.1".into(),
            "CVE-2019-1551".into(),
            "1.1.1d-r3".into(),
            "MEDIUM".into()
        )),
        "{rows:?}"
    );
    assert!(rows.iter().all(|r| r.0 == "libcrypto1.1"), "{rows:?}");
}

#[test]
fn the_critical_gate_fails_on_a_real_critical_cve_of_the_postgres_image() {
    images::ensure();
    let container = unique_name("run-test-scan-update");
    docker(&[
        "create",
        "--name",
        &container,
        "--label",
        "run-test=1",
        POSTGRES,
    ]);
    struct Remove(String);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = images::docker_output(&["rm", "-f", &self.0]);
        }
    }
    let _remove = Remove(container.clone());
    let published = Published::new();
    let base = &published.base;
    let test = published
        .project("")
        .dir("reports")
        .tasks(&format!(
            r#"[tasks.scan]
plugin = "scan"
config = {{ cache = ".cache/scan", containers = "{container}", hardening = false, mirrors = {{ osv = "{base}/osv/", debian-tracker = "{base}/tracker/data/json", alpine-secdb = "{base}/secdb/" }}, fail-on = "CRITICAL", output = "reports/scan.sarif" }}
allow = {{ containers = ["{container}"], write = [".cache/scan", "reports"], http = ["{base}/"] }}
"#
        ));
    let failed = test
        .invoke(&["scan", "--no-audit"])
        .status(3)
        .stdout_contains("zlib1g")
        .stdout_contains("CVE-2023-45853")
        .stdout_contains("advisory data: ")
        .stderr_contains("1 finding at or above CRITICAL (--fail-on CRITICAL)");
    assert_eq!(
        published.requests(),
        ["/osv/Debian/all.zip", "/tracker/data/json"],
        "{}",
        failed.context()
    );
    let sarif_log: Value =
        serde_json::from_slice(&std::fs::read(test.path("reports/scan.sarif")).unwrap()).unwrap();
    sarif::assert_valid(&sarif_log);
    let data = &sarif_log["runs"][0]["properties"]["advisory-data"];
    assert_eq!(data["sources"].as_array().unwrap().len(), 2, "{data}");
    // CycloneDX carries the data's age in its metadata, and stays valid.
    let bom = test
        .invoke(&["scan", "--no-audit", "--format", "cyclonedx"])
        .status(3)
        .json();
    cyclonedx::assert_valid(&bom);
    let properties = bom["metadata"]["properties"].as_array().unwrap();
    assert!(
        properties
            .iter()
            .any(|p| p["name"] == "run-scan:advisory-data:age-seconds"),
        "{properties:?}"
    );
    let zlib = bom["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v.to_string().contains("CVE-2023-45853"))
        .expect("CVE-2023-45853 in the SBOM");
    assert!(zlib.to_string().contains("critical"), "{zlib}");
    assert_eq!(published.requests().len(), 2, "the second scan is warm");
}
