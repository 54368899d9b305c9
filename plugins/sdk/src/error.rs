//! Structured failures returned from a plugin's `run` and `needs`, and the
//! host's refusals turned into them.

use std::fmt;
use std::io;
use std::path::Path;

pub use crate::__private::bindings::runner::plugin::types::ErrorKind;
use crate::__private::bindings::runner::plugin::types::{Denial, ObjectKind, PluginError};
use crate::{Grant, names};

impl ErrorKind {
    /// The kind's name as spelled in the WIT (`invalid-input`, ...).
    ///
    /// ```
    /// use run_plugin_sdk::{Error, ErrorKind};
    /// assert_eq!(ErrorKind::NotFound.as_str(), "not-found");
    /// assert_eq!(Error::denied("no").kind().to_string(), "denied");
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
/// use run_plugin_sdk::{Access, Error, Grant};
/// let e = Error::io("out", Access::Write, std::io::ErrorKind::PermissionDenied.into());
/// assert_eq!(e.grant(), Some(&Grant::write("out")));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reading a file or listing a directory (`allow.read`).
    Read,
    /// Creating or changing files (`allow.write`).
    Write,
}

impl Access {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }

    fn grant(self, dir: String) -> Grant {
        match self {
            Self::Read => Grant::read(dir),
            Self::Write => Grant::write(dir),
        }
    }
}

/// A plugin failure: a kind, a message for the person, an optional exit code
/// and, for a denial, the grant that would allow what was refused (the runner
/// shows how to add it to tasks.toml, so the message does not).
///
/// Every refusal of a host interface converts into one (`?` works on them),
/// with a message rendered from what the host reported.
///
/// ```
/// use run_plugin_sdk::{Error, ErrorKind};
/// let e = Error::failed("tests failed").with_exit_code(3);
/// assert_eq!((e.kind(), e.message(), e.exit_code()), (ErrorKind::Failed, "tests failed", Some(3)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    inner: PluginError,
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
            inner: PluginError {
                kind,
                message: message.into(),
                exit_code: None,
                grant: None,
            },
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
    /// Prefer [`denied_grant`](Self::denied_grant) when a grant would allow it.
    ///
    /// ```
    /// let e = run_plugin_sdk::Error::denied("environment variable `TOKEN` is not granted");
    /// assert_eq!(e.kind(), run_plugin_sdk::ErrorKind::Denied);
    /// ```
    pub fn denied(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Denied, message)
    }

    /// Something was not granted to the task, and `grant` would allow it:
    /// the runner tells the person how to add it to tasks.toml.
    ///
    /// ```
    /// use run_plugin_sdk::{Error, Grant};
    /// let e = Error::denied_grant(
    ///     "environment variable `TOKEN` is not granted to task `deploy`",
    ///     Grant::env("TOKEN"),
    /// );
    /// assert_eq!(e.grant(), Some(&Grant::env("TOKEN")));
    /// ```
    pub fn denied_grant(message: impl Into<String>, grant: Grant) -> Self {
        let mut error = Self::denied(message);
        error.inner.grant = Some(grant);
        error
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
        self.inner.exit_code = Some(code);
        self
    }

    /// The same error, its message prefixed with `what` was being done
    /// (`what: message`); kind, exit code and grant are kept.
    ///
    /// ```
    /// use run_plugin_sdk::{Error, Grant};
    /// let e = Error::denied_grant("container `db` is not granted", Grant::containers("db"))
    ///     .context("backing up `db`");
    /// assert_eq!(e.message(), "backing up `db`: container `db` is not granted");
    /// assert!(e.grant().is_some());
    /// ```
    pub fn context(self, what: impl fmt::Display) -> Self {
        self.map_message(|message| format!("{what}: {message}"))
    }

    /// The same error with its message rewritten by `f`; kind, exit code and
    /// grant are kept.
    ///
    /// ```
    /// let e = run_plugin_sdk::Error::failed("disk full").map_message(|m| format!("{m}; nothing was pruned"));
    /// assert_eq!(e.message(), "disk full; nothing was pruned");
    /// ```
    pub fn map_message(mut self, f: impl FnOnce(&str) -> String) -> Self {
        self.inner.message = f(&self.inner.message);
        self
    }

    /// Maps a failed file operation on `path` to an error that names it.
    ///
    /// Under WASI a path outside every granted directory, a symlink leading
    /// out of one, or a write into a read-only grant fails with a capability
    /// error; those become [`ErrorKind::Denied`], carrying the
    /// `allow.read`/`allow.write` grant to add when `path` is relative and
    /// inside the project: `path` itself for a directory, the directory
    /// holding it for a file (`out/x.txt` → `out`; a path that cannot be
    /// looked at is taken for a file when its name has an extension). A file
    /// that is really absent becomes [`ErrorKind::NotFound`]; a full disk,
    /// quota or file-size limit is named as such (`no space left on device
    /// writing `PATH``); anything else is [`ErrorKind::Failed`].
    ///
    /// ```
    /// use run_plugin_sdk::{Access, Error, ErrorKind, Grant};
    /// let err = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
    /// let e = Error::io("out", Access::Write, err);
    /// assert_eq!(e.kind(), ErrorKind::Denied);
    /// assert_eq!(e.message(), "write access to `out` is not granted to this task");
    /// assert_eq!(e.grant(), Some(&Grant::write("out")));
    /// let e = Error::io("out/notes.txt", Access::Write, std::io::ErrorKind::PermissionDenied.into());
    /// assert_eq!(e.grant(), Some(&Grant::write("out")));
    /// let e = Error::io("out/notes.txt", Access::Write, std::io::ErrorKind::StorageFull.into());
    /// assert_eq!(e.message(), "no space left on device writing `out/notes.txt`");
    /// ```
    pub fn io(path: impl AsRef<Path>, access: Access, err: io::Error) -> Self {
        let path = path.as_ref();
        let access_name = access.as_str();
        let shown = path.display();
        if is_denied(path, &err) {
            let message = format!("{access_name} access to `{shown}` is not granted to this task");
            match granted_dir(path) {
                Some(dir) => Self::denied_grant(message, access.grant(dir)),
                None => Self::denied(message),
            }
        } else if err.kind() == io::ErrorKind::NotFound {
            Self::not_found(format!("cannot {access_name} `{shown}`: it does not exist"))
        } else if let Some(full) = full(&err) {
            Self::failed(format!("{full} writing `{shown}`"))
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
        self.inner.kind
    }

    /// The message for the person running the task.
    ///
    /// ```
    /// assert_eq!(run_plugin_sdk::Error::failed("boom").message(), "boom");
    /// ```
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The exit code, if one was set.
    ///
    /// ```
    /// assert_eq!(run_plugin_sdk::Error::failed("x").exit_code(), None);
    /// ```
    pub fn exit_code(&self) -> Option<u8> {
        self.inner.exit_code
    }

    /// For a denial, the grant that would allow what was refused.
    ///
    /// ```
    /// use run_plugin_sdk::{Error, Grant};
    /// assert_eq!(Error::denied("no").grant(), None);
    /// let e = Error::denied_grant("no", Grant::read("docs"));
    /// assert_eq!(e.grant(), Some(&Grant::read("docs")));
    /// ```
    pub fn grant(&self) -> Option<&Grant> {
        self.inner.grant.as_ref()
    }
}

