//! What is shown and what fails the run: `--severity` filters the display,
//! `--ignore-unfixed` drops findings without a fix, the ignore file hides
//! accepted findings (with a reason, until an expiry date), and `--fail-on`
//! sets the exit code.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use crate::finding::{Finding, Kind};
use crate::severity::Severity;

/// The ignore file (TOML):
///
/// ```toml
/// [[ignore]]
/// id = "CVE-2023-1393"          # or any alias, or a hardening rule id
/// package = "xorg-server"       # optional: only in this package
/// target = "app:latest"         # optional: only in this image or container
/// reason = "no X server runs in the container"
/// expires = "2027-01-31"        # optional: hides it until this day (UTC)
/// ```
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IgnoreFile {
    #[serde(default)]
    ignore: Vec<Rule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub package: Option<String>,
    pub target: Option<String>,
    pub reason: String,
    pub expires: Option<String>,
}

/// Parsed rules; expired ones are kept apart so the run can warn about them.
#[derive(Debug, Default)]
pub struct Ignores {
    pub active: Vec<Rule>,
    pub expired: Vec<Rule>,
}

/// Parses the ignore file's text; `today` is `YYYY-MM-DD`. Errors name the
/// entry.
pub fn parse_ignores(text: &str, today: &str) -> Result<Ignores, String> {
    let file: IgnoreFile = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut ignores = Ignores::default();
    for (n, rule) in file.ignore.into_iter().enumerate() {
        let entry = n + 1;
        if rule.reason.trim().is_empty() {
            return Err(format!(
                "[[ignore]] entry {entry} ({}): `reason` must say why",
                rule.id
            ));
        }
        match &rule.expires {
            Some(date) if !is_date(date) => {
                return Err(format!(
                    "[[ignore]] entry {entry} ({}): `expires` must be a date like 2027-01-31, not `{date}`",
                    rule.id
                ));
            }
            // Expires at the end of that day: it still hides on the day itself.
            Some(date) if date.as_str() < today => ignores.expired.push(rule),
            _ => ignores.active.push(rule),
        }
    }
    Ok(ignores)
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

impl Rule {
    fn matches(&self, f: &Finding) -> bool {
        f.ids().any(|id| id == self.id)
            && self.package.as_ref().is_none_or(|p| {
                f.package
                    .as_ref()
                    .is_some_and(|pk| pk.name == *p || pk.source == *p)
            })
            && self.target.as_ref().is_none_or(|t| *t == f.target)
    }
}

impl Ignores {
    /// Marks the findings an active rule hides.
    pub fn apply(&self, findings: &mut [Finding]) {
        for f in findings {
            if let Some(rule) = self.active.iter().find(|r| r.matches(f)) {
                let until = rule
                    .expires
                    .as_deref()
                    .map(|d| format!(" (until {d})"))
                    .unwrap_or_default();
                f.ignored = Some(format!("{}{until}", rule.reason));
            }
        }
    }
}

/// The display and gate options.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Only these severities are shown (empty: all).
    pub severities: Vec<Severity>,
    pub ignore_unfixed: bool,
    /// Findings at or above this severity fail the run.
    pub fail_on: Option<Severity>,
}

impl Policy {
    /// Whether a finding counts at all (not ignored, not an unfixed one
    /// under `--ignore-unfixed`).
    pub fn counts(&self, f: &Finding) -> bool {
        f.ignored.is_none()
            && !(self.ignore_unfixed && f.kind == Kind::Vulnerability && f.fixed.is_none())
    }

    /// Whether a finding is shown.
    pub fn shown(&self, f: &Finding) -> bool {
        self.counts(f) && (self.severities.is_empty() || self.severities.contains(&f.severity))
    }

    /// The findings that fail the run.
    pub fn failing<'a>(&self, findings: &'a [Finding]) -> Vec<&'a Finding> {
        match self.fail_on {
            None => Vec::new(),
            Some(level) => findings
                .iter()
                .filter(|f| self.counts(f) && f.severity >= level)
                .collect(),
        }
    }
}

/// Today in UTC as `YYYY-MM-DD` (WASI has a clock but no time zones).
pub fn today() -> String {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    civil_date(days)
}

/// Days since 1970-01-01 → `YYYY-MM-DD` (Howard Hinnant's algorithm).
pub fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::PackageRef;

    fn finding(id: &str, severity: Severity, fixed: Option<&str>) -> Finding {
        Finding {
            kind: Kind::Vulnerability,
            target: "img".into(),
            id: id.into(),
            aliases: vec!["CVE-9".into()],
            severity,
            score: None,
            title: String::new(),
            package: Some(PackageRef {
                name: "libx1".into(),
                version: "1".into(),
                source: "x".into(),
                source_version: "1".into(),
                layer: None,
                layer_digest: None,
            }),
            fixed: fixed.map(Into::into),
            ignored: None,
        }
    }

    #[test]
    fn dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(20_415), "2025-11-23");
        assert_eq!(civil_date(11_016), "2000-02-29");
    }

    #[test]
    fn ignore_rules_reasons_and_expiry() {
        let text = r#"
[[ignore]]
id = "CVE-9"
package = "x"
reason = "accepted"
expires = "2026-12-31"

[[ignore]]
id = "DSA-2"
reason = "old"
expires = "2026-01-01"
"#;
        let ignores = parse_ignores(text, "2026-06-01").unwrap();
        assert_eq!((ignores.active.len(), ignores.expired.len()), (1, 1));
        let mut fs = vec![
            finding("DSA-1", Severity::High, None),
            finding("DSA-2", Severity::Low, None),
        ];
        fs[1].aliases.clear();
        ignores.apply(&mut fs);
        assert_eq!(
            fs[0].ignored.as_deref(),
            Some("accepted (until 2026-12-31)")
        );
        assert_eq!(fs[1].ignored, None);
        // The day itself still hides.
        assert_eq!(parse_ignores(text, "2026-01-01").unwrap().active.len(), 2);
        let e = parse_ignores("[[ignore]]\nid = \"X\"\nreason = \"\"\n", "2026-01-01").unwrap_err();
        assert!(e.contains("entry 1 (X)"), "{e}");
        let e = parse_ignores(
            "[[ignore]]\nid = \"X\"\nreason = \"r\"\nexpires = \"soon\"\n",
            "2026-01-01",
        )
        .unwrap_err();
        assert!(e.contains("`expires`"), "{e}");
        assert!(parse_ignores("[[ignore]]\nid = \"X\"\n", "2026-01-01").is_err());
    }

    #[test]
    fn gate_and_filters() {
        let fs = vec![
            finding("A", Severity::Critical, None),
            finding("B", Severity::High, Some("2")),
            finding("C", Severity::Low, Some("2")),
        ];
        let policy = Policy {
            severities: vec![Severity::Critical, Severity::High],
            ignore_unfixed: true,
            fail_on: Some(Severity::High),
        };
        let shown: Vec<_> = fs
            .iter()
            .filter(|f| policy.shown(f))
            .map(|f| f.id.as_str())
            .collect();
        assert_eq!(shown, ["B"]);
        assert_eq!(policy.failing(&fs).len(), 1);
        let policy = Policy {
            fail_on: Some(Severity::Low),
            ..Policy::default()
        };
        assert_eq!(policy.failing(&fs).len(), 3);
    }
}
