//! The one error type of the container-engine capabilities. Host code returns
//! `Result<T, HostError>` and uses `?` on denials, path and engine errors;
//! bindgen's `trappable_error_type` converts it to the WIT `error` once, in
//! `convert_error` (`mod.rs`). `Trap` ends the plugin instead (a broken
//! handle, a host bug).

use std::time::Duration;

use super::backend::EngineError;
use crate::capability::paths::PathError;
use crate::grant::{Denial, Grant, GrantKind, Object};
use crate::plugin::bindings::engine_types as wit;

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("denied: {0}")]
    Denied(Box<Denial>),
    #[error("{} name `{name}` is not valid: {reason}", object.noun())]
    InvalidName {
        object: Object,
        name: String,
        reason: String,
    },
    #[error("no {} `{name}`", object.noun())]
    NotFound { object: Object, name: String },
    #[error("{0}")]
    Conflict(String),
    #[error("container engine at {address}: {message}")]
    Engine { address: String, message: String },
    #[error("`{path}`: {message}")]
    Io { path: String, message: String },
    #[error("{operation} did not finish within {}", humantime::format_duration(*limit))]
    Timeout { operation: String, limit: Duration },
    #[error("{0}")]
    Unsupported(String),
    #[error("{0:#}")]
    Trap(wasmtime::Error),
}

pub type HostResult<T> = Result<T, HostError>;

impl HostError {
    pub fn invalid(object: Object, name: &str, reason: impl ToString) -> HostError {
        HostError::InvalidName {
            object,
            name: name.to_owned(),
            reason: reason.to_string(),
        }
    }

    pub fn not_found(object: Object, name: &str) -> HostError {
        HostError::NotFound {
            object,
            name: name.to_owned(),
        }
    }

    pub fn io(path: &str, error: impl ToString) -> HostError {
        HostError::Io {
            path: path.to_owned(),
            message: error.to_string(),
        }
    }

    /// The WIT form. `Trap` has none: it ends the plugin.
    pub fn into_wit(self) -> wasmtime::Result<wit::Error> {
        Ok(match self {
            HostError::Denied(denial) => wit::Error::Denied(crate::plugin::wit::denial(&denial)),
            HostError::InvalidName {
                object,
                name,
                reason,
            } => wit::Error::InvalidName(wit::InvalidName {
                object: crate::plugin::wit::object(object),
                name,
                reason,
            }),
            HostError::NotFound { object, name } => wit::Error::NotFound(wit::Missing {
                object: crate::plugin::wit::object(object),
                name,
            }),
            HostError::Conflict(message) => wit::Error::Conflict(message),
            HostError::Engine { address, message } => {
                wit::Error::Engine(wit::EngineFailure { address, message })
            }
            HostError::Io { path, message } => wit::Error::Io(wit::IoFailure { path, message }),
            HostError::Timeout { operation, limit } => wit::Error::Timeout(wit::TimedOut {
                operation,
                millis: u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
            }),
            HostError::Unsupported(message) => wit::Error::Unsupported(message),
            HostError::Trap(trap) => return Err(trap),
        })
    }
}

impl From<Denial> for HostError {
    fn from(denial: Denial) -> HostError {
        tracing::warn!(task = %denial.task, "{denial}");
        HostError::Denied(Box::new(denial))
    }
}

impl From<wasmtime::Error> for HostError {
    fn from(trap: wasmtime::Error) -> HostError {
        HostError::Trap(trap)
    }
}

impl From<wasmtime::component::ResourceTableError> for HostError {
    fn from(error: wasmtime::component::ResourceTableError) -> HostError {
        HostError::Trap(error.into())
    }
}

/// An engine failure with no better context: a `NotFound` here is the
/// engine's (the object vanished after it was resolved); callers that know
/// what was looked up use [`EngineError::on`].
impl From<EngineError> for HostError {
    fn from(error: EngineError) -> HostError {
        match error {
            EngineError::Unreachable { address, reason } => HostError::Engine {
                address,
                message: format!("cannot be reached: {reason}"),
            },
            EngineError::NotFound(message) | EngineError::Conflict(message) => {
                HostError::Conflict(message)
            }
            EngineError::Failed { address, message } => HostError::Engine { address, message },
            EngineError::TimedOut { operation, limit } => HostError::Timeout { operation, limit },
            unsupported @ EngineError::Unsupported { .. } => {
                HostError::Unsupported(unsupported.to_string())
            }
        }
    }
}

impl EngineError {
    /// The error, where a `NotFound` means `object` `name` is gone.
    pub fn on(self, object: Object, name: &str) -> HostError {
        match self {
            EngineError::NotFound(_) => HostError::not_found(object, name),
            other => other.into(),
        }
    }
}

/// A file a plugin named for the host to read or write: outside the task's
/// grants it is a denial naming the grant to add; leaving the grant through
/// `..` or a symlink is a denial no grant lifts.
pub fn path_error(task: &str, grants: &crate::grant::Grants, error: PathError) -> HostError {
    // The error's own text says what the symlink is and where it points.
    let text = error.to_string();
    match error {
        PathError::NotGranted(path, purpose) => {
            let kind = if purpose == "writing" {
                GrantKind::Write
            } else {
                GrantKind::Read
            };
            let dir = parent_dir(&path);
            grants
                .deny(task, Object::File, &path, Some(Grant::new(kind, dir)))
                .into()
        }
        PathError::Escapes(path) => grants
            .deny(task, Object::File, &path, None)
            .because("it leaves its granted directory")
            .into(),
        PathError::Symlink { path, .. } => grants
            .deny(task, Object::File, &path, None)
            .because(text)
            .into(),
        PathError::NotAFile(path) => HostError::Io {
            message: "it is not a regular file".to_owned(),
            path,
        },
        PathError::Io(path, message) => HostError::Io { path, message },
    }
}

/// `out/x.tar` -> `out`; a bare file name -> `.`.
fn parent_dir(path: &str) -> String {
    match std::path::Path::new(path).parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_string_lossy().into_owned(),
        _ => ".".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grant::Grants;

    #[test]
    fn a_file_outside_the_grants_names_the_directory_to_grant() {
        let grants = Grants::default();
        let error = path_error(
            "t",
            &grants,
            PathError::NotGranted("out/x.tar".into(), "writing"),
        );
        let HostError::Denied(denial) = error else {
            panic!("{error:?}")
        };
        assert_eq!(denial.grant, Some(Grant::new(GrantKind::Write, "out")));
        let error = path_error("t", &grants, PathError::Escapes("out/../x".into()));
        assert_eq!(
            error.to_string(),
            "denied: file `out/../x` is not granted to task `t`: it leaves its granted directory"
        );
    }
}
