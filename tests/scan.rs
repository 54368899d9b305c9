//! The built-in `scan` plugin with the real binary: synthetic Debian and
//! Alpine root filesystems and images whose package databases pin versions
//! named by the shared advisory data (exact findings), the real Debian image
//! run-test/postgres:15, the ignore file, the exit-code gate, SARIF, and the
//! hardening audit of busybox containers started with and without the
//! hardening options.
//!
//! Needs a Docker Engine for the image and hardening tests (they fail
//! without one); `--rootfs` and `--input` tests need none.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::images::{self, BUSYBOX, Container, POSTGRES, docker, unique_name};
use crate::support::{cyclonedx, sarif};
use crate::test::Test;

/// `../shared/data/advisories/NAME` from the workspace root (the nearest
/// ancestor that has it), absolute: tasks grant it by that path.
pub fn advisories(name: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = root
        .ancestors()
        .map(|d| d.join("../shared/data/advisories"))
        .find(|d| d.is_dir())
        .expect("../shared/data/advisories next to the workspace");
    dir.join(name).canonicalize().unwrap().display().to_string()
}

/// A Debian 11 (bullseye) dpkg status pinning versions the DSA list names:
/// xorg-server one revision before DSA-5380-1's fix, apr exactly at
/// DSA-5370-1's fix, zlib before DSA-5218-1's, sox before DSA-5356-2's, and a
/// removed package that must not count.
const BULLSEYE_STATUS: &str = "\
Package: xserver-common
Status: install ok installed
Architecture: all
Source: xorg-server
Version: 2:1.20.11-1+deb11u5

Package: libapr1
Status: install ok installed
Architecture: amd64
Source: apr
Version: 1.7.0-6+deb11u2

Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.11.dfsg-2+deb11u1

Package: libsox3
Status: install ok installed
Architecture: amd64
Source: sox (14.4.2+git20190427-2+deb11u1)
Version: 14.4.2+git20190427-2+deb11u1+b1

Package: removed-thing
Status: deinstall ok config-files
Architecture: amd64
Source: zlib
Version: 1:1.2.11.dfsg-2
";

const BULLSEYE_OS: &str = "PRETTY_NAME=\"Debian GNU/Linux 11 (bullseye)\"\nID=debian\nVERSION_ID=\"11\"\nVERSION_CODENAME=bullseye\n";

/// Alpine 3.11: openssl one revision before the CVE-2019-1551 fix, sqlite
/// before CVE-2019-19242's (listed twice in the secdb), musl and busybox
/// past every fix.
const ALPINE_INSTALLED: &str = "\
C:Q1x=
P:libcrypto1.1
V:1.1.1d-r2
A:x86_64
o:openssl

P:sqlite-libs
V:3.30.1-r0
A:x86_64
o:sqlite

P:musl
V:1.1.24-r2
A:x86_64
o:musl

P:busybox
V:1.31.1-r9
A:x86_64
o:busybox
";

const ALPINE_OS: &str = "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.11.6\n";

