//! One grant model. A task's `allow` table is compiled once, when tasks.toml is
//! loaded (a bad glob, name, capability or path there is a located config
//! error), into `Grants`; the pre-run check, `--dry-run`, `TASK --help`,
//! `--list --json` and every host call ask this one value.
//!
//! Host calls first resolve what a plugin names to its canonical identity
//! (`name.rs`, `image.rs` check the grammar; the capability resolves), then
//! ask `Grants` about that identity, and on a refusal return a [`Denial`]
//! naming what was refused and the grant that would allow it.

mod denial;
pub mod image;
mod kind;
pub mod name;
mod options;
mod patterns;
mod sysctl;

pub use denial::{Denial, Object};
pub use kind::{Grant, GrantKind, allow_table};
pub use options::{
    Namespace, OptionProblem, check_capability, check_device, check_runtime_name,
    check_security_opt, normalize_capability,
};
pub use patterns::Patterns;
pub use sysctl::{
    SysctlClass, SysctlNamespace, canonical_sysctl, check_sysctl_grant, classify_sysctl,
    sysctl_granted,
};

use crate::config::network::{self, Host};

/// A task's compiled `allow` table: everything beyond it is denied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// Directories readable by the plugin, as written (relative to the project root).
    pub read: Vec<String>,
    /// Directories readable and writable by the plugin.
    pub write: Vec<String>,
    /// `host:port` patterns the plugin may connect to (`*` for any port).
    pub network: Vec<String>,
    /// URL prefixes the plugin may send HTTP(S) requests below
    /// (`https://example.org/path/`), validated when tasks.toml is loaded.
    pub http: Vec<String>,
    /// Host environment variable names (or `PREFIX_*` globs) passed through.
    pub env: Vec<String>,
    /// Container names or globs, matched against canonical names.
    pub containers: Patterns,
    /// Image references or globs (`name` implies `name:latest`).
    pub images: Patterns,
    /// Engine network names or globs (never `host` or `none`).
    pub networks: Patterns,
    /// Named volumes or globs.
    pub volumes: Patterns,
    /// Host ports (`8080`, `8000-8010`) containers may publish.
    pub ports: Vec<String>,
    /// Linux capabilities a created container may add (`NET_ADMIN`, or `ALL`).
    pub cap_add: Vec<String>,
    /// Host or shared namespaces a created container may join.
    pub namespaces: Vec<Namespace>,
    /// Host devices a created container may use (`/dev/fuse`).
    pub devices: Vec<String>,
    /// Security options that weaken confinement, as written (`seccomp=unconfined`).
    pub security_opts: Vec<String>,
    /// Privileged containers.
    pub privileged: bool,
    /// Namespaced kernel parameters (or `PREFIX.*`) a created container may
    /// set beyond the safe ones.
    pub sysctls: Vec<String>,
    /// Container runtimes other than the engine's default (`runsc`).
    pub runtimes: Vec<String>,
}

impl Grants {
    /// What the task grants of `kind`, as tasks.toml writes it.
    pub fn values(&self, kind: GrantKind) -> Vec<String> {
        match kind {
            GrantKind::Read => self.read.clone(),
            GrantKind::Write => self.write.clone(),
            GrantKind::Network => self.network.clone(),
            GrantKind::Http => self.http.clone(),
            GrantKind::Env => self.env.clone(),
            GrantKind::Containers => self.containers.as_written().to_vec(),
            GrantKind::Images => self.images.as_written().to_vec(),
            GrantKind::Networks => self.networks.as_written().to_vec(),
            GrantKind::Volumes => self.volumes.as_written().to_vec(),
            GrantKind::Ports => self.ports.clone(),
            GrantKind::CapAdd => self.cap_add.clone(),
            GrantKind::Namespaces => self
                .namespaces
                .iter()
                .map(|n| n.as_str().to_owned())
                .collect(),
            GrantKind::Devices => self.devices.clone(),
            GrantKind::SecurityOpts => self.security_opts.clone(),
            GrantKind::Privileged => {
                if self.privileged {
                    vec!["true".to_owned()]
                } else {
                    Vec::new()
                }
            }
            GrantKind::Sysctls => self.sysctls.clone(),
            GrantKind::Runtimes => self.runtimes.clone(),
        }
    }

    /// The kinds with something granted, in doc order, with their values.
    pub fn rows(&self) -> Vec<(GrantKind, Vec<String>)> {
        GrantKind::ALL
            .into_iter()
            .map(|kind| (kind, self.values(kind)))
            .filter(|(_, values)| !values.is_empty())
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.rows().is_empty()
    }

