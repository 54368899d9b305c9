//! The keys of the Compose Specification this plugin knows: the ones it
//! supports, the ones it knows but cannot honour (with why), and a
//! did-you-mean for the ones that are neither (`comand` → `command`).

/// Top-level keys read.
pub const TOP: &[&str] = &[
    "name", "services", "networks", "volumes", "secrets", "configs", "version",
];

/// Top-level keys of the specification this plugin does not read.
pub const TOP_UNSUPPORTED: &[(&str, &str)] = &[
    ("include", "include the other file's services in this one"),
    ("models", "AI models are not run by quickstart"),
];

/// Service keys read.
pub const SERVICE: &[&str] = &[
    "image",
    "build",
    "container_name",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "labels",
    "ports",
    "expose",
    "volumes",
    "tmpfs",
    "networks",
    "network_mode",
    "healthcheck",
    "depends_on",
    "restart",
    "user",
    "working_dir",
    "hostname",
    "domainname",
    "stop_signal",
    "stop_grace_period",
    "cap_add",
    "cap_drop",
    "security_opt",
    "privileged",
    "read_only",
    "init",
    "ulimits",
    "mem_limit",
    "mem_reservation",
    "cpus",
    "pids_limit",
    "shm_size",
    "deploy",
    "platform",
    "profiles",
    "secrets",
    "configs",
    "extra_hosts",
    "pull_policy",
    "stdin_open",
    "tty",
    "develop",
    "pid",
    "ipc",
    "devices",
    "sysctls",
    "runtime",
    "mac_address",
    "scale",
    "extends",
    "x-run",
];

/// Service keys of the specification this plugin cannot honour, with what to do.
pub const SERVICE_UNSUPPORTED: &[(&str, &str)] = &[
    ("logging", "the engine's default log driver is used"),
    (
        "links",
        "services reach each other by name on their networks",
    ),
    (
        "external_links",
        "join the other container's network instead",
    ),
    ("volumes_from", "mount the same named volumes instead"),
    ("dns", "the engine's DNS is used"),
    ("dns_search", "the engine's DNS is used"),
    ("dns_opt", "the engine's DNS is used"),
    ("device_cgroup_rules", "not passed to the engine"),
    ("cgroup", "not passed to the engine"),
    ("cgroup_parent", "not passed to the engine"),
    ("userns_mode", "not passed to the engine"),
    ("uts", "not passed to the engine"),
    ("isolation", "Windows containers are not supported"),
    ("group_add", "not passed to the engine"),
    ("oom_kill_disable", "not passed to the engine"),
    ("oom_score_adj", "not passed to the engine"),
    ("memswap_limit", "not passed to the engine"),
    ("mem_swappiness", "not passed to the engine"),
    ("cpu_shares", "use `cpus`"),
    ("cpu_quota", "use `cpus`"),
    ("cpu_period", "use `cpus`"),
    ("cpu_count", "use `cpus`"),
    ("cpu_percent", "use `cpus`"),
    ("cpu_rt_runtime", "not passed to the engine"),
    ("cpu_rt_period", "not passed to the engine"),
    ("cpuset", "not passed to the engine"),
    ("blkio_config", "not passed to the engine"),
    ("storage_opt", "not passed to the engine"),
    ("credential_spec", "Windows containers are not supported"),
    ("gpus", "GPUs are not passed to containers"),
    ("post_start", "lifecycle hooks are not run"),
    ("pre_stop", "lifecycle hooks are not run"),
    ("annotations", "not passed to the engine"),
    ("attach", "logs are shown on failure only"),
    ("label_file", "write the labels under `labels`"),
    (
        "use_api_socket",
        "the engine's socket is never given to a container",
    ),
    ("provider", "providers are not run"),
    ("models", "AI models are not run by quickstart"),
    ("stop_grace_period_ms", "use `stop_grace_period`"),
];

/// The closest known key within two edits, for a did-you-mean.
pub fn did_you_mean<'a>(key: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|k| (distance(key, k), k))
        .filter(|(d, k)| *d <= 2 && *d < k.len().max(key.len()) / 2 + 1)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance, counting an adjacent swap as one edit.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_the_key() {
        let known = || SERVICE.iter().copied();
        assert_eq!(did_you_mean("comand", known()), Some("command"));
        assert_eq!(did_you_mean("enviroment", known()), Some("environment"));
        assert_eq!(did_you_mean("imgae", known()), Some("image"));
        assert_eq!(did_you_mean("colour", known()), None);
        assert_eq!(did_you_mean("x", known()), None);
    }
}
