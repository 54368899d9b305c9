//! Kernel parameters (`sysctls`) a created container sets in its own
//! namespaces. Only a namespaced parameter can be set for one container: any
//! other would change the host's kernel, and is refused whatever the grants.
//! Of the namespaced ones, those Kubernetes calls *safe* (isolated to the
//! container, no effect on other containers or on the host's resources)
//! need no grant; every other (e.g. `kernel.shmmax` raises how much host
//! memory the container's shared segments may pin, `net.core.somaxconn`
//! the kernel memory of its queues) needs `allow.sysctls` to name it.

use std::fmt;

/// Namespaced parameters isolated to the container: Kubernetes' safe set.
const SAFE: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];

/// The namespace a parameter lives in, when it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SysctlNamespace {
    /// `net.*`: the container's network namespace.
    Network,
    /// `kernel.shm*`, `kernel.msg*`, `kernel.sem`, `fs.mqueue.*`: its IPC namespace.
    Ipc,
}

impl fmt::Display for SysctlNamespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SysctlNamespace::Network => "network",
            SysctlNamespace::Ipc => "IPC",
        })
    }
}

/// What a parameter is, once its name is canonical.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SysctlClass {
    /// Namespaced and isolated: no grant needed.
    Safe(SysctlNamespace),
    /// Namespaced, but it weighs on the host's resources: needs `allow.sysctls`.
    Granted(SysctlNamespace),
    /// `kernel.hostname`/`kernel.domainname`: set by the container's
    /// `hostname`/`domainname`, which the engine refuses to have set twice.
    Uts,
    /// Not namespaced: it would change the host's kernel.
    Host,
}

/// A parameter name as the kernel spells it under /proc/sys, dotted
/// (`net/core/somaxconn` is `net.core.somaxconn`); `None` when it is not
/// a parameter name at all.
pub fn canonical_sysctl(name: &str) -> Option<String> {
    let dotted = name.replace('/', ".");
    let ok = !dotted.is_empty()
        && dotted.len() <= 256
        && dotted.split('.').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        });
    ok.then_some(dotted)
}

/// Which class a canonical name is in.
pub fn classify_sysctl(name: &str) -> SysctlClass {
    let namespace = if name.starts_with("net.") {
        Some(SysctlNamespace::Network)
    } else if name == "kernel.sem"
        || name.starts_with("kernel.shm")
        || name.starts_with("kernel.msg")
        || name.starts_with("fs.mqueue.")
    {
        Some(SysctlNamespace::Ipc)
    } else {
        None
    };
    match namespace {
        Some(ns) if SAFE.contains(&name) => SysctlClass::Safe(ns),
        Some(ns) => SysctlClass::Granted(ns),
        None if name == "kernel.hostname" || name == "kernel.domainname" => SysctlClass::Uts,
        None => SysctlClass::Host,
    }
}

/// An `allow.sysctls` entry: a canonical name, or a prefix ending in `.*`,
/// of namespaced parameters only (no grant can reach the host's kernel).
pub fn check_sysctl_grant(entry: &str) -> Result<(), &'static str> {
    let (name, probe) = match entry.strip_suffix(".*") {
        Some(prefix) => (prefix, format!("{prefix}.x")),
        None => (entry, entry.to_owned()),
    };
    if canonical_sysctl(name).as_deref() != Some(name) {
        return Err(
            "not a kernel parameter name (e.g. net.core.somaxconn, or net.ipv4.* for a prefix)",
        );
    }
    match classify_sysctl(&probe) {
        SysctlClass::Safe(_) | SysctlClass::Granted(_) => Ok(()),
        _ => Err(
            "not a namespaced kernel parameter (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*): it would change the host's kernel, which no grant allows",
        ),
    }
}

/// Whether `grants` (entries of `allow.sysctls`) cover the canonical `name`.
pub fn sysctl_granted(grants: &[String], name: &str) -> bool {
    grants.iter().any(|g| match g.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => g == name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_classified_by_namespace() {
        use SysctlClass::*;
        use SysctlNamespace::*;
        assert_eq!(classify_sysctl("net.ipv4.tcp_syncookies"), Safe(Network));
        assert_eq!(classify_sysctl("kernel.shm_rmid_forced"), Safe(Ipc));
        assert_eq!(classify_sysctl("net.core.somaxconn"), Granted(Network));
        assert_eq!(classify_sysctl("kernel.shmmax"), Granted(Ipc));
        assert_eq!(classify_sysctl("kernel.sem"), Granted(Ipc));
        assert_eq!(classify_sysctl("fs.mqueue.msg_max"), Granted(Ipc));
        assert_eq!(classify_sysctl("kernel.hostname"), Uts);
        for host in [
            "vm.max_map_count",
            "kernel.pid_max",
            "fs.file-max",
            "kernel.semx",
        ] {
            assert_eq!(classify_sysctl(host), Host, "{host}");
        }
    }

    #[test]
    fn names_are_dotted_and_checked() {
        assert_eq!(
            canonical_sysctl("net/core/somaxconn").as_deref(),
            Some("net.core.somaxconn")
        );
        for bad in [
            "",
            "net..core",
            "net.core.",
            "../../etc",
            "net.co re",
            "a\n",
        ] {
            assert_eq!(canonical_sysctl(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn grants_name_a_parameter_or_a_namespaced_prefix() {
        assert!(check_sysctl_grant("net.core.somaxconn").is_ok());
        assert!(check_sysctl_grant("net.ipv4.*").is_ok());
        assert!(check_sysctl_grant("kernel.shmmax").is_ok());
        assert!(check_sysctl_grant("vm.max_map_count").is_err());
        assert!(check_sysctl_grant("vm.*").is_err());
        assert!(check_sysctl_grant("*").is_err());
        assert!(check_sysctl_grant("net/core/somaxconn").is_err());
        let grants = vec!["net.ipv4.*".to_owned(), "kernel.shmmax".to_owned()];
        assert!(sysctl_granted(&grants, "net.ipv4.tcp_rmem"));
        assert!(sysctl_granted(&grants, "kernel.shmmax"));
        assert!(!sysctl_granted(&grants, "kernel.shmall"));
        assert!(!sysctl_granted(&grants, "net.core.somaxconn"));
    }
}