/// Test-made OSV records: an unfixed critical zlib problem, and a CVSS
/// vector for the CVE of DSA-5380-1 (which lends the DSA its severity).
const OSV_UNFIXED_ZLIB: &str = r#"{"id": "CVE-2099-0002", "summary": "zlib: made-up unfixed overflow",
 "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
 "affected": [{"package": {"ecosystem": "Debian:11", "name": "zlib"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]}"#;
const OSV_XORG: &str = r#"{"id": "CVE-2023-1393", "summary": "xorg-server: use-after-free in compositing",
 "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"}],
 "affected": [{"package": {"ecosystem": "Debian:11", "name": "xorg-server"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2:1.20.11-1+deb11u6"}]}]}]}"#;

/// The shape of osv.dev's record of a CVE for Debian (`DEBIAN-CVE-…`, with
/// NVD's vector), written with the facts of CVE-2022-37434 (zlib, NVD 9.8,
/// fixed in bullseye by DSA-5218-1): it makes the real DSA critical.
const OSV_ZLIB_CVE: &str = r#"{"id": "DEBIAN-CVE-2022-37434", "upstream": ["CVE-2022-37434"],
 "details": "zlib through 1.2.12 has a heap-based buffer over-read or buffer overflow in inflate in inflate.c via a large gzip header extra field.",
 "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
 "affected": [{"package": {"ecosystem": "Debian:11", "name": "zlib"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1:1.2.11.dfsg-2+deb11u2"}]}],
   "ecosystem_specific": {"urgency": "not yet assigned"}}]}"#;

fn debian_rootfs(test: Test) -> Test {
    test.file("rootfs/etc/os-release", BULLSEYE_OS)
        .file("rootfs/var/lib/dpkg/status", BULLSEYE_STATUS)
        .file("osv/CVE-2099-0002.json", OSV_UNFIXED_ZLIB)
        .file("osv/CVE-2023-1393.json", OSV_XORG)
        .file("osv/DEBIAN-CVE-2022-37434.json", OSV_ZLIB_CVE)
        .dir("policy")
}

fn rootfs_tasks(extra_config: &str) -> String {
    let debian = advisories("debian-security-tracker");
    format!(
        r#"[tasks.scan]
plugin = "scan"
config = {{ advisories = ["{debian}", "osv"], cache = ".cache/scan"{extra_config} }}
allow = {{ read = ["{debian}", "osv", "rootfs", "policy"], write = [".cache/scan", "reports"] }}
"#
    )
}

fn json(stdout: &[u8]) -> Value {
    serde_json::from_slice(stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}",
            String::from_utf8_lossy(stdout)
        )
    })
}