/// The directory a grant for `path` names: `path` for a directory, its
/// parent for a file; `None` outside the project.
fn granted_dir(path: &Path) -> Option<String> {
    let text = path.to_str()?;
    let is_file = match std::fs::metadata(path) {
        Ok(meta) => !meta.is_dir(),
        Err(_) => path.extension().is_some(),
    };
    if is_file {
        names::relative_dir(&names::dir_of(text))
    } else {
        names::relative_dir(text)
    }
}

/// wasi-libc's `ENOTCAPABLE`: the host refused the operation on a descriptor.
#[cfg(target_os = "wasi")]
const ENOTCAPABLE: i32 = 76;

/// Whether `err` on `path` means the task lacks a grant rather than that the
/// operation failed.
/// What a full disk, quota or file-size limit is called, in words a person
/// recognises (Rust's own message for them under WASI ends in a bare os
/// error number).
fn full(err: &io::Error) -> Option<&'static str> {
    match err.kind() {
        io::ErrorKind::StorageFull => Some("no space left on device"),
        io::ErrorKind::QuotaExceeded => Some("disk quota exceeded"),
        io::ErrorKind::FileTooLarge => Some("file too large (the file-size limit was reached)"),
        _ => None,
    }
}

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
        f.write_str(&self.inner.message)
    }
}

impl std::error::Error for Error {}

impl From<Error> for PluginError {
    fn from(e: Error) -> Self {
        e.inner
    }
}

/// A refusal by the sandbox, worded from what it reports: ``container `db`
/// is not granted to task `t` (allow.containers grants app-*)``, then the
/// reason when there is one.
impl From<Denial> for Error {
    fn from(d: Denial) -> Self {
        let what = match d.object {
            ObjectKind::PrivilegedMode => "privileged mode".to_owned(),
            object => format!("{} `{}`", object_name(object), d.name),
        };
        let mut message = match &d.grant {
            Some(grant) => {
                let granted = if d.granted.is_empty() {
                    "none".to_owned()
                } else {
                    d.granted.join(", ")
                };
                format!(
                    "{what} is not granted to task `{}` (allow.{} grants {granted})",
                    d.task, grant.kind
                )
            }
            None => format!("{what} is refused to task `{}`", d.task),
        };
        if let Some(reason) = &d.reason {
            message = format!("{message}: {reason}");
        }
        let mut error = Self::denied(message);
        error.inner.grant = d.grant;
        error
    }
}

