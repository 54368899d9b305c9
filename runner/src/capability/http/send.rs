//! Sending one checked request: name resolution, TCP, TLS and HTTP/1.1 by
//! the host, to the canonical URL the grant check saw, under the host's
//! limits (one deadline for the whole exchange, body included, and a
//! maximum response size).

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, Uri};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

use super::url::{HttpUrl, Scheme};

/// The host's limits on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The whole exchange: connecting, the response's headers and its body.
    pub timeout: Duration,
    /// The response body, in bytes.
    pub max_size: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            timeout: super::DEFAULT_TIMEOUT,
            max_size: super::DEFAULT_MAX_SIZE,
        }
    }
}

/// A bad `RUN_HTTP_*` setting.
#[derive(Debug, thiserror::Error)]
pub enum LimitsError {
    #[error("{var} is `{value}`: {problem}")]
    Bad {
        var: &'static str,
        value: String,
        problem: String,
    },
    #[error("cannot read the CA certificates in {path} (RUN_HTTP_CA_FILE): {problem}")]
    CaFile { path: PathBuf, problem: String },
}

/// The host's HTTP client: its TLS roots and its limits.
pub struct Client {
    tls: Arc<rustls::ClientConfig>,
    pub limits: Limits,
}

impl Client {
    /// Mozilla's roots (webpki-roots), plus the PEM certificates in
    /// `extra_ca` when given.
    pub fn new(limits: Limits, extra_ca: Option<&Path>) -> Result<Client, LimitsError> {
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        if let Some(path) = extra_ca {
            let bad = |problem: String| LimitsError::CaFile {
                path: path.to_owned(),
                problem,
            };
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| bad(e.to_string()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad(e.to_string()))?;
            if certs.is_empty() {
                return Err(bad("it holds no certificate".into()));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| bad(e.to_string()))?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| LimitsError::Bad {
                var: "TLS",
                value: String::new(),
                problem: e.to_string(),
            })?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Client {
            tls: Arc::new(tls),
            limits,
        })
    }

    /// The client `run` uses: limits and extra CA from `RUN_HTTP_TIMEOUT`,
    /// `RUN_HTTP_MAX_SIZE` and `RUN_HTTP_CA_FILE`.
    pub fn from_env() -> Result<Client, LimitsError> {
        let var = |name: &'static str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let mut limits = Limits::default();
        if let Some(value) = var("RUN_HTTP_TIMEOUT") {
            limits.timeout = crate::config::duration::parse(&value)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| LimitsError::Bad {
                    var: "RUN_HTTP_TIMEOUT",
                    value: value.clone(),
                    problem: "expected a duration such as `30s` or `10m`".into(),
                })?;
        }
        if let Some(value) = var("RUN_HTTP_MAX_SIZE") {
            limits.max_size = crate::config::size::parse(&value)
                .ok()
                .filter(|s| *s > 0)
                .ok_or_else(|| LimitsError::Bad {
                    var: "RUN_HTTP_MAX_SIZE",
                    value: value.clone(),
                    problem: "expected a size such as `64MiB`".into(),
                })?;
        }
        let ca = var("RUN_HTTP_CA_FILE").map(PathBuf::from);
        Client::new(limits, ca.as_deref())
    }

    /// Sends `request` to `url` (already checked), replacing whatever target
    /// and `Host` the plugin wrote with the canonical ones.
    pub async fn send(
        &self,
        url: HttpUrl,
        request: Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> wasmtime_wasi_http::Result<(
        Response<WasiBody>,
        Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    )> {
        let limit = self.limits.timeout;
        let deadline = Instant::now() + limit;
        let shorter = |wanted: Option<Duration>| wanted.map_or(limit, |w| w.min(limit));
        let options = options.unwrap_or_default();
        let connect_timeout = shorter(options.connect_timeout);
        let first_byte_timeout = shorter(options.first_byte_timeout);

        let (mut parts, body) = request.into_parts();
        parts.uri = Uri::builder()
            .path_and_query(url.path_and_query())
            .build()
            .map_err(|_| Error::HttpRequestUriInvalid)?;
        parts.headers.insert(
            http::header::HOST,
            HeaderValue::from_str(&url.authority()).map_err(|_| Error::HttpRequestUriInvalid)?,
        );
        let request = Request::from_parts(parts, body);

        let connect = async {
            let addresses: Vec<_> = tokio::net::lookup_host(url.address())
                .await
                .map_err(|e| Error::DnsError {
                    rcode: Some(e.to_string()),
                    info_code: None,
                })?
                .collect();
            if addresses.is_empty() {
                return Err(Error::DestinationNotFound);
            }
            TcpStream::connect(&addresses[..])
                .await
                .map_err(Error::Connect)
        };
        let stream = tokio::time::timeout(connect_timeout, connect)
            .await
            .map_err(|_| Error::ConnectionTimeout)??;
        let stream: Box<dyn Stream> = match url.scheme {
            Scheme::Http => Box::new(stream),
            Scheme::Https => {
                let host = url.host.trim_start_matches('[').trim_end_matches(']');
                let name = ServerName::try_from(host.to_owned())
                    .map_err(|_| Error::HttpRequestUriInvalid)?;
                let connector = tokio_rustls::TlsConnector::from(self.tls.clone());
                let tls = tokio::time::timeout_at(
                    deadline.min(Instant::now() + connect_timeout),
                    connector.connect(name, stream),
                )
                .await
                .map_err(|_| Error::ConnectionTimeout)?
                .map_err(|e| {
                    tracing::warn!("TLS with {}: {e}", url.address());
                    match e.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
                        Some(rustls::Error::InvalidCertificate(_)) => Error::TlsCertificateError,
                        _ => Error::Tls(e),
                    }
                })?;
                Box::new(tls)
            }
        };
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(Error::from)?;
        let conn = wasmtime_wasi::runtime::spawn(async move { conn.await.map_err(Error::from) });

        let response = tokio::time::timeout_at(
            deadline.min(Instant::now() + first_byte_timeout),
            sender.send_request(request),
        )
        .await
        .map_err(|_| Error::ConnectionReadTimeout)?
        .map_err(Error::from)?;

        let max = self.limits.max_size;
        let declared = response
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|length| length > max) {
            tracing::warn!(
                "HTTP response from {url} declares {} bytes, over the limit of {max} bytes (RUN_HTTP_MAX_SIZE)",
                declared.unwrap_or_default()
            );
            return Err(Error::HttpResponseBodySize(declared));
        }
        let address = url.to_string();
        let response = response.map(|incoming| {
            Limited {
                inner: incoming,
                read: 0,
                max,
                deadline: Box::pin(tokio::time::sleep_until(deadline)),
                url: address,
            }
            .boxed_unsync()
        });
        Ok((
            response,
            Box::new(conn) as Box<dyn Future<Output = _> + Send>,
        ))
    }
}

trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> Stream for T {}

/// A response body cut off at the size limit or the deadline.
struct Limited {
    inner: hyper::body::Incoming,
    read: u64,
    max: u64,
    deadline: Pin<Box<Sleep>>,
    url: String,
}

impl Body for Limited {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        if self.deadline.as_mut().poll(cx).is_ready() {
            tracing::warn!(
                "HTTP response from {} timed out (RUN_HTTP_TIMEOUT)",
                self.url
            );
            return Poll::Ready(Some(Err(Error::HttpResponseTimeout)));
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.read += data.len() as u64;
                    if self.read > self.max {
                        tracing::warn!(
                            "HTTP response from {} is over the limit of {} bytes (RUN_HTTP_MAX_SIZE)",
                            self.url,
                            self.max
                        );
                        return Poll::Ready(Some(Err(Error::HttpResponseBodySize(Some(
                            self.read,
                        )))));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Error::from(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
