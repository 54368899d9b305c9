//! dpkg's database: `var/lib/dpkg/status` (and, in distroless images, one
//! file per package under `var/lib/dpkg/status.d/`), RFC 822-like paragraphs.

use super::Package;
use crate::version::Scheme;

/// The installed packages of one status file. `Status: want flag state`:
/// packages whose state says their files are gone (`not-installed`,
/// `config-files`) are left out; every other state has files on disk and is
/// kept, and a state other than `installed` (`half-configured`, `unpacked`,
/// `half-installed`, `triggers-awaited`, `triggers-pending`) is reported
/// with it. Files under `status.d/` have no `Status` and count as installed.
pub fn parse(text: &str) -> Vec<Package> {
    let mut packages = Vec::new();
    for paragraph in text.split("\n\n") {
        let mut name = None;
        let mut version = None;
        let mut source = None;
        let mut arch = String::new();
        let mut state = None;
        for line in paragraph.lines() {
            if line.starts_with([' ', '\t']) {
                continue; // a continuation line (descriptions, conffiles)
            }
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match key {
                "Package" => name = Some(value.to_owned()),
                "Version" => version = Some(value.to_owned()),
                "Source" => source = Some(value.to_owned()),
                "Architecture" => arch = value.to_owned(),
                "Status" => state = value.split_whitespace().nth(2).map(str::to_owned),
                _ => {}
            }
        }
        let (Some(name), Some(version)) = (name, version) else {
            continue;
        };
        let status = match state.as_deref() {
            None | Some("installed") => None,
            Some("not-installed" | "config-files") => continue,
            Some(other) => Some(other.to_owned()),
        };
        // `Source: name` or `Source: name (version)` when the source version
        // differs from the binary's (binNMUs, +bN).
        let (source, source_version) = match source {
            None => (name.clone(), version.clone()),
            Some(s) => match s.split_once(' ') {
                Some((n, v)) => (
                    n.to_owned(),
                    v.trim()
                        .trim_start_matches('(')
                        .trim_end_matches(')')
                        .to_owned(),
                ),
                None => (s, version.clone()),
            },
        };
        packages.push(Package {
            name,
            version,
            source,
            source_version,
            arch,
            status,
            scheme: Scheme::Dpkg,
            layer: None,
        });
    }
    packages
}

#[cfg(test)]
mod tests {
    #[test]
    fn binary_to_source_and_status() {
        let text = "Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\nVersion: 3.0.11-1~deb12u2\nDescription: x\n more text\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1.0\n\nPackage: libpq5\nStatus: install ok installed\nSource: postgresql-15 (15.5-0+deb12u1)\nVersion: 15.5-0+deb12u1+b1\n\nPackage: bash\nVersion: 5.2.15-2+b2\n";
        let p = super::parse(text);
        let names: Vec<_> = p
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.source.as_str(),
                    p.source_version.as_str(),
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                ("libssl3", "openssl", "3.0.11-1~deb12u2"),
                ("libpq5", "postgresql-15", "15.5-0+deb12u1"),
                ("bash", "bash", "5.2.15-2+b2"),
            ]
        );
        assert_eq!(p[0].arch, "amd64");
    }

    #[test]
    fn unfinished_states_are_kept_and_architectures_are_distinct() {
        let text = "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nMulti-Arch: same\nSource: glibc\nVersion: 2.36-9+deb12u4\n\n\
Package: libc6\nStatus: install ok installed\nArchitecture: i386\nMulti-Arch: same\nSource: glibc\nVersion: 2.36-9+deb12u4\n\n\
Package: openssl\nStatus: install ok half-configured\nArchitecture: amd64\nVersion: 3.0.11-1~deb12u2\n\n\
Package: curl\nStatus: install reinstreq unpacked\nArchitecture: amd64\nVersion: 7.88.1-10+deb12u5\n\n\
Package: gone\nStatus: purge ok not-installed\nArchitecture: amd64\nVersion: 1\n\n\
Package: man-db\nStatus: install ok triggers-pending\nArchitecture: amd64\nVersion: 2.11.2-2\n";
        let p = super::parse(text);
        let got: Vec<_> = p
            .iter()
            .map(|p| (p.name.as_str(), p.arch.as_str(), p.status.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("libc6", "amd64", None),
                ("libc6", "i386", None),
                ("openssl", "amd64", Some("half-configured")),
                ("curl", "amd64", Some("unpacked")),
                ("man-db", "amd64", Some("triggers-pending")),
            ]
        );
    }
}
