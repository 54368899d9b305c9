//! CVSS vectors (v2.0, v3.0, v3.1, v4.0) and the score a finding takes
//! from one. Parsing and the equations are RustSec's `cvss` crate (v3 with
//! its temporal and environmental groups since 3.0); this module only
//! decides which of a vector's scores counts and which of several vectors
//! wins.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::severity::Severity;

/// A parsed vector and the score it gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cvss {
    /// `2.0`, `3.0`, `3.1` or `4.0`.
    pub version: String,
    /// The vector as published.
    pub vector: String,
    /// The most specific score the vector gives: environmental when it sets
    /// environmental metrics, else temporal when it sets temporal ones, else
    /// base (CVSS v4 folds threat and environmental metrics into its one
    /// score).
    pub score: f64,
}

/// Temporal and environmental metric keys of v2 and v3; a value other than
/// `X`/`ND` (not defined) makes the vector carry that group.
const V2_TEMPORAL: [&str; 3] = ["E", "RL", "RC"];
const V2_ENVIRONMENTAL: [&str; 5] = ["CDP", "TD", "CR", "IR", "AR"];
const V3_TEMPORAL: [&str; 3] = ["E", "RL", "RC"];
const V3_ENVIRONMENTAL: [&str; 11] = [
    "CR", "IR", "AR", "MAV", "MAC", "MPR", "MUI", "MS", "MC", "MI", "MA",
];

/// The base metrics each version requires. The crate scores a vector that
/// lacks some as if they were zero; such a vector is refused instead.
const V2_BASE: [&str; 6] = ["AV", "AC", "Au", "C", "I", "A"];
const V3_BASE: [&str; 8] = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"];
const V4_BASE: [&str; 11] = [
    "AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA",
];

fn missing<'a>(vector: &str, keys: &[&'a str]) -> Vec<&'a str> {
    keys.iter()
        .copied()
        .filter(|key| {
            !vector
                .split('/')
                .any(|part| part.split_once(':').is_some_and(|(k, _)| k == *key))
        })
        .collect()
}

fn sets_any(vector: &str, keys: &[&str]) -> bool {
    vector.split('/').any(|part| {
        part.split_once(':')
            .is_some_and(|(k, v)| keys.contains(&k) && v != "X" && v != "ND")
    })
}

impl Cvss {
    /// Parses a vector of any supported version: `CVSS:4.0/…`, `CVSS:3.1/…`,
    /// `CVSS:3.0/…`, or a bare v2 vector (`AV:N/AC:L/Au:N/…`, optionally in
    /// parentheses or prefixed `CVSS:2.0/`, as NVD wrote them).
    pub fn parse(text: &str) -> Result<Cvss, String> {
        let text = text.trim();
        let bare = text
            .strip_prefix('(')
            .and_then(|t| t.strip_suffix(')'))
            .unwrap_or(text);
        let bare = bare.strip_prefix("CVSS:2.0/").unwrap_or(bare);
        let parsed: cvss::Cvss = bare
            .parse()
            .map_err(|e| format!("CVSS vector `{text}`: {e}"))?;
        let base: &[&str] = match &parsed {
            cvss::Cvss::CvssV20(_) => &V2_BASE,
            cvss::Cvss::CvssV40(_) => &V4_BASE,
            _ => &V3_BASE,
        };
        let lacking = missing(bare, base);
        if !lacking.is_empty() {
            return Err(format!(
                "CVSS vector `{text}`: base metric{} {} missing",
                if lacking.len() == 1 { "" } else { "s" },
                lacking.join(", ")
            ));
        }
        let (version, score) = match &parsed {
            cvss::Cvss::CvssV20(v) => {
                let score = if sets_any(bare, &V2_ENVIRONMENTAL) {
                    v.environmental_score().value()
                } else if sets_any(bare, &V2_TEMPORAL) {
                    v.temporal_score().value()
                } else {
                    v.score().value()
                };
                ("2.0", score)
            }
            cvss::Cvss::CvssV30(v) | cvss::Cvss::CvssV31(v) => {
                let version = if v.minor_version == 0 { "3.0" } else { "3.1" };
                let score = if sets_any(bare, &V3_ENVIRONMENTAL) {
                    v.environmental_score().value()
                } else {
                    // v3.0's base and temporal equations are v3.1's; only
                    // v3.1's Roundup (its Appendix A) rounds in decimal as
                    // the specification means, where the crate's v3.0
                    // rounding ceils the binary float: 2.5 × 0.92 is
                    // 2.3000000000000003 and became 2.4.
                    let same = match (version, bare.split_once('/')) {
                        ("3.0", Some((_, rest))) => format!("CVSS:3.1/{rest}")
                            .parse::<cvss::v3::Vector>()
                            .unwrap_or_else(|_| v.clone()),
                        _ => v.clone(),
                    };
                    if sets_any(bare, &V3_TEMPORAL) {
                        same.temporal_score().value()
                    } else {
                        same.base_score().value()
                    }
                };
                (version, score)
            }
            cvss::Cvss::CvssV40(v) => ("4.0", v.score().value()),
            _ => return Err(format!("CVSS vector `{text}`: unsupported version")),
        };
        Ok(Cvss {
            version: version.into(),
            vector: text.to_owned(),
            score,
        })
    }

