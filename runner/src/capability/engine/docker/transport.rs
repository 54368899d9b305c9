//! Connections to engines that are not a local socket, as a bollard custom
//! transport: `tcp://` (plain, or TLS with the runner's own rustls, as the
//! `http` capability uses it) and `ssh://` (the remote engine's own
//! `docker system dial-stdio` through the ssh client, as the docker CLI
//! does). A local socket is bollard's own transport; this one reaches it
//! too, for the raw calls bollard has no method for (Podman's libpod API,
//! `libpod.rs`). Each connection speaks HTTP/1.1 (hyper) with upgrades, so exec and
//! its stdin stream over it, and a half-close (the end of an exec's stdin)
//! reaches the engine as one: TCP `shutdown(SHUT_WR)`, TLS `close_notify`
//! then `shutdown`, ssh's stdin closed. Idle connections are kept for the
//! next request (an ssh connection costs a process and a handshake).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bollard::BollardRequest;
use http::header::{HOST, UPGRADE};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use wasmtime_wasi_http::io::TokioIo;

use super::endpoint::{Host, Tls};

type Body = http_body_util::Either<
    http_body_util::Full<bytes::Bytes>,
    http_body_util::StreamBody<
        Pin<
            Box<
                dyn futures_util::Stream<
                        Item = Result<http_body::Frame<bytes::Bytes>, std::io::Error>,
                    > + Send,
            >,
        >,
    >,
>;

/// Idle connections kept for reuse.
const IDLE_CONNECTIONS: usize = 4;

/// How long ssh may take to connect (as the docker CLI's `ConnectTimeout`).
const SSH_CONNECT_TIMEOUT: u32 = 30;

trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// How one connection is made.
enum Dialer {
    Tcp {
        host: String,
        port: u16,
    },
    Tls {
        host: String,
        port: u16,
        name: ServerName<'static>,
        config: Arc<rustls::ClientConfig>,
    },
    Ssh {
        args: Vec<String>,
    },
    Unix {
        path: std::path::PathBuf,
    },
}

pub struct Transport {
    dialer: Dialer,
    idle: Mutex<Vec<SendRequest<Body>>>,
}

