//! The identities the `Engine` trait acts on. Each is checked when it is made,
//! so a value of these types can go into an Engine API URL path as it is:
//! bollard formats path segments with `format!("/containers/{id}/json")` and
//! does not percent-encode them (bollard 0.21.1 `src/container.rs`,
//! `src/uri.rs`: the path is joined with `Url::join`, which resolves `..` and
//! takes `?` and `#` as the start of a query or fragment). A plugin string
//! never becomes one of these without passing the check; names travel only in
//! query strings and JSON bodies, which bollard encodes.

use std::fmt;

use crate::grant::name;

fn is_lower_hex(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A container's full ID: 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContainerId(String);

impl ContainerId {
    pub fn parse(text: &str) -> Option<ContainerId> {
        (text.len() == 64 && is_lower_hex(text)).then(|| ContainerId(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 12-digit form `docker ps` shows.
    pub fn short(&self) -> &str {
        &self.0[..12]
    }
}

/// An exec instance's ID (64 lowercase hex digits), as the engine made it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExecId(String);

impl ExecId {
    pub fn parse(text: &str) -> Option<ExecId> {
        (text.len() == 64 && is_lower_hex(text)).then(|| ExecId(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A network's full ID (64 lowercase hex digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NetworkId(String);

impl NetworkId {
    pub fn parse(text: &str) -> Option<NetworkId> {
        (text.len() == 64 && is_lower_hex(text)).then(|| NetworkId(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An image's ID: `sha256:` and 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageId(String);

impl ImageId {
    pub fn parse(text: &str) -> Option<ImageId> {
        let hex = text.strip_prefix("sha256:")?;
        (hex.len() == 64 && is_lower_hex(hex)).then(|| ImageId(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hex digits after `sha256:`.
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }
}

/// A volume's name. Volumes have no other identity, so the name is the ID:
/// it passed the engine's name grammar (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`), which
/// holds no `/`, `%`, `?`, `#` and cannot be `.` or `..`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VolumeName(String);

impl VolumeName {
    pub fn parse(text: &str) -> Result<VolumeName, name::NameProblem> {
        name::check_name(text)?;
        Ok(VolumeName(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! display_as_str {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}
display_as_str!(ContainerId, ExecId, NetworkId, ImageId, VolumeName);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_exactly_64_lower_hex() {
        let id = "a".repeat(64);
        assert!(ContainerId::parse(&id).is_some());
        assert!(ContainerId::parse(&"A".repeat(64)).is_none());
        assert!(ContainerId::parse(&"a".repeat(63)).is_none());
        assert!(ContainerId::parse(&format!("{}/..", "a".repeat(61))).is_none());
        assert!(ExecId::parse(&"0".repeat(64)).is_some());
        assert!(NetworkId::parse("bridge").is_none());
        assert!(ImageId::parse(&format!("sha256:{id}")).is_some());
        assert!(ImageId::parse(&id).is_none());
        assert!(ImageId::parse(&format!("sha256:{}", "a".repeat(12))).is_none());
    }

    #[test]
    fn volume_names_follow_the_grammar() {
        assert!(VolumeName::parse("pgdata").is_ok());
        for hostile in ["/", "/etc", "..", "a/../b", "%2e%2e", "v?x", "v#x", ""] {
            assert!(VolumeName::parse(hostile).is_err(), "{hostile:?}");
        }
    }
}
