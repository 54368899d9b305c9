//! Readiness probes run from the plugin: an HTTP GET answered with 2xx, or a
//! TCP connect. They go through WASI sockets, so the task must grant the
//! address in `allow.network` (a denial says which entry to add).

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use run_plugin_sdk::{Error, Grant};

/// Whether the probe passed; `Err` when it can never pass (bad URL, denied).
pub type Probe = Result<bool, Error>;

/// `host:port` with `localhost` meaning 127.0.0.1 (no name lookup needed).
fn address(host_port: &str) -> Result<SocketAddr, Error> {
    let text = host_port.replacen("localhost", "127.0.0.1", 1);
    text.parse().map_err(|_| {
        Error::invalid_input(format!(
            "`{host_port}` is not an address (write an IP and a port, e.g. 127.0.0.1:5432)"
        ))
    })
}

fn connect(addr: SocketAddr, what: &str) -> Result<Option<TcpStream>, Error> {
    match TcpStream::connect(addr) {
        Ok(stream) => Ok(Some(stream)),
        Err(e) if e.kind() == ErrorKind::PermissionDenied => Err(Error::denied_grant(
            format!(
                "the readiness probe {what} cannot connect to {addr}: the task does not grant it"
            ),
            Grant::network(addr.to_string()),
        )),
        Err(_) => Ok(None),
    }
}

pub fn tcp(host_port: &str) -> Probe {
    let addr = address(host_port)?;
    Ok(connect(addr, &format!("`tcp: {host_port}`"))?.is_some())
}

/// `http://HOST:PORT/PATH`: passes on a 2xx status.
pub fn http(url: &str) -> Probe {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| Error::invalid_input(format!("`{url}`: only http:// URLs can be probed")))?;
    let (host_port, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:80")
    };
    let addr = address(&host_port)?;
    let Some(mut stream) = connect(addr, &format!("`http: {url}`"))? else {
        return Ok(false);
    };
    // Not every WASI implementation has socket timeouts; the wait loop bounds us anyway.
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: {host_port}\r\nUser-Agent: run-quickstart\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return Ok(false);
    }
    let mut head = [0u8; 64];
    let mut read = 0;
    while read < 12 {
        match stream.read(&mut head[read..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => read += n,
        }
    }
    Ok(status_is_success(&head[..read]))
}

/// `HTTP/1.x 2xx ...`.
fn status_is_success(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    let mut words = text.split_whitespace();
    words.next().is_some_and(|v| v.starts_with("HTTP/"))
        && words
            .next()
            .is_some_and(|code| code.len() == 3 && code.starts_with('2'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        assert!(status_is_success(b"HTTP/1.0 200 OK\r\n"));
        assert!(status_is_success(b"HTTP/1.1 204 No Content"));
        assert!(!status_is_success(b"HTTP/1.1 404 Not Found"));
        assert!(!status_is_success(b"SSH-2.0"));
    }

    #[test]
    fn addresses() {
        assert_eq!(address("localhost:80").unwrap().port(), 80);
        assert!(address("db:5432").is_err());
        assert!(http("https://x/").is_err());
    }
}