/// (package, id, installed, fixed, severity) of every finding.
fn findings(report: &Value) -> Vec<(String, String, String, String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "vulnerability")
        .map(|f| {
            (
                f["package"]["name"].as_str().unwrap().to_owned(),
                f["id"].as_str().unwrap().to_owned(),
                f["package"]["version"].as_str().unwrap().to_owned(),
                f["fixed"].as_str().unwrap_or("-").to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn row(
    p: &str,
    id: &str,
    v: &str,
    fixed: &str,
    sev: &str,
) -> (String, String, String, String, String) {
    (p.into(), id.into(), v.into(), fixed.into(), sev.into())
}

fn expected_debian() -> Vec<(String, String, String, String, String)> {
    vec![
        row(
            "zlib1g",
            "CVE-2099-0002",
            "1:1.2.11.dfsg-2+deb11u1",
            "-",
            "CRITICAL",
        ),
        // The real DSA, rated by its CVE's NVD score.
        row(
            "zlib1g",
            "DSA-5218-1",
            "1:1.2.11.dfsg-2+deb11u1",
            "1:1.2.11.dfsg-2+deb11u2",
            "CRITICAL",
        ),
        row(
            "xserver-common",
            "DSA-5380-1",
            "2:1.20.11-1+deb11u5",
            "2:1.20.11-1+deb11u6",
            "HIGH",
        ),
        row(
            "libsox3",
            "DSA-5356-2",
            "14.4.2+git20190427-2+deb11u1+b1",
            "14.4.2+git20190427-2+deb11u2",
            "UNKNOWN",
        ),
    ]
}

#[test]
fn rootfs_findings_are_exact_without_an_engine() {
    let test = debian_rootfs(Test::new()).tasks(&rootfs_tasks(""));
    let report = test
        .invoke(&["scan", "--rootfs", "rootfs", "--format", "json"])
        .status(0)
        .json();
    assert_eq!(report["schema"], "run-scan/1");
    assert_eq!(report["targets"][0]["os"]["id"], "debian");
    assert_eq!(report["targets"][0]["packages"], 4);
    assert_eq!(findings(&report), expected_debian());
    // DSA-5380-1 carries its CVE and the CVSS score lent by the OSV record.
    let dsa = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "DSA-5380-1")
        .unwrap();
    assert_eq!(dsa["aliases"], serde_json::json!(["CVE-2023-1393"]));
    assert_eq!(dsa["score"], 7.8);
    // The one finding merges the DSA with the CVE's own record, whose vector
    // rates it.
    assert_eq!(dsa["severity_source"], "advisory-cvss");
    assert_eq!(dsa["package"]["source"], "xorg-server");
    let zlib = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "DSA-5218-1")
        .unwrap();
    assert_eq!(zlib["cvss"], "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
}

#[test]
fn table_groups_by_severity_and_the_cache_is_reused() {
    let test = debian_rootfs(Test::new()).tasks(&rootfs_tasks(""));
    let stdout = test
        .invoke(&["scan", "--rootfs", "rootfs"])
        .status(0)
        .stdout;
    let critical = stdout.find("CRITICAL (2)").expect(&stdout);
    let high = stdout.find("HIGH (1)").expect(&stdout);
    let unknown = stdout.find("UNKNOWN (1)").expect(&stdout);
    assert!(critical < high && high < unknown, "{stdout}");
    assert!(stdout.contains("(no fix)"), "{stdout}");
    assert!(
        !stdout.contains('\x1b'),
        "no colour without a terminal: {stdout}"
    );
    let cached: Vec<_> = std::fs::read_dir(test.path(".cache/scan"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(cached.len(), 1, "one compiled database");
    let again = test
        .invoke(&["scan", "--rootfs", "rootfs", "--color", "always"])
        .status(0)
        .stdout;
    assert!(again.contains("\x1b[1;31mCRITICAL (2)"), "{again}");
}

#[test]
fn ignore_file_gate_and_report_file() {
    let ignore = r#"
[[ignore]]
id = "CVE-2099-0002"
package = "zlib"
reason = "made-up advisory, accepted for the test"
expires = "2999-12-31"

[[ignore]]
id = "CVE-2022-37434"
reason = "no gzip input from outside"

[[ignore]]
id = "CVE-2023-1393"
reason = "no X server runs in the container"
expires = "2020-01-01"
"#;
    // The critical ones are ignored; the expired entry no longer hides
    // DSA-5380-1 (HIGH), so --fail-on HIGH fails, with exit code 3, and the
    // full report is still written.
    let test = debian_rootfs(Test::new())
        .file("policy/scan-ignore.toml", ignore)
        .tasks(&rootfs_tasks(
            ", ignore-file = \"policy/scan-ignore.toml\", exit-code = 3",
        ));
    let stdout = test
        .invoke(&[
            "scan",
            "--rootfs",
            "rootfs",
            "--fail-on",
            "HIGH",
            "--output",
            "reports/scan.json",
        ])
        .status(3)
        .stderr_contains("1 finding at or above HIGH")
        .stderr_contains("ignore entry for CVE-2023-1393 expired on 2020-01-01")
        .stdout;
    assert!(stdout.contains("2 ignored"), "{stdout}");
    let report: Value =
        serde_json::from_slice(&std::fs::read(test.path("reports/scan.json")).unwrap()).unwrap();
    let zlib = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "CVE-2099-0002")
        .unwrap();
    assert_eq!(
        zlib["ignored"],
        "made-up advisory, accepted for the test (until 2999-12-31)"
    );
    assert_eq!(report["policy"]["failing"], 1);
    assert_eq!(report["expired_ignores"][0]["id"], "CVE-2023-1393");
    // --fail-on CRITICAL passes: the critical findings are ignored.
    let stdout = test
        .invoke(&[
            "scan",
            "--rootfs",
            "rootfs",
            "--fail-on",
            "CRITICAL",
            "--severity",
            "HIGH,CRITICAL",
        ])
        .status(0)
        .stdout;
    assert!(
        stdout.contains("HIGH (1)") && !stdout.contains("UNKNOWN"),
        "{stdout}"
    );
}

#[test]
fn ignore_unfixed_and_fail_on_critical() {
    let test = debian_rootfs(Test::new()).tasks(&rootfs_tasks(""));
    // The gate's own exit code (3), not run's 1 for a broken scan.
    test.invoke(&["scan", "--rootfs", "rootfs", "--fail-on", "CRITICAL"])
        .status(3)
        .stderr_contains("2 findings at or above CRITICAL");
    // Without the made-up unfixed one, the real critical DSA still fails it.
    test.invoke(&[
        "scan",
        "--rootfs",
        "rootfs",
        "--fail-on",
        "CRITICAL",
        "--ignore-unfixed",
    ])
    .status(3)
    .stderr_contains("1 finding at or above CRITICAL");
}

/// No usable advisory data fails closed with its own exit code (4), naming
/// what is missing: never a pass with 0 findings.
#[test]
fn no_usable_data_fails_closed() {
    // An Alpine root filesystem against Debian data only.
    Test::new()
        .tasks(&rootfs_tasks(""))
        .file("rootfs/etc/os-release", ALPINE_OS)
        .file("rootfs/lib/apk/db/installed", ALPINE_INSTALLED)
        .dir("osv")
        .dir("policy")
        .args(&["scan", "--rootfs", "rootfs", "--fail-on", "LOW"])
        .status(4)
        .stderr_contains("no usable advisory data")
        .stderr_contains("no advisory data for alpine 3.11")
        .run();
    // No advisories at all, and fetching turned off.
    Test::new()
        .tasks("[tasks.scan]\nplugin = \"scan\"\nconfig = { fetch = false }\nallow = { read = [\"rootfs\"] }\n")
        .file("rootfs/etc/os-release", BULLSEYE_OS)
        .args(&["scan", "--rootfs", "rootfs"])
        .status(4)
        .stderr_contains("names no advisories and does not fetch them")
        .run();
    // No advisories: the scan fetches them, and a task without the grants
    // to is refused before it runs, naming them.
    Test::new()
        .tasks("[tasks.scan]\nplugin = \"scan\"\nconfig = { cache = \".cache/scan\" }\nallow = { read = [\"rootfs\"], write = [\".cache/scan\"] }\n")
        .file("rootfs/etc/os-release", BULLSEYE_OS)
        .args(&["scan", "--rootfs", "rootfs"])
        .status(1)
        .stderr_contains("which the task does not grant; add to the task in tasks.toml: allow = { http = [\"https://osv-vulnerabilities.storage.googleapis.com/\", \"https://security-tracker.debian.org/tracker/data/json\", \"https://secdb.alpinelinux.org/\"] }")
        .run();
    // Data older than --max-age (the DSA list ends in March 2023).
    let debian = advisories("debian-security-tracker");
    Test::new()
        .tasks(&format!(
            "[tasks.scan]\nplugin = \"scan\"\nconfig = {{ advisories = [\"{debian}\"] }}\nallow = {{ read = [\"{debian}\", \"rootfs\"] }}\n"
        ))
        .file("rootfs/etc/os-release", BULLSEYE_OS)
        .file("rootfs/var/lib/dpkg/status", BULLSEYE_STATUS)
        .args(&["scan", "--rootfs", "rootfs", "--max-age", "30d"])
        .status(4)
        .stderr_contains("older than max-age (30 days)")
        .run();
}

#[test]
fn bad_input_is_named() {
    Test::new()
        .tasks(&rootfs_tasks(""))
        .file("osv/bad.json", "{\"id\": 1")
        .dir("rootfs")
        .dir("policy")
        .args(&["scan", "--rootfs", "rootfs"])
        .status(1)
        .stderr_contains("osv/bad.json")
        .run();
    debian_rootfs(Test::new())
        .file("policy/scan-ignore.toml", "[[ignore]]\nid = \"X\"\n")
        .tasks(&rootfs_tasks(", ignore-file = \"policy/scan-ignore.toml\""))
        .args(&["scan", "--rootfs", "rootfs"])
        .status(1)
        .stderr_contains("policy/scan-ignore.toml")
        .stderr_contains("reason")
        .run();
    // Regression: an impossible date was accepted; now refused at its line.
    debian_rootfs(Test::new())
        .file(
            "policy/scan-ignore.toml",
            "[[ignore]]\nid = \"X\"\nreason = \"r\"\nexpires = \"2027-13-45\"\n",
        )
        .tasks(&rootfs_tasks(", ignore-file = \"policy/scan-ignore.toml\""))
        .args(&["scan", "--rootfs", "rootfs"])
        .status(1)
        .stderr_contains("policy/scan-ignore.toml:4:")
        .stderr_contains("there is no month 13")
        .run();
    debian_rootfs(Test::new())
        .tasks(&rootfs_tasks(""))
        .args(&["scan", "--rootfs", "elsewhere"])
        .status(1)
        .stderr_contains("elsewhere")
        .run();
}

/// Writes `files` (path, content) under `dir` and makes a tar of it.
fn rootfs_tar(dir: &Path, files: &[(&str, &str)], tar: &Path) {
    for (path, content) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    let status = Command::new("tar")
        .arg("-cf")
        .arg(tar)
        .arg("-C")
        .arg(dir)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
}

/// An image imported from a synthetic root filesystem, removed on drop,
/// with a created (never started) container that uses it.
struct SyntheticImage {
    tag: String,
    container: String,
}

impl SyntheticImage {
    fn new(kind: &str, files: &[(&str, &str)]) -> SyntheticImage {
        images::ensure();
        let tmp = tempfile::tempdir().unwrap();
        let tar = tmp.path().join("rootfs.tar");
        rootfs_tar(&tmp.path().join("root"), files, &tar);
        let name = unique_name(&format!("run-test-scan-{kind}"));
        let tag = format!("{name}:1");
        docker(&["import", &tar.display().to_string(), &tag]);
        docker(&[
            "create",
            "--name",
            &name,
            "--label",
            "run-test=1",
            &tag,
            "/nothing",
        ]);
        SyntheticImage {
            tag,
            container: name,
        }
    }
}

impl SyntheticImage {
    /// A second image: this one plus a layer that writes `path` (tagged
    /// `TAG-2`, removed with this one).
    fn with_layer(&self, path: &str, content: &str) -> String {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("file"), content).unwrap();
        std::fs::write(
            tmp.path().join("Dockerfile"),
            format!("FROM {}\nCOPY file /{path}\n", self.tag),
        )
        .unwrap();
        let tag = format!("{}-2", self.tag);
        docker(&["build", "-q", "-t", &tag, &tmp.path().display().to_string()]);
        tag
    }
}

impl Drop for SyntheticImage {
    fn drop(&mut self) {
        let _ = images::docker_output(&["rm", "-f", &self.container]);
        let _ = images::docker_output(&["rmi", "-f", &format!("{}-2", self.tag)]);
        let _ = images::docker_output(&["rmi", "-f", &self.tag]);
    }
}

fn engine_tasks(container: &str, advisories: &[String], extra: &str) -> String {
    let list = advisories
        .iter()
        .map(|a| format!("\"{a}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"[tasks.scan]
plugin = "scan"
config = {{ advisories = [{list}], cache = ".cache/scan", format = "json"{extra} }}
allow = {{ containers = ["{container}"], read = [{list}], write = [".cache/scan", "reports"] }}
"#
    )
}

#[test]
fn alpine_image_of_a_granted_container() {
    let image = SyntheticImage::new(
        "alpine",
        &[
            ("etc/os-release", ALPINE_OS),
            ("lib/apk/db/installed", ALPINE_INSTALLED),
        ],
    );
    let secdb = advisories("alpine-secdb");
    let test = Test::new().tasks(&engine_tasks(&image.container, &[secdb], ""));
    let report = test.invoke(&["scan"]).status(0).json();
    assert_eq!(report["targets"][0]["target"], image.tag);
    assert_eq!(report["targets"][0]["os"]["version_id"], "3.11.6");
    assert_eq!(
        findings(&report),
        vec![
            row(
                "libcrypto1.1",
                "CVE-2019-1551",
                "1.1.1d-r2",
                "1.1.1d-r3",
                "UNKNOWN"
            ),
            row(
                "sqlite-libs",
                "CVE-2019-19242",
                "3.30.1-r0",
                "3.30.1-r1",
                "UNKNOWN"
            ),
        ]
    );
    // The created container is audited too (any state): the first
    // vulnerability finding is the openssl one.
    let f = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "vulnerability")
        .unwrap();
    assert_eq!(f["package"]["layer"], 1, "docker import makes one layer");
    assert!(
        f["package"]["layer_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    // The export is not kept.
    assert!(
        !test
            .path(".cache/scan/images")
            .read_dir()
            .unwrap()
            .any(|_| true)
    );
    // SBOM of the same image.
    let bom = test
        .invoke(&["scan", "--format", "cyclonedx"])
        .status(0)
        .json();
    assert_eq!(bom["bomFormat"], "CycloneDX");
    cyclonedx::assert_valid(&bom);
    assert_eq!(bom["vulnerabilities"].as_array().unwrap().len(), 2);
    let purls: Vec<&str> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["purl"].as_str())
        .collect();
    assert!(
        purls.contains(
            &"pkg:apk/alpine/libcrypto1.1@1.1.1d-r2?arch=x86_64&distro=alpine-3.11.6&origin=openssl"
        ),
        "{purls:?}"
    );
}

#[test]
fn an_ungranted_image_is_refused() {
    let image = SyntheticImage::new("denied", &[("etc/os-release", ALPINE_OS)]);
    let secdb = advisories("alpine-secdb");
    Test::new()
        .tasks(&engine_tasks("run-test-scan-nothing-else", &[secdb], ""))
        .args(&["scan", &image.tag])
        .status(1)
        .stderr_contains(&image.tag)
        .run();
}

/// Layer 2 of the archive test: openssl upgraded to its fix, libxml2 added.
const ALPINE_INSTALLED_LAYER_2: &str = "\
P:libcrypto1.1
V:1.1.1d-r3
A:x86_64
o:openssl

P:sqlite-libs
V:3.30.1-r0
A:x86_64
o:sqlite

P:libxml2
V:2.9.8-r0
A:x86_64
o:libxml2
";

/// A two-layer image saved with `docker save` and scanned with `--input`
/// (no engine needed for the scan): each finding names the layer that
/// installed its version; the report file is SARIF by its name.
#[test]
fn docker_save_archive_layers_and_sarif() {
    let image = SyntheticImage::new(
        "save",
        &[
            ("etc/os-release", ALPINE_OS),
            ("lib/apk/db/installed", ALPINE_INSTALLED),
        ],
    );
    let layered = image.with_layer("lib/apk/db/installed", ALPINE_INSTALLED_LAYER_2);
    let test = Test::new().dir("images");
    let archive = test.path("images/app.tar");
    docker(&["save", "-o", &archive.display().to_string(), &layered]);
    let secdb = advisories("alpine-secdb");
    let tasks = format!(
        r#"[tasks.scan]
plugin = "scan"
config = {{ advisories = ["{secdb}"], format = "json" }}
allow = {{ read = ["{secdb}", "images"], write = ["reports"] }}
"#
    );
    let (output, test) = test
        .tasks(&tasks)
        .args(&[
            "scan",
            "--input",
            "images/app.tar",
            "--output",
            "reports/scan.sarif",
        ])
        .run();
    let report = json(&output.stdout);
    let layers: Vec<(String, String, i64)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["package"]["name"].as_str().unwrap().to_owned(),
                f["id"].as_str().unwrap().to_owned(),
                f["package"]["layer"].as_i64().unwrap(),
            )
        })
        .collect();
    let l = |p: &str, id: &str, n: i64| (p.to_owned(), id.to_owned(), n);
    assert_eq!(
        layers,
        [
            l("libxml2", "CVE-2018-14404", 2),
            l("libxml2", "CVE-2018-14567", 2),
            l("libxml2", "CVE-2018-9251", 2),
            l("sqlite-libs", "CVE-2019-19242", 1),
        ]
    );
    assert_eq!(report["targets"][0]["layers"].as_array().unwrap().len(), 2);
    let sarif_log: Value =
        serde_json::from_slice(&std::fs::read(test.path("reports/scan.sarif")).unwrap()).unwrap();
    assert_eq!(sarif_log["version"], "2.1.0");
    sarif::assert_valid(&sarif_log);
    let results = sarif_log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    assert_eq!(results[0]["ruleId"], "CVE-2018-14404");
    assert_eq!(
        sarif_log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

#[test]
fn real_debian_image_postgres() {
    images::ensure();
    let container = unique_name("run-test-scan-pg");
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
    let test = Test::new().file(
        "osv/TEST-PG-1.json",
        r#"{"id": "TEST-PG-1", "aliases": ["CVE-2099-0015"], "summary": "postgresql-15: made-up problem fixed in a later revision",
 "database_specific": {"severity": "MEDIUM"},
 "affected": [{"package": {"ecosystem": "Debian:12", "name": "postgresql-15"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "15.99-0+deb12u1"}]}]}]}"#,
    );
    let debian = advisories("debian-security-tracker");
    // The shared DSA/DLA lists end before bookworm had advisories: with only
    // them, the scan fails closed instead of passing with 0 findings.
    Test::new()
        .tasks(&engine_tasks(&container, std::slice::from_ref(&debian), ""))
        .args(&["scan"])
        .status(4)
        .stderr_contains("no advisory data for debian 12")
        .run();
    let (output, _) = test
        .tasks(&engine_tasks(&container, &[debian, "osv".into()], ""))
        .args(&["scan"])
        .run();
    let report = json(&output.stdout);
    let target = &report["targets"][0];
    assert_eq!(target["os"]["id"], "debian");
    assert_eq!(target["os"]["version_id"], "12");
    assert!(target["packages"].as_u64().unwrap() > 100, "{target}");
    let ours: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == "TEST-PG-1")
        .collect();
    let packages: Vec<&str> = ours
        .iter()
        .map(|f| f["package"]["name"].as_str().unwrap())
        .collect();
    // Every binary package built from postgresql-15 is affected.
    assert!(
        packages.contains(&"postgresql-15") && packages.contains(&"libpq5"),
        "{packages:?}"
    );
    assert!(
        ours.iter()
            .all(|f| f["severity"] == "MEDIUM" && f["fixed"] == "15.99-0+deb12u1")
    );
    // The DSA/DLA lists end before bookworm had advisories: nothing else matches.
    let vulnerabilities = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "vulnerability")
        .count();
    assert_eq!(vulnerabilities, ours.len());
}

