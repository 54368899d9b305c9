//! Grants: one value of a task's `allow` table, as a plugin declares what it
//! needs ([`Descriptor::need`](crate::Descriptor::need),
//! [`Plugin::needs`](crate::Plugin::needs)) and as a denial names what would
//! allow it ([`Error::grant`](crate::Error::grant)).

use std::fmt;

pub use crate::__private::bindings::runner::plugin::types::{Grant, GrantKind};

impl Grant {
    /// A grant of `value` in `allow.<kind>`; prefer the constructor named
    /// after the key.
    ///
    /// ```
    /// use run_plugin_sdk::{Grant, GrantKind};
    /// assert_eq!(Grant::new(GrantKind::Read, "docs"), Grant::read("docs"));
    /// ```
    pub fn new(kind: GrantKind, value: impl Into<String>) -> Self {
        Self {
            kind,
            value: value.into(),
        }
    }

    /// `allow.read`: a directory, relative to the project root, to read.
    ///
    /// ```
    /// assert_eq!(run_plugin_sdk::Grant::read("docs").value, "docs");
    /// ```
    pub fn read(dir: impl Into<String>) -> Self {
        Self::new(GrantKind::Read, dir)
    }

    /// `allow.write`: a directory to create and change files in (it can be
    /// read too).
    ///
    /// ```
    /// let g = run_plugin_sdk::Grant::write("out");
    /// assert_eq!(g.kind, run_plugin_sdk::GrantKind::Write);
    /// ```
    pub fn write(dir: impl Into<String>) -> Self {
        Self::new(GrantKind::Write, dir)
    }

    /// `allow.network`: a `host:port` pattern to open TCP connections to.
    ///
    /// ```
    /// assert_eq!(run_plugin_sdk::Grant::network("db:5432").value, "db:5432");
    /// ```
    pub fn network(address: impl Into<String>) -> Self {
        Self::new(GrantKind::Network, address)
    }

    /// `allow.http`: a URL prefix to send HTTP(S) requests below (a
    /// trailing `/` allows everything under that path).
    ///
    /// ```
    /// let g = run_plugin_sdk::Grant::http("https://example.org/data/");
    /// assert_eq!(g.kind, run_plugin_sdk::GrantKind::Http);
    /// ```
    pub fn http(prefix: impl Into<String>) -> Self {
        Self::new(GrantKind::Http, prefix)
    }

    /// `allow.env`: a host environment variable to see (`PREFIX_*` for many).
    ///
    /// ```
    /// assert_eq!(run_plugin_sdk::Grant::env("TOKEN").value, "TOKEN");
    /// ```
    pub fn env(name: impl Into<String>) -> Self {
        Self::new(GrantKind::Env, name)
    }

    /// `allow.containers`: a container name or glob.
    ///
    /// ```
    /// assert_eq!(run_plugin_sdk::Grant::containers("pg-*").value, "pg-*");
    /// ```
    pub fn containers(name: impl Into<String>) -> Self {
        Self::new(GrantKind::Containers, name)
    }

    /// `allow.images`: an image reference or glob.
    ///
    /// ```
    /// assert_eq!(run_plugin_sdk::Grant::images("busybox:1").value, "busybox:1");
    /// ```
    pub fn images(reference: impl Into<String>) -> Self {
        Self::new(GrantKind::Images, reference)
    }

    /// `allow.networks`: an engine network name or glob.
    ///
    /// ```
    /// assert_eq!(run_plugin_sdk::Grant::networks("demo-*").value, "demo-*");
    /// ```
    pub fn networks(name: impl Into<String>) -> Self {
        Self::new(GrantKind::Networks, name)
    }

    /// `allow.volumes`: a named volume or glob.
    ///
    /// ```
    /// assert_eq!(run_plugin_sdk::Grant::volumes("pgdata").value, "pgdata");
    /// ```
    pub fn volumes(name: impl Into<String>) -> Self {
        Self::new(GrantKind::Volumes, name)
    }

    /// `allow.ports`: a host port (or `low-high` range) a container may publish.
    ///
    /// ```
    /// assert_eq!(run_plugin_sdk::Grant::ports(8080).value, "8080");
    /// assert_eq!(run_plugin_sdk::Grant::ports("8000-8100").value, "8000-8100");
    /// ```
    pub fn ports(port: impl ToString) -> Self {
        Self::new(GrantKind::Ports, port.to_string())
    }

    /// `allow.cap-add`: a Linux capability a created container may add.
    ///
    /// ```
    /// assert_eq!(run_plugin_sdk::Grant::cap_add("NET_ADMIN").value, "NET_ADMIN");
    /// ```
    pub fn cap_add(capability: impl Into<String>) -> Self {
        Self::new(GrantKind::CapAdd, capability)
    }

    /// `allow.namespaces`: a host or shared namespace a created container may
    /// join (`host-network`, `host-pid`, `container-network`, ...).
    ///
    /// ```
    /// assert_eq!(run_plugin_sdk::Grant::namespaces("host-network").value, "host-network");
    /// ```
    pub fn namespaces(namespace: impl Into<String>) -> Self {
        Self::new(GrantKind::Namespaces, namespace)
    }

    /// `allow.devices`: a host device a created container may use.
    ///
    /// ```
    /// assert_eq!(run_plugin_sdk::Grant::devices("/dev/fuse").value, "/dev/fuse");
    /// ```
    pub fn devices(path: impl Into<String>) -> Self {
        Self::new(GrantKind::Devices, path)
    }

    /// `allow.security-opts`: a security option that weakens confinement, as
    /// written (`seccomp=unconfined`).
    ///
    /// ```
    /// let g = run_plugin_sdk::Grant::security_opts("seccomp=unconfined");
    /// assert_eq!(g.kind, run_plugin_sdk::GrantKind::SecurityOpts);
    /// ```
    pub fn security_opts(option: impl Into<String>) -> Self {
        Self::new(GrantKind::SecurityOpts, option)
    }

    /// `allow.privileged = true`: privileged containers.
    ///
    /// ```
    /// assert_eq!(run_plugin_sdk::Grant::privileged().value, "true");
    /// ```
    pub fn privileged() -> Self {
        Self::new(GrantKind::Privileged, "true")
    }
}

impl GrantKind {
    /// The key in a task's `allow` table (`containers`, `cap-add`, ...).
    ///
    /// ```
    /// use run_plugin_sdk::GrantKind;
    /// assert_eq!(GrantKind::SecurityOpts.as_str(), "security-opts");
    /// assert_eq!(GrantKind::Containers.to_string(), "containers");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Network => "network",
            Self::Http => "http",
            Self::Env => "env",
            Self::Containers => "containers",
            Self::Images => "images",
            Self::Networks => "networks",
            Self::Volumes => "volumes",
            Self::Ports => "ports",
            Self::CapAdd => "cap-add",
            Self::Namespaces => "namespaces",
            Self::Devices => "devices",
            Self::SecurityOpts => "security-opts",
            Self::Privileged => "privileged",
            Self::Sysctls => "sysctls",
            Self::Runtimes => "runtimes",
        }
    }
}

impl fmt::Display for GrantKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
