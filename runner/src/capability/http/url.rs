//! URLs as the `http` grant sees them: parsed (WHATWG, as browsers do) and
//! normalised before anything is compared, never matched as raw text.
//!
//! A URL's identity is its scheme (`http` or `https`), its host (lowercased,
//! IDNA, IP addresses in one form), its port (the scheme's default when none
//! is written) and its path as a list of percent-decoded segments, with `.`
//! and `..` (also written `%2e%2e`) already resolved. A grant is a prefix of
//! that identity: `https://example.org/path/` allows `/path/` and below on
//! exactly that scheme, host and port, and nothing else (not `/pathX`, not
//! `/path/../other`). A segment that decodes to something holding `/` or `\`
//! is refused outright: a server may decode it and walk out of the prefix.

use std::fmt;

use percent_encoding::percent_decode_str;

/// What is wrong with a URL, for a config error or a denial's reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlProblem {
    #[error("it is not a URL ({0})")]
    Parse(String),
    #[error("its scheme is `{0}`; only http and https are supported")]
    Scheme(String),
    #[error("it has no host")]
    NoHost,
    #[error("it carries a user name or password")]
    Userinfo,
    #[error("a grant is a prefix of scheme, host, port and path: it has no query")]
    Query,
    #[error("a grant has no fragment")]
    Fragment,
    #[error("its path has a segment that decodes to `{0}`, holding a path separator")]
    EncodedSeparator(String),
}

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// A request's target, canonical: what the grant check sees and what the
/// host then connects to and asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    pub scheme: Scheme,
    /// The host as the resolver and TLS see it: a lowercased IDNA name, an
    /// IPv4 address, or an IPv6 address in brackets.
    pub host: String,
    pub port: u16,
    /// Percent-decoded path segments (`/a/b/` is `["a", "b", ""]`).
    segments: Vec<Vec<u8>>,
    /// The normalised URL (no fragment), as sent.
    url: url::Url,
}

impl HttpUrl {
    /// Parses a whole URL a plugin or a grant gives.
    pub fn parse(text: &str) -> Result<HttpUrl, UrlProblem> {
        let mut url = url::Url::parse(text).map_err(|e| UrlProblem::Parse(e.to_string()))?;
        let scheme = match url.scheme() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            other => return Err(UrlProblem::Scheme(other.to_owned())),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlProblem::Userinfo);
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
            _ => return Err(UrlProblem::NoHost),
        };
        let port = url.port_or_known_default().ok_or(UrlProblem::NoHost)?;
        let mut segments = Vec::new();
        for segment in url.path_segments().into_iter().flatten() {
            let decoded: Vec<u8> = percent_decode_str(segment).collect();
            if decoded.contains(&b'/')
                || decoded.contains(&b'\\')
                || decoded == b".."
                || decoded == b"."
            {
                return Err(UrlProblem::EncodedSeparator(
                    String::from_utf8_lossy(&decoded).into_owned(),
                ));
            }
            segments.push(decoded);
        }
        url.set_fragment(None);
        Ok(HttpUrl {
            scheme,
            host,
            port,
            segments,
            url,
        })
    }

    /// A request's target from the parts wasi:http gives: the authority
    /// must be a bare `host[:port]` (no user name, no path) and the path
    /// must start with `/`.
    pub fn from_parts(
        scheme: &str,
        authority: &str,
        path_and_query: &str,
    ) -> Result<HttpUrl, UrlProblem> {
        if authority.contains('@') {
            return Err(UrlProblem::Userinfo);
        }
        if authority.is_empty() || authority.contains(['/', '\\', '?', '#']) {
            return Err(UrlProblem::NoHost);
        }
        let path = if path_and_query.is_empty() {
            "/"
        } else {
            path_and_query
        };
        if !path.starts_with('/') || path.contains('#') {
            return Err(UrlProblem::Parse(format!("bad path `{path}`")));
        }
        HttpUrl::parse(&format!("{scheme}://{authority}{path}"))
    }

    /// The normalised URL as sent (no fragment).
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// `/path?query` as sent on the request line.
    pub fn path_and_query(&self) -> String {
        match self.url.query() {
            Some(query) => format!("{}?{query}", self.url.path()),
            None => self.url.path().to_owned(),
        }
    }

    /// `host` or `host:port` when the port is not the scheme's default, for
    /// the `Host` header.
    pub fn authority(&self) -> String {
        match self.url.port() {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.clone(),
        }
    }

    /// `host:port`, to connect to.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `allow.http` entry, validated when tasks.toml is loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpPrefix {
    url: HttpUrl,
    /// The segments a URL must start with (a trailing `/` dropped).
    segments: Vec<Vec<u8>>,
    /// Written with a trailing `/`: a directory, so the URL must go below it.
    directory: bool,
}

impl HttpPrefix {
    pub fn parse(text: &str) -> Result<HttpPrefix, UrlProblem> {
        let raw = url::Url::parse(text).map_err(|e| UrlProblem::Parse(e.to_string()))?;
        if raw.query().is_some() {
            return Err(UrlProblem::Query);
        }
        if raw.fragment().is_some() {
            return Err(UrlProblem::Fragment);
        }
        let url = HttpUrl::parse(text)?;
        let mut segments = url.segments.clone();
        let directory = segments.last().is_some_and(Vec::is_empty);
        if directory {
            segments.pop();
        }
        Ok(HttpPrefix {
            url,
            segments,
            directory,
        })
    }

    /// Whether `url` is this prefix or below it, on the same scheme, host
    /// and port.
    pub fn allows(&self, url: &HttpUrl) -> bool {
        self.url.scheme == url.scheme
            && self.url.host == url.host
            && self.url.port == url.port
            && url.segments.starts_with(&self.segments)
            && (!self.directory || url.segments.len() > self.segments.len())
    }

    /// Whether every URL `other` allows, this one allows too.
    pub fn covers(&self, other: &HttpPrefix) -> bool {
        self.url.scheme == other.url.scheme
            && self.url.host == other.url.host
            && self.url.port == other.url.port
            && other.segments.starts_with(&self.segments)
            && (!self.directory || other.segments.len() > self.segments.len() || other.directory)
    }
}

/// A grant as tasks.toml may write it.
pub fn check(text: &str) -> Result<(), UrlProblem> {
    HttpPrefix::parse(text).map(drop)
}
