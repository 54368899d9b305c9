//! The fixture plugin the runner's tests drive: one component whose behaviour
//! is chosen by its config's `mode`, so each test needs only a tasks.toml.
//!
//! Every mode prints one stable line on success (except `read`, `list`, `env`
//! and `stdout-flood`, which print what they read or produce) or returns an
//! error whose message names what was refused.

use std::io::{BufWriter, Write as _};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use run_plugin_sdk::containers::{self, Filter};
use run_plugin_sdk::log::{self, Progress};
use run_plugin_sdk::{
    Access, Context, Descriptor, Error, Grant, GrantKind, Plugin, export_plugin, prompt,
};
use serde::Deserialize;

mod container_call;
mod fs_ops;

struct Fixture;

/// The `config` table: `mode` plus that mode's fields.
#[derive(Deserialize)]
#[serde(tag = "mode", rename_all = "kebab-case")]
enum Mode {
    Noop,
    Echo {
        append: Option<String>,
    },
    Read {
        path: String,
    },
    Write {
        path: String,
        content: String,
    },
    List {
        path: String,
    },
    /// Writes `content`, `times` times, through the host's `files`
    /// interface, prints the size and SHA-256 the host answers, and commits
    /// unless `commit = false` (then the run fails, dropping the file).
    /// Reads `path` through the host's `files` interface (read ahead by the
    /// host) and prints it.
    ReadFile {
        path: String,
    },
    /// Reads `read_first` bytes of `path` through the host's `files`
    /// interface, has the host pass over it through the line `line`, prints
    /// what it passed over, then the rest of the file.
    SkipFile {
        path: String,
        line: String,
        #[serde(default)]
        read_first: usize,
    },
    NewFile {
        path: String,
        content: String,
        #[serde(default = "one")]
        times: usize,
        #[serde(default = "yes")]
        commit: bool,
    },
    SymlinkRead {
        path: String,
    },
    Env,
    EnvGet {
        name: String,
    },
    Connect {
        addr: String,
    },
    Resolve {
        host: String,
    },
    /// GETs `url` into `path` through the SDK's `http` (the host's wasi:http).
    HttpGet {
        url: String,
        path: String,
        etag: Option<String>,
    },
    Loop,
    /// Writes `lines` lines to stderr, each as three writes `ms` apart
    /// ("NAME line I", " of", " N\n"): a line that reaches the host in pieces.
    Pieces {
        name: String,
        lines: u32,
        ms: u64,
    },
    Sleep {
        ms: u64,
    },
    /// Listens for cancellation until the run is cancelled, then spends `ms`
    /// cleaning up, deaf to further interrupts (a plugin slow to undo).
    SlowCleanup {
        ms: u64,
    },
    /// Takes the lock on `path` (waiting up to `wait-ms`), then holds it `hold-ms`.
    #[serde(rename_all = "kebab-case")]
    Lock {
        path: String,
        #[serde(default)]
        wait_ms: u64,
        #[serde(default)]
        hold_ms: u64,
    },
    Memory {
        mb: u64,
    },
    Trap,
    Fail {
        code: Option<u8>,
        message: String,
    },
    Log,
    Confirm {
        default: Option<bool>,
    },
    Select {
        default: Option<usize>,
    },
    Container,
    StdoutFlood {
        kb: u64,
    },
    /// Filesystem operations in order (symlinks, hard links, renames...).
    Fs {
        ops: Vec<fs_ops::Op>,
    },
    // Boxed: the call is far larger than every other mode.
    ContainerCall(Box<container_call::Call>),
}

/// What `needs` answers, from keys beside `mode` (ignored by `run`):
/// `needs = ["write:out", "containers:db"]` declares those grants,
/// `needs-error = "..."` fails with that message, and `needs-probe = "PATH"`
/// tries to read PATH and fails if it can (`needs` must run in an empty
/// sandbox).
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "kebab-case")]
struct Needs {
    needs: Vec<String>,
    needs_error: Option<String>,
    needs_probe: Option<String>,
}