    /// Whether these grants cover what a plugin says it needs (`describe` or
    /// `needs`). A needed glob is covered by the same glob, or by a grant
    /// that matches the glob's text as a name.
    pub fn covers(&self, need: &Grant) -> bool {
        let value = need.value.as_str();
        match need.kind {
            GrantKind::Read => self
                .read
                .iter()
                .chain(&self.write)
                .any(|g| within(value, g)),
            GrantKind::Write => self.write.iter().any(|g| within(value, g)),
            GrantKind::Network => network_covered(value, &self.network),
            GrantKind::Http => http_covered(value, &self.http),
            GrantKind::Env => self.env.iter().any(|g| env_matches(g, value)),
            GrantKind::Containers => self.containers.covers(value),
            GrantKind::Images => self.images.covers(value) || self.allows_image_text(value),
            GrantKind::Networks => self.networks.covers(value),
            GrantKind::Volumes => self.volumes.covers(value),
            GrantKind::Ports => match network::check_ports(value) {
                Ok((low, high)) => (low..=high).all(|p| self.allows_port(p)),
                Err(_) => false,
            },
            GrantKind::CapAdd => self.allows_cap_add(value),
            GrantKind::Namespaces => {
                Namespace::parse(value).is_some_and(|ns| self.namespaces.contains(&ns))
            }
            GrantKind::Devices => self.allows_device(value),
            GrantKind::SecurityOpts => self.allows_security_opt(value),
            GrantKind::Privileged => self.privileged,
            GrantKind::Sysctls => self.allows_sysctl(value),
            GrantKind::Runtimes => self.allows_runtime(value),
        }
    }

    /// A namespaced kernel parameter beyond the safe ones (a canonical name).
    pub fn allows_sysctl(&self, name: &str) -> bool {
        sysctl_granted(&self.sysctls, name)
    }

    /// A runtime other than the engine's default, by its name in the engine.
    pub fn allows_runtime(&self, runtime: &str) -> bool {
        self.runtimes.iter().any(|r| r == runtime)
    }

    /// The needs these grants do not cover, in the order given, without repeats.
    pub fn missing(&self, needs: &[Grant]) -> Vec<Grant> {
        let mut missing: Vec<Grant> = Vec::new();
        for need in needs {
            if !self.covers(need) && !missing.contains(need) {
                missing.push(need.clone());
            }
        }
        missing
    }

    /// A container's canonical name (never an alias, never with the engine's `/`).
    pub fn allows_container(&self, canonical: &str) -> bool {
        name::check_name(canonical).is_ok() && self.containers.allows(canonical)
    }

    /// A parsed image reference, by any name it is known by.
    pub fn allows_image(&self, reference: &image::ImageRef) -> bool {
        reference
            .candidates()
            .iter()
            .any(|candidate| self.images.allows(candidate))
    }

    fn allows_image_text(&self, text: &str) -> bool {
        matches!(
            image::ImageName::parse(text),
            Ok(image::ImageName::Reference(r)) if self.allows_image(&r)
        )
    }

    pub fn allows_network(&self, name: &str) -> bool {
        name::check_network_name(name).is_ok() && self.networks.allows(name)
    }

    pub fn allows_volume(&self, name: &str) -> bool {
        name::check_name(name).is_ok() && self.volumes.allows(name)
    }

    pub fn allows_port(&self, port: u16) -> bool {
        self.ports
            .iter()
            .filter_map(|p| network::check_ports(p).ok())
            .any(|(low, high)| (low..=high).contains(&port))
    }

    /// `NET_ADMIN`, `CAP_NET_ADMIN` and `net_admin` are one capability; only
    /// `allow.cap-add = ["ALL"]` grants `ALL`.
    pub fn allows_cap_add(&self, capability: &str) -> bool {
        let wanted = options::normalize_capability(capability);
        self.cap_add
            .iter()
            .any(|g| g == "ALL" || options::normalize_capability(g) == wanted)
    }

    pub fn allows_namespace(&self, namespace: Namespace) -> bool {
        self.namespaces.contains(&namespace)
    }

    pub fn allows_device(&self, host_path: &str) -> bool {
        self.devices.iter().any(|d| d == host_path)
    }

    /// `no-new-privileges` only takes power away and needs no grant.
    pub fn allows_security_opt(&self, option: &str) -> bool {
        options::is_hardening_opt(option) || self.security_opts.iter().any(|o| o == option)
    }

    /// The refusal of `name` (an `object`) under `kind`, saying what to add.
    pub fn deny(&self, task: &str, object: Object, name: &str, grant: Option<Grant>) -> Denial {
        let granted = grant
            .as_ref()
            .map(|g| self.values(g.kind))
            .unwrap_or_default();
        Denial {
            object,
            name: name.to_owned(),
            task: task.to_owned(),
            grant,
            granted,
            reason: None,
        }
    }
}

/// `out/notes` is within a grant of `out` or `./out/`.
fn within(dir: &str, grant: &str) -> bool {
    let norm = |p: &str| -> Vec<String> {
        p.split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .map(str::to_owned)
            .collect()
    };
    let (dir, grant) = (norm(dir), norm(grant));
    !dir.iter().any(|c| c == "..") && dir.starts_with(&grant)
}

/// `NAME` matches itself; `PREFIX_*` matches names starting with `PREFIX_`.
pub fn env_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

/// A needed URL prefix is covered by a granted prefix at or above it.
fn http_covered(pattern: &str, grants: &[String]) -> bool {
    use crate::capability::http::HttpPrefix;
    let Ok(want) = HttpPrefix::parse(pattern) else {
        return false;
    };
    grants
        .iter()
        .filter_map(|g| HttpPrefix::parse(g).ok())
        .any(|g| g.covers(&want))
}

fn network_covered(pattern: &str, grants: &[String]) -> bool {
    let Ok(want) = network::parse(pattern) else {
        return false;
    };
    grants
        .iter()
        .filter_map(|g| network::parse(g).ok())
        .any(|g| {
            (g.host == Host::Any || g.host == want.host)
                && g.ports.0 <= want.ports.0
                && want.ports.1 <= g.ports.1
        })
}

#[cfg(test)]
mod tests;