    /// The qualitative rating of the score. v3 and v4 share one scale; v2
    /// has none of its own, and NVD's (0–3.9 LOW, 4–6.9 MEDIUM, 7–10 HIGH)
    /// never says CRITICAL. A 0.0 ("None") is LOW: something still matched.
    pub fn severity(&self) -> Severity {
        if self.version == "2.0" {
            return match self.score {
                s if s >= 7.0 => Severity::High,
                s if s >= 4.0 => Severity::Medium,
                _ => Severity::Low,
            };
        }
        Severity::from_score(self.score)
    }

    /// Which of two vectors of one record wins: the newer CVSS version, then
    /// the higher score.
    pub fn rank(&self, other: &Cvss) -> Ordering {
        self.version
            .cmp(&other.version)
            .then(self.score.total_cmp(&other.score))
    }

    /// The better of `current` and `candidate` by [`Cvss::rank`].
    pub fn keep_best(current: &mut Option<Cvss>, candidate: Cvss) {
        if current
            .as_ref()
            .is_none_or(|c| candidate.rank(c) == Ordering::Greater)
        {
            *current = Some(candidate);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(v: &str) -> (String, f64, Severity) {
        let c = Cvss::parse(v).unwrap();
        let s = c.severity();
        (c.version, c.score, s)
    }

    #[test]
    fn v3_base_temporal_and_environmental() {
        // Log4Shell (CVE-2021-44228), NVD: 10.0.
        assert_eq!(
            score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"),
            ("3.1".into(), 10.0, Severity::Critical)
        );
        // zlib inflateGetHeader (CVE-2022-37434), NVD: 9.8.
        assert_eq!(score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").1, 9.8);
        assert_eq!(
            score("CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N"),
            ("3.0".into(), 5.9, Severity::Medium)
        );
        // Temporal metrics: 9.8 × E:F 0.97 × RL:O 0.95 × RC:C 1 = 9.03 → 9.1.
        assert_eq!(
            score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:F/RL:O/RC:C"),
            ("3.1".into(), 9.1, Severity::Critical)
        );
        // Temporal metrics that lower a critical base below the line:
        // 9.8 × 0.91 × 0.95 × 0.96 = 8.13 → 8.2.
        assert_eq!(
            score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:R").2,
            Severity::High
        );
        // FIRST's v3.1 example: base 6.1, temporal 5.6.
        assert_eq!(
            score("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N/E:P/RL:W/RC:C").1,
            5.6
        );
        // Environmental metrics win over temporal ones: a system whose
        // availability does not matter (AR:L) and that is only adjacent
        // (MAV:A).
        let env = score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H/E:X/RL:X/RC:X/AR:L/MAV:A");
        assert!(env.1 < 7.5 && env.1 > 0.0, "{env:?}");
        // All groups "not defined": the base score.
        assert_eq!(
            score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:X/RL:X/RC:X/CR:X").1,
            9.8
        );
    }

    #[test]
    fn v2_has_no_critical() {
        // CVE-2014-0160 (Heartbleed), NVD v2: 5.0.
        assert_eq!(
            score("AV:N/AC:L/Au:N/C:P/I:N/A:N"),
            ("2.0".into(), 5.0, Severity::Medium)
        );
        assert_eq!(
            score("(AV:N/AC:L/Au:N/C:C/I:C/A:C)"),
            ("2.0".into(), 10.0, Severity::High)
        );
        // The v2 guide's CVE-2002-0392 example: base 7.8, temporal 6.4.
        assert_eq!(score("AV:N/AC:L/Au:N/C:N/I:N/A:C/E:F/RL:OF/RC:C").1, 6.4);
        // …and its environmental example: 9.2 with CDP:H/TD:H/CR:M/IR:M/AR:H.
        assert_eq!(
            score("AV:N/AC:L/Au:N/C:N/I:N/A:C/E:F/RL:OF/RC:C/CDP:H/TD:H/CR:M/IR:M/AR:H").1,
            9.2
        );
    }

    #[test]
    fn v4_and_bad_vectors() {
        // The CVSS v4.0 specification's highest base vector: 10.0.
        assert_eq!(
            score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H"),
            ("4.0".into(), 10.0, Severity::Critical)
        );
        // Threat metrics lower it (E:U: unreported exploitation).
        let t = score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U");
        assert!(t.1 < 9.3, "{t:?}");
        let e = Cvss::parse("CVSS:3.1/AV:N/AC:L").unwrap_err();
        assert!(e.contains("PR, UI, S, C, I, A missing"), "{e}");
        assert!(Cvss::parse("AV:N/AC:L/Au:N/C:P/I:N").is_err());
        assert!(Cvss::parse("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H").is_err());
        assert!(Cvss::parse("CVSS:5.0/AV:N").is_err());
        assert!(Cvss::parse("HIGH").is_err());
    }

    #[test]
    fn newer_versions_win_then_higher_scores() {
        let mut best = None;
        Cvss::keep_best(
            &mut best,
            Cvss::parse("AV:N/AC:L/Au:N/C:C/I:C/A:C").unwrap(),
        );
        Cvss::keep_best(
            &mut best,
            Cvss::parse("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H").unwrap(),
        );
        Cvss::keep_best(
            &mut best,
            Cvss::parse("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").unwrap(),
        );
        let best = best.unwrap();
        assert_eq!((best.version.as_str(), best.score), ("3.1", 7.8));
    }

    /// 4,000 random vectors (v2.0, v3.0, v3.1 with temporal and
    /// environmental groups, v4.0 with threat metrics) scored by Red Hat's
    /// Python `cvss` (testdata/cvss-vectors.py regenerates them): the same
    /// most specific score for every one.
    #[test]
    fn four_thousand_vectors_agree_with_red_hats_cvss() {
        let mut checked = 0;
        let mut wrong = Vec::new();
        for line in include_str!("../testdata/cvss-vectors.txt").lines() {
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let (vector, expected) = line.rsplit_once(' ').unwrap();
            let expected: f64 = expected.parse().unwrap();
            let got = Cvss::parse(vector).map(|c| c.score);
            if got != Ok(expected) {
                wrong.push(format!("{vector}: {got:?}, expected {expected}"));
            }
            checked += 1;
        }
        assert_eq!(checked, 4000);
        assert!(
            wrong.is_empty(),
            "{} of {checked}:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
    }
}
