//! The table for people: per target, findings grouped by severity, most
//! severe first, coloured unless colour is off.

use std::fmt::Write as _;

use super::Report;
use crate::finding::{Finding, Kind};
use crate::severity::Severity;

fn paint(color: bool, severity: Severity, text: &str) -> String {
    if !color {
        return text.to_owned();
    }
    let code = match severity {
        Severity::Critical => "1;31",
        Severity::High => "31",
        Severity::Medium => "33",
        Severity::Low => "34",
        Severity::Unknown => "2",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

pub fn render(report: &Report, color: bool) -> String {
    let shown = report.shown();
    let multi = super::multiarch(&shown);
    let mut out = String::new();
    let mut targets: Vec<(String, String)> = report
        .inventories
        .iter()
        .map(|i| {
            let os = i.os.as_ref().map_or("unknown OS".to_owned(), |o| {
                format!("{} {}", o.id, o.version_id)
            });
            (
                i.target.clone(),
                format!("{os}, {} packages", i.packages.len()),
            )
        })
        .collect();
    targets.extend(
        report
            .audited
            .iter()
            .map(|a| (a.target.clone(), a.kind.replace('-', " "))),
    );
    for (target, what) in &targets {
        let mine: Vec<&&Finding> = shown.iter().filter(|f| &f.target == target).collect();
        let _ = writeln!(
            out,
            "{target} ({what}): {} finding{}",
            mine.len(),
            if mine.len() == 1 { "" } else { "s" }
        );
        for severity in Severity::ALL_DESCENDING {
            let group: Vec<&&&Finding> = mine.iter().filter(|f| f.severity == severity).collect();
            if group.is_empty() {
                continue;
            }
            let _ = writeln!(
                out,
                "\n{}",
                paint(color, severity, &format!("{severity} ({})", group.len()))
            );
            let rows: Vec<[String; 5]> = group.iter().map(|f| row(f, &multi)).collect();
            let headers = ["PACKAGE", "INSTALLED", "FIXED", "ID", "LAYER / DETAIL"];
            let mut widths = headers.map(str::len);
            for r in &rows {
                for (w, c) in widths.iter_mut().zip(r) {
                    *w = (*w).max(c.chars().count());
                }
            }
            let line = |cells: &[String; 5]| {
                let mut l = String::from("  ");
                for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
                    if i == 4 {
                        l.push_str(c);
                    } else {
                        let _ = write!(l, "{c:<w$}  ");
                    }
                }
                l.trim_end().to_owned()
            };
            let _ = writeln!(out, "{}", line(&headers.map(str::to_owned)));
            for r in &rows {
                let _ = writeln!(out, "{}", line(r));
            }
        }
        out.push('\n');
    }
    let counted = report
        .findings
        .iter()
        .filter(|f| report.policy.counts(f))
        .count();
    let ignored = report
        .findings
        .iter()
        .filter(|f| f.ignored.is_some())
        .count();
    let _ = write!(
        out,
        "{} shown of {counted} finding{}",
        shown.len(),
        if counted == 1 { "" } else { "s" }
    );
    if ignored > 0 {
        let _ = write!(out, ", {ignored} ignored");
    }
    out.push('\n');
    if let Some(data) = report.data {
        for line in super::data_lines(data) {
            let _ = writeln!(out, "{line}");
        }
    }
    for rule in report.expired {
        let _ = writeln!(
            out,
            "note: the ignore entry for {} expired on {} and no longer hides it ({})",
            rule.id,
            rule.expires.as_deref().unwrap_or("?"),
            rule.reason
        );
    }
    out
}

fn row(f: &Finding, multi: &std::collections::HashSet<(String, String)>) -> [String; 5] {
    match (&f.kind, &f.package) {
        (Kind::Vulnerability, Some(p)) => {
            let mut ids = f.id.clone();
            if let Some(first) = f.aliases.first() {
                ids.push_str(&format!(
                    " ({first}{})",
                    if f.aliases.len() > 1 { ", …" } else { "" }
                ));
            }
            let version = match &p.status {
                Some(state) => format!("{} ({state})", p.version),
                None => p.version.clone(),
            };
            let fixed = match (&f.fixed, &f.status) {
                (Some(v), _) => v.clone(),
                (None, Some(why)) => format!("(no fix: {why})"),
                (None, None) => "(no fix)".into(),
            };
            [
                super::package_name(f, multi),
                version,
                fixed,
                ids,
                p.layer
                    .map_or_else(|| f.title.clone(), |l| format!("layer {l}")),
            ]
        }
        _ => [
            "-".into(),
            "-".into(),
            "-".into(),
            f.id.clone(),
            match &f.location {
                Some(at) => format!("{}:{}: {}", at.file, at.line, f.title),
                None => f.title.clone(),
            },
        ],
    }
}
