//! apk's database, `lib/apk/db/installed`: one `X:value` line per field,
//! packages separated by blank lines. `o:` is the origin (source) package
//! that Alpine's advisories name.

use super::Package;
use crate::version::Scheme;

pub fn parse(text: &str) -> Vec<Package> {
    let mut packages = Vec::new();
    for block in text.split("\n\n") {
        let (mut name, mut version, mut origin, mut arch) = (None, None, None, String::new());
        for line in block.lines() {
            match line.split_once(':') {
                Some(("P", v)) => name = Some(v.to_owned()),
                Some(("V", v)) => version = Some(v.to_owned()),
                Some(("o", v)) => origin = Some(v.to_owned()),
                Some(("A", v)) => arch = v.to_owned(),
                _ => {}
            }
        }
        let (Some(name), Some(version)) = (name, version) else {
            continue;
        };
        packages.push(Package {
            source: origin.unwrap_or_else(|| name.clone()),
            source_version: version.clone(),
            name,
            version,
            arch,
            status: None,
            scheme: Scheme::Apk,
            layer: None,
        });
    }
    packages
}

#[cfg(test)]
mod tests {
    #[test]
    fn origin_is_the_source() {
        let p = super::parse(
            "C:Q1abc=\nP:libcrypto1.1\nV:1.1.1d-r3\nA:x86_64\no:openssl\n\nP:musl\nV:1.1.24-r2\n",
        );
        assert_eq!(p.len(), 2);
        assert_eq!(
            (
                p[0].name.as_str(),
                p[0].source.as_str(),
                p[0].version.as_str()
            ),
            ("libcrypto1.1", "openssl", "1.1.1d-r3")
        );
        assert_eq!(p[1].source, "musl");
    }
}
