//! Plugins embedded in the binary by build.rs.

/// One embedded plugin component.
pub struct Builtin {
    pub name: &'static str,
    pub bytes: &'static [u8],
    /// sha256 of `bytes`, computed at build time so startup never hashes them.
    pub digest: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/builtins.rs"));

/// Finds a built-in plugin by name.
pub fn get(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// Names of every built-in plugin, for validation and suggestions.
pub fn names() -> Vec<&'static str> {
    BUILTINS.iter().map(|b| b.name).collect()
}