const GRANT_KINDS: [GrantKind; 16] = [
    GrantKind::Read,
    GrantKind::Write,
    GrantKind::Network,
    GrantKind::Env,
    GrantKind::Containers,
    GrantKind::Images,
    GrantKind::Networks,
    GrantKind::Volumes,
    GrantKind::Ports,
    GrantKind::CapAdd,
    GrantKind::Namespaces,
    GrantKind::Devices,
    GrantKind::SecurityOpts,
    GrantKind::Privileged,
    GrantKind::Sysctls,
    GrantKind::Runtimes,
];

/// `KIND:VALUE`, KIND as in tasks.toml (`cap-add`, `security-opts`, ...).
fn grant(text: &str) -> Result<Grant, Error> {
    let (kind, value) = text
        .split_once(':')
        .ok_or_else(|| Error::invalid_input(format!("need `{text}`: write KIND:VALUE")))?;
    let kind = GRANT_KINDS
        .into_iter()
        .find(|k| k.as_str() == kind)
        .ok_or_else(|| Error::invalid_input(format!("need `{text}`: unknown kind `{kind}`")))?;
    Ok(Grant::new(kind, value))
}

impl Plugin for Fixture {
    fn describe() -> Descriptor {
        Descriptor::new("fixture", "0.1.0", "Test fixture")
    }

    fn needs(ctx: &Context) -> Result<Vec<Grant>, Error> {
        let needs: Needs = ctx.config()?;
        if let Some(path) = &needs.needs_probe
            && let Ok(contents) = std::fs::read_to_string(path)
        {
            return Err(Error::failed(format!(
                "needs could read {path}: {}",
                contents.trim()
            )));
        }
        if let Some(message) = needs.needs_error {
            return Err(Error::invalid_input(message));
        }
        needs.needs.iter().map(|n| grant(n)).collect()
    }

