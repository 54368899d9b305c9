//! Which engine, chosen as the docker CLI chooses it:
//!
//! 1. `DOCKER_HOST` when set (`unix:///path`, `tcp://host:port`,
//!    `ssh://[user@]host[:port]`), with TLS when `DOCKER_TLS_VERIFY` (verify
//!    the engine against `ca.pem`) or `DOCKER_TLS` (do not verify) is set,
//!    the files `ca.pem`, `cert.pem` and `key.pem` in `DOCKER_CERT_PATH`
//!    (default: the CLI's config directory);
//! 2. else the Docker context `DOCKER_CONTEXT`, else the config's
//!    `currentContext` (`$DOCKER_CONFIG/config.json`, default
//!    `~/.docker/config.json`): its `meta.json` in
//!    `contexts/meta/<sha256 of the name>/`, its TLS files in
//!    `contexts/tls/<sha256 of the name>/docker/`; the context `default`
//!    is step 3;
//! 3. else Docker's socket, else a Podman socket when one exists.
//!
//! Resolving reads only files, never the network, so `--dry-run` names the
//! engine a task would use. Bad settings are errors naming the variable or
//! the file.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The engine's address and how it was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: Host,
    pub tls: Option<Tls>,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Unix(PathBuf),
    Tcp {
        host: String,
        port: u16,
    },
    Ssh {
        user: Option<String>,
        host: String,
        port: Option<u16>,
    },
}

/// TLS for a `tcp://` engine: the files, and whether the engine's
/// certificate is verified (against `ca` when given, else Mozilla's roots).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    pub verify: bool,
    pub ca: Option<PathBuf>,
    /// The client certificate and its key, when both exist.
    pub client: Option<(PathBuf, PathBuf)>,
    /// Where the files come from, for errors (`DOCKER_CERT_PATH=/x`).
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    DockerHost,
    /// A Docker context, named by `from` (`DOCKER_CONTEXT` or a config file).
    Context {
        name: String,
        from: String,
    },
    Default,
}

/// A setting that cannot be used: which one, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {problem}")]
pub struct SettingsError {
    pub setting: String,
    pub problem: String,
}

fn bad(setting: impl Into<String>, problem: impl Into<String>) -> SettingsError {
    SettingsError {
        setting: setting.into(),
        problem: problem.into(),
    }
}

impl Host {
    /// `tcp://host:port`, as the user would write it.
    pub fn url(&self) -> String {
        match self {
            Host::Unix(path) => format!("unix://{}", path.display()),
            Host::Tcp { host, port } => format!("tcp://{}:{port}", bracketed(host)),
            Host::Ssh { user, host, port } => {
                let user = user.as_ref().map(|u| format!("{u}@")).unwrap_or_default();
                let port = port.map(|p| format!(":{p}")).unwrap_or_default();
                format!("ssh://{user}{}{port}", bracketed(host))
            }
        }
    }
}

fn bracketed(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

impl Endpoint {
    /// Whether the engine runs on this machine, so host paths, host ports and
    /// process IDs mean the same to both: only a unix socket proves it.
    pub fn is_local(&self) -> bool {
        matches!(self.host, Host::Unix(_))
    }
}

/// `tcp://127.0.0.1:2376 (TLS, from DOCKER_HOST)`: the address, then how.
impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.host.url())?;
        let mut how = Vec::new();
        match &self.tls {
            Some(tls) if tls.verify => how.push("TLS".to_owned()),
            Some(_) => how.push("TLS, not verified".to_owned()),
            None => {}
        }
        match &self.origin {
            Origin::DockerHost => how.push("from DOCKER_HOST".into()),
            Origin::Context { name, from } => how.push(format!("Docker context `{name}` ({from})")),
            Origin::Default => {}
        }
        if !how.is_empty() {
            write!(f, " ({})", how.join(", "))?;
        }
        Ok(())
    }
}

/// The environment and files an endpoint is chosen from: the process's, or a
/// test's.
pub struct Settings {
    pub vars: HashMap<String, String>,
    /// `HOME`, for `~/.docker`.
    pub home: Option<PathBuf>,
}

impl Settings {
    pub fn from_env() -> Settings {
        Settings {
            vars: std::env::vars().collect(),
            home: std::env::var_os("HOME").map(PathBuf::from),
        }
    }

    fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The docker CLI's config directory: `DOCKER_CONFIG`, else `~/.docker`.
    fn config_dir(&self) -> Option<PathBuf> {
        match self.var("DOCKER_CONFIG") {
            Some(dir) => Some(PathBuf::from(dir)),
            None => self.home.as_ref().map(|h| h.join(".docker")),
        }
    }
}

