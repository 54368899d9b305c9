//! The Debian security tracker's advisory lists (`data/DSA/list`,
//! `data/DLA/list`):
//!
//! ```text
//! [29 Mar 2023] DSA-5380-1 xorg-server - security update
//!     {CVE-2023-1393}
//!     [bullseye] - xorg-server 2:1.20.11-1+deb11u6
//! ```
//!
//! (The real lists indent with a tab.) Each `[release] - source version` line says the release's package is
//! fixed in that version; `<not-affected>` is skipped; `<end-of-life>` and
//! `<unfixed>` leave it affected with no fix.

use super::{Advisory, Affected, Distro, Range, debian_release};

/// Whether `text` looks like a DSA/DLA list.
pub fn looks_like(text: &str) -> bool {
    text.lines()
        .next()
        .is_some_and(|l| l.starts_with('[') && (l.contains("] DSA-") || l.contains("] DLA-")))
}

/// Parses a list; errors name the line.
pub fn parse(text: &str) -> Result<Vec<Advisory>, String> {
    let mut advisories: Vec<Advisory> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("NOTE:") {
            continue;
        }
        if !line.starts_with([' ', '\t']) {
            // `[29 Mar 2023] DSA-5380-1 xorg-server - security update`
            let (date, rest) = trimmed.split_once("] ").ok_or_else(|| {
                format!(
                    "line {}: expected `[date] DSA-n package - text`",
                    number + 1
                )
            })?;
            let (id, summary) = rest.split_once(' ').unwrap_or((rest, ""));
            let source = if id.starts_with("DLA-") {
                "debian-dla"
            } else {
                "debian-dsa"
            };
            let mut advisory = Advisory::new(id.to_owned(), source);
            advisory.summary = summary.to_owned();
            advisory.date = crate::date::parse_dmy(date.trim_start_matches('['));
            advisories.push(advisory);
            continue;
        }
        let Some(current) = advisories.last_mut() else {
            return Err(format!(
                "line {}: an indented line before any advisory",
                number + 1
            ));
        };
        if let Some(ids) = trimmed.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
            current
                .aliases
                .extend(ids.split_whitespace().map(str::to_owned));
        } else if let Some(rest) = trimmed.strip_prefix('[') {
            // `[bullseye] - xorg-server 2:1.20.11-1+deb11u6`
            let Some((codename, rest)) = rest.split_once(']') else {
                return Err(format!(
                    "line {}: expected `[release] - package version`",
                    number + 1
                ));
            };
            let mut words = rest.trim().trim_start_matches('-').split_whitespace();
            let (Some(package), Some(version)) = (words.next(), words.next()) else {
                continue;
            };
            let Some(release) = debian_release(codename) else {
                continue;
            };
            let (fixed, status) = match version {
                "<not-affected>" => continue,
                "<end-of-life>" => (None, Some("end-of-life".to_owned())),
                v if v.starts_with('<') => (None, None),
                v => (Some(v.to_owned()), None),
            };
            current.affected.push(Affected {
                distro: Distro::Debian,
                release: Some(release.to_owned()),
                package: package.to_owned(),
                ranges: vec![Range {
                    introduced: None,
                    fixed,
                    last_affected: None,
                }],
                versions: Vec::new(),
                rating: None,
                status,
            });
        }
    }
    advisories.retain(|a| !a.affected.is_empty());
    Ok(advisories)
}

#[cfg(test)]
mod tests {
    fn list(name: &str) -> String {
        let path = crate::shared_data("advisories/debian-security-tracker").join(name);
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn the_shared_dsa_and_dla_lists() {
        let text = list("DSA-list");
        assert!(super::looks_like(&text));
        let dsa = super::parse(&text).unwrap();
        let x = dsa.iter().find(|a| a.id == "DSA-5380-1").unwrap();
        assert_eq!(x.aliases, ["CVE-2023-1393"]);
        assert_eq!(x.date, crate::date::days_from_civil(2023, 3, 29));
        assert_eq!(x.affected[0].package, "xorg-server");
        assert_eq!(x.affected[0].release.as_deref(), Some("11"));
        assert_eq!(
            x.affected[0].ranges[0].fixed.as_deref(),
            Some("2:1.20.11-1+deb11u6")
        );
        let dla = super::parse(&list("DLA-list")).unwrap();
        assert!(dla.len() > 3000, "{}", dla.len());
        let eol = dla.iter().find(|a| a.id == "DLA-372-1").unwrap();
        assert_eq!(eol.affected[0].ranges[0].fixed, None);
        assert_eq!(eol.affected[0].status.as_deref(), Some("end-of-life"));
    }

    #[test]
    fn not_affected_lines_are_skipped() {
        let a = super::parse(
            "[01 Jan 2009] DSA-1-1 x - y\n\t[lenny] - x <not-affected> (no)\n\t[etch] - x 1.0-1\n",
        )
        .unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].affected.len(), 1);
        assert!(super::parse("\t[etch] - x 1\n").is_err());
    }
}
