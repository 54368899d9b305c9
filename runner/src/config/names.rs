//! What task names, aliases and environment variable names may look like.

use super::error::{EnvNameProblem, NameProblem};

/// First words `run` itself answers to, so no task could ever be run by them.
pub(crate) const RESERVED: &[(&str, &str)] = &[
    (
        "completions",
        "`run completions SHELL` prints shell completions",
    ),
    (
        "plugin",
        "`run plugin inspect|new …` are commands about plugins",
    ),
    ("import", "`run import MAKEFILE` converts a Makefile"),
];

/// Task names and aliases are typed on the command line: `[A-Za-z0-9_.:-]`,
/// and no leading `-`, which would read as an option.
pub(crate) fn check_task_name(name: &str) -> Result<(), NameProblem> {
    if name.is_empty() {
        return Err(NameProblem::Empty);
    }
    if let Some(c) = name
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-')))
    {
        return Err(NameProblem::BadChar(c));
    }
    if name.starts_with('-') {
        return Err(NameProblem::LeadingDash);
    }
    if let Some((_, reason)) = RESERVED.iter().find(|(word, _)| *word == name) {
        return Err(NameProblem::Reserved(reason));
    }
    Ok(())
}

/// Environment variable names are checked only for what no platform accepts,
/// `=` and NUL, and for globs where an exact name is needed (`glob` false).
/// Emptiness is the caller's to report, as with every other string list.
pub(crate) fn check_env_name(name: &str, glob: bool) -> Result<(), EnvNameProblem> {
    if name.contains('=') {
        Err(EnvNameProblem::ContainsEquals)
    } else if name.contains('\0') {
        Err(EnvNameProblem::ContainsNul)
    } else if !glob && name.contains('*') {
        Err(EnvNameProblem::GlobInSet)
    } else {
        Ok(())
    }
}
