//! The Compose file, read into the stack the plugin creates. Every key of
//! the Compose Specification that real files use is read and its value
//! checked here, before anything runs; a key the plugin cannot honour is
//! reported with why (`unsupported`), a key that is not Compose's at all as a
//! problem with a did-you-mean. Every problem of the file is collected, not
//! only the first. `x-` keys are extensions and ignored, except `x-run` on a
//! service (readiness, see `Ready`).

mod build;
mod extends;
mod keys;
mod lines;
mod merge;
mod service;

use std::collections::BTreeMap;

pub use lines::line_of;

use serde_yaml_ng::{Mapping, Value};

use crate::duration::parse_ms;
use crate::interpolate::{Missing, interpolate};

pub use build::Build;
pub use service::Service;

/// What the file reads besides its own text.
pub struct Sources<'a> {
    /// Variables: the task's environment, then the project's `.env`.
    pub lookup: &'a dyn Fn(&str) -> Option<String>,
    /// A file by its path relative to the Compose file's directory (`env_file`).
    pub read: &'a dyn Fn(&str) -> Result<String, String>,
}

/// A whole Compose file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stack {
    /// The file's `name`, if any.
    pub name: Option<String>,
    /// In file order.
    pub services: Vec<Service>,
    /// Top-level networks by key (the key services use).
    pub networks: BTreeMap<String, ResourceDef>,
    /// Top-level volumes by key.
    pub volumes: BTreeMap<String, ResourceDef>,
    /// Top-level secrets by key: files mounted at `/run/secrets/NAME`.
    pub secrets: BTreeMap<String, String>,
    /// Top-level configs by key: files mounted at `/NAME` (or their target).
    pub configs: BTreeMap<String, String>,
    /// Keys this plugin does not support, by path, with what to do.
    pub unsupported: Vec<String>,
    /// Keys read but without effect here (`tty`), by path, with why.
    pub notes: Vec<String>,
    /// Variables used without a default that the environment lacks.
    pub missing_env: Vec<Missing>,
}

/// A top-level network or volume.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceDef {
    /// `name:`: the engine name, used as is.
    pub name: Option<String>,
    pub external: bool,
    /// A volume of the `local` driver whose `driver_opts` make it a host
    /// directory or a tmpfs: mounted as such, no engine volume created.
    pub local: Option<LocalVolume>,
    /// A network's `ipam.config` pools (subnets it is created with).
    pub ipam: Vec<Pool>,
    /// A network's `enable_ipv6`.
    pub enable_ipv6: bool,
}

/// One `ipam.config` entry of a network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pool {
    pub subnet: String,
    pub gateway: Option<String>,
    pub ip_range: Option<String>,
    pub aux_addresses: Vec<(String, String)>,
}

/// What `driver: local` with `driver_opts` mounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalVolume {
    /// `type: none, o: bind, device: PATH`: the host directory PATH, as
    /// written (relative to the Compose file), checked by the host as a bind.
    Bind(String),
    /// `type: tmpfs`: memory, with `o: size=…` if given.
    Tmpfs { size_bytes: Option<u64> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Condition {
    Started,
    Healthy,
    CompletedSuccessfully,
}

impl Condition {
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Started => "service_started",
            Condition::Healthy => "service_healthy",
            Condition::CompletedSuccessfully => "service_completed_successfully",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    pub host_ip: Option<String>,
    pub host_port: Option<u16>,
    pub container_port: u16,
    pub protocol: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeMount {
    /// volume, bind or tmpfs.
    pub kind: String,
    /// The volume key, or the bind's path as written (relative to the file);
    /// empty for an anonymous volume.
    pub source: String,
    pub target: String,
    pub read_only: bool,
    /// tmpfs only.
    pub size_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Healthcheck {
    /// `disable: true` or `test: ["NONE"]`.
    Disabled,
    Check {
        test: Vec<String>,
        interval_ms: Option<u64>,
        timeout_ms: Option<u64>,
        retries: Option<u32>,
        start_period_ms: Option<u64>,
        start_interval_ms: Option<u64>,
    },
}

/// How the plugin decides a service is ready, beyond its health check:
/// `x-run: { ready: { http: URL | tcp: HOST:PORT | log: TEXT }, timeout: 60s, url: URL }`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ready {
    pub http: Option<String>,
    pub tcp: Option<String>,
    pub log: Option<String>,
    pub timeout_ms: Option<u64>,
    /// The URL shown in the table instead of the one derived from ports.
    pub url: Option<String>,
}

/// Why a file cannot be used: every problem, by path.
pub type Problems = Vec<String>;

struct Reader<'a> {
    sources: &'a Sources<'a>,
    problems: Problems,
    unsupported: Vec<String>,
    notes: Vec<String>,
    missing: Vec<Missing>,
}

fn key_str(key: &Value, path: &str) -> Result<String, String> {
    match key {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(format!("{path}: keys must be strings")),
    }
}

fn get<'m>(map: &'m Mapping, key: &str) -> Option<&'m Value> {
    map.get(Value::String(key.into()))
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

