//! The runtime-hardening audit: the rules of the team's hardening guide
//! (non-root, no privileged mode, no-new-privileges, cap_drop ALL with only
//! harmless adds, read-only root, memory/CPU/PIDs limits, no host
//! namespaces, no engine socket, no host root, seccomp and AppArmor
//! confined, no secrets in the environment), applied to one set of
//! [`Settings`] read from either a container's inspect document (any state)
//! or a Compose service (located at file:line). Each broken rule is a
//! finding with a severity.

pub mod compose;
pub mod inspect;

use crate::advisory::SeveritySource;
use crate::finding::{Finding, Kind, Location};
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

/// Sockets that hand whoever can write them the container engine, and so
/// the host: Docker's, Podman's, containerd's, CRI-O's.
const ENGINE_SOCKETS: [&str; 6] = [
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/run/podman/podman.sock",
    "/var/run/podman/podman.sock",
    "/run/containerd/containerd.sock",
    "/var/run/crio/crio.sock",
];

/// A setting's value and the line it is on (Compose; `None` for inspect).
#[derive(Debug, Clone, PartialEq)]
pub struct At<T> {
    pub value: T,
    pub line: Option<usize>,
}

impl<T> At<T> {
    pub fn new(value: T, line: Option<usize>) -> At<T> {
        At { value, line }
    }
}

/// What the rules look at, from whichever source.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The file the lines are in (Compose), for locations.
    pub file: Option<String>,
    /// The line a missing setting is reported at (the service's name).
    pub line: Option<usize>,
    pub user: Option<At<String>>,
    pub privileged: Option<At<bool>>,
    pub security_opt: Vec<At<String>>,
    pub cap_add: Vec<At<String>>,
    pub cap_drop: Vec<At<String>>,
    pub read_only: Option<At<bool>>,
    pub memory_limited: bool,
    pub cpu_limited: bool,
    pub pids_limited: bool,
    pub network_mode: Option<At<String>>,
    pub pid_mode: Option<At<String>>,
    pub ipc_mode: Option<At<String>>,
    pub uts_mode: Option<At<String>>,
    /// Environment variables with a non-empty value (names only matter).
    pub env: Vec<At<String>>,
    /// Host paths bind-mounted into the container.
    pub binds: Vec<At<String>>,
}

/// Every rule: id, severity, and what it checks.
pub const RULES: [(&str, Severity, &str); 18] = [
    ("RUN-H001", Severity::High, "runs as root"),
    ("RUN-H002", Severity::Critical, "privileged"),
    ("RUN-H003", Severity::Medium, "no-new-privileges not set"),
    (
        "RUN-H004",
        Severity::Medium,
        "capabilities not dropped (cap_drop ALL)",
    ),
    ("RUN-H005", Severity::High, "dangerous capabilities added"),
    ("RUN-H006", Severity::Medium, "writable root filesystem"),
    ("RUN-H007", Severity::Medium, "no memory limit"),
    ("RUN-H008", Severity::Low, "no CPU limit"),
    ("RUN-H009", Severity::Low, "no PIDs limit"),
    ("RUN-H010", Severity::High, "host network namespace"),
    ("RUN-H011", Severity::High, "host PID namespace"),
    (
        "RUN-H012",
        Severity::High,
        "secrets in environment variables",
    ),
    (
        "RUN-H013",
        Severity::Critical,
        "container engine socket mounted",
    ),
    (
        "RUN-H014",
        Severity::Critical,
        "the host's root filesystem mounted",
    ),
    ("RUN-H015", Severity::High, "seccomp unconfined"),
    ("RUN-H016", Severity::High, "AppArmor unconfined"),
    ("RUN-H017", Severity::High, "host IPC namespace"),
    ("RUN-H018", Severity::Medium, "host UTS namespace"),
];

fn severity_of(id: &str) -> Severity {
    RULES
        .iter()
        .find(|(r, _, _)| *r == id)
        .map_or(Severity::Unknown, |(_, s, _)| *s)
}

