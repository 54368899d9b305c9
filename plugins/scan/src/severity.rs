//! Severity levels, from a CVSS score (see `cvss.rs`) or a source's own
//! rating word.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Ordered from least to most severe.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    #[default]
    Unknown,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL_DESCENDING: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "UNKNOWN",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }

    /// The qualitative rating of a CVSS v3.x/v4.0 score (a 0.0 score, "None",
    /// is reported as LOW: something still matched).
    pub fn from_score(score: f64) -> Severity {
        match score {
            s if s >= 9.0 => Severity::Critical,
            s if s >= 7.0 => Severity::High,
            s if s >= 4.0 => Severity::Medium,
            _ => Severity::Low,
        }
    }

    /// A source's own rating word (GHSA, Debian urgency, Ubuntu priority, …).
    /// Debian's `not yet assigned` and `end-of-life` rate nothing; its
    /// `unimportant` is LOW; a trailing `*` (an urgency set without review)
    /// is ignored.
    pub fn from_rating(word: &str) -> Option<Severity> {
        let word = word.trim().trim_end_matches('*').to_ascii_lowercase();
        Some(match word.as_str() {
            "critical" => Severity::Critical,
            "high" | "important" => Severity::High,
            "medium" | "moderate" => Severity::Medium,
            "low" | "negligible" | "unimportant" | "minor" => Severity::Low,
            _ => return None,
        })
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "UNKNOWN" => Ok(Severity::Unknown),
            "LOW" => Ok(Severity::Low),
            "MEDIUM" => Ok(Severity::Medium),
            "HIGH" => Ok(Severity::High),
            "CRITICAL" => Ok(Severity::Critical),
            other => Err(format!(
                "unknown severity `{other}` (use UNKNOWN, LOW, MEDIUM, HIGH or CRITICAL)"
            )),
        }
    }
}

/// Parses `CRITICAL,HIGH` lists.
pub fn parse_list(text: &str) -> Result<Vec<Severity>, String> {
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(str::parse)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_and_ratings() {
        assert_eq!(Severity::from_score(9.0), Severity::Critical);
        assert_eq!(Severity::from_score(8.9), Severity::High);
        assert_eq!(Severity::from_score(0.0), Severity::Low);
        assert_eq!(Severity::from_rating("low**"), Some(Severity::Low));
        assert_eq!(Severity::from_rating("end-of-life"), None);
        assert_eq!(Severity::from_score(3.3), Severity::Low);
        assert_eq!(Severity::from_rating("Moderate"), Some(Severity::Medium));
        assert_eq!(Severity::from_rating("unimportant"), Some(Severity::Low));
        assert_eq!(Severity::from_rating("not yet assigned"), None);
        assert_eq!(
            parse_list("critical,HIGH").unwrap(),
            [Severity::Critical, Severity::High]
        );
        assert!(parse_list("bad").is_err());
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Unknown);
    }
}