    fn run(ctx: Context) -> Result<(), Error> {
        match ctx.config::<Mode>()? {
            Mode::Noop => Ok(()),
            Mode::Echo { append } => echo(&ctx, append.as_deref()),
            Mode::Read { path } | Mode::SymlinkRead { path } => read(&path),
            Mode::Write { path, content } => {
                std::fs::write(&path, content).map_err(|e| Error::io(&path, Access::Write, e))?;
                println!("wrote {path}");
                Ok(())
            }
            Mode::List { path } => list(&path),
            Mode::ReadFile { path } => {
                use std::io::Read as _;
                let mut file = run_plugin_sdk::file::ReadFile::open(&path)?;
                let mut text = String::new();
                file.read_to_string(&mut text).map_err(|e| file.error(e))?;
                print!("{text}");
                Ok(())
            }
            Mode::SkipFile {
                path,
                line,
                read_first,
            } => skip_file(&path, &line, read_first),
            Mode::NewFile {
                path,
                content,
                times,
                commit,
            } => new_file(&path, &content, times, commit),
            Mode::Env => {
                let mut vars: Vec<(String, String)> = std::env::vars().collect();
                vars.sort();
                for (key, value) in vars {
                    println!("{key}={value}");
                }
                Ok(())
            }
            Mode::EnvGet { name } => match std::env::var(&name) {
                Ok(value) => {
                    println!("{value}");
                    Ok(())
                }
                Err(_) => Err(Error::denied(format!(
                    "environment variable `{name}` is not granted to this task"
                ))),
            },
            Mode::Connect { addr } => connect(&addr),
            Mode::Resolve { host } => resolve(&host),
            Mode::HttpGet { url, path, etag } => {
                match run_plugin_sdk::http::Get::new(url)
                    .if_none_match(etag.as_deref())
                    .save(&path)?
                {
                    run_plugin_sdk::http::Download::Saved { bytes, etag } => {
                        println!("saved {bytes} bytes to {path}, etag {etag:?}")
                    }
                    run_plugin_sdk::http::Download::NotModified => println!("not modified"),
                }
                Ok(())
            }
            Mode::Loop => spin(),
            Mode::Pieces { name, lines, ms } => {
                use std::io::Write as _;
                let mut stderr = std::io::stderr();
                for i in 1..=lines {
                    for piece in [
                        format!("{name} line {i}"),
                        " of".into(),
                        format!(" {lines}\n"),
                    ] {
                        let _ = stderr.write_all(piece.as_bytes());
                        std::thread::sleep(Duration::from_millis(ms));
                    }
                }
                Ok(())
            }
            Mode::Sleep { ms } => {
                std::thread::sleep(Duration::from_millis(ms));
                println!("slept {ms} ms");
                Ok(())
            }
            Mode::SlowCleanup { ms } => {
                // Calling the interface makes this plugin one the runner
                // waits for; only then may a test interrupt it.
                if !run_plugin_sdk::cancel::cancelled() {
                    eprintln!("holding until cancelled");
                }
                while !run_plugin_sdk::cancel::sleep(Duration::from_secs(60)) {}
                eprintln!("cleaning up for {ms} ms");
                std::thread::sleep(Duration::from_millis(ms));
                eprintln!("cleaned up");
                Ok(())
            }
            Mode::Lock {
                path,
                wait_ms,
                hold_ms,
            } => {
                let _lock = run_plugin_sdk::lock::acquire(&path, Duration::from_millis(wait_ms))?;
                eprintln!("locked {path}");
                std::thread::sleep(Duration::from_millis(hold_ms));
                println!("done with {path}");
                Ok(())
            }
            Mode::Memory { mb } => memory(mb),
            Mode::Trap => panic!("fixture trap: deliberate"),
            Mode::Fail { code, message } => {
                let error = Error::failed(message);
                Err(match code {
                    Some(code) => error.with_exit_code(code),
                    None => error,
                })
            }
            Mode::Log => {
                log::trace("trace message");
                log::debug("debug message");
                log::info("info message");
                log::warn("warn message");
                log::error("error message");
                let progress = Progress::start("progress", Some(3));
                for step in 1..=3 {
                    progress.set(step);
                }
                progress.finish(Some("progress done"));
                println!("logged");
                Ok(())
            }
            Mode::Confirm { default } => {
                let answer = prompt::confirm("Proceed?", default)?;
                println!("answer={answer}");
                Ok(())
            }
            Mode::Select { default } => {
                let options = ["alpha", "beta", "gamma"];
                let picked = prompt::select("Pick one", &options, default)?;
                let name = options.get(picked).ok_or_else(|| {
                    Error::failed(format!("the host picked option {picked} of 3"))
                })?;
                println!("picked={name}");
                Ok(())
            }
            Mode::Container => {
                match containers::list(Filter::All) {
                    Ok(found) => println!("containers={}", found.len()),
                    Err(e) => println!("kind={} message={}", e.kind(), e.message()),
                }
                Ok(())
            }
            Mode::StdoutFlood { kb } => flood(kb),
            Mode::Fs { ops } => fs_ops::run(ops),
            Mode::ContainerCall(call) => container_call::run(*call),
        }
    }
}

/// Prints the context one `key=value` line each; `hook_for=` is empty when
/// the task is not a hook. Appending the task's name to `append` lets a test
/// see how often and in which order tasks ran.
fn echo(ctx: &Context, append: Option<&str>) -> Result<(), Error> {
    println!("task={}", ctx.task());
    println!("args={}", ctx.args().join(" "));
    println!("mode={}", if ctx.is_plan() { "plan" } else { "run" });
    println!("interactive={}", ctx.interactive());
    println!("hook_for={}", ctx.hook_for().unwrap_or(""));
    println!("config={}", ctx.config_json());
    if let Some(path) = append {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut file| writeln!(file, "{}", ctx.task()))
            .map_err(|e| Error::io(path, Access::Write, e))?;
    }
    Ok(())
}

fn read(path: &str) -> Result<(), Error> {
    let contents = std::fs::read_to_string(path).map_err(|e| Error::io(path, Access::Read, e))?;
    print!("{contents}");
    Ok(())
}

fn list(path: &str) -> Result<(), Error> {
    let denied = |e| Error::io(path, Access::Read, e);
    let mut names = Vec::new();
    for entry in std::fs::read_dir(path).map_err(denied)? {
        names.push(
            entry
                .map_err(denied)?
                .file_name()
                .to_string_lossy()
                .into_owned(),
        );
    }
    names.sort();
    for name in names {
        println!("{name}");
    }
    Ok(())
}