fn finding(target: &str, id: &str, title: String, location: Option<Location>) -> Finding {
    Finding {
        kind: Kind::Hardening,
        target: target.to_owned(),
        id: id.to_owned(),
        aliases: Vec::new(),
        severity: severity_of(id),
        score: None,
        severity_source: SeveritySource::None,
        cvss: None,
        title,
        package: None,
        location,
        fixed: None,
        status: None,
        ignored: None,
    }
}

/// `seccomp=unconfined`, `seccomp:unconfined`, `no-new-privileges`, … as
/// (key, value): Docker accepts both separators.
fn option(opt: &str) -> (String, String) {
    let opt = opt.trim();
    match opt.split_once(['=', ':']) {
        Some((k, v)) => (k.trim().to_ascii_lowercase(), v.trim().to_ascii_lowercase()),
        None => (opt.to_ascii_lowercase(), String::new()),
    }
}

fn cap(name: &str) -> String {
    let upper = name.trim().to_ascii_uppercase();
    upper.strip_prefix("CAP_").unwrap_or(&upper).to_owned()
}

/// The capabilities a container gets unless told otherwise: Docker's
/// default set, and Podman 4.3's (`default_capabilities` in its
/// containers.conf). Dropping each of them leaves none, as `ALL` does.
const DEFAULT_CAPS: [&str; 14] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "NET_RAW",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// `cap_drop: [ALL]`, or every default capability by name: Podman's
/// inspect lists `--cap-drop ALL` as the defaults it dropped
/// (`CapDrop: ["AUDIT_WRITE", "CHOWN", ...]`), never as `ALL`.
fn drops_every_capability(cap_drop: &[At<String>]) -> bool {
    let dropped: Vec<String> = cap_drop.iter().map(|c| cap(&c.value)).collect();
    dropped.iter().any(|c| c == "ALL")
        || DEFAULT_CAPS
            .iter()
            .all(|default| dropped.iter().any(|c| c == default))
}

