//! The container options that widen what a container reaches on the host,
//! each granted by its own key and denied by default: added Linux
//! capabilities, host or shared namespaces, devices, security options that
//! weaken confinement, privileged mode.

use std::fmt;

/// `allow.namespaces` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Namespace {
    HostNetwork,
    HostPid,
    HostIpc,
    HostUts,
    HostUserns,
    ContainerNetwork,
    ContainerPid,
    ContainerIpc,
}

impl Namespace {
    pub const ALL: [Namespace; 8] = [
        Namespace::HostNetwork,
        Namespace::HostPid,
        Namespace::HostIpc,
        Namespace::HostUts,
        Namespace::HostUserns,
        Namespace::ContainerNetwork,
        Namespace::ContainerPid,
        Namespace::ContainerIpc,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Namespace::HostNetwork => "host-network",
            Namespace::HostPid => "host-pid",
            Namespace::HostIpc => "host-ipc",
            Namespace::HostUts => "host-uts",
            Namespace::HostUserns => "host-userns",
            Namespace::ContainerNetwork => "container-network",
            Namespace::ContainerPid => "container-pid",
            Namespace::ContainerIpc => "container-ipc",
        }
    }

    pub fn parse(text: &str) -> Option<Namespace> {
        Namespace::ALL.into_iter().find(|n| n.as_str() == text)
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is wrong with an `allow.cap-add`, `devices` or `security-opts` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionProblem {
    UnknownCapability,
    UnknownNamespace,
    DeviceNotUnderDev,
    UnknownSecurityOpt,
    /// An `allow.sysctls` entry, and what is wrong with it.
    Sysctl(&'static str),
    /// An `allow.runtimes` entry, and what is wrong with it.
    Runtime(&'static str),
}

impl fmt::Display for OptionProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OptionProblem::UnknownCapability => {
                "not a Linux capability (e.g. NET_ADMIN, SYS_PTRACE, or ALL)"
            }
            OptionProblem::UnknownNamespace => {
                "not a namespace grant (host-network, host-pid, host-ipc, host-uts, host-userns, container-network, container-pid, container-ipc)"
            }
            OptionProblem::DeviceNotUnderDev => {
                "not a device path (an absolute path under /dev without `..`)"
            }
            OptionProblem::UnknownSecurityOpt => {
                "not a security option (seccomp=…, apparmor=…, label=…, systempaths=unconfined)"
            }
            OptionProblem::Sysctl(problem) | OptionProblem::Runtime(problem) => problem,
        })
    }
}

/// A container runtime's name as the engine lists it (`runc`, `runsc`,
/// `io.containerd.runsc.v1`): ASCII letters, digits, `.`, `_` and `-`.
pub fn check_runtime_name(name: &str) -> Result<(), &'static str> {
    let ok = name.len() <= 128
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err("not a runtime name (ASCII letters, digits, `.`, `_` and `-`, e.g. runsc)")
    }
}

/// Every Linux capability (capabilities(7)), without the `CAP_` prefix.
const CAPABILITIES: &[&str] = &[
    "AUDIT_CONTROL",
    "AUDIT_READ",
    "AUDIT_WRITE",
    "BLOCK_SUSPEND",
    "BPF",
    "CHECKPOINT_RESTORE",
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "IPC_LOCK",
    "IPC_OWNER",
    "KILL",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_ADMIN",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_RAW",
    "PERFMON",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYSLOG",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "WAKE_ALARM",
];

/// `cap_net_admin`, `CAP_NET_ADMIN` and `NET_ADMIN` are one name: `NET_ADMIN`.
pub fn normalize_capability(name: &str) -> String {
    let upper = name.to_ascii_uppercase();
    upper.strip_prefix("CAP_").unwrap_or(&upper).to_owned()
}

pub fn check_capability(name: &str) -> Result<(), OptionProblem> {
    let name = normalize_capability(name);
    if name == "ALL" || CAPABILITIES.contains(&name.as_str()) {
        Ok(())
    } else {
        Err(OptionProblem::UnknownCapability)
    }
}

pub fn check_device(path: &str) -> Result<(), OptionProblem> {
    let ok = path.starts_with("/dev/")
        && path.len() > "/dev/".len()
        && !path.split('/').any(|c| c == ".." || c == ".")
        && !path.contains("//")
        && path.chars().all(|c| c.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(OptionProblem::DeviceNotUnderDev)
    }
}

/// Security options as Docker takes them (`key=value`, or the older `key:value`).
pub fn check_security_opt(option: &str) -> Result<(), OptionProblem> {
    let key = option.split(['=', ':']).next().unwrap_or_default();
    let known = matches!(
        key,
        "seccomp" | "apparmor" | "label" | "systempaths" | "no-new-privileges" | "mask" | "unmask"
    );
    if known && option.chars().all(|c| c.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(OptionProblem::UnknownSecurityOpt)
    }
}

/// Options that only take power away.
pub fn is_hardening_opt(option: &str) -> bool {
    matches!(
        option,
        "no-new-privileges" | "no-new-privileges:true" | "no-new-privileges=true"
    )
}
