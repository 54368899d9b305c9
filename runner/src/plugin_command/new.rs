//! `run plugin new NAME`: scaffolds a plugin crate in `./NAME` that builds
//! with one `cargo build` and runs from its own tasks.toml as it is. The SDK
//! and the WIT are vendored from this `run` ([`embedded`]), so the crate
//! needs neither this repository nor any registry but crates.io.

use std::path::{Path, PathBuf};

use super::crate_name::{self, Problem};
use super::{embedded, templates};
use crate::error::Error;

/// Why `run plugin new` refused or failed; all exit with code 2.
#[derive(Debug, thiserror::Error)]
pub enum NewError {
    #[error("usage: run plugin new NAME")]
    Usage,
    #[error("`{name}` is not a valid plugin name: {problem}")]
    InvalidName { name: String, problem: Problem },
    #[error("`{}` already exists; choose another name or remove it", .0.display())]
    Exists(PathBuf),
    #[error("cannot create {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub fn run(name: &str) -> Result<i32, Error> {
    create(&std::env::current_dir()?, name)?;
    crate::ui::print(&report(name))?;
    Ok(0)
}

/// Creates the plugin crate `dir/name`. Nothing is left behind if it fails
/// half-way.
pub fn create(dir: &Path, name: &str) -> Result<(), NewError> {
    crate_name::check(name).map_err(|problem| NewError::InvalidName {
        name: name.to_owned(),
        problem,
    })?;
    let root = dir.join(name);
    // create_dir, not create_dir_all: it fails if anything is already there.
    std::fs::create_dir(&root).map_err(|source| match source.kind() {
        std::io::ErrorKind::AlreadyExists => NewError::Exists(PathBuf::from(name)),
        _ => NewError::Write {
            path: root.clone(),
            source,
        },
    })?;
    let written = files(name).into_iter().try_for_each(|(path, contents)| {
        let path = root.join(path);
        let parent = path.parent().expect("every file is inside the crate");
        std::fs::create_dir_all(parent)
            .and_then(|()| std::fs::write(&path, contents))
            .map_err(|source| NewError::Write { path, source })
    });
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&root);
    }
    written
}

/// Every file of the crate, as `(path in the crate, contents)`.
fn files(name: &str) -> Vec<(PathBuf, String)> {
    let own = templates::FILES
        .iter()
        .map(|(path, template)| (PathBuf::from(path), templates::render(template, name)));
    let sdk_manifest = (
        PathBuf::from("sdk/Cargo.toml"),
        templates::SDK_MANIFEST.to_owned(),
    );
    let sdk = embedded::SDK_SOURCES.iter().map(|(file, contents)| {
        (
            Path::new("sdk/src").join(file),
            embedded::vendored_sdk_source(file, contents),
        )
    });
    let wit = embedded::WIT
        .iter()
        .map(|(file, contents)| (Path::new("wit").join(file), (*contents).to_owned()));
    own.chain(std::iter::once(sdk_manifest))
        .chain(sdk)
        .chain(wit)
        .collect()
}

/// What was created and the two commands to run next.
fn report(name: &str) -> String {
    let mut out = format!("Created the plugin crate {name}/:\n");
    for (path, _) in templates::FILES {
        out += &format!("  {name}/{path}\n");
    }
    let version = env!("CARGO_PKG_VERSION");
    out += &format!("  {name}/sdk/  (run-plugin-sdk {version}, vendored)\n");
    out += &format!("  {name}/wit/  (the runner:plugin WIT package, vendored)\n");
    out += &format!(
        "\nNext:\n  cd {name} && cargo build --release --target wasm32-wasip2\n  run {name}\n"
    );
    out
}