fn hardening_ids(report: &Value, container: &str) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "hardening" && f["target"] == container)
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn hardening_audit_of_containers_in_any_state() {
    let loose = Container::run(
        "run-test-scan-loose",
        &["-e", "DB_PASSWORD=hunter2", "--cap-add", "NET_ADMIN"],
        BUSYBOX,
        &["sleep", "86400"],
    );
    let tight = Container::run(
        "run-test-scan-tight",
        &[
            "--read-only",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "--memory",
            "64m",
            "--cpus",
            "0.5",
            "--pids-limit",
            "64",
            "--user",
            "1000",
        ],
        BUSYBOX,
        &["sleep", "86400"],
    );
    // Created, never started: audited all the same, since it starts with
    // these settings.
    let created = unique_name("run-test-scan-created");
    docker(&[
        "create",
        "--name",
        &created,
        "--label",
        "run-test=1",
        "-v",
        "/var/run/docker.sock:/var/run/docker.sock",
        "--ipc",
        "host",
        "--uts",
        "host",
        "--security-opt",
        "seccomp=unconfined",
        BUSYBOX,
        "true",
    ]);
    struct Remove(String);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = images::docker_output(&["rm", "-f", &self.0]);
        }
    }
    let _remove = Remove(created.clone());
    let secdb = advisories("alpine-secdb");
    let tasks = format!(
        r#"[tasks.scan]
plugin = "scan"
config = {{ advisories = ["{secdb}"], cache = ".cache/scan", format = "json" }}
allow = {{ containers = ["{}", "{}", "{created}"], read = ["{secdb}"], write = [".cache/scan"] }}
"#,
        loose.name, tight.name
    );
    let test = Test::new().tasks(&tasks);
    let outcome = test.invoke(&["scan"]).status(0);
    let report = outcome.json();
    assert_eq!(
        hardening_ids(&report, &loose.name),
        [
            "RUN-H001", "RUN-H005", "RUN-H012", "RUN-H003", "RUN-H004", "RUN-H006", "RUN-H007",
            "RUN-H008", "RUN-H009"
        ]
    );
    assert!(hardening_ids(&report, &tight.name).is_empty(), "{report}");
    let stopped = hardening_ids(&report, &created);
    let mut rules = vec!["RUN-H013", "RUN-H015", "RUN-H018"];
    if images::engine_is_podman() {
        // Podman 4.3 inspects `--ipc host` as `shareable`: the audit says
        // that it could not check the rule.
        let warnings = report["warnings"].to_string();
        assert!(
            warnings.contains(&format!(
                "{created}: RUN-H017 (host IPC namespace) not checked"
            )),
            "{warnings}"
        );
    } else {
        rules.push("RUN-H017");
    }
    for rule in rules {
        assert!(stopped.contains(&rule.to_owned()), "{rule}: {stopped:?}");
    }
    assert!(
        !outcome.stdout.contains("hunter2"),
        "a secret's value is never reported"
    );
    // Hardening findings are valid SARIF results too (rules RUN-H…).
    let sarif_log = test.invoke(&["scan", "--format", "sarif"]).status(0).json();
    sarif::assert_valid(&sarif_log);
    let rules: Vec<&str> = sarif_log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["ruleId"].as_str())
        .collect();
    assert!(rules.contains(&"RUN-H001"), "{sarif_log}");
    // Hardening findings go through the same gate.
    test.invoke(&["scan", "--fail-on", "HIGH", "--format", "table"])
        .status(3)
        .stderr_contains("findings at or above HIGH");
}