/// The endpoint the settings choose (see the module doc).
pub fn resolve(settings: &Settings) -> Result<Endpoint, SettingsError> {
    if let Some(host) = settings.var("DOCKER_HOST") {
        let host = parse_host(host).map_err(|p| bad(format!("DOCKER_HOST={host}"), p))?;
        let tls = env_tls(settings, &host)?;
        return Ok(Endpoint {
            host,
            tls,
            origin: Origin::DockerHost,
        });
    }
    let context = match settings.var("DOCKER_CONTEXT") {
        Some(name) => Some((name.to_owned(), "DOCKER_CONTEXT".to_owned())),
        None => current_context(settings)?,
    };
    match context {
        Some((name, from)) if name != "default" => context_endpoint(settings, name, from),
        _ => Ok(Endpoint {
            host: default_host(),
            tls: None,
            origin: Origin::Default,
        }),
    }
}

/// Docker's socket; else a Podman socket if one exists.
fn default_host() -> Host {
    let docker = Path::new("/var/run/docker.sock");
    if docker.exists() {
        return Host::Unix(docker.to_owned());
    }
    let runtime = std::env::var("XDG_RUNTIME_DIR").unwrap_or_else(|_| "/run".into());
    for podman in [
        PathBuf::from(format!("{runtime}/podman/podman.sock")),
        PathBuf::from("/run/podman/podman.sock"),
    ] {
        if podman.exists() {
            return Host::Unix(podman);
        }
    }
    Host::Unix(docker.to_owned())
}

/// An engine address as the docker CLI takes it.
pub fn parse_host(text: &str) -> Result<Host, String> {
    let Some((scheme, rest)) = text.split_once("://") else {
        return Err("not an engine address: expected unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT]".into());
    };
    match scheme {
        "unix" => {
            if !rest.starts_with('/') {
                return Err(
                    "a unix socket needs an absolute path (unix:///run/docker.sock)".into(),
                );
            }
            Ok(Host::Unix(PathBuf::from(rest)))
        }
        "tcp" | "http" | "https" => {
            let authority = rest.strip_suffix('/').unwrap_or(rest);
            if authority.contains('/') || authority.contains('?') || authority.contains('@') {
                return Err("a tcp:// address is HOST:PORT, with nothing after it".into());
            }
            let (host, port) = split_port(authority)?;
            if host.is_empty() {
                return Err("the address has no host".into());
            }
            // The docker CLI's default ports: 2376 with TLS, 2375 without.
            let port = port.unwrap_or(if scheme == "https" { 2376 } else { 2375 });
            Ok(Host::Tcp { host, port })
        }
        "ssh" => {
            let authority = rest.strip_suffix('/').unwrap_or(rest);
            if authority.contains('/') || authority.contains('?') {
                return Err(
                    "an ssh:// address is [USER@]HOST[:PORT], with no path after it".into(),
                );
            }
            let (user, hostport) = match authority.rsplit_once('@') {
                Some((user, hostport)) => (Some(user.to_owned()), hostport),
                None => (None, authority),
            };
            if user
                .as_deref()
                .is_some_and(|u| u.is_empty() || u.contains(':'))
            {
                return Err("the user before `@` must be a plain name (no password)".into());
            }
            let (host, port) = split_port(hostport)?;
            if host.is_empty() || host.starts_with('-') {
                return Err("the address has no host".into());
            }
            Ok(Host::Ssh { user, host, port })
        }
        other => Err(format!(
            "`{other}://` is not supported: use unix://, tcp:// or ssh://"
        )),
    }
}

/// `host:port`, `[v6]:port`, or a host alone.
fn split_port(authority: &str) -> Result<(String, Option<u16>), String> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or("an IPv6 address needs a closing `]`")?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| format!("`{p}` is not a port"))?,
        ),
        None => None,
    };
    Ok((host.to_owned(), port))
}