/// The rules `settings` break, as findings on `target`.
pub fn audit(target: &str, settings: &Settings) -> Vec<Finding> {
    let mut out = Vec::new();
    let located = |line: Option<usize>| {
        settings.file.as_ref().map(|file| Location {
            file: file.clone(),
            line: line.or(settings.line).unwrap_or(1),
        })
    };
    let mut add = |id: &str, line: Option<usize>, title: String| {
        out.push(finding(target, id, title, located(line)))
    };

    let user = settings.user.as_ref();
    let uid = user.map_or("", |u| u.value.split(':').next().unwrap_or("").trim());
    if uid.is_empty() || uid == "root" || uid == "0" {
        add(
            "RUN-H001",
            user.and_then(|u| u.line),
            "runs as root (set `user:` to an unprivileged uid, e.g. --user 1000)".into(),
        );
    }
    if let Some(p) = settings.privileged.as_ref().filter(|p| p.value) {
        add(
            "RUN-H002",
            p.line,
            "runs privileged: it has every capability and the host's devices".into(),
        );
    }
    let opts: Vec<(String, String, Option<usize>)> = settings
        .security_opt
        .iter()
        .map(|o| {
            let (k, v) = option(&o.value);
            (k, v, o.line)
        })
        .collect();
    let no_new_privs = opts
        .iter()
        .any(|(k, v, _)| k == "no-new-privileges" && (v.is_empty() || v == "true"));
    if !no_new_privs {
        add("RUN-H003", None, "no-new-privileges is not set: setuid binaries can raise privileges (security_opt: [no-new-privileges:true])".into());
    }
    for (key, id, what) in [
        ("seccomp", "RUN-H015", "seccomp"),
        ("apparmor", "RUN-H016", "AppArmor"),
    ] {
        if let Some((_, _, line)) = opts.iter().find(|(k, v, _)| k == key && v == "unconfined") {
            add(
                id,
                *line,
                format!(
                    "{what} is unconfined: every system call or file the profile would refuse is allowed (drop `{key}=unconfined`)"
                ),
            );
        }
    }
    if !drops_every_capability(&settings.cap_drop) {
        add(
            "RUN-H004",
            settings.cap_drop.first().and_then(|c| c.line),
            "capabilities are not dropped (cap_drop: [ALL], then add back only what is needed)"
                .into(),
        );
    }
    let dangerous: Vec<&At<String>> = settings
        .cap_add
        .iter()
        .filter(|c| DANGEROUS_CAPS.contains(&cap(&c.value).as_str()))
        .collect();
    if let Some(first) = dangerous.first() {
        let names: Vec<String> = dangerous.iter().map(|c| cap(&c.value)).collect();
        add(
            "RUN-H005",
            first.line,
            format!("adds dangerous capabilities: {}", names.join(", ")),
        );
    }
    if !settings.read_only.as_ref().is_some_and(|r| r.value) {
        add("RUN-H006", settings.read_only.as_ref().and_then(|r| r.line), "the root filesystem is writable (read_only: true, with tmpfs or volumes for what must change)".into());
    }
    if !settings.memory_limited {
        add(
            "RUN-H007",
            None,
            "no memory limit (mem_limit, --memory)".into(),
        );
    }
    if !settings.cpu_limited {
        add("RUN-H008", None, "no CPU limit (cpus, --cpus)".into());
    }
    if !settings.pids_limited {
        add(
            "RUN-H009",
            None,
            "no PIDs limit: a fork bomb can exhaust the host (pids_limit, --pids-limit)".into(),
        );
    }
    for (mode, id, what) in [
        (&settings.network_mode, "RUN-H010", "network namespace"),
        (
            &settings.pid_mode,
            "RUN-H011",
            "PID namespace: it sees and can signal host processes",
        ),
        (
            &settings.ipc_mode,
            "RUN-H017",
            "IPC namespace: it shares the host's shared memory and semaphores",
        ),
        (
            &settings.uts_mode,
            "RUN-H018",
            "UTS namespace: it can change the host's hostname",
        ),
    ] {
        if let Some(m) = mode.as_ref().filter(|m| m.value == "host") {
            add(id, m.line, format!("uses the host's {what}"));
        }
    }
    let secrets: Vec<&At<String>> = settings
        .env
        .iter()
        .filter(|name| looks_secret(&name.value))
        .collect();
    if let Some(first) = secrets.first() {
        let names: Vec<&str> = secrets.iter().map(|s| s.value.as_str()).collect();
        // Names only: a report must never carry the secret itself.
        add(
            "RUN-H012",
            first.line,
            format!(
                "secrets in environment variables: {} (use secret files or a secret store)",
                names.join(", ")
            ),
        );
    }
    for bind in &settings.binds {
        let source = normalise_path(&bind.value);
        if ENGINE_SOCKETS.contains(&source.as_str()) {
            add(
                "RUN-H013",
                bind.line,
                format!(
                    "mounts the container engine's socket {source}: whoever is in the container controls the host"
                ),
            );
        } else if source == "/" {
            add(
                "RUN-H014",
                bind.line,
                "mounts the host's root filesystem `/`".into(),
            );
        }
    }
    out
}

/// `/var/run//docker.sock/` → `/var/run/docker.sock`; `.` and `..` resolved.
fn normalise_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
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
    use super::*;

    #[test]
    fn paths_and_options() {
        assert_eq!(
            normalise_path("/var/run//docker.sock/"),
            "/var/run/docker.sock"
        );
        assert_eq!(normalise_path("/run/../"), "/");
        assert_eq!(normalise_path("/"), "/");
        assert_eq!(
            option("seccomp:unconfined"),
            ("seccomp".into(), "unconfined".into())
        );
        assert_eq!(
            option("no-new-privileges"),
            ("no-new-privileges".into(), String::new())
        );
        assert_eq!(cap("cap_sys_admin"), "SYS_ADMIN");
        assert!(looks_secret("POSTGRES_PASSWORD") && !looks_secret("POSTGRES_PASSWORD_FILE"));
        assert!(!looks_secret("AUTHOR") && looks_secret("AUTH"));
    }
}
