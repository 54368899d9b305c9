//! The runtime-hardening audit of a running container, from the engine's
//! inspect document: each rule of the team's hardening guide that the
//! container breaks becomes a finding with a severity.

use serde_json::Value;

use crate::advisory::SeveritySource;
use crate::finding::{Finding, Kind};
use crate::severity::Severity;

/// Capabilities that amount to (near) root on the host when added.
const DANGEROUS_CAPS: [&str; 8] = [
    "ALL",
    "SYS_ADMIN",
    "NET_ADMIN",
    "SYS_PTRACE",
    "SYS_MODULE",
    "DAC_READ_SEARCH",
    "SYS_RAWIO",
    "BPF",
];

/// Environment variable names that look like secrets (matched as words).
const SECRET_WORDS: [&str; 10] = [
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "APIKEY",
    "API_KEY",
    "PRIVATE_KEY",
    "ACCESS_KEY",
    "CREDENTIALS",
    "AUTH",
];

fn finding(container: &str, id: &str, severity: Severity, title: String) -> Finding {
    Finding {
        kind: Kind::Hardening,
        target: container.to_owned(),
        id: id.to_owned(),
        aliases: Vec::new(),
        severity,
        score: None,
        severity_source: SeveritySource::None,
        cvss: None,
        title,
        package: None,
        fixed: None,
        status: None,
        ignored: None,
    }
}

fn truthy(v: &Value) -> bool {
    v.as_bool().unwrap_or(false)
}