/// TLS from `DOCKER_TLS_VERIFY`, `DOCKER_TLS` and `DOCKER_CERT_PATH`, for
/// a tcp:// engine (like the docker CLI, any non-empty value turns it on).
fn env_tls(settings: &Settings, host: &Host) -> Result<Option<Tls>, SettingsError> {
    let verify = settings.var("DOCKER_TLS_VERIFY").is_some();
    let https = matches!(host, Host::Tcp { .. })
        && settings
            .var("DOCKER_HOST")
            .is_some_and(|h| h.starts_with("https://"));
    if !verify && settings.var("DOCKER_TLS").is_none() && !https {
        return Ok(None);
    }
    if !matches!(host, Host::Tcp { .. }) {
        return Ok(None);
    }
    let (dir, source) = match settings.var("DOCKER_CERT_PATH") {
        Some(dir) => (PathBuf::from(dir), format!("DOCKER_CERT_PATH={dir}")),
        None => {
            let dir = settings.config_dir().ok_or_else(|| {
                bad(
                    "DOCKER_CERT_PATH",
                    "not set, and there is no HOME for ~/.docker",
                )
            })?;
            let source = format!("{} (DOCKER_CERT_PATH is not set)", dir.display());
            (dir, source)
        }
    };
    tls_files(&dir, verify, source, true).map(Some)
}

/// The TLS files in `dir`. With `verify`, `ca.pem` must exist when
/// `require_ca` (DOCKER_TLS_VERIFY, as the docker CLI); the client
/// certificate and key go together.
fn tls_files(
    dir: &Path,
    verify: bool,
    source: String,
    require_ca: bool,
) -> Result<Tls, SettingsError> {
    let file = |name: &str| {
        let path = dir.join(name);
        path.is_file().then_some(path)
    };
    let ca = file("ca.pem");
    if verify && require_ca && ca.is_none() {
        return Err(bad(
            source,
            format!("no ca.pem in {} to verify the engine with", dir.display()),
        ));
    }
    let client = match (file("cert.pem"), file("key.pem")) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        (Some(_), None) => {
            return Err(bad(
                source,
                format!("cert.pem without key.pem in {}", dir.display()),
            ));
        }
        (None, Some(_)) => {
            return Err(bad(
                source,
                format!("key.pem without cert.pem in {}", dir.display()),
            ));
        }
    };
    Ok(Tls {
        verify,
        ca,
        client,
        source,
    })
}

/// The config's `currentContext`, if it names one.
fn current_context(settings: &Settings) -> Result<Option<(String, String)>, SettingsError> {
    let Some(dir) = settings.config_dir() else {
        return Ok(None);
    };
    let path = dir.join("config.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(bad(path.display().to_string(), e.to_string())),
    };
    let config: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| bad(path.display().to_string(), format!("not valid JSON: {e}")))?;
    match config.get("currentContext") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(name)) if name.is_empty() => Ok(None),
        Some(serde_json::Value::String(name)) => Ok(Some((
            name.clone(),
            format!("currentContext in {}", path.display()),
        ))),
        Some(_) => Err(bad(
            path.display().to_string(),
            "`currentContext` must be a string",
        )),
    }
}

/// A context's directory name: the sha256 of its name, as the docker CLI
/// stores it.
pub fn context_dir_name(name: &str) -> String {
    hex::encode(Sha256::digest(name.as_bytes()))
}

