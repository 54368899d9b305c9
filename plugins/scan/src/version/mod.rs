//! Package version ordering, exactly as each package manager orders them:
//! an advisory's "fixed in" is only meaningful under the distribution's own
//! rules.

pub mod apk;
pub mod dpkg;

use std::cmp::Ordering;

/// Which package manager's rules a version follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Scheme {
    Dpkg,
    Apk,
}

impl Scheme {
    /// Compares two versions under this scheme.
    pub fn compare(self, a: &str, b: &str) -> Ordering {
        match self {
            Scheme::Dpkg => dpkg::compare(a, b),
            Scheme::Apk => apk::compare(a, b),
        }
    }
}