/// The static audit of a Compose file: the same rules, located at
/// file:line, with no engine.
#[test]
fn compose_file_audit_at_file_line() {
    let compose = "\
services:
  db:
    image: postgres:16
    user: postgres
    read_only: true
    cap_drop: [ALL]
    security_opt: [no-new-privileges:true]
    mem_limit: 512m
    cpus: 1
    pids_limit: 256
    environment:
      POSTGRES_PASSWORD: hunter2
  agent:
    image: agent:1
    privileged: true
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock
";
    let test = Test::new()
        .file("deploy/compose.yaml", compose)
        .tasks("[tasks.scan]\nplugin = \"scan\"\nallow = { read = [\"deploy\"] }\n");
    let report = test
        .invoke(&[
            "scan",
            "--compose",
            "deploy/compose.yaml",
            "--format",
            "json",
        ])
        .status(0)
        .json();
    let at = |target: &str| -> Vec<(String, u64)> {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["target"] == target)
            .map(|f| {
                (
                    f["id"].as_str().unwrap().to_owned(),
                    f["location"]["line"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(at("deploy/compose.yaml#db"), [("RUN-H012".to_owned(), 12)]);
    let agent = at("deploy/compose.yaml#agent");
    assert!(agent.contains(&("RUN-H002".to_owned(), 15)), "{agent:?}");
    assert!(agent.contains(&("RUN-H013".to_owned(), 17)), "{agent:?}");
    let table = test
        .invoke(&[
            "scan",
            "--compose",
            "deploy/compose.yaml",
            "--fail-on",
            "CRITICAL",
        ])
        .status(3)
        .stdout;
    assert!(
        table.contains("deploy/compose.yaml:17: mounts the container engine's socket"),
        "{table}"
    );
    assert!(!table.contains("hunter2"), "{table}");
    let sarif_log = test
        .invoke(&[
            "scan",
            "--compose",
            "deploy/compose.yaml",
            "--format",
            "sarif",
        ])
        .status(0)
        .json();
    sarif::assert_valid(&sarif_log);
    let region = sarif_log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "RUN-H013")
        .unwrap()["locations"][0]["physicalLocation"]
        .clone();
    assert_eq!(region["artifactLocation"]["uri"], "deploy/compose.yaml");
    assert_eq!(region["region"]["startLine"], 17);
}