/// What an [`ObjectKind`] is called in a message.
pub(crate) fn object_name(object: ObjectKind) -> &'static str {
    match object {
        ObjectKind::File => "file",
        ObjectKind::NetworkAddress => "network address",
        ObjectKind::EnvVar => "environment variable",
        ObjectKind::Container => "container",
        ObjectKind::Volume => "volume",
        ObjectKind::Image => "image",
        ObjectKind::Network => "network",
        ObjectKind::HostPort => "host port",
        ObjectKind::Capability => "capability",
        ObjectKind::Namespace => "namespace",
        ObjectKind::Device => "device",
        ObjectKind::SecurityOption => "security option",
        ObjectKind::PrivilegedMode => "privileged mode",
        ObjectKind::NetworkHelper => "network helper",
        ObjectKind::Lock => "lock",
        ObjectKind::Url => "URL",
        ObjectKind::Sysctl => "kernel parameter",
        ObjectKind::Runtime => "container runtime",
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::{Access, Denial, Error, ErrorKind, ObjectKind};
    use crate::Grant;

    fn denial(object: ObjectKind, name: &str, grant: Option<Grant>, granted: &[&str]) -> Denial {
        Denial {
            object,
            name: name.into(),
            task: "t".into(),
            grant,
            granted: granted.iter().map(|g| g.to_string()).collect(),
            reason: None,
        }
    }

    #[test]
    fn a_full_disk_is_named_as_such_with_the_file() {
        // Regression: a full disk while writing a manifest read "I/O error
        // (os error 29)", which says neither what nor where.
        for (err, said) in [
            (
                io::Error::from(io::ErrorKind::StorageFull),
                "no space left on device",
            ),
            (
                io::Error::from_raw_os_error(libc_enospc()),
                "no space left on device",
            ),
            (
                io::Error::from(io::ErrorKind::QuotaExceeded),
                "disk quota exceeded",
            ),
            (
                io::Error::from(io::ErrorKind::FileTooLarge),
                "file too large",
            ),
        ] {
            let e = Error::io("backups/x.sql.zst.json", Access::Write, err);
            assert_eq!(e.kind(), ErrorKind::Failed);
            assert!(
                e.message().starts_with(said)
                    && e.message().ends_with(" writing `backups/x.sql.zst.json`"),
                "{}",
                e.message()
            );
        }
    }

    /// ENOSPC where the tests run (Linux; 51 under WASI).
    fn libc_enospc() -> i32 {
        if cfg!(target_os = "wasi") { 51 } else { 28 }
    }

    #[test]
    fn a_denial_names_what_was_refused_and_what_the_task_grants() {
        let d = denial(
            ObjectKind::Container,
            "db",
            Some(Grant::containers("db")),
            &["app-*", "web"],
        );
        let e = Error::from(d);
        assert_eq!(e.kind(), ErrorKind::Denied);
        assert_eq!(
            e.message(),
            "container `db` is not granted to task `t` (allow.containers grants app-*, web)"
        );
        assert_eq!(e.grant(), Some(&Grant::containers("db")));
    }

    #[test]
    fn a_denial_gives_its_reason_and_says_when_nothing_is_granted() {
        let mut d = denial(
            ObjectKind::Volume,
            "pgdata",
            Some(Grant::volumes("pgdata")),
            &[],
        );
        d.reason = Some("no granted container mounts it".into());
        assert_eq!(
            Error::from(d).message(),
            "volume `pgdata` is not granted to task `t` (allow.volumes grants none): no granted container mounts it"
        );
        let mut d = denial(ObjectKind::NetworkHelper, "run-netns-x", None, &[]);
        d.reason = Some("it is not a helper of a granted container".into());
        let e = Error::from(d);
        assert_eq!(
            e.message(),
            "network helper `run-netns-x` is refused to task `t`: it is not a helper of a granted container"
        );
        assert_eq!(e.grant(), None);
        let d = denial(
            ObjectKind::PrivilegedMode,
            "true",
            Some(Grant::privileged()),
            &[],
        );
        assert_eq!(
            Error::from(d).message(),
            "privileged mode is not granted to task `t` (allow.privileged grants none)"
        );
    }

    #[test]
    fn context_keeps_the_kind_the_code_and_the_grant() {
        let e = Error::denied_grant("no", Grant::write("out"))
            .with_exit_code(4)
            .context("saving");
        assert_eq!(
            (e.kind(), e.message(), e.exit_code()),
            (ErrorKind::Denied, "saving: no", Some(4))
        );
        assert_eq!(e.grant(), Some(&Grant::write("out")));
    }

    #[test]
    fn denied_paths_outside_the_project_suggest_no_grant() {
        let denied = || io::Error::from(io::ErrorKind::PermissionDenied);
        assert_eq!(
            Error::io("out/", Access::Write, denied()).grant(),
            Some(&Grant::write("out"))
        );
        assert_eq!(
            Error::io("reports/scan.json", Access::Write, denied()).grant(),
            Some(&Grant::write("reports"))
        );
        assert_eq!(
            Error::io("notes.txt", Access::Write, denied()).grant(),
            Some(&Grant::write("."))
        );
        assert_eq!(
            Error::io(".chaos", Access::Write, denied()).grant(),
            Some(&Grant::write(".chaos"))
        );
        assert_eq!(Error::io("/etc", Access::Read, denied()).grant(), None);
        assert_eq!(Error::io("../x", Access::Read, denied()).grant(), None);
    }

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