fn connect(addr: &str) -> Result<(), Error> {
    match TcpStream::connect(addr) {
        Ok(_) => {
            println!("connected {addr}");
            Ok(())
        }
        Err(e) if refused_by_sandbox(&e) => Err(Error::denied(format!(
            "network access to {addr} refused: {e}"
        ))),
        Err(e) => Err(Error::failed(format!("could not connect to {addr}: {e}"))),
    }
}

/// wasmtime reports a socket address its policy rejects as `access-denied`,
/// which wasi-libc turns into EACCES; ENOTCAPABLE (76) means no network at all.
fn refused_by_sandbox(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::PermissionDenied || e.raw_os_error() == Some(76)
}

/// Any lookup failure counts as refused: a host that disallows name lookup
/// reports it as a resolver failure, indistinguishable from outside.
fn resolve(host: &str) -> Result<(), Error> {
    let addrs = (host, 0)
        .to_socket_addrs()
        .map_err(|e| Error::denied(format!("name lookup of {host} refused: {e}")))?;
    let mut ips: Vec<String> = addrs.map(|a| a.ip().to_string()).collect();
    ips.sort();
    ips.dedup();
    println!("resolved {host}: {}", ips.join(" "));
    Ok(())
}

/// Spins until the host's epoch or fuel limit interrupts it; `black_box`
/// keeps the optimizer from proving the loop pointless.
fn spin() -> ! {
    let mut counter = 0u64;
    loop {
        counter = std::hint::black_box(counter.wrapping_add(1));
    }
}

/// Allocates and touches `mb` MiB one MiB at a time, so the host's memory
/// limit is hit by `memory.grow`; a refused grow becomes a structured error.
fn memory(mb: u64) -> Result<(), Error> {
    const MIB: usize = 1 << 20;
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    for done in 0..mb {
        let mut chunk = Vec::new();
        chunk.try_reserve_exact(MIB).map_err(|_| {
            Error::failed(format!(
                "memory limit: allocation refused after {done} of {mb} MiB"
            ))
        })?;
        chunk.resize(MIB, 0xa5);
        chunks.push(std::hint::black_box(chunk));
    }
    println!("allocated {} MiB", chunks.len());
    Ok(())
}

fn flood(kb: u64) -> Result<(), Error> {
    // 16 lines of 64 bytes make one KiB.
    let line = format!("{}\n", "x".repeat(63));
    // Batched so the host sees large writes, not one call per line.
    let mut out = BufWriter::with_capacity(64 << 10, std::io::stdout().lock());
    for _ in 0..kb * 16 {
        out.write_all(line.as_bytes())
            .map_err(|e| Error::failed(format!("writing stdout failed: {e}")))?;
    }
    out.flush()
        .map_err(|e| Error::failed(format!("writing stdout failed: {e}")))
}

export_plugin!(Fixture);

fn one() -> usize {
    1
}

fn yes() -> bool {
    true
}

fn new_file(path: &str, content: &str, times: usize, commit: bool) -> Result<(), Error> {
    use run_plugin_sdk::file::NewFile;
    let mut file = NewFile::create(path)?;
    for _ in 0..times {
        file.write_all(content.as_bytes())
            .map_err(|e| file.error(e))?;
    }
    let written = file.finish()?;
    println!("{path}: {} bytes, sha256 {}", written.bytes, written.sha256);
    if !commit {
        return Err(Error::failed(format!("not committing {path}")));
    }
    file.commit()?;
    println!("committed {path}");
    Ok(())
}

fn skip_file(path: &str, line: &str, read_first: usize) -> Result<(), Error> {
    use std::io::Read as _;
    let mut file = run_plugin_sdk::file::ReadFile::open(path)?;
    let mut first = vec![0; read_first];
    file.read_exact(&mut first).map_err(|e| file.error(e))?;
    let skipped = file
        .skip_through_line(
            line.as_bytes(),
            !first.is_empty() && !first.ends_with(b"\n"),
        )
        .map_err(|e| file.error(e))?;
    println!(
        "skipped {} bytes, {} lines, found {}",
        skipped.bytes, skipped.lines, skipped.found
    );
    let mut rest = String::new();
    file.read_to_string(&mut rest).map_err(|e| file.error(e))?;
    print!("{rest}");
    Ok(())
}
