//! Conversions between the grant model (`crate::grant`) and its WIT form
//! (`types.grant`, `types.denial`), in one place.

use super::bindings::types as wit;
use crate::grant::{Denial, Grant, GrantKind, Object};

pub fn kind(kind: GrantKind) -> wit::GrantKind {
    match kind {
        GrantKind::Read => wit::GrantKind::Read,
        GrantKind::Write => wit::GrantKind::Write,
        GrantKind::Network => wit::GrantKind::Network,
        GrantKind::Http => wit::GrantKind::Http,
        GrantKind::Env => wit::GrantKind::Env,
        GrantKind::Containers => wit::GrantKind::Containers,
        GrantKind::Images => wit::GrantKind::Images,
        GrantKind::Networks => wit::GrantKind::Networks,
        GrantKind::Volumes => wit::GrantKind::Volumes,
        GrantKind::Ports => wit::GrantKind::Ports,
        GrantKind::CapAdd => wit::GrantKind::CapAdd,
        GrantKind::Namespaces => wit::GrantKind::Namespaces,
        GrantKind::Devices => wit::GrantKind::Devices,
        GrantKind::SecurityOpts => wit::GrantKind::SecurityOpts,
        GrantKind::Privileged => wit::GrantKind::Privileged,
        GrantKind::Sysctls => wit::GrantKind::Sysctls,
        GrantKind::Runtimes => wit::GrantKind::Runtimes,
    }
}

pub fn from_kind(kind: wit::GrantKind) -> GrantKind {
    match kind {
        wit::GrantKind::Read => GrantKind::Read,
        wit::GrantKind::Write => GrantKind::Write,
        wit::GrantKind::Network => GrantKind::Network,
        wit::GrantKind::Http => GrantKind::Http,
        wit::GrantKind::Env => GrantKind::Env,
        wit::GrantKind::Containers => GrantKind::Containers,
        wit::GrantKind::Images => GrantKind::Images,
        wit::GrantKind::Networks => GrantKind::Networks,
        wit::GrantKind::Volumes => GrantKind::Volumes,
        wit::GrantKind::Ports => GrantKind::Ports,
        wit::GrantKind::CapAdd => GrantKind::CapAdd,
        wit::GrantKind::Namespaces => GrantKind::Namespaces,
        wit::GrantKind::Devices => GrantKind::Devices,
        wit::GrantKind::SecurityOpts => GrantKind::SecurityOpts,
        wit::GrantKind::Privileged => GrantKind::Privileged,
        wit::GrantKind::Sysctls => GrantKind::Sysctls,
        wit::GrantKind::Runtimes => GrantKind::Runtimes,
    }
}

pub fn grant(grant: &Grant) -> wit::Grant {
    wit::Grant {
        kind: kind(grant.kind),
        value: grant.value.clone(),
    }
}

pub fn from_grant(grant: &wit::Grant) -> Grant {
    Grant::new(from_kind(grant.kind), grant.value.clone())
}

pub fn object(object: Object) -> wit::ObjectKind {
    match object {
        Object::File => wit::ObjectKind::File,
        Object::NetworkAddress => wit::ObjectKind::NetworkAddress,
        Object::EnvVar => wit::ObjectKind::EnvVar,
        Object::Container => wit::ObjectKind::Container,
        Object::Volume => wit::ObjectKind::Volume,
        Object::Image => wit::ObjectKind::Image,
        Object::Network => wit::ObjectKind::Network,
        Object::HostPort => wit::ObjectKind::HostPort,
        Object::Capability => wit::ObjectKind::Capability,
        Object::Namespace => wit::ObjectKind::Namespace,
        Object::Device => wit::ObjectKind::Device,
        Object::SecurityOption => wit::ObjectKind::SecurityOption,
        Object::PrivilegedMode => wit::ObjectKind::PrivilegedMode,
        Object::NetworkHelper => wit::ObjectKind::NetworkHelper,
        Object::Lock => wit::ObjectKind::Lock,
        Object::Url => wit::ObjectKind::Url,
        Object::Sysctl => wit::ObjectKind::Sysctl,
        Object::Runtime => wit::ObjectKind::Runtime,
    }
}

pub fn denial(denial: &Denial) -> wit::Denial {
    wit::Denial {
        object: object(denial.object),
        name: denial.name.clone(),
        task: denial.task.clone(),
        grant: denial.grant.as_ref().map(grant),
        granted: denial.granted.clone(),
        reason: denial.reason.clone(),
    }
}