impl Transport {
    /// The transport for `host` with `tls`; a problem with the TLS files
    /// names the file and where it came from.
    pub fn new(host: &Host, tls: Option<&Tls>) -> Result<Transport, String> {
        let dialer = match (host, tls) {
            (Host::Tcp { host, port }, None) => Dialer::Tcp {
                host: host.clone(),
                port: *port,
            },
            (Host::Tcp { host, port }, Some(tls)) => Dialer::Tls {
                host: host.clone(),
                port: *port,
                name: ServerName::try_from(host.clone())
                    .map_err(|e| format!("`{host}` is not a TLS server name: {e}"))?,
                config: Arc::new(tls_config(tls)?),
            },
            (Host::Ssh { user, host, port }, _) => Dialer::Ssh {
                args: ssh_args(user.as_deref(), host, *port),
            },
            (Host::Unix(path), _) => Dialer::Unix { path: path.clone() },
        };
        Ok(Transport {
            dialer,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Sends `request` on an idle connection, or a new one.
    pub async fn request(
        self: Arc<Self>,
        request: BollardRequest,
    ) -> Result<hyper::Response<Incoming>, bollard::errors::Error> {
        let mut request = origin_form(request)?;
        let upgrade = request.headers().contains_key(UPGRADE);
        while let Some(mut sender) = self.take_idle() {
            match sender.try_send_request(request).await {
                Ok(response) => {
                    if !upgrade {
                        self.put_idle(sender);
                    }
                    return Ok(response);
                }
                Err(mut e) => match e.take_message() {
                    // Never written: the connection had closed; try another.
                    Some(unsent) => request = unsent,
                    None => return Err(e.into_error().into()),
                },
            }
        }
        let (stream, diagnostics) = self.dial().await?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(bollard::errors::Error::from)?;
        tokio::spawn(async move {
            if let Err(e) = connection.with_upgrades().await {
                tracing::debug!("engine connection: {e}");
            }
        });
        match sender.send_request(request).await {
            Ok(response) => {
                if !upgrade {
                    self.put_idle(sender);
                }
                Ok(response)
            }
            Err(e) => match diagnostics {
                Some(stderr) => Err(io_error(format!("{e}; ssh said: {}", stderr.wait().await))),
                None => Err(e.into()),
            },
        }
    }

    fn take_idle(&self) -> Option<SendRequest<Body>> {
        let mut idle = self.idle.lock().expect("not poisoned");
        idle.retain(|s| !s.is_closed());
        let ready = idle.iter().position(SendRequest::is_ready)?;
        Some(idle.swap_remove(ready))
    }

    fn put_idle(&self, sender: SendRequest<Body>) {
        let mut idle = self.idle.lock().expect("not poisoned");
        idle.retain(|s| !s.is_closed());
        if idle.len() < IDLE_CONNECTIONS {
            idle.push(sender);
        }
    }

    async fn dial(&self) -> Result<(Box<dyn Stream>, Option<SshStderr>), bollard::errors::Error> {
        match &self.dialer {
            Dialer::Tcp { host, port } => {
                let tcp = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
                tcp.set_nodelay(true)?;
                Ok((Box::new(tcp), None))
            }
            Dialer::Tls {
                host,
                port,
                name,
                config,
            } => {
                let tcp = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
                tcp.set_nodelay(true)?;
                let tls = tokio_rustls::TlsConnector::from(config.clone())
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| io_error(format!("TLS with the engine: {e}")))?;
                Ok((Box::new(tls), None))
            }
            Dialer::Ssh { args } => {
                let (stream, stderr) = SshStream::spawn(args)?;
                Ok((Box::new(stream), Some(stderr)))
            }
            Dialer::Unix { path } => {
                Ok((Box::new(tokio::net::UnixStream::connect(path).await?), None))
            }
        }
    }
}

fn io_error(message: String) -> bollard::errors::Error {
    std::io::Error::other(message).into()
}

/// bollard builds absolute URIs (`http://engine/v1.41/...`); the request
/// line gets the path and query, and the Host header the authority.
fn origin_form(request: BollardRequest) -> Result<BollardRequest, bollard::errors::Error> {
    let (mut parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let authority = parts
        .uri
        .authority()
        .map_or("docker", |a| a.as_str())
        .to_owned();
    parts.uri = path
        .parse()
        .map_err(|e: http::uri::InvalidUri| io_error(e.to_string()))?;
    if !parts.headers.contains_key(HOST) {
        parts.headers.insert(
            HOST,
            authority
                .parse()
                .map_err(|e: http::header::InvalidHeaderValue| io_error(e.to_string()))?,
        );
    }
    Ok(BollardRequest::from_parts(parts, body))
}

/// rustls (ring, as the `http` capability) with the engine's CA (else
/// Mozilla's roots) and the client certificate when given. Unverified TLS
/// (`DOCKER_TLS` alone, a context's `SkipTLSVerify`) accepts any
/// certificate, as the docker CLI does.
fn tls_config(tls: &Tls) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let bad = |path: &std::path::Path, problem: String| {
        format!("{} ({}): {problem}", path.display(), tls.source)
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = if tls.verify {
        let mut roots = rustls::RootCertStore::empty();
        match &tls.ca {
            Some(ca) => {
                let certs = CertificateDer::pem_file_iter(ca)
                    .map_err(|e| bad(ca, e.to_string()))?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| bad(ca, e.to_string()))?;
                if certs.is_empty() {
                    return Err(bad(ca, "it holds no certificate".into()));
                }
                for cert in certs {
                    roots.add(cert).map_err(|e| bad(ca, e.to_string()))?;
                }
            }
            None => roots.roots = webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        }
        builder.with_root_certificates(roots)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unverified(provider)))
    };
    match &tls.client {
        Some((cert, key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .map_err(|e| bad(cert, e.to_string()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad(cert, e.to_string()))?;
            if chain.is_empty() {
                return Err(bad(cert, "it holds no certificate".into()));
            }
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| bad(key, e.to_string()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| bad(cert, e.to_string()))
        }
        None => Ok(builder.with_no_client_auth()),
    }
}

/// Accepts any server certificate (signatures are still checked): only
/// when the user turned verification off.
#[derive(Debug)]
struct Unverified(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The ssh command line, as the docker CLI builds it: no terminal, no
/// questions (the runner has no terminal for them: use keys or an agent),
/// then the remote `docker system dial-stdio`.
pub fn ssh_args(user: Option<&str>, host: &str, port: Option<u16>) -> Vec<String> {
    let mut args = vec![
        "-o".to_owned(),
        format!("ConnectTimeout={SSH_CONNECT_TIMEOUT}"),
        "-o".to_owned(),
        "BatchMode=yes".to_owned(),
        "-T".to_owned(),
    ];
    if let Some(user) = user {
        args.extend(["-l".to_owned(), user.to_owned()]);
    }
    if let Some(port) = port {
        args.extend(["-p".to_owned(), port.to_string()]);
    }
    args.extend(
        ["--", host, "docker", "system", "dial-stdio"]
            .iter()
            .map(|s| s.to_string()),
    );
    args
}

/// One ssh process: its stdout is the engine's side, its stdin ours.
/// Shutting the stream down closes ssh's stdin, which `dial-stdio` passes on
/// to the engine as a half-close.
struct SshStream {
    stdout: tokio::process::ChildStdout,
    stdin: Option<tokio::process::ChildStdin>,
    _child: tokio::process::Child,
}

/// The end of ssh's stderr, for the error when the connection fails.
struct SshStderr(tokio::sync::oneshot::Receiver<String>);

impl SshStderr {
    async fn wait(self) -> String {
        match tokio::time::timeout(Duration::from_secs(5), self.0).await {
            Ok(Ok(text)) if !text.trim().is_empty() => text.trim().to_owned(),
            _ => "nothing".into(),
        }
    }
}

impl SshStream {
    fn spawn(args: &[String]) -> Result<(SshStream, SshStderr), bollard::errors::Error> {
        let mut child = tokio::process::Command::new("ssh")
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| io_error(format!("cannot start `ssh`: {e}")))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped");
        let mut stderr = child.stderr.take().expect("piped");
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            let mut tail = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                tail.extend_from_slice(&buf[..n]);
                if tail.len() > 4096 {
                    tail.drain(..tail.len() - 4096);
                }
            }
            let _ = tx.send(String::from_utf8_lossy(&tail).into_owned());
        });
        Ok((
            SshStream {
                stdout,
                stdin,
                _child: child,
            },
            SshStderr(rx),
        ))
    }
}

