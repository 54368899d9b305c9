//! A hostile plugin for the runner's tests, written against the WIT directly
//! (no SDK), so it builds whatever state the SDK is in. What it does is
//! chosen by its config's `mode`; `describe` and `needs` always try to reach
//! what an empty sandbox must not give them, and say what they reached on
//! stderr (`describe reached nothing`, `needs reached nothing`).

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use serde::Deserialize;

wit_bindgen::generate!({
    path: "../../wit",
    world: "plugin",
});

use exports::runner::plugin::handler::Guest;
use runner::plugin::types::{
    Descriptor, ErrorKind, Grant, GrantKind, PluginError, RunMode, TaskContext,
};

struct Hostile;

/// What `needs` probes, and the grants it then declares.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "kebab-case")]
struct Probe {
    read: Vec<String>,
    env: Vec<String>,
    connect: Vec<String>,
    resolve: Vec<String>,
    /// `KIND:VALUE` grants `needs` declares (`write:out`).
    needs: Vec<String>,
}

#[derive(Deserialize)]
#[serde(tag = "mode", rename_all = "kebab-case")]
enum Mode {
    /// Prints the run mode it was told: `mode=run` or `mode=plan`.
    #[serde(rename = "mode")]
    Told,
    Read {
        path: String,
    },
    Write {
        path: String,
        content: String,
    },
    Copy {
        from: String,
        to: String,
    },
    Connect {
        addr: String,
    },
    /// Resolves each host, one line each: `HOST: IPs` or `HOST: refused (...)`.
    Resolve {
        hosts: Vec<String>,
    },
    /// Opens (creating) `count` files in `dir` and holds them all; on an
    /// error (not the host's limit, which stops it) closes one, creates
    /// `dir/full` to say so, holds the rest for `hold-ms`, then fails.
    #[serde(rename_all = "kebab-case")]
    OpenFiles {
        dir: String,
        count: usize,
        #[serde(default)]
        hold_ms: u64,
    },
    /// Waits until `wait-for` exists (at most `wait-ms`), then opens `count`
    /// files in `dir`, holding them all.
    #[serde(rename_all = "kebab-case")]
    ReadFiles {
        dir: String,
        count: usize,
        wait_for: Option<String>,
        #[serde(default)]
        wait_ms: u64,
    },
    /// Writes to `stream` (stdout or stderr) forever, 64 KiB at a time.
    Flood {
        stream: String,
    },
    /// Allocates and touches `mb` MiB, one MiB at a time.
    Memory {
        mb: usize,
    },
}

fn failed(message: String) -> PluginError {
    PluginError {
        kind: ErrorKind::Failed,
        message,
        exit_code: None,
        grant: None,
    }
}

/// Everything of `probe` that could be reached, tried one by one.
fn probe(probe: &Probe) -> Vec<String> {
    let mut reached = Vec::new();
    for path in &probe.read {
        match std::fs::read_to_string(path) {
            Ok(text) => reached.push(format!("read {path}: {}", text.trim())),
            Err(e) => eprintln!("probe: read {path} refused: {e}"),
        }
    }
    if !probe.read.is_empty() {
        match std::fs::read_dir(".") {
            Ok(entries) => reached.push(format!("listed . ({} entries)", entries.count())),
            Err(e) => eprintln!("probe: list . refused: {e}"),
        }
    }
    for name in &probe.env {
        match std::env::var(name) {
            Ok(value) => reached.push(format!("env {name}={value}")),
            Err(_) => eprintln!("probe: env {name} not set"),
        }
    }
    let all = std::env::vars().count();
    if all > 0 {
        reached.push(format!("{all} environment variables"));
    }
    for addr in &probe.connect {
        match addr
            .to_socket_addrs()
            .map(|mut a| a.next())
            .and_then(|a| a.ok_or_else(|| std::io::Error::other("no address")))
            .and_then(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)))
        {
            Ok(_) => reached.push(format!("connected to {addr}")),
            Err(e) => eprintln!("probe: connect {addr} refused: {e}"),
        }
    }
    for host in &probe.resolve {
        match (host.as_str(), 0).to_socket_addrs() {
            Ok(addrs) => reached.push(format!("resolved {host}: {}", addrs.count())),
            Err(e) => eprintln!("probe: resolve {host} refused: {e}"),
        }
    }
    reached
}

fn report(stage: &str, reached: &[String]) {
    if reached.is_empty() {
        eprintln!("{stage} reached nothing");
    } else {
        eprintln!("{stage} REACHED: {}", reached.join("; "));
    }
}

fn grant(text: &str) -> Result<Grant, PluginError> {
    let (kind, value) = text
        .split_once(':')
        .ok_or_else(|| failed(format!("need `{text}`: write KIND:VALUE")))?;
    let kind = match kind {
        "read" => GrantKind::Read,
        "write" => GrantKind::Write,
        "network" => GrantKind::Network,
        "env" => GrantKind::Env,
        "containers" => GrantKind::Containers,
        other => return Err(failed(format!("need `{text}`: unknown kind `{other}`"))),
    };
    Ok(Grant {
        kind,
        value: value.to_owned(),
    })
}

