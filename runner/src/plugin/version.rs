//! Which version of the `runner:plugin` WIT package a component was built
//! against, read from its export names before anything is instantiated.

use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

/// The package this host implements.
pub const PACKAGE: &str = "runner:plugin";
/// The version of the WIT package in wit/ (kept in step by a test).
pub const HOST_VERSION: &str = "0.3.0";

/// Why a component cannot be run by this host.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VersionError {
    #[error("it does not export `{PACKAGE}/handler`: it is not a run plugin")]
    NotAPlugin,
    #[error("it targets WIT {PACKAGE}@{plugin}, but this run supports {PACKAGE}@{HOST_VERSION}")]
    Incompatible { plugin: String },
}

/// Checks the component's `runner:plugin/handler@X` export against the host
/// version; returns X.
pub fn check(engine: &Engine, component: &Component) -> Result<String, VersionError> {
    let ty = component.component_type();
    let prefix = format!("{PACKAGE}/handler@");
    let version = ty
        .exports(engine)
        .filter(|(_, item)| matches!(item.ty, ComponentItem::ComponentInstance(_)))
        .find_map(|(name, _)| name.strip_prefix(&prefix).map(str::to_owned))
        .ok_or(VersionError::NotAPlugin)?;
    if compatible(&version) {
        Ok(version)
    } else {
        Err(VersionError::Incompatible { plugin: version })
    }
}

/// For 0.x, the minor version is the compatibility line (0.1.0 and 0.1.3 agree,
/// 0.2.0 does not); from 1.0 on, the major version is.
fn compatible(version: &str) -> bool {
    let line = |v: &str| -> Option<(u64, u64)> {
        let mut parts = v.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(if major == 0 { (0, minor) } else { (major, 0) })
    };
    line(version).is_some() && line(version) == line(HOST_VERSION)
}

#[cfg(test)]
mod tests {
    use super::compatible;

    #[test]
    fn same_minor_line_is_compatible_before_1_0() {
        assert!(compatible("0.3.0"));
        assert!(compatible("0.3.7"));
        assert!(!compatible("0.2.0"));
        assert!(!compatible("0.4.0"));
        assert!(!compatible("1.0.0"));
        assert!(!compatible("garbage"));
    }

    #[test]
    fn host_version_matches_the_wit_package() {
        let wit = include_str!("../../../wit/world.wit");
        assert!(wit.contains(&format!("package runner:plugin@{};", super::HOST_VERSION)));
    }
}
