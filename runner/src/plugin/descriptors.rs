//! What plugins said about themselves, kept on disk by digest, so that
//! `run --list` and shell completion can show a plugin's parameters without
//! compiling or running it again.
//!
//! A descriptor is a pure function of the plugin's bytes (`describe` has no
//! inputs and no side effects), so an entry keyed by the sha256 never goes
//! stale. Entries are written whenever a plugin is described or runs; a
//! missing, unreadable or outdated entry is only a cache miss.

use std::io::Write;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::bindings::types;

/// The cache file format; bump it when the shape below changes.
const FORMAT: u32 = 1;

/// A plugin's self-description, as cached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Known {
    format: u32,
    pub name: String,
    pub version: String,
    pub summary: String,
    pub parameters: Vec<Param>,
}

/// One parameter a plugin accepts after the task name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    pub name: String,
    pub kind: ParamKind,
    pub help: String,
    pub default: Option<String>,
    pub required: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamKind {
    Flag,
    Option,
    Positional,
}

impl Known {
    /// A descriptor with only parameters, for tests of argument handling.
    #[cfg(test)]
    pub fn for_tests(parameters: Vec<Param>) -> Known {
        Known {
            format: FORMAT,
            name: "p".into(),
            version: "0".into(),
            summary: String::new(),
            parameters,
        }
    }
}

impl Param {
    /// `--name`, `--name VALUE` or `NAME`.
    pub fn usage(&self) -> String {
        match self.kind {
            ParamKind::Flag => format!("--{}", self.name),
            ParamKind::Option => format!("--{} VALUE", self.name),
            ParamKind::Positional => self.name.to_uppercase(),
        }
    }

    /// The usage, in brackets unless the parameter is required.
    pub fn synopsis(&self) -> String {
        if self.required {
            self.usage()
        } else {
            format!("[{}]", self.usage())
        }
    }
}

impl From<&types::Parameter> for Param {
    fn from(p: &types::Parameter) -> Self {
        Param {
            name: p.name.clone(),
            kind: match p.kind {
                types::ParameterKind::Flag => ParamKind::Flag,
                types::ParameterKind::Option => ParamKind::Option,
                types::ParameterKind::Positional => ParamKind::Positional,
            },
            help: p.help.clone(),
            default: p.default.clone(),
            required: p.required,
        }
    }
}

impl From<&types::Descriptor> for Known {
    fn from(d: &types::Descriptor) -> Self {
        Known {
            format: FORMAT,
            name: d.name.clone(),
            version: d.version.clone(),
            summary: d.summary.clone(),
            parameters: d.parameters.iter().map(Param::from).collect(),
        }
    }
}

fn path(digest: &str) -> Option<PathBuf> {
    // Only a hex digest may name a file: nothing else reaches the file system.
    if digest.is_empty() || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    super::cache::dir().map(|d| d.join("descriptors").join(format!("{digest}.json")))
}

/// The cached descriptor of the plugin whose sha256 is `digest`.
pub fn get(digest: &str) -> Option<Known> {
    let bytes = std::fs::read(path(digest)?).ok()?;
    let known: Known = serde_json::from_slice(&bytes).ok()?;
    (known.format == FORMAT).then_some(known)
}

/// Remembers what the plugin whose sha256 is `digest` said about itself. A
/// cache that cannot be written is not an error: listings just show less.
pub fn put(digest: &str, descriptor: &types::Descriptor) {
    let Some(path) = path(digest) else { return };
    let known = Known::from(descriptor);
    if get(digest).as_ref() == Some(&known) {
        return;
    }
    if let Err(error) = write(&path, &known) {
        tracing::debug!(
            "could not cache a descriptor in {}: {error}",
            path.display()
        );
    }
}

/// Writes `value` as JSON to `path` atomically (a temporary file renamed).
pub(super) fn write(path: &std::path::Path, value: &impl Serialize) -> std::io::Result<()> {
    let dir = path.parent().expect("cache files have a directory");
    std::fs::create_dir_all(dir)?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    serde_json::to_writer(&mut temp, value)?;
    temp.flush()?;
    temp.persist(path)?;
    Ok(())
}
