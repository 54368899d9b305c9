//! Checks used by scenarios and drills: SQL or a command in a container, a TCP
//! connect, or an HTTP status (through the task's network grant).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use run_plugin_sdk::Error;
use run_plugin_sdk::containers::{self, ExecRequest};
use serde::Deserialize;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Check {
    /// Container for `sql` or `command` checks.
    pub container: Option<String>,
    /// SQL run with psql; the check passes when it prints `t` (or `expect`).
    pub sql: Option<String>,
    #[serde(default = "default_user")]
    pub user: String,
    /// A command run in `container`; passes on exit 0.
    pub command: Option<Vec<String>>,
    /// `host:port` that must accept a TCP connection. `{ip}` stands for the
    /// address of the container checked (in a drill: each candidate in turn).
    pub tcp: Option<String>,
    /// `http://host:port/path` that must answer 200 (Patroni's
    /// `http://{ip}:8008/leader`); `{ip}` as for `tcp`.
    pub http: Option<String>,
    /// What `sql` must print (default `t`).
    pub expect: Option<String>,
}

fn default_user() -> String {
    "postgres".into()
}

impl Check {
    /// Runs the check against `container` (overriding its own) once.
    pub fn run_on(&self, over: Option<&str>) -> Result<(), String> {
        let container = over.or(self.container.as_deref());
        if let Some(sql) = &self.sql {
            let c = container.ok_or("an sql check needs `container`")?;
            let out = psql(c, &self.user, "postgres", sql).map_err(|e| e.message().to_owned())?;
            let want = self.expect.as_deref().unwrap_or("t");
            return if out.trim() == want {
                Ok(())
            } else {
                Err(format!(
                    "`{sql}` in {c} gave `{}`, not `{want}`",
                    out.trim()
                ))
            };
        }
        if let Some(command) = &self.command {
            let c = container.ok_or("a command check needs `container`")?;
            let request = ExecRequest::new(command.clone()).timeout_seconds(10);
            let out = containers::open(c)
                .and_then(|c| c.exec(&request))
                .map_err(|e| e.message().to_owned())?;
            return if out.success() {
                Ok(())
            } else {
                Err(format!(
                    "{command:?} in {c} exited {}: {}",
                    out.exit_code,
                    out.stderr_text().trim()
                ))
            };
        }
        if let Some(address) = &self.tcp {
            return connect(&fill(address, container)?).map(drop);
        }
        if let Some(url) = &self.http {
            return http_ok(&fill(url, container)?);
        }
        Err("a check needs one of sql, command, tcp or http".into())
    }

    pub fn describe(&self) -> String {
        if let Some(sql) = &self.sql {
            format!("sql `{sql}`")
        } else if let Some(c) = &self.command {
            format!("command {c:?}")
        } else if let Some(t) = &self.tcp {
            format!("tcp {t}")
        } else if let Some(h) = &self.http {
            format!("http {h}")
        } else {
            "nothing".into()
        }
    }
}

/// `template` with `{ip}` replaced by `container`'s address (its first
/// network's); a stopped container has none, which fails the check.
fn fill(template: &str, container: Option<&str>) -> Result<String, String> {
    if !template.contains("{ip}") {
        return Ok(template.to_owned());
    }
    let c = container.ok_or_else(|| format!("`{template}` uses {{ip}} but names no container"))?;
    let ip = crate::fault::addresses(c)
        .map_err(|e| e.message().to_owned())?
        .into_iter()
        .next()
        .ok_or_else(|| format!("`{c}` has no network address"))?;
    Ok(template.replace("{ip}", &ip))
}

fn connect(address: &str) -> Result<TcpStream, String> {
    let addr = address
        .to_socket_addrs()
        .map_err(|e| format!("{address}: {e}"))?
        .next()
        .ok_or_else(|| format!("{address}: no address"))?;
    TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| format!("{address}: {e}"))
}

fn http_ok(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// is supported"))?;
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream = connect(host)?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n")
        .map_err(|e| format!("{url}: {e}"))?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head).map_err(|e| format!("{url}: {e}"))?;
    let line = String::from_utf8_lossy(&head[..n]);
    if line.split_whitespace().nth(1) == Some("200") {
        Ok(())
    } else {
        Err(format!(
            "{url} answered `{}`",
            line.lines().next().unwrap_or_default()
        ))
    }
}

/// `GET url` (http:// only, HTTP/1.0): the status code and the body.
pub fn http_get(url: &str) -> Result<(u16, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// is supported"))?;
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream = connect(host)?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n")
        .map_err(|e| format!("{url}: {e}"))?;
    // Until the server closes; an error after some data (a reset on close)
    // ends the answer rather than failing it.
    let mut answer = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let started = std::time::Instant::now();
    while answer.len() < 8 << 20 {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            // WASI sockets may say "not yet" rather than block.
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::Interrupted
                        | std::io::ErrorKind::TimedOut
                ) && started.elapsed() < Duration::from_secs(5) =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(_) if !answer.is_empty() => break,
            Err(e) => return Err(format!("{url}: {e}")),
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{url}: not an HTTP answer"))?;
    let chunked = head
        .lines()
        .any(|l| l.to_ascii_lowercase().replace(' ', "") == "transfer-encoding:chunked");
    Ok((
        status,
        if chunked {
            dechunk(body)
        } else {
            body.to_owned()
        },
    ))
}

/// The body of a `Transfer-Encoding: chunked` answer (HAProxy answers so
/// even to HTTP/1.0).
fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16) else {
            break;
        };
        let Some(chunk) = after.get(..n).filter(|_| n > 0) else {
            break;
        };
        out.push_str(chunk);
        rest = after[n..].strip_prefix("\r\n").unwrap_or(&after[n..]);
    }
    out
}

#[cfg(test)]
#[test]
fn chunked_bodies_are_joined() {
    assert_eq!(dechunk("4\r\n# px\r\n3;x\r\nabc\r\n0\r\n\r\n"), "# pxabc");
}

/// Runs `sql` with psql in `container`; its unaligned, tuples-only output.
pub fn psql(container: &str, user: &str, database: &str, sql: &str) -> Result<String, Error> {
    let request = ExecRequest::new([
        "psql",
        "-X",
        "-q",
        "-At",
        "-v",
        "ON_ERROR_STOP=1",
        "-U",
        user,
        "-d",
        database,
        "-c",
        sql,
    ])
    .timeout_seconds(60);
    let out = containers::open(container)?.exec(&request)?;
    if !out.success() {
        return Err(Error::failed(format!(
            "psql in `{container}` (database {database}) failed: {}",
            out.stderr_text().trim()
        )));
    }
    Ok(out.stdout_text())
}
