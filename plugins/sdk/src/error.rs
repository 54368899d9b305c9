//! Structured failures returned from a plugin's `run`.

use std::fmt;
use std::io;
use std::path::Path;

use crate::__private::bindings::runner::plugin::types as wit;

/// Why a plugin's run failed; the runner words its report by kind.
///
/// ```
/// use run_plugin_sdk::{Error, ErrorKind};
/// assert_eq!(Error::denied("no").kind(), ErrorKind::Denied);
/// assert_eq!(ErrorKind::InvalidInput.to_string(), "invalid-input");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The work itself failed (a command exited non-zero, data was bad).
    Failed,
    /// Something the plugin needed was not granted to its task.
    Denied,
    /// The task's config or arguments are invalid.
    InvalidInput,
    /// The plugin asked for something the host does not support.
    Unsupported,
    /// A file, container or other named thing does not exist.
    NotFound,
}

impl ErrorKind {
    /// The kind's name as spelled in the WIT (`invalid-input`, ...).
    ///
    /// ```
    /// assert_eq!(run_plugin_sdk::ErrorKind::NotFound.as_str(), "not-found");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Failed => "failed",
            Self::Denied => "denied",
            Self::InvalidInput => "invalid-input",
            Self::Unsupported => "unsupported",
            Self::NotFound => "not-found",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which access to a path failed, to word [`Error::io`]'s message.
///
/// ```
/// use run_plugin_sdk::{Access, Error};
/// let e = Error::io("out", Access::Write, std::io::ErrorKind::PermissionDenied.into());
/// assert!(e.message().contains("allow.write"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reading a file or listing a directory (`allow.read`).
    Read,
    /// Creating or changing files (`allow.write`).
    Write,
}

impl Access {
    fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }
}

/// A plugin failure: a kind, a message for the person, an optional exit code.
///
/// ```
/// use run_plugin_sdk::{Error, ErrorKind};
/// let e = Error::failed("tests failed").with_exit_code(3);
/// assert_eq!((e.kind(), e.message(), e.exit_code()), (ErrorKind::Failed, "tests failed", Some(3)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    exit_code: Option<u8>,
}

impl Error {
    /// An error of any kind.
    ///
    /// ```
    /// use run_plugin_sdk::{Error, ErrorKind};
    /// let e = Error::new(ErrorKind::Unsupported, "no containers here");
    /// assert_eq!(e.to_string(), "no containers here");
    /// ```
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            exit_code: None,
        }
    }

    /// The work itself failed.
    ///
    /// ```
    /// let e = run_plugin_sdk::Error::failed("build failed");
    /// assert_eq!(e.kind(), run_plugin_sdk::ErrorKind::Failed);
    /// ```
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Failed, message)
    }

    /// Something was not granted to the task; the message should name it.
    ///
    /// ```
    /// let e = run_plugin_sdk::Error::denied("environment variable `TOKEN` is not granted");
    /// assert_eq!(e.kind(), run_plugin_sdk::ErrorKind::Denied);
    /// ```
    pub fn denied(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Denied, message)
    }

    /// The task's config or arguments are invalid.
    ///
    /// ```
    /// let e = run_plugin_sdk::Error::invalid_input("`--jobs` must be a number");
    /// assert_eq!(e.kind(), run_plugin_sdk::ErrorKind::InvalidInput);
    /// ```
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// The host does not support what the plugin asked for.
    ///
    /// ```
    /// let e = run_plugin_sdk::Error::unsupported("containers are not supported yet");
    /// assert_eq!(e.kind(), run_plugin_sdk::ErrorKind::Unsupported);
    /// ```
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }

    /// A named thing does not exist.
    ///
    /// ```
    /// let e = run_plugin_sdk::Error::not_found("no container `db`");
    /// assert_eq!(e.kind(), run_plugin_sdk::ErrorKind::NotFound);
    /// ```
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// Sets the exit code the runner uses for this failure (1 by default).
    ///
    /// ```
    /// assert_eq!(run_plugin_sdk::Error::failed("x").with_exit_code(2).exit_code(), Some(2));
    /// ```
    pub fn with_exit_code(mut self, code: u8) -> Self {
        self.exit_code = Some(code);
        self
    }

    /// Maps a failed file operation on `path` to an error that names it.
    ///
    /// Under WASI a path outside every granted directory, a symlink leading
    /// out of one, or a write into a read-only grant fails with a capability
    /// error; those become [`ErrorKind::Denied`] with a message that says
    /// which grant is missing. A file that is really absent becomes
    /// [`ErrorKind::NotFound`]; anything else is [`ErrorKind::Failed`].
    ///
    /// ```
    /// use run_plugin_sdk::{Access, Error, ErrorKind};
    /// let err = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
    /// let e = Error::io("out", Access::Write, err);
    /// assert_eq!(e.kind(), ErrorKind::Denied);
    /// assert_eq!(
    ///     e.message(),
    ///     "write access to `out` is not granted to this task (add it to allow.write)"
    /// );
    /// ```
    pub fn io(path: impl AsRef<Path>, access: Access, err: io::Error) -> Self {
        let path = path.as_ref();
        let access_name = access.as_str();
        let shown = path.display();
        if is_denied(path, &err) {
            Self::denied(format!(
                "{access_name} access to `{shown}` is not granted to this task \
                 (add it to allow.{access_name})"
            ))
        } else if err.kind() == io::ErrorKind::NotFound {
            Self::not_found(format!("cannot {access_name} `{shown}`: it does not exist"))
        } else {
            Self::failed(format!("cannot {access_name} `{shown}`: {err}"))
        }
    }

    /// The kind of failure.
    ///
    /// ```
    /// assert_eq!(run_plugin_sdk::Error::failed("x").kind(), run_plugin_sdk::ErrorKind::Failed);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message for the person running the task.
    ///
    /// ```
    /// assert_eq!(run_plugin_sdk::Error::failed("boom").message(), "boom");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The exit code, if one was set.
    ///
    /// ```
    /// assert_eq!(run_plugin_sdk::Error::failed("x").exit_code(), None);
    /// ```
    pub fn exit_code(&self) -> Option<u8> {
        self.exit_code
    }
}

