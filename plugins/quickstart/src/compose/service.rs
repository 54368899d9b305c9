//! One service of the Compose file, every value checked when it is read.

use run_plugin_sdk::containers::Signal;
use run_plugin_sdk::stacks::RestartPolicy;
use serde_yaml_ng::Value;

use super::{
    Build, Condition, Healthcheck, Port, Reader, Ready, VolumeMount, check_protocol, get, join,
    key_str, keys, parse_bytes, port_number, short_port, short_volume,
};
use crate::dotenv;

/// A `depends_on` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    pub service: String,
    pub condition: Condition,
    /// `required: false`: a missing or disabled service is no error.
    pub required: bool,
}

/// A secret or config a service mounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMount {
    /// The top-level key.
    pub source: String,
    /// Where in the container, as written (`/run/secrets/NAME` by default).
    pub target: Option<String>,
}

/// Resource limits, from `mem_limit`, `cpus`, ... or `deploy.resources`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    pub memory_bytes: Option<u64>,
    pub memory_reservation_bytes: Option<u64>,
    pub nano_cpus: Option<u64>,
    pub pids: Option<i64>,
    pub shm_size_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ulimit {
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub name: String,
    /// Empty when only `build` is given: the plan names it PROJECT-SERVICE.
    pub image: String,
    /// `build:`: the image is built from a context before the stack starts.
    pub build: Option<Build>,
    pub container_name: Option<String>,
    pub entrypoint: Option<Vec<String>>,
    pub command: Option<Vec<String>>,
    /// `env_file` entries first, then `environment` (which wins).
    pub environment: Vec<(String, String)>,
    pub labels: Vec<(String, String)>,
    pub ports: Vec<Port>,
    pub volumes: Vec<VolumeMount>,
    /// Network keys with aliases; empty means the project's default network.
    pub networks: Vec<(String, Vec<String>)>,
    /// Fixed addresses by network key: `ipv4_address`, `ipv6_address`.
    pub addresses: Vec<(String, Option<String>, Option<String>)>,
    /// Kernel parameters (`sysctls`), checked by the host.
    pub sysctls: Vec<(String, String)>,
    /// `runtime`: the engine's runtime to run under (granted by the host).
    pub runtime: Option<String>,
    /// `mac_address`: on the service's first network.
    pub mac_address: Option<String>,
    /// `network_mode`: `host`, `none`, `bridge`, `service:NAME` or `container:NAME`.
    pub network_mode: Option<String>,
    pub healthcheck: Option<Healthcheck>,
    pub depends_on: Vec<Dependency>,
    pub restart: RestartPolicy,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub stop_signal: Option<Signal>,
    pub stop_grace_ms: Option<u64>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub security_opt: Vec<String>,
    pub privileged: bool,
    pub read_only: bool,
    pub init: Option<bool>,
    pub ulimits: Vec<Ulimit>,
    pub limits: Limits,
    pub platform: Option<String>,
    pub profiles: Vec<String>,
    pub secrets: Vec<FileMount>,
    pub configs: Vec<FileMount>,
    pub extra_hosts: Vec<(String, String)>,
    pub pull_never: bool,
    /// `pid` and `ipc`: `host`, `service:NAME` or `container:NAME` (`ipc`
    /// also `private` and `shareable`).
    pub pid: Option<String>,
    pub ipc: Option<String>,
    /// `devices`: host path, container path, permissions.
    pub devices: Vec<(String, String, String)>,
    /// `deploy.replicas` (or `scale`): how many containers run the service.
    pub replicas: u32,
    pub ready: Ready,
}

impl Service {
    fn new(name: &str) -> Service {
        Service {
            name: name.to_owned(),
            image: String::new(),
            build: None,
            container_name: None,
            entrypoint: None,
            command: None,
            environment: Vec::new(),
            labels: Vec::new(),
            ports: Vec::new(),
            volumes: Vec::new(),
            networks: Vec::new(),
            addresses: Vec::new(),
            sysctls: Vec::new(),
            runtime: None,
            mac_address: None,
            network_mode: None,
            healthcheck: None,
            depends_on: Vec::new(),
            restart: RestartPolicy::No,
            user: None,
            working_dir: None,
            hostname: None,
            domainname: None,
            stop_signal: None,
            stop_grace_ms: None,
            cap_add: Vec::new(),
            cap_drop: Vec::new(),
            security_opt: Vec::new(),
            privileged: false,
            read_only: false,
            init: None,
            ulimits: Vec::new(),
            limits: Limits::default(),
            platform: None,
            profiles: Vec::new(),
            secrets: Vec::new(),
            configs: Vec::new(),
            extra_hosts: Vec::new(),
            pull_never: false,
            pid: None,
            ipc: None,
            devices: Vec::new(),
            replicas: 1,
            ready: Ready::default(),
        }
    }
}

