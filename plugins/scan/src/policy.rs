//! What is shown and what fails the run: `--severity` filters the display,
//! `--ignore-unfixed` drops findings without a fix, the ignore file hides
//! accepted findings (with a reason, until an expiry date), and `--fail-on`
//! sets the exit code.

use serde::Deserialize;
use toml::Spanned;

use crate::date;

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
    ignore: Vec<RawRule>,
}

/// A rule as written, with where its values are (for errors).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    package: Option<String>,
    target: Option<String>,
    reason: Spanned<String>,
    expires: Option<Spanned<String>>,
}

#[derive(Debug, Clone)]
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

/// Why the ignore file was refused, with the line it is about (1-based)
/// when there is one: rendered `FILE:LINE: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreError {
    pub line: Option<usize>,
    pub message: String,
}

impl IgnoreError {
    /// `path:line: message` (or `path: message`).
    pub fn render(&self, path: &str) -> String {
        match self.line {
            Some(line) => format!("{path}:{line}: {}", self.message),
            None => format!("{path}: {}", self.message),
        }
    }
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Parses the ignore file's text; `today` is days since 1970-01-01. Errors
/// name the line and the entry.
pub fn parse_ignores(text: &str, today: i64) -> Result<Ignores, IgnoreError> {
    let file: IgnoreFile = toml::from_str(text).map_err(|e| IgnoreError {
        line: e.span().map(|s| line_of(text, s.start)),
        message: e.message().trim_end().to_owned(),
    })?;
    let mut ignores = Ignores::default();
    for (n, raw) in file.ignore.into_iter().enumerate() {
        let entry = n + 1;
        let id = raw.id.get_ref().clone();
        let at = |span: std::ops::Range<usize>| Some(line_of(text, span.start));
        if raw.reason.get_ref().trim().is_empty() {
            return Err(IgnoreError {
                line: at(raw.reason.span()),
                message: format!("[[ignore]] entry {entry} ({id}): `reason` must say why"),
            });
        }
        let expires_on = match &raw.expires {
            None => None,
            Some(date) => Some(date::check_ymd(date.get_ref()).map_err(|why| IgnoreError {
                line: at(date.span()),
                message: format!("[[ignore]] entry {entry} ({id}): `expires`: {why}"),
            })?),
        };
        let rule = Rule {
            id,
            package: raw.package,
            target: raw.target,
            reason: raw.reason.into_inner(),
            expires: raw.expires.map(Spanned::into_inner),
        };
        match expires_on {
            // Expires at the end of that day: it still hides on the day itself.
            Some(day) if day < today => ignores.expired.push(rule),
            _ => ignores.active.push(rule),
        }
    }
    Ok(ignores)
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
            severity_source: crate::advisory::SeveritySource::None,
            cvss: None,
            title: String::new(),
            package: Some(PackageRef {
                name: "libx1".into(),
                version: "1".into(),
                arch: String::new(),
                status: None,
                source: "x".into(),
                source_version: "1".into(),
                layer: None,
                layer_digest: None,
            }),
            fixed: fixed.map(Into::into),
            status: None,
            location: None,
            ignored: None,
        }
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
        let day = |t: &str| date::check_ymd(t).unwrap();
        let ignores = parse_ignores(text, day("2026-06-01")).unwrap();
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
        let today = day("2026-01-01");
        assert_eq!(parse_ignores(text, today).unwrap().active.len(), 2);
        let e = parse_ignores("[[ignore]]\nid = \"X\"\nreason = \"\"\n", today).unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("entry 1 (X)"), "{e:?}");
        let e = parse_ignores(
            "[[ignore]]\nid = \"X\"\nreason = \"r\"\nexpires = \"soon\"\n",
            today,
        )
        .unwrap_err();
        assert!(e.message.contains("`expires`"), "{e:?}");
        let e = parse_ignores("[[ignore]]\nid = \"X\"\n", today).unwrap_err();
        assert!(e.message.contains("reason"), "{e:?}");
    }

    /// Regression: `2027-13-45` has the shape of a date and was accepted.
    #[test]
    fn an_impossible_expiry_date_is_refused_at_its_line() {
        let text = "[[ignore]]\nid = \"CVE-1\"\nreason = \"r\"\n\n[[ignore]]\nid = \"CVE-2\"\nreason = \"r\"\nexpires = \"2027-13-45\"\n";
        let e = parse_ignores(text, 0).unwrap_err();
        assert_eq!(
            e.render("scan-ignore.toml"),
            "scan-ignore.toml:8: [[ignore]] entry 2 (CVE-2): `expires`: `2027-13-45` is not a date: there is no month 13"
        );
        let e = parse_ignores(
            "[[ignore]]\nid = \"A\"\nreason = \"r\"\nexpires = \"2027-02-30\"\n",
            0,
        )
        .unwrap_err();
        assert_eq!(e.line, Some(4));
        // A TOML syntax error carries its line too.
        let e = parse_ignores("[[ignore]]\nid = \"A\"\nreason = r\n", 0).unwrap_err();
        assert_eq!(e.line, Some(3), "{e:?}");
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
