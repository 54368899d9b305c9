//! A small local HTTP/1.1 server for the http capability's tests, plain or
//! with TLS under a test CA generated here (rcgen): the CA is trusted only
//! by a client told about it (`RUN_HTTP_CA_FILE`).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// What the server answers for one path.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    pub etag: Option<String>,
    /// Sent chunked, without Content-Length.
    pub chunked: bool,
    /// Waits this long before answering.
    pub delay: Duration,
}

impl Reply {
    pub fn ok(body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status: 200,
            body: body.into(),
            etag: None,
            chunked: false,
            delay: Duration::ZERO,
        }
    }

    pub fn etag(mut self, etag: &str) -> Reply {
        self.etag = Some(etag.to_owned());
        self
    }

    pub fn chunked(mut self) -> Reply {
        self.chunked = true;
        self
    }

    pub fn delay(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

/// A test CA and a certificate it signed for `localhost` and 127.0.0.1.
pub struct TestCa {
    pub ca_pem: String,
    cert: CertificateDer<'static>,
    key: Vec<u8>,
}

impl TestCa {
    pub fn new() -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "run test CA");
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        TestCa {
            ca_pem: ca.pem(),
            cert: leaf.der().clone(),
            key: key.serialize_der(),
        }
    }

    fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![self.cert.clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone())),
            )
            .unwrap();
        Arc::new(config)
    }
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub target: String,
    pub headers: Vec<(String, String)>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub struct Server {
    pub port: u16,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    routes: Arc<Mutex<HashMap<String, Reply>>>,
}

impl Server {
    /// A plain HTTP server on 127.0.0.1.
    pub fn http() -> Server {
        Server::start(None)
    }

    /// An HTTPS server on 127.0.0.1 with a certificate from `ca`.
    pub fn https(ca: &TestCa) -> Server {
        Server::start(Some(ca.server_config()))
    }

    fn start(tls: Option<Arc<rustls::ServerConfig>>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let routes: Arc<Mutex<HashMap<String, Reply>>> = Arc::default();
        let (s, r) = (seen.clone(), routes.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (s, r, tls) = (s.clone(), r.clone(), tls.clone());
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
                    match tls {
                        Some(config) => {
                            let Ok(conn) = rustls::ServerConnection::new(config) else {
                                return;
                            };
                            serve(rustls::StreamOwned::new(conn, stream), &s, &r);
                        }
                        None => serve(stream, &s, &r),
                    }
                });
            }
        });
        Server { port, seen, routes }
    }

    pub fn route(&self, path: &str, reply: Reply) -> &Server {
        self.routes.lock().unwrap().insert(path.to_owned(), reply);
        self
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

trait Conn: Read + Write {}
impl Conn for TcpStream {}
impl Conn for rustls::StreamOwned<rustls::ServerConnection, TcpStream> {}

fn serve<S: Conn>(stream: S, seen: &Mutex<Vec<Seen>>, routes: &Mutex<HashMap<String, Reply>>) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let target = line.split_whitespace().nth(1).unwrap_or("").to_owned();
        let mut headers = Vec::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
        }
        let request = Seen { target, headers };
        seen.lock().unwrap().push(request.clone());
        let path = request.target.split('?').next().unwrap_or("").to_owned();
        let reply = routes.lock().unwrap().get(&path).cloned();
        let reply = reply.unwrap_or(Reply {
            status: 404,
            ..Reply::ok("not found")
        });
        std::thread::sleep(reply.delay);
        let not_modified =
            reply.etag.is_some() && request.header("if-none-match") == reply.etag.as_deref();
        let stream = reader.get_mut();
        let mut head = if not_modified {
            "HTTP/1.1 304 Not Modified\r\ncontent-length: 0\r\n".to_owned()
        } else {
            format!("HTTP/1.1 {} X\r\n", reply.status)
        };
        if let Some(etag) = &reply.etag {
            head.push_str(&format!("etag: {etag}\r\n"));
        }
        let result = if not_modified {
            stream.write_all(format!("{head}\r\n").as_bytes())
        } else if reply.chunked {
            head.push_str("transfer-encoding: chunked\r\n\r\n");
            let mut out = head.into_bytes();
            for chunk in reply.body.chunks(1000) {
                out.extend(format!("{:x}\r\n", chunk.len()).as_bytes());
                out.extend(chunk);
                out.extend(b"\r\n");
            }
            out.extend(b"0\r\n\r\n");
            stream.write_all(&out)
        } else {
            head.push_str(&format!("content-length: {}\r\n\r\n", reply.body.len()));
            let mut out = head.into_bytes();
            out.extend(&reply.body);
            stream.write_all(&out)
        };
        if result.and_then(|()| stream.flush()).is_err() {
            return;
        }
    }
}