impl Guest for Hostile {
    fn describe() -> Descriptor {
        // No input: it tries what a task would typically grant.
        let reached = probe(&Probe {
            read: vec!["secret/secret.txt".into()],
            env: vec!["HOSTILE_SECRET".into()],
            ..Probe::default()
        });
        report("describe", &reached);
        Descriptor {
            name: "hostile".into(),
            version: "0.1.0".into(),
            summary: "Tries what a hostile plugin would".into(),
            parameters: Vec::new(),
            needs: Vec::new(),
        }
    }

    fn needs(context: TaskContext) -> Result<Vec<Grant>, PluginError> {
        let config: Probe = serde_json::from_str(&context.config)
            .map_err(|e| failed(format!("bad config: {e}")))?;
        let reached = probe(&config);
        report("needs", &reached);
        if !reached.is_empty() {
            return Err(PluginError {
                kind: ErrorKind::Failed,
                message: format!("needs reached {}", reached.join("; ")),
                exit_code: Some(99),
                grant: None,
            });
        }
        config.needs.iter().map(|n| grant(n)).collect()
    }

    fn run(context: TaskContext) -> Result<(), PluginError> {
        let mode: Mode = serde_json::from_str(&context.config)
            .map_err(|e| failed(format!("bad config: {e}")))?;
        let result = run(mode, &context);
        let _ = std::io::stdout().flush();
        result
    }
}

fn run(mode: Mode, context: &TaskContext) -> Result<(), PluginError> {
    match mode {
        Mode::Told => {
            let mode = match context.mode {
                RunMode::Run => "run",
                RunMode::Plan => "plan",
            };
            println!("mode={mode}");
            Ok(())
        }
        Mode::Read { path } => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| failed(format!("read {path} refused: {e}")))?;
            print!("{text}");
            Ok(())
        }
        Mode::Write { path, content } => {
            std::fs::write(&path, content)
                .map_err(|e| failed(format!("write {path} refused: {e}")))?;
            println!("wrote {path}");
            Ok(())
        }
        Mode::Copy { from, to } => {
            let mut bytes = Vec::new();
            File::open(&from)
                .and_then(|mut f| f.read_to_end(&mut bytes))
                .map_err(|e| failed(format!("read {from} refused: {e}")))?;
            std::fs::write(&to, &bytes).map_err(|e| failed(format!("write {to} refused: {e}")))?;
            println!("copied {from} to {to} ({} bytes)", bytes.len());
            Ok(())
        }
        Mode::Connect { addr } => match TcpStream::connect(&addr) {
            Ok(_) => {
                println!("connected {addr}");
                Ok(())
            }
            Err(e) => Err(failed(format!("connect {addr} refused: {e}"))),
        },
        Mode::Resolve { hosts } => {
            for host in hosts {
                match (host.as_str(), 0).to_socket_addrs() {
                    Ok(addrs) => {
                        let ips: Vec<String> = addrs.map(|a| a.ip().to_string()).collect();
                        println!("{host}: {}", ips.join(" "));
                    }
                    Err(e) => println!("{host}: refused ({e})"),
                }
            }
            Ok(())
        }
        Mode::OpenFiles {
            dir,
            count,
            hold_ms,
        } => {
            let mut files = Vec::new();
            for i in 0..count {
                let path = format!("{dir}/f{i}");
                match File::create(&path) {
                    Ok(file) => files.push(file),
                    Err(e) => {
                        files.pop();
                        let _ = File::create(format!("{dir}/full"));
                        eprintln!("open #{i} failed: {e}; holding {} files", files.len());
                        std::thread::sleep(Duration::from_millis(hold_ms));
                        return Err(failed(format!("open #{i} failed: {e}")));
                    }
                }
            }
            println!("opened {} files", files.len());
            std::thread::sleep(Duration::from_millis(hold_ms));
            Ok(())
        }
        Mode::ReadFiles {
            dir,
            count,
            wait_for,
            wait_ms,
        } => {
            let waited = std::time::Instant::now();
            let arrived = || {
                wait_for
                    .as_ref()
                    .is_some_and(|path| std::fs::metadata(path).is_ok())
            };
            while waited.elapsed() < Duration::from_millis(wait_ms) && !arrived() {
                std::thread::sleep(Duration::from_millis(50));
            }
            let mut files = Vec::new();
            for i in 0..count {
                let path = format!("{dir}/f{i}");
                let file = File::create(&path)
                    .map_err(|e| failed(format!("open #{i} ({path}) failed: {e}")))?;
                files.push(file);
            }
            println!("opened {} files", files.len());
            Ok(())
        }
        Mode::Memory { mb } => {
            let mut chunks: Vec<Vec<u8>> = Vec::new();
            for _ in 0..mb {
                chunks.push(std::hint::black_box(vec![0xa5; 1 << 20]));
            }
            println!("allocated {} MiB", chunks.len());
            Ok(())
        }
        Mode::Flood { stream } => {
            let chunk = vec![b'x'; 64 << 10];
            loop {
                let written = if stream == "stderr" {
                    std::io::stderr().write_all(&chunk)
                } else {
                    std::io::stdout().write_all(&chunk)
                };
                written.map_err(|e| failed(format!("writing {stream} failed: {e}")))?;
            }
        }
    }
}

export!(Hostile);
