//! What the container-engine interfaces share (`engine-types` in the WIT):
//! compression, file info, ports, signals, and their errors turned into
//! [`Error`]s. The types are re-exported by the modules that use them
//! ([`containers`](crate::containers), [`volumes`](crate::volumes),
//! [`images`](crate::images), [`stacks`](crate::stacks)).

use std::fmt;
use std::str::FromStr;

pub use crate::__private::bindings::runner::plugin::engine_types::{
    Compression, FileInfo, PortBinding, Protocol, Signal,
};
use crate::__private::bindings::runner::plugin::engine_types::{
    EngineFailure, Error as EngineError, InvalidName, IoFailure, Missing, TimedOut,
};
use crate::Error;
use crate::error::object_name;

/// Each failure worded from its data; a denial keeps the grant to add.
impl From<EngineError> for Error {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Denied(denial) => denial.into(),
            EngineError::InvalidName(InvalidName {
                object,
                name,
                reason,
            }) => Error::invalid_input(format!(
                "`{name}` is not a valid {} name: {reason}",
                object_name(object)
            )),
            EngineError::NotFound(Missing { object, name }) => {
                Error::not_found(format!("{} `{name}` not found", object_name(object)))
            }
            EngineError::Conflict(message) => Error::failed(message),
            EngineError::Engine(EngineFailure { address, message }) => Error::failed(format!(
                "the container engine at {address} failed: {message}"
            )),
            EngineError::Io(IoFailure { path, message }) => {
                Error::failed(format!("`{path}`: {message}"))
            }
            EngineError::Timeout(TimedOut { operation, millis }) => {
                Error::failed(format!("{operation} timed out after {}", seconds(millis)))
            }
            EngineError::Unsupported(message) => Error::unsupported(message),
        }
    }
}

/// `1.5 s`, `30 s`.
fn seconds(millis: u64) -> String {
    if millis.is_multiple_of(1000) {
        format!("{} s", millis / 1000)
    } else {
        format!("{:.1} s", millis as f64 / 1000.0)
    }
}

/// Every signal, for parsing.
const SIGNALS: [Signal; 9] = [
    Signal::Sighup,
    Signal::Sigint,
    Signal::Sigquit,
    Signal::Sigkill,
    Signal::Sigusr1,
    Signal::Sigusr2,
    Signal::Sigterm,
    Signal::Sigstop,
    Signal::Sigcont,
];

impl Signal {
    /// The signal's name, `SIGTERM`.
    ///
    /// ```
    /// use run_plugin_sdk::containers::Signal;
    /// assert_eq!(Signal::Sigterm.as_str(), "SIGTERM");
    /// assert_eq!(Signal::Sigkill.to_string(), "SIGKILL");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sighup => "SIGHUP",
            Self::Sigint => "SIGINT",
            Self::Sigquit => "SIGQUIT",
            Self::Sigkill => "SIGKILL",
            Self::Sigusr1 => "SIGUSR1",
            Self::Sigusr2 => "SIGUSR2",
            Self::Sigterm => "SIGTERM",
            Self::Sigstop => "SIGSTOP",
            Self::Sigcont => "SIGCONT",
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `SIGTERM`, `TERM` or `term`, as a person gives a signal; anything else is
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) listing the
/// signals there are.
///
/// ```
/// use run_plugin_sdk::containers::Signal;
/// assert_eq!("SIGTERM".parse::<Signal>().unwrap(), Signal::Sigterm);
/// assert_eq!("hup".parse::<Signal>().unwrap(), Signal::Sighup);
/// let e = "SIGWINCH".parse::<Signal>().unwrap_err();
/// assert!(e.message().starts_with("unknown signal `SIGWINCH`"), "{e}");
/// ```
impl FromStr for Signal {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        let upper = text.trim().to_ascii_uppercase();
        let name = upper.strip_prefix("SIG").unwrap_or(&upper);
        SIGNALS
            .into_iter()
            .find(|s| &s.as_str()[3..] == name)
            .ok_or_else(|| {
                let known: Vec<&str> = SIGNALS.iter().map(|s| s.as_str()).collect();
                Error::invalid_input(format!(
                    "unknown signal `{text}`: use one of {}",
                    known.join(", ")
                ))
            })
    }
}

impl Protocol {
    /// `tcp`, `udp` or `sctp`.
    ///
    /// ```
    /// use run_plugin_sdk::containers::Protocol;
    /// assert_eq!(Protocol::Udp.as_str(), "udp");
    /// assert_eq!(Protocol::Tcp.to_string(), "tcp");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
            Self::Sctp => "sctp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `tcp`, `udp` or `sctp`, in any case.
///
/// ```
/// use run_plugin_sdk::containers::Protocol;
/// assert_eq!("UDP".parse::<Protocol>().unwrap(), Protocol::Udp);
/// assert!("icmp".parse::<Protocol>().is_err());
/// ```
impl FromStr for Protocol {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        [Self::Tcp, Self::Udp, Self::Sctp]
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(text))
            .ok_or_else(|| {
                Error::invalid_input(format!("unknown protocol `{text}`: use tcp, udp or sctp"))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::__private::bindings::runner::plugin::types::ObjectKind;
    use crate::ErrorKind;

    #[test]
    fn every_engine_failure_names_what_failed() {
        let cases = [
            (
                EngineError::InvalidName(InvalidName {
                    object: ObjectKind::Container,
                    name: "app-/../x".into(),
                    reason: "contains `/`".into(),
                }),
                ErrorKind::InvalidInput,
                "`app-/../x` is not a valid container name: contains `/`",
            ),
            (
                EngineError::NotFound(Missing {
                    object: ObjectKind::Image,
                    name: "busybox:2".into(),
                }),
                ErrorKind::NotFound,
                "image `busybox:2` not found",
            ),
            (
                EngineError::Engine(EngineFailure {
                    address: "unix:///var/run/docker.sock".into(),
                    message: "connection refused".into(),
                }),
                ErrorKind::Failed,
                "the container engine at unix:///var/run/docker.sock failed: connection refused",
            ),
            (
                EngineError::Io(IoFailure {
                    path: "out/x".into(),
                    message: "disk full".into(),
                }),
                ErrorKind::Failed,
                "`out/x`: disk full",
            ),
            (
                EngineError::Timeout(TimedOut {
                    operation: "exec in `db`".into(),
                    millis: 1500,
                }),
                ErrorKind::Failed,
                "exec in `db` timed out after 1.5 s",
            ),
            (
                EngineError::Conflict("container `db` is not running".into()),
                ErrorKind::Failed,
                "container `db` is not running",
            ),
            (
                EngineError::Unsupported("changes are refused under run --plan".into()),
                ErrorKind::Unsupported,
                "changes are refused under run --plan",
            ),
        ];
        for (engine, kind, message) in cases {
            let e = Error::from(engine);
            assert_eq!((e.kind(), e.message()), (kind, message));
            assert_eq!(e.grant(), None);
        }
    }

    #[test]
    fn signals_parse_with_or_without_sig_in_any_case() {
        for s in SIGNALS {
            assert_eq!(s.as_str().parse::<Signal>().unwrap(), s);
            assert_eq!(s.as_str()[3..].to_lowercase().parse::<Signal>().unwrap(), s);
        }
        assert!("".parse::<Signal>().is_err());
        assert!("SIG".parse::<Signal>().is_err());
    }
}