impl Reader<'_> {
    /// The service, or `None` when its problems leave nothing to run (they
    /// are recorded either way).
    pub(super) fn service(&mut self, name: &str, value: &Value) -> Option<Service> {
        let path = format!("services.{name}");
        let map = {
            let r = self.mapping(value, &path);
            self.ok(r)
        }?;
        self.keys(map, keys::SERVICE, keys::SERVICE_UNSUPPORTED, &path);
        let mut s = Service::new(name);
        let at = |k: &str| format!("{path}.{k}");
        match get(map, "image") {
            Some(v) => {
                s.image = {
                    let r = self.text(v, &at("image"));
                    self.ok(r)
                }
                .unwrap_or_default()
            }
            // Built, and named PROJECT-SERVICE as under Compose.
            None if get(map, "build").is_some() => {}
            None => self
                .problems
                .push(format!("{path}: `image` or `build` is required")),
        }
        if let Some(v) = get(map, "build") {
            let r = self.build(v, &at("build"));
            s.build = self.ok(r);
        }
        macro_rules! field {
            ($key:expr, $read:expr) => {
                if let Some(v) = get(map, $key) {
                    let result = $read(self, v, at($key));
                    if let Some(value) = self.ok(result) {
                        value
                    } else {
                        Default::default()
                    }
                } else {
                    Default::default()
                }
            };
        }
        type R<T> = Result<T, String>;
        let text =
            |r: &mut Self, v: &Value, p: String| -> R<Option<String>> { r.text(v, &p).map(Some) };
        s.container_name = field!("container_name", text);
        s.user = field!("user", text);
        s.working_dir = field!("working_dir", text);
        s.hostname = field!("hostname", text);
        s.domainname = field!("domainname", text);
        s.platform = field!("platform", |r: &mut Self,
                                         v: &Value,
                                         p: String|
         -> R<Option<String>> {
            let platform = r.text(v, &p)?;
            let parts: Vec<&str> = platform.split('/').collect();
            if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.is_empty()) {
                return Err(format!(
                    "{p}: `{platform}` is not a platform (write OS/ARCH, e.g. linux/amd64)"
                ));
            }
            Ok(Some(platform))
        });
        s.restart = field!("restart", |r: &mut Self,
                                       v: &Value,
                                       p: String|
         -> R<Option<RestartPolicy>> {
            let text = r.text(v, &p)?;
            text.parse::<RestartPolicy>()
                .map(Some)
                .map_err(|e| format!("{p}: {}", e.message()))
        })
        .unwrap_or(RestartPolicy::No);
        s.stop_signal = field!("stop_signal", |r: &mut Self,
                                               v: &Value,
                                               p: String|
         -> R<Option<Signal>> {
            let text = r.text(v, &p)?;
            text.parse::<Signal>()
                .map(Some)
                .map_err(|e| format!("{p}: {}", e.message()))
        });
        s.stop_grace_ms = field!("stop_grace_period", |r: &mut Self,
                                                       v: &Value,
                                                       p: String|
         -> R<Option<u64>> {
            r.duration(v, &p).map(Some)
        });
        let command = |r: &mut Self, v: &Value, p: String| -> R<Option<Vec<String>>> {
            r.command(v, &p).map(Some)
        };
        s.entrypoint = field!("entrypoint", command);
        s.command = field!("command", command);
        let mut environment: Vec<(String, String)> = field!("env_file", Self::env_files);
        let env: Vec<(String, String)> =
            field!("environment", |r: &mut Self, v: &Value, p: String| r
                .pairs(v, &p, true));
        environment.retain(|(k, _)| !env.iter().any(|(e, _)| e == k));
        environment.extend(env);
        s.environment = environment;
        s.labels = field!("labels", |r: &mut Self, v: &Value, p: String| r
            .pairs(v, &p, false));
        s.ports = field!("ports", |r: &mut Self, v: &Value, p: String| r.ports(v, &p));
        let expose: Vec<String> =
            field!("expose", |r: &mut Self, v: &Value, p: String| r.list(v, &p));
        for (i, p) in expose.iter().enumerate() {
            let (number, protocol) = p.split_once('/').unwrap_or((p, "tcp"));
            let port = port_number(number).and_then(|n| check_protocol(protocol).map(|()| n));
            if let Some(container_port) =
                self.ok(port.map_err(|e| format!("{path}.expose[{i}]: {e}")))
            {
                s.ports.push(Port {
                    host_ip: None,
                    host_port: None,
                    container_port,
                    protocol: protocol.to_owned(),
                });
            }
        }
        s.volumes = field!("volumes", |r: &mut Self, v: &Value, p: String| r
            .volume_mounts(v, &p));
        let tmpfs: Vec<String> =
            field!("tmpfs", |r: &mut Self, v: &Value, p: String| r.list(v, &p));
        for target in tmpfs {
            // `/run:size=64m` is the short form with options.
            let (target, options) = target.split_once(':').unwrap_or((&target, ""));
            let mut size_bytes = None;
            for option in options.split(',').filter(|o| !o.is_empty()) {
                if let Some(size) = option.strip_prefix("size=") {
                    size_bytes =
                        self.ok(parse_bytes(size).map_err(|e| format!("{path}.tmpfs: {e}")));
                }
            }
            s.volumes.push(VolumeMount {
                kind: "tmpfs".into(),
                source: String::new(),
                target: target.to_owned(),
                read_only: false,
                size_bytes,
            });
        }
        s.networks = field!("networks", |r: &mut Self, v: &Value, p: String| r
            .networks(v, &p));
        s.addresses = get(map, "networks")
            .map(|v| self.addresses(v, &at("networks")))
            .unwrap_or_default();
        s.sysctls = field!("sysctls", |r: &mut Self, v: &Value, p: String| r
            .pairs(v, &p, false));
        s.runtime = field!("runtime", text);
        s.mac_address = field!("mac_address", text);
        s.network_mode = field!("network_mode", |r: &mut Self,
                                                 v: &Value,
                                                 p: String|
         -> R<Option<String>> {
            let mode = r.text(v, &p)?;
            let ok = matches!(mode.as_str(), "host" | "none" | "bridge")
                || mode.strip_prefix("service:").is_some_and(|s| !s.is_empty())
                || mode
                    .strip_prefix("container:")
                    .is_some_and(|s| !s.is_empty());
            if !ok {
                return Err(format!(
                    "{p}: `{mode}` is not a network mode (host, none, bridge, service:NAME or container:NAME)"
                ));
            }
            Ok(Some(mode))
        });
        if s.network_mode.is_some() && !s.networks.is_empty() {
            self.problems.push(format!(
                "{path}: `network_mode` and `networks` cannot both be set"
            ));
        }
        s.healthcheck = field!("healthcheck", |r: &mut Self, v: &Value, p: String| r
            .healthcheck(v, &p)
            .map(Some));
        s.depends_on = field!("depends_on", |r: &mut Self, v: &Value, p: String| r
            .depends_on(v, &p));
        let strings = |r: &mut Self, v: &Value, p: String| r.list(v, &p);
        s.cap_add = field!("cap_add", strings);
        s.cap_drop = field!("cap_drop", strings);
        s.security_opt = field!("security_opt", strings);
        s.profiles = field!("profiles", strings);
        let flag = |r: &mut Self, v: &Value, p: String| r.bool(v, &p);
        s.privileged = field!("privileged", flag);
        s.read_only = field!("read_only", flag);
        s.init = field!("init", |r: &mut Self, v: &Value, p: String| r
            .bool(v, &p)
            .map(Some));
        for key in ["tty", "stdin_open"] {
            if get(map, key).is_some() {
                let _: bool = field!(key, flag);
                self.notes.push(format!(
                    "{path}.{key} (containers run detached, without a terminal)"
                ));
            }
        }
        if get(map, "develop").is_some() {
            // As under `docker compose up`: only `watch` reads it.
            self.notes.push(format!(
                "{path}.develop (`docker compose watch` is not part of quickstart)"
            ));
        }
        s.ulimits = field!("ulimits", |r: &mut Self, v: &Value, p: String| r
            .ulimits(v, &p));
        let bytes = |r: &mut Self, v: &Value, p: String| -> R<Option<u64>> {
            let text = r.text(v, &p)?;
            parse_bytes(&text)
                .map(Some)
                .map_err(|e| format!("{p}: {e}"))
        };
        s.limits.memory_bytes = field!("mem_limit", bytes);
        s.limits.memory_reservation_bytes = field!("mem_reservation", bytes);
        s.limits.shm_size_bytes = field!("shm_size", bytes);
        s.limits.nano_cpus = field!("cpus", |r: &mut Self, v: &Value, p: String| r
            .cpus(v, &p)
            .map(Some));
        s.limits.pids = field!("pids_limit", |r: &mut Self,
                                              v: &Value,
                                              p: String|
         -> R<Option<i64>> {
            let text = r.text(v, &p)?;
            text.parse::<i64>()
                .map(Some)
                .map_err(|_| format!("{p}: `{text}` is not a number"))
        });
        if let Some(deploy) = get(map, "deploy") {
            let limits = std::mem::take(&mut s.limits);
            s.limits = {
                let r = self.deploy(deploy, &at("deploy"), limits);
                self.ok(r)
            }
            .unwrap_or_default();
        }
        s.replicas = self.replicas(map, &path, &s);
        let files = |r: &mut Self, v: &Value, p: String| r.file_mounts(v, &p);
        s.secrets = field!("secrets", files);
        s.configs = field!("configs", files);
        s.extra_hosts = field!("extra_hosts", |r: &mut Self,
                                               v: &Value,
                                               p: String|
         -> R<Vec<(String, String)>> {
            let mut out = Vec::new();
            let entries = match v {
                Value::Mapping(_) => r.pairs(v, &p, false)?,
                _ => r
                    .list(v, &p)?
                    .into_iter()
                    .map(|e| {
                        // `host=ip` or `host:ip` (an IPv6 address holds colons).
                        let (h, ip) = e
                            .split_once('=')
                            .or_else(|| e.split_once(':'))
                            .ok_or_else(|| format!("{p}: `{e}` is not HOST:IP"))?;
                        Ok((h.to_owned(), ip.trim_matches(['[', ']']).to_owned()))
                    })
                    .collect::<R<Vec<_>>>()?,
            };
            out.extend(entries);
            Ok(out)
        });
        s.pull_never = field!("pull_policy", |r: &mut Self,
                                              v: &Value,
                                              p: String|
         -> R<bool> {
            let policy = r.text(v, &p)?;
            match policy.as_str() {
                "never" => Ok(true),
                "always" | "missing" | "if_not_present" | "build" | "daily" | "weekly" => Ok(false),
                other => Err(format!(
                    "{p}: `{other}` is not a pull policy (always, missing, never, build)"
                )),
            }
        });
        let namespace = |r: &mut Self, v: &Value, p: String| -> R<Option<String>> {
            let mode = r.text(v, &p)?;
            let ok = matches!(mode.as_str(), "host" | "private" | "shareable")
                || mode.strip_prefix("service:").is_some_and(|s| !s.is_empty())
                || mode
                    .strip_prefix("container:")
                    .is_some_and(|s| !s.is_empty());
            if !ok || (p.ends_with(".pid") && matches!(mode.as_str(), "private" | "shareable")) {
                return Err(format!(
                    "{p}: `{mode}` is not a namespace mode (host, service:NAME or container:NAME)"
                ));
            }
            Ok(Some(mode))
        };
        s.pid = field!("pid", namespace);
        s.ipc = field!("ipc", namespace);
        s.devices = field!("devices", |r: &mut Self, v: &Value, p: String| r
            .devices(v, &p));
        s.ready = field!("x-run", |r: &mut Self, v: &Value, p: String| r.ready(v, &p));
        Some(s)
    }

    /// `env_file`: a path, a list of paths, or `{path, required, format}` entries.
    fn env_files(&mut self, value: &Value, path: String) -> Result<Vec<(String, String)>, String> {
        let entries: Vec<(String, bool)> = match value {
            Value::Sequence(items) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let at = format!("{path}[{i}]");
                    match item {
                        Value::Mapping(m) => {
                            self.keys(m, &["path", "required", "format"], &[], &at);
                            let file = get(m, "path")
                                .ok_or_else(|| format!("{at}: `path` is required"))?;
                            let file = self.text(file, &format!("{at}.path"))?;
                            let required = match get(m, "required") {
                                Some(r) => self.bool(r, &format!("{at}.required"))?,
                                None => true,
                            };
                            out.push((file, required));
                        }
                        other => out.push((self.text(other, &at)?, true)),
                    }
                }
                out
            }
            other => vec![(self.text(other, &path)?, true)],
        };
        let mut env: Vec<(String, String)> = Vec::new();
        for (file, required) in entries {
            let text = match (self.sources.read)(&file) {
                Ok(text) => text,
                Err(_) if !required => continue,
                Err(e) => {
                    self.problems
                        .push(format!("{path}: `{file}` cannot be read: {e}"));
                    continue;
                }
            };
            let parsed = dotenv::parse(&text)
                .map_err(|(line, why)| format!("{path}: {file}:{line}: {why}"))?;
            for (key, value) in parsed {
                let value = match value {
                    Some(v) if v.literal => v.text,
                    Some(v) => {
                        self.text(&Value::String(v.text), &format!("{path} ({file}: {key})"))?
                    }
                    None => match (self.sources.lookup)(&key) {
                        Some(v) => v,
                        None => continue,
                    },
                };
                env.retain(|(k, _)| k != &key);
                env.push((key, value));
            }
        }
        Ok(env)
    }

    /// `devices`: `HOST[:CONTAINER[:PERMISSIONS]]`, or `{source, target, permissions}`.
    fn devices(
        &mut self,
        value: &Value,
        path: &str,
    ) -> Result<Vec<(String, String, String)>, String> {
        let Value::Sequence(items) = value else {
            return Err(format!("{path}: expected a list"));
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{path}[{i}]");
            let (host, container, permissions) = match item {
                Value::Mapping(m) => {
                    self.keys(m, &["source", "target", "permissions"], &[], &at);
                    let source =
                        get(m, "source").ok_or_else(|| format!("{at}: `source` is required"))?;
                    let source = self.text(source, &format!("{at}.source"))?;
                    let target = match get(m, "target") {
                        Some(t) => self.text(t, &format!("{at}.target"))?,
                        None => source.clone(),
                    };
                    let permissions = match get(m, "permissions") {
                        Some(p) => self.text(p, &format!("{at}.permissions"))?,
                        None => "rwm".to_owned(),
                    };
                    (source, target, permissions)
                }
                other => {
                    let text = self.text(other, &at)?;
                    let parts: Vec<&str> = text.split(':').collect();
                    match parts.as_slice() {
                        [h] => (h.to_string(), h.to_string(), "rwm".to_owned()),
                        [h, c] => (h.to_string(), c.to_string(), "rwm".to_owned()),
                        [h, c, p] => (h.to_string(), c.to_string(), p.to_string()),
                        _ => {
                            return Err(format!(
                                "{at}: `{text}` is not HOST[:CONTAINER[:PERMISSIONS]]"
                            ));
                        }
                    }
                }
            };
            if permissions.is_empty() || !permissions.chars().all(|c| matches!(c, 'r' | 'w' | 'm'))
            {
                return Err(format!(
                    "{at}: device permissions `{permissions}` are some of r, w and m"
                ));
            }
            out.push((host, container, permissions));
        }
        Ok(out)
    }

    fn ports(&mut self, value: &Value, path: &str) -> Result<Vec<Port>, String> {
        let Value::Sequence(items) = value else {
            return Err(format!("{path}: expected a list"));
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{path}[{i}]");
            if let Value::Mapping(map) = item {
                self.keys(
                    map,
                    &[
                        "target",
                        "published",
                        "host_ip",
                        "protocol",
                        "mode",
                        "name",
                        "app_protocol",
                    ],
                    &[],
                    &at,
                );
                let target =
                    get(map, "target").ok_or_else(|| format!("{at}: `target` is required"))?;
                let target = self.text(target, &format!("{at}.target"))?;
                let published = match get(map, "published") {
                    Some(p) => Some(self.text(p, &format!("{at}.published"))?),
                    None => None,
                };
                let host_ip = match get(map, "host_ip") {
                    Some(h) => Some(self.text(h, &format!("{at}.host_ip"))?),
                    None => None,
                };
                let protocol = match get(map, "protocol") {
                    Some(p) => self.text(p, &format!("{at}.protocol"))?,
                    None => "tcp".into(),
                };
                check_protocol(&protocol).map_err(|e| format!("{at}.protocol: {e}"))?;
                out.push(Port {
                    host_ip,
                    host_port: published
                        .map(|p| port_number(&p).map_err(|e| format!("{at}.published: {e}")))
                        .transpose()?,
                    container_port: port_number(&target)
                        .map_err(|e| format!("{at}.target: {e}"))?,
                    protocol,
                });
            } else {
                let text = self.text(item, &at)?;
                match short_port(&text) {
                    Ok(port) => out.push(port),
                    Err(e) => self.problems.push(format!("{at}: {e}")),
                }
            }
        }
        Ok(out)
    }

    fn volume_mounts(&mut self, value: &Value, path: &str) -> Result<Vec<VolumeMount>, String> {
        let Value::Sequence(items) = value else {
            return Err(format!("{path}: expected a list"));
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{path}[{i}]");
            if let Value::Mapping(map) = item {
                self.keys(
                    map,
                    &[
                        "type",
                        "source",
                        "target",
                        "read_only",
                        "bind",
                        "volume",
                        "tmpfs",
                        "consistency",
                    ],
                    &[],
                    &at,
                );
                let kind = match get(map, "type") {
                    Some(t) => self.text(t, &format!("{at}.type"))?,
                    None => "volume".into(),
                };
                if !matches!(kind.as_str(), "volume" | "bind" | "tmpfs") {
                    self.unsupported
                        .push(format!("{at}.type ({kind}; only volume, bind and tmpfs)"));
                    continue;
                }
                let source = match get(map, "source") {
                    Some(s) => self.text(s, &format!("{at}.source"))?,
                    None => String::new(),
                };
                if kind == "bind" && source.is_empty() {
                    self.problems
                        .push(format!("{at}: a bind mount needs `source`"));
                    continue;
                }
                let target =
                    get(map, "target").ok_or_else(|| format!("{at}: `target` is required"))?;
                let read_only = match get(map, "read_only") {
                    Some(r) => self.bool(r, &format!("{at}.read_only"))?,
                    None => false,
                };
                let size_bytes = match get(map, "tmpfs").and_then(|t| get(t.as_mapping()?, "size"))
                {
                    Some(size) => {
                        let text = self.text(size, &format!("{at}.tmpfs.size"))?;
                        Some(parse_bytes(&text).map_err(|e| format!("{at}.tmpfs.size: {e}"))?)
                    }
                    None => None,
                };
                out.push(VolumeMount {
                    kind,
                    source,
                    target: self.text(target, &format!("{at}.target"))?,
                    read_only,
                    size_bytes,
                });
            } else {
                let text = self.text(item, &at)?;
                match short_volume(&text) {
                    Ok(mount) => out.push(mount),
                    Err(e) => self.problems.push(format!("{at}: {e}")),
                }
            }
        }
        Ok(out)
    }

    fn healthcheck(&mut self, value: &Value, path: &str) -> Result<Healthcheck, String> {
        let map = self.mapping(value, path)?;
        self.keys(
            map,
            &[
                "test",
                "interval",
                "timeout",
                "retries",
                "start_period",
                "start_interval",
                "disable",
            ],
            &[],
            path,
        );
        if let Some(d) = get(map, "disable")
            && self.bool(d, &format!("{path}.disable"))?
        {
            return Ok(Healthcheck::Disabled);
        }
        let test = match get(map, "test") {
            Some(t @ Value::Sequence(_)) => self.command(t, &format!("{path}.test"))?,
            Some(other) => vec![
                "CMD-SHELL".to_owned(),
                self.text(other, &format!("{path}.test"))?,
            ],
            None => return Err(format!("{path}: `test` is required")),
        };
        match test.first().map(String::as_str) {
            Some("NONE") => return Ok(Healthcheck::Disabled),
            Some("CMD" | "CMD-SHELL") => {}
            _ => {
                return Err(format!(
                    "{path}.test: a list starts with CMD, CMD-SHELL or NONE"
                ));
            }
        }
        let mut duration = |k: &str| -> Result<Option<u64>, String> {
            get(map, k)
                .map(|v| self.duration(v, &format!("{path}.{k}")))
                .transpose()
        };
        let interval_ms = duration("interval")?;
        let timeout_ms = duration("timeout")?;
        let start_period_ms = duration("start_period")?;
        let start_interval_ms = duration("start_interval")?;
        let retries = match get(map, "retries") {
            Some(v) => {
                let text = self.text(v, &format!("{path}.retries"))?;
                Some(
                    text.parse::<u32>()
                        .map_err(|_| format!("{path}.retries: `{text}` is not a number"))?,
                )
            }
            None => None,
        };
        Ok(Healthcheck::Check {
            test,
            interval_ms,
            timeout_ms,
            retries,
            start_period_ms,
            start_interval_ms,
        })
    }

    fn depends_on(
        &mut self,
        value: &Value,
        path: &str,
    ) -> Result<Vec<super::service::Dependency>, String> {
        let dependency = |service: String| Dependency {
            service,
            condition: Condition::Started,
            required: true,
        };
        match value {
            Value::Sequence(_) => Ok(self
                .list(value, path)?
                .into_iter()
                .map(dependency)
                .collect()),
            Value::Mapping(map) => {
                let mut out = Vec::new();
                for (k, v) in map {
                    let name = key_str(k, path)?;
                    let at = join(path, &name);
                    let mut dep = dependency(name);
                    if let Value::Mapping(m) = v {
                        self.keys(m, &["condition", "required", "restart"], &[], &at);
                        if let Some(c) = get(m, "condition") {
                            dep.condition = match self.text(c, &format!("{at}.condition"))?.as_str()
                            {
                                "service_started" => Condition::Started,
                                "service_healthy" => Condition::Healthy,
                                "service_completed_successfully" => {
                                    Condition::CompletedSuccessfully
                                }
                                other => {
                                    return Err(format!(
                                        "{at}.condition: unknown condition `{other}` (service_started, service_healthy or service_completed_successfully)"
                                    ));
                                }
                            };
                        }
                        if let Some(r) = get(m, "required") {
                            dep.required = self.bool(r, &format!("{at}.required"))?;
                        }
                        if let Some(r) = get(m, "restart") {
                            self.bool(r, &format!("{at}.restart"))?;
                        }
                    }
                    out.push(dep);
                }
                Ok(out)
            }
            _ => Err(format!("{path}: expected a list or a mapping")),
        }
    }

    fn networks(
        &mut self,
        value: &Value,
        path: &str,
    ) -> Result<Vec<(String, Vec<String>)>, String> {
        match value {
            Value::Sequence(_) => Ok(self
                .list(value, path)?
                .into_iter()
                .map(|n| (n, Vec::new()))
                .collect()),
            Value::Mapping(map) => {
                let mut out = Vec::new();
                for (k, v) in map {
                    let name = key_str(k, path)?;
                    let at = join(path, &name);
                    let mut aliases = Vec::new();
                    if let Value::Mapping(m) = v {
                        self.keys(
                            m,
                            &["aliases", "ipv4_address", "ipv6_address"],
                            &[
                                ("priority", "not passed to the engine"),
                                (
                                    "mac_address",
                                    "one MAC address per container: use the service's `mac_address` (set on its first network)",
                                ),
                                ("link_local_ips", "not passed to the engine"),
                                ("driver_opts", "not passed to the engine"),
                                ("gw_priority", "not passed to the engine"),
                                ("interface_name", "not passed to the engine"),
                            ],
                            &at,
                        );
                        if let Some(a) = get(m, "aliases") {
                            aliases = self.list(a, &format!("{at}.aliases"))?;
                        }
                    }
                    out.push((name, aliases));
                }
                Ok(out)
            }
            _ => Err(format!("{path}: expected a list or a mapping")),
        }
    }

    /// The fixed addresses of a `networks` mapping (`ipv4_address`,
    /// `ipv6_address`), by network key; each checked as an address here
    /// (the plan checks it lies in the network's subnet).
    fn addresses(
        &mut self,
        value: &Value,
        path: &str,
    ) -> Vec<(String, Option<String>, Option<String>)> {
        let Value::Mapping(map) = value else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in map {
            let (Ok(name), Value::Mapping(m)) = (key_str(k, path), v) else {
                continue;
            };
            let mut read = |key: &str, v6: bool| -> Option<String> {
                let at = format!("{path}.{name}.{key}");
                let text = {
                    let r = self.text(get(m, key)?, &at);
                    self.ok(r)
                }?;
                match text.parse::<std::net::IpAddr>() {
                    Ok(a) if a.is_ipv6() == v6 => Some(text),
                    _ => {
                        let want = if v6 { "IPv6" } else { "IPv4" };
                        self.problems
                            .push(format!("{at}: `{text}` is not an {want} address"));
                        None
                    }
                }
            };
            let v4 = read("ipv4_address", false);
            let v6 = read("ipv6_address", true);
            if v4.is_some() || v6.is_some() {
                out.push((name, v4, v6));
            }
        }
        out
    }

    fn ulimits(&mut self, value: &Value, path: &str) -> Result<Vec<Ulimit>, String> {
        let map = self.mapping(value, path)?;
        let mut out = Vec::new();
        for (k, v) in map {
            let name = key_str(k, path)?;
            let at = join(path, &name);
            let number = |r: &mut Self, v: &Value, p: &str| -> Result<i64, String> {
                let text = r.text(v, p)?;
                text.parse::<i64>()
                    .map_err(|_| format!("{p}: `{text}` is not a number"))
            };
            let (soft, hard) = match v {
                Value::Mapping(m) => {
                    self.keys(m, &["soft", "hard"], &[], &at);
                    let soft = get(m, "soft").ok_or_else(|| format!("{at}: `soft` is required"))?;
                    let hard = get(m, "hard").ok_or_else(|| format!("{at}: `hard` is required"))?;
                    (
                        number(self, soft, &format!("{at}.soft"))?,
                        number(self, hard, &format!("{at}.hard"))?,
                    )
                }
                other => {
                    let n = number(self, other, &at)?;
                    (n, n)
                }
            };
            if soft > hard {
                return Err(format!(
                    "{at}: the soft limit {soft} is above the hard limit {hard}"
                ));
            }
            out.push(Ulimit { name, soft, hard });
        }
        Ok(out)
    }

    fn cpus(&mut self, value: &Value, path: &str) -> Result<u64, String> {
        let text = self.text(value, path)?;
        match text.trim().parse::<f64>() {
            Ok(cpus) if cpus > 0.0 && cpus < 1e6 => Ok((cpus * 1e9).round() as u64),
            _ => Err(format!(
                "{path}: `{text}` is not a number of CPUs (e.g. 0.5 or 2)"
            )),
        }
    }

    /// `deploy`: `resources` is honoured (`replicas` is read by
    /// `replicas`); the rest is Swarm's and ignored, as `docker compose` does.
    fn deploy(&mut self, value: &Value, path: &str, mut limits: Limits) -> Result<Limits, String> {
        let map = self.mapping(value, path)?;
        self.keys(
            map,
            &[
                "resources",
                "replicas",
                "restart_policy",
                "labels",
                "placement",
                "update_config",
                "rollback_config",
                "mode",
                "endpoint_mode",
            ],
            &[],
            path,
        );
        if let Some(resources) = get(map, "resources") {
            let at = format!("{path}.resources");
            let resources = self.mapping(resources, &at)?;
            self.keys(resources, &["limits", "reservations"], &[], &at);
            if let Some(l) = get(resources, "limits") {
                let at = format!("{at}.limits");
                let l = self.mapping(l, &at)?;
                self.keys(l, &["cpus", "memory", "pids"], &[], &at);
                if let Some(c) = get(l, "cpus") {
                    limits.nano_cpus = Some(self.cpus(c, &format!("{at}.cpus"))?);
                }
                if let Some(m) = get(l, "memory") {
                    let text = self.text(m, &format!("{at}.memory"))?;
                    limits.memory_bytes =
                        Some(parse_bytes(&text).map_err(|e| format!("{at}.memory: {e}"))?);
                }
                if let Some(p) = get(l, "pids") {
                    let text = self.text(p, &format!("{at}.pids"))?;
                    limits.pids = Some(
                        text.parse()
                            .map_err(|_| format!("{at}.pids: `{text}` is not a number"))?,
                    );
                }
            }
            if let Some(r) = get(resources, "reservations") {
                let at = format!("{at}.reservations");
                let r = self.mapping(r, &at)?;
                self.keys(
                    r,
                    &["cpus", "memory"],
                    &[
                        ("devices", "devices (GPUs) are not passed to containers"),
                        ("generic_resources", "Swarm only"),
                    ],
                    &at,
                );
                if let Some(m) = get(r, "memory") {
                    let text = self.text(m, &format!("{at}.memory"))?;
                    limits.memory_reservation_bytes =
                        Some(parse_bytes(&text).map_err(|e| format!("{at}.memory: {e}"))?);
                }
            }
        }
        Ok(limits)
    }

    /// `deploy.replicas` and `scale` (which must agree, as under Compose):
    /// the number of containers, each named `PROJECT-SERVICE-N`. A fixed
    /// host port or a `container_name` can belong to one container only.
    fn replicas(&mut self, map: &serde_yaml_ng::Mapping, path: &str, s: &Service) -> u32 {
        let mut given: Vec<(String, u32)> = Vec::new();
        let deploy = get(map, "deploy").and_then(Value::as_mapping);
        for (at, value) in [
            (
                format!("{path}.deploy.replicas"),
                deploy.and_then(|d| get(d, "replicas")),
            ),
            (format!("{path}.scale"), get(map, "scale")),
        ] {
            let Some(value) = value else { continue };
            let Some(text) = ({
                let r = self.text(value, &at);
                self.ok(r)
            }) else {
                continue;
            };
            match text.trim().parse::<u32>() {
                Ok(0) => self.unsupported.push(format!(
                    "{at} (0: no container; disable the service with `profiles` instead)"
                )),
                Ok(n) => given.push((at, n)),
                Err(_) => self
                    .problems
                    .push(format!("{at}: `{text}` is not a number of containers")),
            }
        }
        let n = match given.as_slice() {
            [] => return 1,
            [(_, n)] => *n,
            [(a, n), (b, m)] => {
                if n != m {
                    self.problems
                        .push(format!("{b}: {m} and {a}: {n} disagree; keep one of them"));
                }
                *n
            }
            _ => unreachable!("two keys at most"),
        };
        if n > 1 {
            if let Some(name) = &s.container_name {
                self.problems.push(format!(
                    "{path}.container_name: `{name}` names one container, and the service runs {n}; remove it (the replicas are named PROJECT-{}-1 ... -{n})",
                    s.name
                ));
            }
            for port in s.ports.iter().filter(|p| p.host_port.is_some()) {
                self.problems.push(format!(
                    "{path}.ports: host port {} can be published by one of the {n} replicas only; leave the host port out (the engine picks one per replica) or run one replica",
                    port.host_port.unwrap_or_default()
                ));
            }
        }
        n
    }

    /// A service's `secrets` or `configs`: names, or `{source, target}`.
    fn file_mounts(&mut self, value: &Value, path: &str) -> Result<Vec<FileMount>, String> {
        let Value::Sequence(items) = value else {
            return Err(format!("{path}: expected a list"));
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{path}[{i}]");
            match item {
                Value::Mapping(m) => {
                    self.keys(m, &["source", "target", "uid", "gid", "mode"], &[], &at);
                    let source =
                        get(m, "source").ok_or_else(|| format!("{at}: `source` is required"))?;
                    let source = self.text(source, &format!("{at}.source"))?;
                    let target = get(m, "target")
                        .map(|t| self.text(t, &format!("{at}.target")))
                        .transpose()?;
                    for key in ["uid", "gid", "mode"] {
                        if get(m, key).is_some() {
                            self.notes.push(format!(
                                "{at}.{key} (a bind-mounted file keeps its own owner and mode)"
                            ));
                        }
                    }
                    out.push(FileMount { source, target });
                }
                other => out.push(FileMount {
                    source: self.text(other, &at)?,
                    target: None,
                }),
            }
        }
        Ok(out)
    }

    fn ready(&mut self, value: &Value, path: &str) -> Result<Ready, String> {
        let map = self.mapping(value, path)?;
        self.keys(map, &["ready", "timeout", "url"], &[], path);
        let mut ready = Ready::default();
        if let Some(r) = get(map, "ready") {
            let at = format!("{path}.ready");
            let m = self.mapping(r, &at)?;
            self.keys(m, &["http", "tcp", "log"], &[], &at);
            let mut field = |k: &str| -> Result<Option<String>, String> {
                get(m, k)
                    .map(|v| self.text(v, &format!("{at}.{k}")))
                    .transpose()
            };
            ready.http = field("http")?;
            ready.tcp = field("tcp")?;
            ready.log = field("log")?;
        }
        if let Some(t) = get(map, "timeout") {
            ready.timeout_ms = Some(self.duration(t, &format!("{path}.timeout"))?);
        }
        if let Some(u) = get(map, "url") {
            ready.url = Some(self.text(u, &format!("{path}.url"))?);
        }
        Ok(ready)
    }
}