impl Reader<'_> {
    /// The value, or the problem recorded and `None`.
    fn ok<T>(&mut self, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(problem) => {
                self.problems.push(problem);
                None
            }
        }
    }

    fn text(&mut self, value: &Value, path: &str) -> Result<String, String> {
        let raw = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => String::new(),
            _ => return Err(format!("{path}: expected a string")),
        };
        interpolate(&raw, self.sources.lookup, &mut self.missing)
            .map_err(|e| format!("{path}: {e}"))
    }

    fn bool(&mut self, value: &Value, path: &str) -> Result<bool, String> {
        match value {
            Value::Bool(b) => Ok(*b),
            _ => match self.text(value, path)?.as_str() {
                "true" | "True" | "yes" => Ok(true),
                "false" | "False" | "no" => Ok(false),
                other => Err(format!("{path}: `{other}` is not true or false")),
            },
        }
    }

    fn mapping<'v>(&self, value: &'v Value, path: &str) -> Result<&'v Mapping, String> {
        value
            .as_mapping()
            .ok_or_else(|| format!("{path}: expected a mapping"))
    }

    /// Checks the keys of `map`: `known` ones are read, `unsupported` ones
    /// reported with what to do, `x-` ones are extensions, and any other is
    /// a problem, with the closest known key when there is one.
    fn keys(&mut self, map: &Mapping, known: &[&str], unsupported: &[(&str, &str)], path: &str) {
        for key in map.keys() {
            let key = match key_str(key, path) {
                Ok(k) => k,
                Err(e) => {
                    self.problems.push(e);
                    continue;
                }
            };
            let at = join(path, &key);
            if known.contains(&key.as_str()) || key.starts_with("x-") {
                continue;
            }
            if let Some((_, why)) = unsupported.iter().find(|(k, _)| *k == key) {
                self.unsupported.push(format!("{at} ({why})"));
                continue;
            }
            let all = known
                .iter()
                .copied()
                .chain(unsupported.iter().map(|(k, _)| *k));
            self.problems.push(match keys::did_you_mean(&key, all) {
                Some(close) => format!("{at}: unknown key; did you mean `{close}`?"),
                None => format!(
                    "{at}: unknown key (not in the Compose Specification; extensions start with `x-`)"
                ),
            });
        }
    }

    /// A string (split like a shell would, for `command: echo hi`) or a list.
    fn command(&mut self, value: &Value, path: &str) -> Result<Vec<String>, String> {
        match value {
            Value::Sequence(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| self.text(v, &format!("{path}[{i}]")))
                .collect(),
            _ => {
                let text = self.text(value, path)?;
                split_shell(&text).map_err(|e| format!("{path}: {e}"))
            }
        }
    }

    /// `KEY: value` mappings or `KEY=value` lists (environment, labels);
    /// `KEY` alone (or `KEY:` without a value) passes a variable through
    /// from the environment when `pass_through`.
    fn pairs(
        &mut self,
        value: &Value,
        path: &str,
        pass_through: bool,
    ) -> Result<Vec<(String, String)>, String> {
        let mut out = Vec::new();
        match value {
            Value::Mapping(map) => {
                for (k, v) in map {
                    let key = key_str(k, path)?;
                    if v.is_null() && pass_through {
                        if let Some(v) = (self.sources.lookup)(&key) {
                            out.push((key, v));
                        }
                        continue;
                    }
                    let value = self.text(v, &join(path, &key))?;
                    out.push((key, value));
                }
            }
            Value::Sequence(items) => {
                for (i, item) in items.iter().enumerate() {
                    let text = self.text(item, &format!("{path}[{i}]"))?;
                    match text.split_once('=') {
                        Some((k, v)) => out.push((k.to_owned(), v.to_owned())),
                        None if pass_through => {
                            if let Some(v) = (self.sources.lookup)(&text) {
                                out.push((text, v));
                            }
                        }
                        None => out.push((text, String::new())),
                    }
                }
            }
            Value::Null => {}
            _ => return Err(format!("{path}: expected a mapping or a list")),
        }
        Ok(out)
    }

    fn list(&mut self, value: &Value, path: &str) -> Result<Vec<String>, String> {
        match value {
            Value::Sequence(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| self.text(v, &format!("{path}[{i}]")))
                .collect(),
            Value::Null => Ok(Vec::new()),
            other => Ok(vec![self.text(other, path)?]),
        }
    }

    fn duration(&mut self, value: &Value, path: &str) -> Result<u64, String> {
        let text = self.text(value, path)?;
        parse_ms(&text).map_err(|e| format!("{path}: {e}"))
    }

    /// The top-level `networks` or `volumes` (`section`): each with `name`
    /// and `external`; a `driver` other than `driver` is unsupported.
    fn resources(
        &mut self,
        value: Option<&Value>,
        section: &str,
        driver: &str,
    ) -> BTreeMap<String, ResourceDef> {
        let mut defs = BTreeMap::new();
        let Some(value) = value else {
            return defs;
        };
        let Some(map) = ({
            let r = self.mapping(value, section);
            self.ok(r)
        }) else {
            return defs;
        };
        for (k, v) in map {
            let Some(key) = self.ok(key_str(k, section)) else {
                continue;
            };
            let at = format!("{section}.{key}");
            let mut def = ResourceDef::default();
            if let Value::Mapping(m) = v {
                self.keys(
                    m,
                    &[
                        "name",
                        "external",
                        "driver",
                        "labels",
                        "driver_opts",
                        "attachable",
                        "enable_ipv6",
                        "ipam",
                        "internal",
                    ],
                    &[],
                    &at,
                );
                if let Some(n) = get(m, "name") {
                    def.name = {
                        let r = self.text(n, &format!("{at}.name"));
                        self.ok(r)
                    };
                }
                if let Some(e) = get(m, "external") {
                    def.external = match e {
                        // The old `external: {name: …}` form.
                        Value::Mapping(_) => true,
                        other => {
                            let r = self.bool(other, &format!("{at}.external"));
                            self.ok(r)
                        }
                        .unwrap_or(false),
                    };
                }
                if let Some(d) = get(m, "driver") {
                    let used = self.text(d, &format!("{at}.driver"));
                    if let Some(used) = self.ok(used)
                        && used != driver
                    {
                        self.unsupported
                            .push(format!("{at}.driver ({used}; only {driver})"));
                    }
                }
                if let Some(opts) = get(m, "driver_opts") {
                    if section == "volumes" {
                        def.local = self.driver_opts(opts, &format!("{at}.driver_opts"));
                    } else {
                        self.unsupported
                            .push(format!("{at}.driver_opts (the engine's defaults are used)"));
                    }
                }
                if let Some(ipam) = get(m, "ipam") {
                    def.ipam = self.ipam(ipam, &format!("{at}.ipam"));
                }
                if let Some(v) = get(m, "enable_ipv6").filter(|_| section == "networks") {
                    let r = self.bool(v, &format!("{at}.enable_ipv6"));
                    def.enable_ipv6 = self.ok(r).unwrap_or(false);
                }
                for key in ["attachable", "internal", "labels"] {
                    if get(m, key).is_some() {
                        self.notes
                            .push(format!("{at}.{key} (not passed to the engine)"));
                    }
                }
            }
            defs.insert(key, def);
        }
        defs
    }

    /// A network's `ipam`: the default driver's `config` pools. Each value
    /// is checked by the host when the network is created (and by `--plan`).
    fn ipam(&mut self, value: &Value, at: &str) -> Vec<Pool> {
        let Some(map) = ({
            let r = self.mapping(value, at);
            self.ok(r)
        }) else {
            return Vec::new();
        };
        self.keys(
            map,
            &["driver", "config"],
            &[(
                "options",
                "IPAM driver options are not passed to the engine",
            )],
            at,
        );
        if let Some(d) = get(map, "driver") {
            let r = self.text(d, &format!("{at}.driver"));
            if let Some(driver) = self.ok(r).filter(|d| d != "default") {
                self.unsupported.push(format!(
                    "{at}.driver ({driver}; only the engine's `default` IPAM driver)"
                ));
            }
        }
        let mut pools = Vec::new();
        let Some(Value::Sequence(items)) = get(map, "config") else {
            if get(map, "config").is_some() {
                self.problems
                    .push(format!("{at}.config: expected a list of pools"));
            }
            return pools;
        };
        for (i, item) in items.iter().enumerate() {
            let at = format!("{at}.config[{i}]");
            let Some(m) = ({
                let r = self.mapping(item, &at);
                self.ok(r)
            }) else {
                continue;
            };
            self.keys(
                m,
                &["subnet", "gateway", "ip_range", "aux_addresses"],
                &[],
                &at,
            );
            let mut text = |key: &str| -> Option<String> {
                let r = self.text(get(m, key)?, &format!("{at}.{key}"));
                self.ok(r)
            };
            let (gateway, ip_range) = (text("gateway"), text("ip_range"));
            let Some(subnet) = text("subnet") else {
                self.problems.push(format!(
                    "{at}: a pool needs a `subnet` (the engine chooses one when `ipam` is left out)"
                ));
                continue;
            };
            let aux_addresses = match get(m, "aux_addresses") {
                Some(v) => {
                    let r = self.pairs(v, &format!("{at}.aux_addresses"), false);
                    self.ok(r).unwrap_or_default()
                }
                None => Vec::new(),
            };
            pools.push(Pool {
                subnet,
                gateway,
                ip_range,
                aux_addresses,
            });
        }
        pools
    }

    /// A local volume's `driver_opts`: a host directory (`type: none, o:
    /// bind, device: PATH`) or a tmpfs (`type: tmpfs`). Anything else (nfs,
    /// cifs, a block device) is mounted by the engine's host from somewhere
    /// no grant of the task names, so it is refused, saying what to use.
    fn driver_opts(&mut self, value: &Value, at: &str) -> Option<LocalVolume> {
        let map = {
            let r = self.mapping(value, at);
            self.ok(r)
        }?;
        let mut opts = BTreeMap::new();
        for (k, v) in map {
            let key = self.ok(key_str(k, at))?;
            let text = {
                let r = self.text(v, &join(at, &key));
                self.ok(r)
            }?;
            opts.insert(key, text);
        }
        let kind = opts.get("type").map(String::as_str).unwrap_or("");
        let options: Vec<&str> = opts
            .get("o")
            .map(|o| {
                o.split(',')
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        for key in opts.keys() {
            if !matches!(key.as_str(), "type" | "o" | "device") {
                self.unsupported.push(format!(
                    "{at}.{key} (only `type`, `o` and `device` of the local driver)"
                ));
            }
        }
        match kind {
            "none" if options.iter().any(|o| matches!(*o, "bind" | "rbind")) => {
                for option in &options {
                    if !matches!(*option, "bind" | "rbind" | "rw" | "ro") {
                        self.unsupported.push(format!(
                            "{at}.o (`{option}`: only bind, rbind, ro and rw for a host directory)"
                        ));
                    }
                }
                // `device: ${TEST_DIR}` unset: the variable is what to report
                // (with the prerequisites), not a missing device.
                let from_variable = get(map, "device")
                    .and_then(Value::as_str)
                    .is_some_and(|d| d.contains('$'));
                match opts
                    .get("device")
                    .filter(|d| !d.is_empty() || from_variable)
                {
                    Some(device) => Some(LocalVolume::Bind(device.clone())),
                    None => {
                        self.problems.push(format!(
                            "{at}: a bind (`o: bind`) needs `device`: the host directory"
                        ));
                        None
                    }
                }
            }
            "tmpfs" => {
                let mut size_bytes = None;
                for option in &options {
                    match option.split_once('=') {
                        Some(("size", size)) => {
                            size_bytes =
                                self.ok(parse_bytes(size).map_err(|e| format!("{at}.o: {e}")));
                        }
                        _ => self.unsupported.push(format!(
                            "{at}.o (`{option}`: only `size=` for a tmpfs volume)"
                        )),
                    }
                }
                Some(LocalVolume::Tmpfs { size_bytes })
            }
            other => {
                let what = if other.is_empty() {
                    "no `type`".to_owned()
                } else {
                    format!("type `{other}`")
                };
                self.unsupported.push(format!(
                    "{at} ({what}: the engine's host would mount a network share or a device that no grant of the task names; mount it on the host and bind the directory instead, with `type: none, o: bind, device: DIR` or a bind mount, inside allow.read or allow.write)"
                ));
                None
            }
        }
    }

    /// Top-level `secrets` or `configs`: file-based ones, by path.
    fn files(&mut self, value: Option<&Value>, section: &str) -> BTreeMap<String, String> {
        let mut defs = BTreeMap::new();
        let Some(value) = value else {
            return defs;
        };
        let Some(map) = ({
            let r = self.mapping(value, section);
            self.ok(r)
        }) else {
            return defs;
        };
        for (k, v) in map {
            let Some(key) = self.ok(key_str(k, section)) else {
                continue;
            };
            let at = format!("{section}.{key}");
            let Some(m) = ({
                let r = self.mapping(v, &at);
                self.ok(r)
            }) else {
                continue;
            };
            self.keys(
                m,
                &["file", "name"],
                &[
                    ("environment", "only file-based secrets and configs: write the value to a file and use `file`"),
                    ("content", "only file-based secrets and configs: write the content to a file and use `file`"),
                    ("external", "only file-based secrets and configs: give the file with `file`"),
                    ("template_driver", "templates are not rendered"),
                ],
                &at,
            );
            match get(m, "file") {
                Some(f) => {
                    if let Some(file) = {
                        let r = self.text(f, &format!("{at}.file"));
                        self.ok(r)
                    } {
                        defs.insert(key, file);
                    }
                }
                None if get(m, "environment").is_none()
                    && get(m, "content").is_none()
                    && get(m, "external").is_none() =>
                {
                    self.problems.push(format!("{at}: `file` is required"));
                }
                None => {}
            }
        }
        defs
    }
}

/// Reads a Compose file: every problem at once, or the stack.
pub fn parse(text: &str, sources: &Sources) -> Result<Stack, Problems> {
    let mut document: Value =
        serde_yaml_ng::from_str(text).map_err(|e| vec![format!("not valid YAML: {e}")])?;
    merge::resolve(&mut document, "").map_err(|e| vec![format!("bad `<<` merge: {e}")])?;
    let extended = extends::resolve(&mut document, sources.read);
    let mut reader = Reader {
        sources,
        problems: extended,
        unsupported: Vec::new(),
        notes: Vec::new(),
        missing: Vec::new(),
    };
    let top = reader.mapping(&document, "the file").map_err(|e| vec![e])?;
    reader.keys(top, keys::TOP, keys::TOP_UNSUPPORTED, "");
    let name = get(top, "name").and_then(|v| {
        let r = reader.text(v, "name");
        reader.ok(r)
    });
    let networks = reader.resources(get(top, "networks"), "networks", "bridge");
    let volumes = reader.resources(get(top, "volumes"), "volumes", "local");
    let secrets = reader.files(get(top, "secrets"), "secrets");
    let configs = reader.files(get(top, "configs"), "configs");
    let mut services = Vec::new();
    match get(top, "services").map(|s| reader.mapping(s, "services")) {
        None => reader.problems.push("no `services`".into()),
        Some(Err(e)) => reader.problems.push(e),
        Some(Ok(map)) => {
            if map.is_empty() {
                reader.problems.push("`services` is empty".into());
            }
            for (k, v) in map {
                let Some(name) = reader.ok(key_str(k, "services")) else {
                    continue;
                };
                if let Some(()) = reader.ok(check_service_name(&name))
                    && let Some(service) = reader.service(&name, v)
                {
                    services.push(service);
                }
            }
        }
    }
    let stack = Stack {
        name,
        services,
        networks,
        volumes,
        secrets,
        configs,
        unsupported: std::mem::take(&mut reader.unsupported),
        notes: reader.notes,
        missing_env: reader.missing,
    };
    let mut problems = reader.problems;
    problems.extend(check_references(&stack));
    if problems.is_empty() {
        Ok(stack)
    } else {
        // The keys it cannot honour are problems of the file too.
        problems.extend(
            stack
                .unsupported
                .iter()
                .map(|u| format!("{u}: not supported")),
        );
        Err(problems)
    }
}

fn check_service_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "services.{name}: a service name uses letters, digits, `-`, `_` and `.`"
        ))
    }
}