impl AsyncRead for SshStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stdout).poll_read(cx, buf)
    }
}

impl AsyncWrite for SshStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.stdin.as_mut() {
            Some(stdin) => Pin::new(stdin).poll_write(cx, buf),
            None => Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into())),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.stdin.as_mut() {
            Some(stdin) => Pin::new(stdin).poll_flush(cx),
            None => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if let Some(stdin) = self.stdin.as_mut() {
            std::task::ready!(Pin::new(stdin).poll_flush(cx))?;
        }
        // Dropping the pipe is what ssh sees as the end of its input.
        self.stdin = None;
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_runs_the_engines_own_dial_as_the_docker_cli_does() {
        assert_eq!(
            ssh_args(Some("deploy"), "build-box", Some(2222)).join(" "),
            "-o ConnectTimeout=30 -o BatchMode=yes -T -l deploy -p 2222 -- build-box docker system dial-stdio"
        );
        assert_eq!(
            ssh_args(None, "build-box", None).join(" "),
            "-o ConnectTimeout=30 -o BatchMode=yes -T -- build-box docker system dial-stdio"
        );
    }

    #[test]
    fn requests_go_out_in_origin_form_with_the_host() {
        let request = http::Request::get("http://engine:2375/v1.41/containers/json?all=1")
            .body(http_body_util::Either::Left(http_body_util::Full::new(
                bytes::Bytes::new(),
            )))
            .unwrap();
        let request = origin_form(request).unwrap();
        assert_eq!(request.uri().to_string(), "/v1.41/containers/json?all=1");
        assert_eq!(request.headers()[HOST], "engine:2375");
    }
}
