//! Downloads through the host: `wasi:http`'s outgoing handler, sent by `run`
//! under the task's `allow.http` URL prefixes (TLS, name resolution and the
//! size and time limits are the host's).
//!
//! [`Get`] fetches one URL into a file of a write grant, streamed (never
//! whole in memory) and atomically: the body goes to `FILE.part` and is
//! renamed over `FILE` only once complete, so a failed download never
//! leaves a file that looks complete. With an entity tag from an earlier
//! download, the server may answer "not modified" and nothing is written.
//!
//! ```no_run
//! use run_plugin_sdk::http::{Download, Get};
//!
//! # fn f() -> Result<(), run_plugin_sdk::Error> {
//! match Get::new("https://example.org/data/all.zip")
//!     .if_none_match(Some("\"abc\""))
//!     .save("cache/all.zip")?
//! {
//!     Download::Saved { bytes, etag } => println!("{bytes} bytes, etag {etag:?}"),
//!     Download::NotModified => println!("up to date"),
//! }
//! # Ok(()) }
//! ```

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, IncomingBody, IncomingResponse, OutgoingRequest, Scheme,
};
use wasip2::io::streams::StreamError;

use crate::{Access, Error, Grant};

/// What [`Get::save`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Download {
    /// The body was written to the file: its size and the server's `ETag`.
    Saved {
        /// Bytes written.
        bytes: u64,
        /// The response's `ETag`, to pass to [`Get::if_none_match`] next time.
        etag: Option<String>,
    },
    /// The server answered 304: the copy named by the entity tag is current;
    /// the file was not touched.
    NotModified,
}

/// One GET request.
///
/// ```
/// let get = run_plugin_sdk::http::Get::new("https://example.org/a.json").header("accept", "application/json");
/// assert_eq!(get.url(), "https://example.org/a.json");
/// ```
#[derive(Debug, Clone)]
pub struct Get {
    url: String,
    headers: Vec<(String, Vec<u8>)>,
}

impl Get {
    /// A GET of `url` (`http://` or `https://`).
    pub fn new(url: impl Into<String>) -> Get {
        Get {
            url: url.into(),
            headers: Vec::new(),
        }
    }

    /// The URL as given.
    ///
    /// ```
    /// assert_eq!(run_plugin_sdk::http::Get::new("http://h/x").url(), "http://h/x");
    /// ```
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Adds a request header.
    ///
    /// ```
    /// let _ = run_plugin_sdk::http::Get::new("http://h/x").header("accept", "*/*");
    /// ```
    pub fn header(mut self, name: &str, value: &str) -> Get {
        self.headers
            .push((name.to_ascii_lowercase(), value.as_bytes().to_vec()));
        self
    }

    /// Asks the server to answer 304 when its copy still has this entity
    /// tag (from [`Download::Saved`]); `None` asks for the body.
    ///
    /// ```
    /// let _ = run_plugin_sdk::http::Get::new("http://h/x").if_none_match(Some("\"v1\""));
    /// ```
    pub fn if_none_match(self, etag: Option<&str>) -> Get {
        match etag {
            Some(etag) => self.header("if-none-match", etag),
            None => self,
        }
    }