/// Every `depends_on`, network, named volume, secret and config a service
/// uses is defined.
/// A fixed address (`ipv4_address`, `ipv6_address`) needs the network to
/// be this project's own, created with an `ipam` subnet holding the
/// address, and one container only to have it.
fn check_addresses(stack: &Stack, service: &Service, at: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (network, v4, v6) in &service.addresses {
        let at = format!("{at}.networks.{network}");
        let def = stack.networks.get(network);
        if def.is_some_and(|d| d.external) {
            problems.push(format!(
                "{at}: a fixed address needs the network to be this project's own; `{network}` is external, and its subnets are not this file's to give out"
            ));
            continue;
        }
        let pools: Vec<ipnet::IpNet> = def
            .map(|d| {
                d.ipam
                    .iter()
                    .filter_map(|p| p.subnet.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        for (key, address) in [("ipv4_address", v4), ("ipv6_address", v6)] {
            let Some(address) = address else { continue };
            let Ok(ip) = address.parse::<std::net::IpAddr>() else {
                continue;
            };
            if !pools.iter().any(|p| p.contains(&ip)) {
                problems.push(format!(
                    "{at}.{key}: `{address}` is in no subnet of network `{network}`; give the network one holding it (`ipam: {{config: [{{subnet: …}}]}}`)"
                ));
            }
        }
        if service.replicas > 1 {
            problems.push(format!(
                "{at}: a fixed address names one container, and the service runs {}",
                service.replicas
            ));
        }
    }
    problems
}

fn check_references(stack: &Stack) -> Problems {
    let mut problems = Vec::new();
    for service in &stack.services {
        let at = format!("services.{}", service.name);
        for dep in &service.depends_on {
            if dep.service == service.name {
                problems.push(format!(
                    "{at}.depends_on: a service cannot depend on itself"
                ));
            } else if dep.required && !stack.services.iter().any(|s| s.name == dep.service) {
                problems.push(format!("{at}.depends_on: no service `{}`", dep.service));
            }
        }
        for (network, _) in &service.networks {
            if network != "default" && !stack.networks.contains_key(network) {
                problems.push(format!(
                    "{at}.networks: network `{network}` is not defined under top-level `networks`"
                ));
            }
        }
        problems.extend(check_addresses(stack, service, &at));
        for mount in &service.volumes {
            if mount.kind == "volume"
                && !mount.source.is_empty()
                && !stack.volumes.contains_key(&mount.source)
            {
                problems.push(format!(
                    "{at}.volumes: volume `{}` is not defined under top-level `volumes`",
                    mount.source
                ));
            }
        }
        for (kind, used, defined) in [
            ("secret", &service.secrets, &stack.secrets),
            ("config", &service.configs, &stack.configs),
        ] {
            for file in used {
                if !defined.contains_key(&file.source)
                    && !stack
                        .unsupported
                        .iter()
                        .any(|u| u.starts_with(&format!("{kind}s.{}.", file.source)))
                {
                    problems.push(format!(
                        "{at}.{kind}s: {kind} `{}` is not defined under top-level `{kind}s`",
                        file.source
                    ));
                }
            }
        }
    }
    // quickstart mounts a tmpfs volume as each container's own tmpfs: one
    // container only, or their data would silently differ.
    for (key, def) in &stack.volumes {
        if !matches!(def.local, Some(LocalVolume::Tmpfs { .. })) {
            continue;
        }
        let users: Vec<&Service> = stack
            .services
            .iter()
            .filter(|s| {
                s.volumes
                    .iter()
                    .any(|m| m.kind == "volume" && &m.source == key)
            })
            .collect();
        let containers: u32 = users.iter().map(|s| s.replicas).sum();
        if containers > 1 {
            problems.push(format!(
                "volumes.{key}: a tmpfs volume is mounted as each container's own memory, and {containers} containers ({}) would share it; give each service its own (`tmpfs:`) or use a volume without `driver_opts`",
                users.iter().map(|s| format!("`{}`", s.name)).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    problems
}

fn port_number(text: &str) -> Result<u16, String> {
    text.trim()
        .parse::<u16>()
        .ok()
        .filter(|&p| p != 0)
        .ok_or_else(|| format!("`{text}` is not a port number"))
}

/// `80`, `8080:80`, `127.0.0.1:8080:80`, `8080:80/udp`, `127.0.0.1::80`.
fn short_port(text: &str) -> Result<Port, String> {
    let (spec, protocol) = text.rsplit_once('/').unwrap_or((text, "tcp"));
    if spec.contains('-') {
        return Err(format!("port ranges (`{text}`) are not supported"));
    }
    let parts: Vec<&str> = spec.rsplitn(3, ':').collect();
    let (host_ip, host_port, container) = match parts.as_slice() {
        [c] => (None, None, *c),
        [c, h] => (None, Some(*h), *c),
        [c, h, ip] => (Some(ip.trim_matches(['[', ']']).to_owned()), Some(*h), *c),
        _ => return Err(format!("`{text}` is not a port mapping")),
    };
    check_protocol(protocol)?;
    Ok(Port {
        host_ip: host_ip.filter(|ip| !ip.is_empty()),
        host_port: host_port
            .filter(|h| !h.is_empty())
            .map(port_number)
            .transpose()?,
        container_port: port_number(container)?,
        protocol: protocol.to_owned(),
    })
}

fn check_protocol(protocol: &str) -> Result<(), String> {
    match protocol {
        "tcp" | "udp" | "sctp" => Ok(()),
        other => Err(format!("unknown protocol `{other}` (tcp, udp or sctp)")),
    }
}

/// `name:/path[:ro]`, `./dir:/path[:ro]`, `/abs:/path`, or `/path` (anonymous).
fn short_volume(text: &str) -> Result<VolumeMount, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [t] => ("", *t, ""),
        [s, t] => (*s, *t, ""),
        [s, t, m] => (*s, *t, *m),
        _ => return Err(format!("`{text}` is not a volume mount")),
    };
    let mut read_only = false;
    for option in mode.split(',').filter(|o| !o.is_empty()) {
        match option {
            "rw" => read_only = false,
            "ro" => read_only = true,
            // SELinux relabelling and propagation: the engine's defaults.
            "z" | "Z" | "cached" | "delegated" | "consistent" | "nocopy" => {}
            other => return Err(format!("volume mode `{other}` in `{text}` (ro or rw)")),
        }
    }
    if !target.starts_with('/') {
        return Err(format!(
            "`{target}` in `{text}` is not an absolute path in the container"
        ));
    }
    let kind = if source.starts_with(['.', '/', '~']) {
        "bind"
    } else {
        "volume"
    };
    Ok(VolumeMount {
        kind: kind.into(),
        source: source.into(),
        target: target.into(),
        read_only,
        size_bytes: None,
    })
}

/// `512m`, `1g`, `1.5GB`, `100k`, or a number of bytes.
fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim().to_ascii_lowercase();
    let bad = || format!("`{text}` is not a size (write e.g. `512m`, `1g` or a number of bytes)");
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number.parse().map_err(|_| bad())?;
    let factor: u64 = match unit.trim() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(bad()),
    };
    let bytes = number * factor as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(bad());
    }
    Ok(bytes as u64)
}

/// Splits a command line the way Compose does for a string `command`:
/// whitespace separates words, quotes group them, a backslash escapes.
fn split_shell(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => word.push(chars.next().unwrap_or('\\')),
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {
                word.push(chars.next().unwrap_or('\\'));
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err(format!("unclosed quote in `{text}`"));
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests;
