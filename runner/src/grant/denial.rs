//! A refusal by the sandbox, as data: what was refused, for which task, and
//! the grant that would allow it. Host calls return it (as WIT `denial`); the
//! runner renders it in one place.

use std::fmt;

use super::kind::{Grant, GrantKind};

/// What kind of thing was refused (wit/types.wit `object-kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    File,
    NetworkAddress,
    EnvVar,
    Container,
    Volume,
    Image,
    Network,
    HostPort,
    Capability,
    Namespace,
    Device,
    SecurityOption,
    PrivilegedMode,
    NetworkHelper,
    Lock,
    Url,
    Sysctl,
    Runtime,
}

impl Object {
    pub fn noun(self) -> &'static str {
        match self {
            Object::File => "file",
            Object::NetworkAddress => "network address",
            Object::EnvVar => "environment variable",
            Object::Container => "container",
            Object::Volume => "volume",
            Object::Image => "image",
            Object::Network => "network",
            Object::HostPort => "host port",
            Object::Capability => "capability",
            Object::Namespace => "namespace",
            Object::Device => "device",
            Object::SecurityOption => "security option",
            Object::PrivilegedMode => "privileged mode",
            Object::NetworkHelper => "network helper",
            Object::Lock => "lock",
            Object::Url => "URL",
            Object::Sysctl => "kernel parameter",
            Object::Runtime => "container runtime",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub object: Object,
    pub name: String,
    pub task: String,
    pub grant: Option<Grant>,
    /// What the task grants of the grant's kind now.
    pub granted: Vec<String>,
    pub reason: Option<String>,
}

impl Denial {
    pub fn because(mut self, reason: impl Into<String>) -> Denial {
        self.reason = Some(reason.into());
        self
    }

    fn granted_now(&self, kind: GrantKind) -> String {
        if self.granted.is_empty() {
            format!("{kind} grants nothing")
        } else {
            format!("{kind} grants {}", self.granted.join(", "))
        }
    }
}

/// `container `db` is not granted to task `t` (allow.containers grants app-*)`;
/// with a reason: `volume `v` is not granted to task `t`: no granted container
/// mounts it (allow.volumes grants nothing)`. The advice to add the grant is
/// the caller's (the runner adds it once, at the edge).
impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} `{}` is not granted to task `{}`",
            self.object.noun(),
            self.name,
            self.task
        )?;
        if let Some(reason) = &self.reason {
            write!(f, ": {reason}")?;
        }
        match (&self.grant, self.object) {
            (Some(grant), _) => write!(f, " ({})", self.granted_now(grant.kind))?,
            // A URL no grant can allow still says what allow.http grants.
            (None, Object::Url) => write!(f, " ({})", self.granted_now(GrantKind::Http))?,
            (None, _) => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_what_and_what_is_granted() {
        let denial = Denial {
            object: Object::Container,
            name: "db".into(),
            task: "t".into(),
            grant: Some(Grant::new(GrantKind::Containers, "db")),
            granted: vec!["app-*".into()],
            reason: None,
        };
        assert_eq!(
            denial.to_string(),
            "container `db` is not granted to task `t` (allow.containers grants app-*)"
        );
        let denial = Denial {
            granted: Vec::new(),
            ..denial
        }
        .because("it is a link alias of `app-1`");
        assert_eq!(
            denial.to_string(),
            "container `db` is not granted to task `t`: it is a link alias of `app-1` (allow.containers grants nothing)"
        );
    }
}