    /// Sends the request and streams a 2xx body into `path` (in a write
    /// grant), through `path.part` renamed into place when complete.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<Download, Error> {
        let path = path.as_ref();
        let response = self.send()?;
        let status = response.status();
        if status == 304 {
            return Ok(Download::NotModified);
        }
        if !(200..300).contains(&status) {
            return Err(Error::failed(format!(
                "GET {}: HTTP status {status}",
                self.url
            )));
        }
        let etag = response
            .headers()
            .get("etag")
            .into_iter()
            .next()
            .and_then(|v| String::from_utf8(v).ok());
        let part = part_path(path);
        let written = self.stream_into(&response, &part);
        match written {
            Ok(bytes) => {
                fs::rename(&part, path).map_err(|e| Error::io(path, Access::Write, e))?;
                Ok(Download::Saved { bytes, etag })
            }
            Err(error) => {
                let _ = fs::remove_file(&part);
                Err(error)
            }
        }
    }

    fn stream_into(&self, response: &IncomingResponse, part: &Path) -> Result<u64, Error> {
        let body = response
            .consume()
            .map_err(|()| Error::failed(format!("GET {}: no response body", self.url)))?;
        let mut file = fs::File::create(part).map_err(|e| Error::io(part, Access::Write, e))?;
        let mut bytes = 0u64;
        {
            let stream = body
                .stream()
                .map_err(|()| Error::failed(format!("GET {}: no response body", self.url)))?;
            loop {
                match stream.blocking_read(64 * 1024) {
                    Ok(chunk) => {
                        bytes += chunk.len() as u64;
                        file.write_all(&chunk)
                            .map_err(|e| Error::io(part, Access::Write, e))?;
                    }
                    Err(StreamError::Closed) => break,
                    Err(StreamError::LastOperationFailed(e)) => {
                        let reason = match wasip2::http::types::http_error_code(&e) {
                            Some(code) => describe(&code),
                            None => e.to_debug_string(),
                        };
                        return Err(Error::failed(format!(
                            "GET {}: the response body failed after {bytes} bytes: {reason}",
                            self.url
                        )));
                    }
                }
            }
        }
        let _trailers = IncomingBody::finish(body);
        file.sync_all()
            .map_err(|e| Error::io(part, Access::Write, e))?;
        Ok(bytes)
    }

    fn send(&self) -> Result<IncomingResponse, Error> {
        let (scheme, rest) = match self.url.split_once("://") {
            Some(("https", rest)) => (Scheme::Https, rest),
            Some(("http", rest)) => (Scheme::Http, rest),
            _ => {
                return Err(Error::invalid_input(format!(
                    "`{}` is not an http:// or https:// URL",
                    self.url
                )));
            }
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(at) if rest[at..].starts_with('/') => (&rest[..at], &rest[at..]),
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, "/"),
        };
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_owned()
        };
        let bad = || Error::invalid_input(format!("`{}` is not a valid URL", self.url));
        let headers = Fields::from_list(&self.headers).map_err(|_| bad())?;
        let request = OutgoingRequest::new(headers);
        request.set_scheme(Some(&scheme)).map_err(|()| bad())?;
        request.set_authority(Some(authority)).map_err(|()| bad())?;
        request
            .set_path_with_query(Some(&path))
            .map_err(|()| bad())?;
        let pending = outgoing_handler::handle(request, None).map_err(|code| self.error(&code))?;
        pending.subscribe().block();
        match pending.get() {
            Some(Ok(Ok(response))) => Ok(response),
            Some(Ok(Err(code))) => Err(self.error(&code)),
            Some(Err(())) | None => Err(Error::failed(format!(
                "GET {}: the host lost the response",
                self.url
            ))),
        }
    }

    /// A host refusal names the URL and the grant that would allow it.
    fn error(&self, code: &ErrorCode) -> Error {
        match code {
            ErrorCode::HttpRequestDenied => Error::denied_grant(
                format!(
                    "URL `{}` is not granted: it is not below a prefix in the task's allow.http",
                    self.url
                ),
                Grant::http(directory(&self.url)),
            ),
            code => Error::failed(format!("GET {}: {}", self.url, describe(code))),
        }
    }
}

/// The grant a denial suggests: the URL's directory with `.` and `..`
/// resolved (`https://h/a/../b/c.json` → `https://h/b/`); the origin when
/// the path is percent-encoded (the host's warning names the exact URL).
fn directory(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or(url);
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let origin = format!("{scheme}://{}/", authority.to_ascii_lowercase());
    if path.contains('%') || path.contains('\\') {
        return origin;
    }
    let mut segments: Vec<&str> = path.split('/').skip(1).collect();
    segments.pop(); // the file name, or "" after a trailing `/`
    let mut kept: Vec<&str> = Vec::new();
    for segment in segments {
        match segment {
            "." | "" => {}
            ".." => {
                kept.pop();
            }
            s => kept.push(s),
        }
    }
    let mut dir = origin;
    for segment in kept {
        dir.push_str(segment);
        dir.push('/');
    }
    dir
}

fn part_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".part");
    path.with_file_name(name)
}

/// A wasi:http error code in words.
fn describe(code: &ErrorCode) -> String {
    match code {
        ErrorCode::HttpRequestDenied => "refused by the host (allow.http)".into(),
        ErrorCode::HttpResponseBodySize(_) => {
            "the response is larger than the host allows (RUN_HTTP_MAX_SIZE)".into()
        }
        ErrorCode::HttpResponseTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionTimeout => "timed out (RUN_HTTP_TIMEOUT)".into(),
        ErrorCode::TlsCertificateError => {
            "the server's TLS certificate is not trusted (RUN_HTTP_CA_FILE adds a CA)".into()
        }
        ErrorCode::DnsError(e) => format!(
            "the name does not resolve ({})",
            e.rcode.clone().unwrap_or_default()
        ),
        ErrorCode::ConnectionRefused => "connection refused".into(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_denial_suggests_the_directory() {
        assert_eq!(directory("https://h/a/b.json?x"), "https://h/a/");
        assert_eq!(directory("https://h"), "https://h/");
        assert_eq!(directory("https://h/"), "https://h/");
        assert_eq!(directory("https://H/a/../b/./c.json"), "https://h/b/");
        assert_eq!(directory("https://h/a/%2e%2e/b"), "https://h/");
    }

    #[test]
    fn the_part_file_is_beside_the_file() {
        assert_eq!(
            part_path(Path::new("c/all.zip")),
            Path::new("c/all.zip.part")
        );
    }
}