fn number(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

/// The rules `inspect` (the engine's container inspect document) breaks.
pub fn audit(container: &str, inspect: &Value) -> Vec<Finding> {
    let config = &inspect["Config"];
    let host = &inspect["HostConfig"];
    let mut out = Vec::new();
    let mut add = |id: &str, severity: Severity, title: String| {
        out.push(finding(container, id, severity, title))
    };

    let user = config["User"].as_str().unwrap_or("").trim();
    let uid = user.split(':').next().unwrap_or("");
    if uid.is_empty() || uid == "root" || uid == "0" {
        add(
            "RUN-H001",
            Severity::High,
            "runs as root (set `user:` to an unprivileged uid, e.g. --user 1000)".into(),
        );
    }
    if truthy(&host["Privileged"]) {
        add(
            "RUN-H002",
            Severity::Critical,
            "runs privileged: it has every capability and the host's devices".into(),
        );
    }
    let security_opt: Vec<String> = host["SecurityOpt"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let no_new_privs = security_opt.iter().any(|o| {
        let o = o.replace('=', ":");
        o == "no-new-privileges" || o == "no-new-privileges:true"
    });
    if !no_new_privs {
        add("RUN-H003", Severity::Medium, "no-new-privileges is not set: setuid binaries can raise privileges (--security-opt no-new-privileges)".into());
    }
    let caps = |key: &str| -> Vec<String> {
        host[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str())
                    .map(|c| c.trim_start_matches("CAP_").to_ascii_uppercase())
                    .collect()
            })
            .unwrap_or_default()
    };
    if !caps("CapDrop").iter().any(|c| c == "ALL") {
        add(
            "RUN-H004",
            Severity::Medium,
            "capabilities are not dropped (--cap-drop ALL, then add back only what is needed)"
                .into(),
        );
    }
    let dangerous: Vec<String> = caps("CapAdd")
        .into_iter()
        .filter(|c| DANGEROUS_CAPS.contains(&c.as_str()))
        .collect();
    if !dangerous.is_empty() {
        add(
            "RUN-H005",
            Severity::High,
            format!("adds dangerous capabilities: {}", dangerous.join(", ")),
        );
    }
    if !truthy(&host["ReadonlyRootfs"]) {
        add("RUN-H006", Severity::Medium, "the root filesystem is writable (--read-only, with tmpfs or volumes for what must change)".into());
    }
    if number(&host["Memory"]) <= 0 {
        add(
            "RUN-H007",
            Severity::Medium,
            "no memory limit (--memory)".into(),
        );
    }
    if number(&host["NanoCpus"]) <= 0 && number(&host["CpuQuota"]) <= 0 {
        add("RUN-H008", Severity::Low, "no CPU limit (--cpus)".into());
    }
    if number(&host["PidsLimit"]) <= 0 {
        add(
            "RUN-H009",
            Severity::Low,
            "no pids limit: a fork bomb can exhaust the host (--pids-limit)".into(),
        );
    }
    if host["NetworkMode"].as_str() == Some("host") {
        add(
            "RUN-H010",
            Severity::High,
            "uses the host's network namespace".into(),
        );
    }
    if host["PidMode"].as_str() == Some("host") {
        add(
            "RUN-H011",
            Severity::High,
            "uses the host's PID namespace: it sees and can signal host processes".into(),
        );
    }
    let secrets: Vec<String> = config["Env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .filter_map(|kv| kv.split_once('='))
        .filter(|(name, value)| !value.is_empty() && looks_secret(name))
        .map(|(name, _)| name.to_owned())
        .collect();
    if !secrets.is_empty() {
        // Names only: a report must never carry the secret itself.
        add(
            "RUN-H012",
            Severity::High,
            format!(
                "secrets in environment variables: {} (use secret files or a secret store)",
                secrets.join(", ")
            ),
        );
    }
    out
}

/// `DB_PASSWORD`, `GITHUB_TOKEN` look secret; `POSTGRES_PASSWORD_FILE` (a
/// path to a secret) and `TOKEN_URL` do not.
fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    if upper.ends_with("_FILE") || upper.ends_with("_PATH") || upper.ends_with("_URL") {
        return false;
    }
    let words: Vec<&str> = upper.split('_').collect();
    SECRET_WORDS.iter().any(|w| {
        if w.contains('_') {
            upper.contains(w)
        } else {
            words.contains(w) || upper == *w
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ids(findings: &[Finding]) -> Vec<&str> {
        findings.iter().map(|f| f.id.as_str()).collect()
    }

    #[test]
    fn a_default_container_breaks_most_rules() {
        let doc = json!({
            "Config": {"User": "", "Env": ["PATH=/bin", "POSTGRES_PASSWORD=secret", "PGDATA=/x", "API_TOKEN=t", "PASSWORD_FILE=/run/s"]},
            "HostConfig": {"Privileged": false, "SecurityOpt": null, "CapDrop": null, "CapAdd": ["NET_ADMIN"], "ReadonlyRootfs": false,
                "Memory": 0, "NanoCpus": 0, "CpuQuota": 0, "PidsLimit": null, "NetworkMode": "host", "PidMode": ""}
        });
        let f = audit("c", &doc);
        assert_eq!(
            ids(&f),
            [
                "RUN-H001", "RUN-H003", "RUN-H004", "RUN-H005", "RUN-H006", "RUN-H007", "RUN-H008",
                "RUN-H009", "RUN-H010", "RUN-H012"
            ]
        );
        let secrets = f.iter().find(|f| f.id == "RUN-H012").unwrap();
        assert!(
            secrets.title.contains("POSTGRES_PASSWORD, API_TOKEN"),
            "{}",
            secrets.title
        );
        assert!(!secrets.title.contains("secret,") && !secrets.title.contains("PASSWORD_FILE"));
    }

    #[test]
    fn a_hardened_container_passes() {
        let doc = json!({
            "Config": {"User": "1000", "Env": ["PATH=/bin"]},
            "HostConfig": {"Privileged": false, "SecurityOpt": ["no-new-privileges"], "CapDrop": ["ALL"], "CapAdd": null,
                "ReadonlyRootfs": true, "Memory": 67108864, "NanoCpus": 500000000, "PidsLimit": 64, "NetworkMode": "bridge", "PidMode": ""}
        });
        assert!(audit("c", &doc).is_empty());
        let doc = json!({"Config": {"User": "0:0"}, "HostConfig": {"Privileged": true, "PidMode": "host"}});
        let f = audit("c", &doc);
        assert!(
            ids(&f).contains(&"RUN-H002")
                && ids(&f).contains(&"RUN-H011")
                && ids(&f).contains(&"RUN-H001")
        );
    }
}
