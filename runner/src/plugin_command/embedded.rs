//! The SDK crate and the WIT package, embedded in `run` so that
//! `run plugin new` can vendor them into a plugin crate: the plugin then
//! builds without this repository and targets exactly this runner's WIT.

/// `(file name, contents)` for each named file of a directory given relative
/// to the workspace root.
macro_rules! embed {
    ($dir:literal: $($file:literal),+ $(,)?) => {
        &[$(($file, include_str!(concat!("../../../", $dir, "/", $file)))),+]
    };
}

/// `plugins/sdk/src/`: the SDK's sources, written to `NAME/sdk/src/`.
pub const SDK_SOURCES: &[(&str, &str)] = embed!("plugins/sdk/src":
    "cancel.rs",
    "config.rs",
    "containers.rs",
    "context.rs",
    "descriptor.rs",
    "engine.rs",
    "error.rs",
    "file.rs",
    "grant.rs",
    "http.rs",
    "images.rs",
    "lib.rs",
    "lock.rs",
    "log.rs",
    "names.rs",
    "network_faults.rs",
    "postgres.rs",
    "prompt.rs",
    "stacks.rs",
    "time.rs",
    "volumes.rs",
);

/// `wit/`: the runner's WIT package, written to `NAME/wit/`.
pub const WIT: &[(&str, &str)] = embed!("wit":
    "cancel.wit",
    "containers.wit",
    "engine-types.wit",
    "files.wit",
    "images.wit",
    "lock.wit",
    "log.wit",
    "network-faults.wit",
    "prompt.wit",
    "stacks.wit",
    "types.wit",
    "volumes.wit",
    "world.wit",
);

/// The SDK's `Cargo.toml` in this workspace, to check the vendored one
/// (templates/plugin/sdk/Cargo.toml) against.
#[cfg(test)]
pub const SDK_MANIFEST: &str = include_str!("../../../plugins/sdk/Cargo.toml");

/// Where the SDK finds the WIT: `plugins/sdk` → `wit` here, `NAME/sdk` →
/// `NAME/wit` in a scaffolded plugin.
const WIT_PATH: &str = r#"path: "../../wit""#;
const VENDORED_WIT_PATH: &str = r#"path: "../wit""#;

/// The contents of SDK source `file` as written into a plugin crate.
pub fn vendored_sdk_source(file: &str, contents: &str) -> String {
    if file == "lib.rs" {
        contents.replace(WIT_PATH, VENDORED_WIT_PATH)
    } else {
        contents.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{SDK_SOURCES, VENDORED_WIT_PATH, WIT, WIT_PATH, vendored_sdk_source};

    /// Every entry of `dir` (relative to the workspace root), sorted.
    fn entries(dir: &str) -> Vec<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn names(files: &[(&str, &str)]) -> Vec<String> {
        let mut names: Vec<String> = files.iter().map(|(name, _)| name.to_string()).collect();
        names.sort();
        names
    }

    #[test]
    fn every_sdk_source_is_embedded() {
        assert_eq!(
            names(SDK_SOURCES),
            entries("plugins/sdk/src"),
            "list each file of plugins/sdk/src in SDK_SOURCES (embedded.rs)"
        );
    }

    #[test]
    fn every_wit_file_is_embedded() {
        assert_eq!(
            names(WIT),
            entries("wit"),
            "list each file of wit/ in WIT (embedded.rs)"
        );
    }

    #[test]
    fn the_vendored_sdk_reads_the_vendored_wit() {
        let lib = SDK_SOURCES
            .iter()
            .find(|(name, _)| *name == "lib.rs")
            .unwrap()
            .1;
        assert_eq!(
            lib.matches(WIT_PATH).count(),
            1,
            "lib.rs must have {WIT_PATH} once"
        );
        let vendored = vendored_sdk_source("lib.rs", lib);
        assert!(vendored.contains(VENDORED_WIT_PATH));
        assert!(!vendored.contains(WIT_PATH));
        for (name, contents) in SDK_SOURCES.iter().filter(|(name, _)| *name != "lib.rs") {
            assert!(!contents.contains("../../wit"), "{name} names the WIT path");
        }
    }
}