/// The endpoint of context `name` (named by `from`).
fn context_endpoint(
    settings: &Settings,
    name: String,
    from: String,
) -> Result<Endpoint, SettingsError> {
    let setting = format!("Docker context `{name}` ({from})");
    let dir = settings.config_dir().ok_or_else(|| {
        bad(
            &setting,
            "there is no HOME for ~/.docker and no DOCKER_CONFIG",
        )
    })?;
    let hash = context_dir_name(&name);
    let meta = dir.join("contexts/meta").join(&hash).join("meta.json");
    let text = std::fs::read_to_string(&meta).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            bad(
                &setting,
                format!("no such context: {} does not exist", meta.display()),
            )
        } else {
            bad(meta.display().to_string(), e.to_string())
        }
    })?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| bad(meta.display().to_string(), format!("not valid JSON: {e}")))?;
    let docker = json
        .get("Endpoints")
        .and_then(|e| e.get("docker"))
        .ok_or_else(|| bad(meta.display().to_string(), "it has no `Endpoints.docker`"))?;
    let host = docker
        .get("Host")
        .and_then(|h| h.as_str())
        .filter(|h| !h.is_empty())
        .ok_or_else(|| {
            bad(
                meta.display().to_string(),
                "`Endpoints.docker.Host` is missing",
            )
        })?;
    let host = parse_host(host).map_err(|p| bad(format!("{} (Host {host})", meta.display()), p))?;
    let skip_verify = docker
        .get("SkipTLSVerify")
        .and_then(|s| s.as_bool())
        .unwrap_or(false);
    let tls_dir = dir.join("contexts/tls").join(&hash).join("docker");
    let tls = if matches!(host, Host::Tcp { .. }) && (tls_dir.is_dir() || skip_verify) {
        Some(tls_files(
            &tls_dir,
            !skip_verify,
            format!(
                "the TLS files of Docker context `{name}` in {}",
                tls_dir.display()
            ),
            false,
        )?)
    } else {
        None
    };
    Ok(Endpoint {
        host,
        tls,
        origin: Origin::Context { name, from },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)], home: &Path) -> Settings {
        Settings {
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            home: Some(home.to_owned()),
        }
    }

    /// Writes context `name` with `host` under `config` (as `docker context create` does).
    fn context(config: &Path, name: &str, host: &str, tls: bool) {
        let hash = context_dir_name(name);
        let meta = config.join("contexts/meta").join(&hash);
        std::fs::create_dir_all(&meta).unwrap();
        let json = serde_json::json!({
            "Name": name,
            "Metadata": {},
            "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": false}},
        });
        std::fs::write(meta.join("meta.json"), json.to_string()).unwrap();
        if tls {
            let dir = config.join("contexts/tls").join(&hash).join("docker");
            std::fs::create_dir_all(&dir).unwrap();
            for f in ["ca.pem", "cert.pem", "key.pem"] {
                std::fs::write(dir.join(f), "x").unwrap();
            }
        }
    }

    #[test]
    fn the_context_directory_is_the_sha256_of_the_name() {
        // As the docker CLI names it (`docker context create remote`).
        assert_eq!(
            context_dir_name("remote"),
            "b71199ebd070b36beab7317920c2c2f1d777df8d05e5527d8458fda57cb17a7a"
        );
        assert_eq!(context_dir_name("default").len(), 64);
    }

    #[test]
    fn addresses_parse_as_the_docker_cli_takes_them() {
        assert_eq!(
            parse_host("unix:///run/podman/podman.sock"),
            Ok(Host::Unix("/run/podman/podman.sock".into()))
        );
        assert_eq!(
            parse_host("tcp://10.0.0.5:2376"),
            Ok(Host::Tcp {
                host: "10.0.0.5".into(),
                port: 2376
            })
        );
        assert_eq!(
            parse_host("tcp://build-box"),
            Ok(Host::Tcp {
                host: "build-box".into(),
                port: 2375
            })
        );
        assert_eq!(
            parse_host("tcp://[::1]:2376/"),
            Ok(Host::Tcp {
                host: "::1".into(),
                port: 2376
            })
        );
        assert_eq!(
            parse_host("ssh://deploy@build-box:2222"),
            Ok(Host::Ssh {
                user: Some("deploy".into()),
                host: "build-box".into(),
                port: Some(2222)
            })
        );
        assert_eq!(
            parse_host("ssh://build-box"),
            Ok(Host::Ssh {
                user: None,
                host: "build-box".into(),
                port: None
            })
        );
        for bad in [
            "build-box:2375",
            "unix://run/docker.sock",
            "tcp://",
            "tcp://host:x",
            "tcp://host:0",
            "tcp://host:2375/path",
            "ssh://u:pw@host",
            "ssh://host/path",
            "ssh://-oProxyCommand=x",
            "fd://",
            "npipe:////./pipe/docker_engine",
        ] {
            assert!(parse_host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn docker_host_beats_every_context() {
        let home = tempfile::tempdir().unwrap();
        let config = home.path().join(".docker");
        context(&config, "remote", "ssh://deploy@build-box", false);
        std::fs::write(
            config.join("config.json"),
            r#"{"currentContext": "remote"}"#,
        )
        .unwrap();
        let s = settings(
            &[
                ("DOCKER_HOST", "tcp://127.0.0.1:2375"),
                ("DOCKER_CONTEXT", "remote"),
            ],
            home.path(),
        );
        let endpoint = resolve(&s).unwrap();
        assert_eq!(endpoint.origin, Origin::DockerHost);
        assert_eq!(
            endpoint.to_string(),
            "tcp://127.0.0.1:2375 (from DOCKER_HOST)"
        );
        assert!(!endpoint.is_local());
    }

    #[test]
    fn docker_context_beats_the_current_context() {
        let home = tempfile::tempdir().unwrap();
        let config = home.path().join(".docker");
        context(&config, "remote", "ssh://deploy@build-box", false);
        context(&config, "other", "tcp://other:2376", true);
        std::fs::write(config.join("config.json"), r#"{"currentContext": "other"}"#).unwrap();

        let endpoint = resolve(&settings(&[("DOCKER_CONTEXT", "remote")], home.path())).unwrap();
        assert_eq!(endpoint.host.url(), "ssh://deploy@build-box");
        assert_eq!(
            endpoint.to_string(),
            "ssh://deploy@build-box (Docker context `remote` (DOCKER_CONTEXT))"
        );

        let endpoint = resolve(&settings(&[], home.path())).unwrap();
        assert_eq!(endpoint.host.url(), "tcp://other:2376");
        let tls = endpoint.tls.unwrap();
        assert!(tls.verify);
        let dir = config
            .join("contexts/tls")
            .join(context_dir_name("other"))
            .join("docker");
        assert_eq!(tls.ca, Some(dir.join("ca.pem")));
        assert_eq!(
            tls.client,
            Some((dir.join("cert.pem"), dir.join("key.pem")))
        );
        assert!(
            matches!(endpoint.origin, Origin::Context { ref name, ref from }
            if name == "other" && from.starts_with("currentContext in "))
        );
    }

    #[test]
    fn docker_config_moves_the_config_directory() {
        let home = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        context(elsewhere.path(), "ci", "unix:///tmp/engine.sock", false);
        std::fs::write(
            elsewhere.path().join("config.json"),
            r#"{"currentContext":"ci"}"#,
        )
        .unwrap();
        let s = settings(
            &[("DOCKER_CONFIG", elsewhere.path().to_str().unwrap())],
            home.path(),
        );
        assert_eq!(
            resolve(&s).unwrap().host,
            Host::Unix("/tmp/engine.sock".into())
        );
    }

    #[test]
    fn the_default_context_is_the_local_engine() {
        let home = tempfile::tempdir().unwrap();
        let s = settings(&[("DOCKER_CONTEXT", "default")], home.path());
        let endpoint = resolve(&s).unwrap();
        assert_eq!(endpoint.origin, Origin::Default);
        assert!(endpoint.is_local());
        // No config at all: the same.
        assert_eq!(
            resolve(&settings(&[], home.path())).unwrap().origin,
            Origin::Default
        );
    }

    #[test]
    fn tls_comes_from_docker_cert_path() {
        let home = tempfile::tempdir().unwrap();
        let certs = tempfile::tempdir().unwrap();
        for f in ["ca.pem", "cert.pem", "key.pem"] {
            std::fs::write(certs.path().join(f), "x").unwrap();
        }
        let path = certs.path().to_str().unwrap();
        let s = settings(
            &[
                ("DOCKER_HOST", "tcp://127.0.0.1:2376"),
                ("DOCKER_TLS_VERIFY", "1"),
                ("DOCKER_CERT_PATH", path),
            ],
            home.path(),
        );
        let endpoint = resolve(&s).unwrap();
        assert_eq!(
            endpoint.to_string(),
            "tcp://127.0.0.1:2376 (TLS, from DOCKER_HOST)"
        );
        let tls = endpoint.tls.unwrap();
        assert_eq!(tls.ca, Some(certs.path().join("ca.pem")));

        // Without DOCKER_TLS_VERIFY, plain TCP.
        let s = settings(
            &[
                ("DOCKER_HOST", "tcp://127.0.0.1:2375"),
                ("DOCKER_CERT_PATH", path),
            ],
            home.path(),
        );
        assert_eq!(resolve(&s).unwrap().tls, None);
    }

    #[test]
    fn bad_settings_name_the_variable_or_the_file() {
        let home = tempfile::tempdir().unwrap();
        let err =
            resolve(&settings(&[("DOCKER_HOST", "build-box:2375")], home.path())).unwrap_err();
        assert_eq!(err.setting, "DOCKER_HOST=build-box:2375");

        let empty = tempfile::tempdir().unwrap();
        let err = resolve(&settings(
            &[
                ("DOCKER_HOST", "tcp://h:2376"),
                ("DOCKER_TLS_VERIFY", "1"),
                ("DOCKER_CERT_PATH", empty.path().to_str().unwrap()),
            ],
            home.path(),
        ))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "DOCKER_CERT_PATH={0}: no ca.pem in {0} to verify the engine with",
                empty.path().display()
            )
        );

        let err = resolve(&settings(&[("DOCKER_CONTEXT", "nope")], home.path())).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Docker context `nope` (DOCKER_CONTEXT): no such context: "),
            "{err}"
        );

        let config = home.path().join(".docker");
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(config.join("config.json"), "{not json").unwrap();
        let err = resolve(&settings(&[], home.path())).unwrap_err();
        assert_eq!(
            err.setting,
            config.join("config.json").display().to_string()
        );
        assert!(err.problem.starts_with("not valid JSON"), "{err}");
    }
}
