//! The `http` capability: a plugin's outgoing HTTP(S) requests
//! (`wasi:http/outgoing-handler`), sent by the host. The plugin never gets a
//! socket: the host parses the request's target into a canonical URL
//! ([`url::HttpUrl`]), checks it against the task's `allow.http` prefixes,
//! then resolves the name, connects, speaks TLS (rustls, Mozilla's roots, plus
//! the CA in `RUN_HTTP_CA_FILE` when set) and sends the request to that
//! canonical URL, under a size limit and a time limit.
//!
//! A refused request fails with wasi:http's `HTTP-request-denied`, and the
//! host logs the denial (what was refused, what `allow.http` grants) as every
//! grant does.

pub mod send;
pub mod url;

use std::sync::Arc;
use std::time::Duration;

use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

use crate::grant::{Denial, Grant, GrantKind, Grants, Object, allow_table};
pub use send::{Client, Limits, LimitsError};
pub use url::{HttpPrefix, HttpUrl, UrlProblem};

/// One plugin's view of the capability: its task, its grants, the client.
pub struct HttpHost {
    task: String,
    grants: Arc<Grants>,
    prefixes: Vec<HttpPrefix>,
    client: Option<Arc<Client>>,
}

impl HttpHost {
    /// A task's capability. Grants were validated when tasks.toml was
    /// loaded; one that does not parse grants nothing.
    pub fn new(task: &str, grants: &Grants, client: Option<Arc<Client>>) -> HttpHost {
        HttpHost {
            task: task.to_owned(),
            prefixes: grants
                .http
                .iter()
                .filter_map(|g| HttpPrefix::parse(g).ok())
                .collect(),
            grants: Arc::new(grants.clone()),
            client,
        }
    }

    /// Nothing granted (`describe`, `needs`, tasks without `allow.http`).
    pub fn none(task: &str) -> HttpHost {
        HttpHost::new(task, &Grants::default(), None)
    }

    /// The request's target, canonical and granted, or the denial.
    pub fn check(&self, scheme: &str, authority: &str, path: &str) -> Result<HttpUrl, Box<Denial>> {
        let raw = format!("{scheme}://{authority}{path}");
        // A target that does not parse to a canonical URL (a user name, an
        // encoded separator) is refused whatever the grants: no grant to add.
        let url = HttpUrl::from_parts(scheme, authority, path).map_err(|problem| {
            let mut denial = self.grants.deny(&self.task, Object::Url, &raw, None);
            denial.granted = self.grants.http.clone();
            Box::new(denial.because(problem.to_string()))
        })?;
        if self.prefixes.iter().any(|p| p.allows(&url)) {
            return Ok(url);
        }
        Err(Box::new(self.grants.deny(
            &self.task,
            Object::Url,
            url.as_str(),
            Some(Grant::new(GrantKind::Http, suggested_prefix(&url))),
        )))
    }

    fn refuse(&self, denial: Denial) -> wasmtime_wasi_http::Error {
        let advice = denial
            .grant
            .as_ref()
            .map(|g| {
                format!(
                    "; to allow it, add to the task in tasks.toml: {}",
                    allow_table(std::slice::from_ref(g))
                )
            })
            .unwrap_or_default();
        tracing::warn!(task = %self.task, "{denial}{advice}");
        wasmtime_wasi_http::Error::HttpRequestDenied
    }
}

/// The grant a denial suggests: the URL's directory (`https://h/a/b.json`
/// suggests `https://h/a/`).
fn suggested_prefix(url: &HttpUrl) -> String {
    let text = url.as_str();
    let text = text.split(['?', '#']).next().unwrap_or(text);
    match text.rfind('/') {
        Some(slash) if slash + 1 > url.scheme.as_str().len() + 3 => text[..=slash].to_owned(),
        _ => format!("{text}/"),
    }
}

type SendFuture = Box<
    dyn Future<
            Output = wasmtime_wasi_http::Result<(
                http::Response<WasiBody>,
                Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            )>,
        > + Send,
>;

impl WasiHttpHooks for HttpHost {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> SendFuture {
        let uri = request.uri();
        let scheme = uri.scheme_str().unwrap_or("https").to_owned();
        let authority = uri
            .authority()
            .map(|a| a.as_str().to_owned())
            .unwrap_or_default();
        let path = uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default();
        let checked = self.check(&scheme, &authority, &path);
        let outcome = match (checked, &self.client) {
            (Ok(url), Some(client)) => Ok((url, client.clone())),
            (Ok(url), None) => Err(self.refuse(
                self.grants
                    .deny(&self.task, Object::Url, url.as_str(), None)
                    .because("no HTTP client is available here"),
            )),
            (Err(denial), _) => Err(self.refuse(*denial)),
        };
        let task = self.task.clone();
        Box::new(async move {
            let (url, client) = outcome?;
            tracing::debug!(task = %task, "HTTP {} {url}", request.method());
            client.send(url, request, options).await
        })
    }

    // A plugin cannot ask for more time than the host allows: `send`
    // takes the smaller of each of its timeouts and the host's limit.
}

/// `RUN_HTTP_TIMEOUT`'s default: a whole request, response body included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// `RUN_HTTP_MAX_SIZE`'s default: one response body.
pub const DEFAULT_MAX_SIZE: u64 = 2 << 30;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_denial_suggests_the_directory() {
        let url = |s| HttpUrl::parse(s).unwrap();
        assert_eq!(
            suggested_prefix(&url("https://h/a/b.json?x=1")),
            "https://h/a/"
        );
        assert_eq!(suggested_prefix(&url("https://h")), "https://h/");
        assert_eq!(suggested_prefix(&url("http://h:8080/x")), "http://h:8080/");
    }
}