/// wasi-libc's `ENOTCAPABLE`: the host refused the operation on a descriptor.
#[cfg(target_os = "wasi")]
const ENOTCAPABLE: i32 = 76;

/// Whether `err` on `path` means the task lacks a grant rather than that the
/// operation failed.
fn is_denied(path: &Path, err: &io::Error) -> bool {
    #[cfg(target_os = "wasi")]
    if err.raw_os_error() == Some(ENOTCAPABLE) {
        return true;
    }
    match err.kind() {
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => true,
        // wasi-libc reports a path under no preopen as ENOENT, the same as a
        // missing file inside a grant. Inside a grant some ancestor (at least
        // the granted directory) is visible; outside, none is.
        io::ErrorKind::NotFound => !path.ancestors().skip(1).any(|dir| {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            std::fs::metadata(dir).is_ok()
        }),
        _ => false,
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<Error> for wit::PluginError {
    fn from(e: Error) -> Self {
        Self {
            kind: match e.kind {
                ErrorKind::Failed => wit::ErrorKind::Failed,
                ErrorKind::Denied => wit::ErrorKind::Denied,
                ErrorKind::InvalidInput => wit::ErrorKind::InvalidInput,
                ErrorKind::Unsupported => wit::ErrorKind::Unsupported,
                ErrorKind::NotFound => wit::ErrorKind::NotFound,
            },
            message: e.message,
            exit_code: e.exit_code,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::{Access, Error, ErrorKind};

    #[test]
    fn read_only_grants_are_denied() {
        let e = Error::io(
            "src/a.txt",
            Access::Write,
            io::ErrorKind::ReadOnlyFilesystem.into(),
        );
        assert_eq!(e.kind(), ErrorKind::Denied);
        assert!(e.message().contains("`src/a.txt`"), "{e}");
    }

    #[test]
    fn a_missing_file_inside_a_visible_directory_is_not_found() {
        let e = Error::io(
            "./no-such-file",
            Access::Read,
            io::ErrorKind::NotFound.into(),
        );
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    }

    #[test]
    fn other_failures_name_the_path_and_the_error() {
        let e = Error::io("out/x", Access::Write, io::Error::other("disk full"));
        assert_eq!(e.kind(), ErrorKind::Failed);
        assert_eq!(e.message(), "cannot write `out/x`: disk full");
    }
}
