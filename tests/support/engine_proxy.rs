//! The local engine as a remote one: a TCP proxy to its socket, plain or
//! TLS with test certificates generated here (rcgen), client certificates
//! required as `dockerd --tlsverify` requires them. A half-close ends the
//! connection half a second later, as socat does.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncWrite};

/// The engine the proxy forwards to: the tests' own when it is a unix
/// socket (`DOCKER_HOST`), else Docker's.
fn upstream() -> PathBuf {
    match std::env::var("DOCKER_HOST") {
        Ok(host) if host.starts_with("unix://") => PathBuf::from(&host["unix://".len()..]),
        _ => PathBuf::from("/var/run/docker.sock"),
    }
}

pub struct EngineProxy {
    pub port: u16,
    /// ca.pem, cert.pem and key.pem for the client, with TLS.
    pub certs: Option<tempfile::TempDir>,
    _runtime: tokio::runtime::Runtime,
}

impl EngineProxy {
    /// Plain TCP on 127.0.0.1.
    pub fn tcp() -> EngineProxy {
        EngineProxy::start(None)
    }

    /// TLS on 127.0.0.1, certificates for `localhost` and 127.0.0.1 from a
    /// test CA; the client must show a certificate from the same CA.
    pub fn tls() -> EngineProxy {
        let dir = tempfile::tempdir().unwrap();
        let config = test_certificates(dir.path());
        let mut proxy = EngineProxy::start(Some(config));
        proxy.certs = Some(dir);
        proxy
    }

    fn start(tls: Option<Arc<rustls::ServerConfig>>) -> EngineProxy {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let socket = upstream();
        runtime.spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let (socket, tls) = (socket.clone(), tls.clone());
                tokio::spawn(async move {
                    let _ = client.set_nodelay(true);
                    let Ok(engine) = tokio::net::UnixStream::connect(&socket).await else {
                        return;
                    };
                    match tls {
                        Some(config) => {
                            let acceptor = tokio_rustls::TlsAcceptor::from(config);
                            if let Ok(client) = acceptor.accept(client).await {
                                forward(client, engine).await;
                            }
                        }
                        None => forward(client, engine).await,
                    }
                });
            }
        });
        EngineProxy {
            port,
            certs: None,
            _runtime: runtime,
        }
    }

    /// `tcp://127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    /// The environment that points the docker CLI and `run` here.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![("DOCKER_HOST".to_owned(), self.host())];
        if let Some(dir) = &self.certs {
            env.push(("DOCKER_TLS_VERIFY".into(), "1".into()));
            env.push((
                "DOCKER_CERT_PATH".into(),
                dir.path().to_string_lossy().into_owned(),
            ));
        }
        env
    }
}

/// Both directions, each end passed on as a half-close; then, as socat does
/// by default (`-t 0.5`), the other direction gets half a second before the
/// whole connection is closed. Many proxies treat a half-close this way; a
/// client must not rely on it reaching the engine intact.
async fn forward(client: impl AsyncRead + AsyncWrite + Unpin, engine: tokio::net::UnixStream) {
    use tokio::io::AsyncWriteExt;
    let (mut from_client, mut to_client) = tokio::io::split(client);
    let (mut from_engine, mut to_engine) = engine.into_split();
    let up = async {
        let _ = tokio::io::copy(&mut from_client, &mut to_engine).await;
        let _ = to_engine.shutdown().await;
    };
    let down = async {
        let _ = tokio::io::copy(&mut from_engine, &mut to_client).await;
        let _ = to_client.shutdown().await;
    };
    tokio::pin!(up, down);
    let grace = std::time::Duration::from_millis(500);
    tokio::select! {
        () = &mut up => { let _ = tokio::time::timeout(grace, down).await; }
        () = &mut down => { let _ = tokio::time::timeout(grace, up).await; }
    }
}

/// Writes the client's ca.pem, cert.pem and key.pem into `dir`; returns the
/// server's config (its certificate from the same CA, client certificates
/// required).
fn test_certificates(dir: &std::path::Path) -> Arc<rustls::ServerConfig> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "run test engine CA");
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();

    let server_key = KeyPair::generate().unwrap();
    let mut server =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server = server.signed_by(&server_key, &ca).unwrap();

    let client_key = KeyPair::generate().unwrap();
    let mut client = CertificateParams::new(Vec::<String>::new()).unwrap();
    client
        .distinguished_name
        .push(DnType::CommonName, "run test client");
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client = client.signed_by(&client_key, &ca).unwrap();

    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("cert.pem"), client.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), client_key.serialize_pem()).unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![CertificateDer::from(server.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
        )
        .unwrap();
    Arc::new(config)
}
