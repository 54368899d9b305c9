//! The keys of a task's `allow` table, one per kind of thing a plugin can be
//! granted. The same list is `grant-kind` in wit/types.wit.

use std::fmt;

/// One key of `allow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GrantKind {
    Read,
    Write,
    Network,
    Http,
    Env,
    Containers,
    Images,
    Networks,
    Volumes,
    Ports,
    CapAdd,
    Namespaces,
    Devices,
    SecurityOpts,
    Privileged,
    Sysctls,
    Runtimes,
}

impl GrantKind {
    /// Every kind, in the order tasks.toml docs, `--dry-run` and `--list --json` show them.
    pub const ALL: [GrantKind; 17] = [
        GrantKind::Read,
        GrantKind::Write,
        GrantKind::Network,
        GrantKind::Http,
        GrantKind::Env,
        GrantKind::Containers,
        GrantKind::Images,
        GrantKind::Networks,
        GrantKind::Volumes,
        GrantKind::Ports,
        GrantKind::CapAdd,
        GrantKind::Namespaces,
        GrantKind::Devices,
        GrantKind::SecurityOpts,
        GrantKind::Privileged,
        GrantKind::Sysctls,
        GrantKind::Runtimes,
    ];

    /// The key as tasks.toml spells it.
    pub fn key(self) -> &'static str {
        match self {
            GrantKind::Read => "read",
            GrantKind::Write => "write",
            GrantKind::Network => "network",
            GrantKind::Http => "http",
            GrantKind::Env => "env",
            GrantKind::Containers => "containers",
            GrantKind::Images => "images",
            GrantKind::Networks => "networks",
            GrantKind::Volumes => "volumes",
            GrantKind::Ports => "ports",
            GrantKind::CapAdd => "cap-add",
            GrantKind::Namespaces => "namespaces",
            GrantKind::Devices => "devices",
            GrantKind::SecurityOpts => "security-opts",
            GrantKind::Privileged => "privileged",
            GrantKind::Sysctls => "sysctls",
            GrantKind::Runtimes => "runtimes",
        }
    }

    pub fn from_key(key: &str) -> Option<GrantKind> {
        GrantKind::ALL.into_iter().find(|k| k.key() == key)
    }

    /// `allow.privileged` is `true` or absent; every other key is a list.
    pub fn is_flag(self) -> bool {
        self == GrantKind::Privileged
    }

    /// How a missing grant reads in a sentence: "write access to `out`".
    pub fn access(self) -> &'static str {
        match self {
            GrantKind::Read => "read access to",
            GrantKind::Write => "write access to",
            GrantKind::Network => "network access to",
            GrantKind::Http => "HTTP access to",
            GrantKind::Env => "the environment variable",
            GrantKind::Containers => "the container",
            GrantKind::Images => "the image",
            GrantKind::Networks => "the network",
            GrantKind::Volumes => "the volume",
            GrantKind::Ports => "the host port",
            GrantKind::CapAdd => "the Linux capability",
            GrantKind::Namespaces => "the namespace",
            GrantKind::Devices => "the device",
            GrantKind::SecurityOpts => "the security option",
            GrantKind::Privileged => "privileged containers",
            GrantKind::Sysctls => "the kernel parameter",
            GrantKind::Runtimes => "the container runtime",
        }
    }
}

impl fmt::Display for GrantKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "allow.{}", self.key())
    }
}

/// One grant: `value` in `allow.<kind>`, as tasks.toml writes it. What a
/// plugin says it needs, and what a denial says to add.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Grant {
    pub kind: GrantKind,
    pub value: String,
}

impl Grant {
    pub fn new(kind: GrantKind, value: impl Into<String>) -> Grant {
        Grant {
            kind,
            value: value.into(),
        }
    }

    /// "write access to `out`", "privileged containers".
    pub fn describe(&self) -> String {
        if self.kind.is_flag() {
            self.kind.access().to_owned()
        } else {
            format!("{} `{}`", self.kind.access(), self.value)
        }
    }
}

/// The `allow` table that would grant `grants`, as tasks.toml writes it:
/// `allow = { write = ["out"], containers = ["db"] }`.
pub fn allow_table(grants: &[Grant]) -> String {
    let mut kinds: Vec<GrantKind> = grants.iter().map(|g| g.kind).collect();
    kinds.sort();
    kinds.dedup();
    let entries: Vec<String> = kinds
        .iter()
        .map(|&kind| {
            if kind.is_flag() {
                return format!("{} = true", kind.key());
            }
            let mut values: Vec<String> = grants
                .iter()
                .filter(|g| g.kind == kind)
                .map(|g| toml_string(&g.value))
                .collect();
            values.dedup();
            format!("{} = [{}]", kind.key(), values.join(", "))
        })
        .collect();
    format!("allow = {{ {} }}", entries.join(", "))
}

/// A TOML basic string (JSON string escaping is valid TOML).
fn toml_string(value: &str) -> String {
    serde_json::Value::String(value.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        for kind in GrantKind::ALL {
            assert_eq!(GrantKind::from_key(kind.key()), Some(kind));
        }
        assert_eq!(GrantKind::from_key("container"), None);
    }

    #[test]
    fn allow_table_groups_by_key_in_doc_order() {
        let table = allow_table(&[
            Grant::new(GrantKind::Containers, "db"),
            Grant::new(GrantKind::Write, "out"),
            Grant::new(GrantKind::Containers, "cache"),
            Grant::new(GrantKind::Privileged, "true"),
        ]);
        assert_eq!(
            table,
            r#"allow = { write = ["out"], containers = ["db", "cache"], privileged = true }"#
        );
    }
}
