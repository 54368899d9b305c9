//! The Compose file, read into the stack the plugin creates. The subset a dev
//! stack needs is supported; every other key is reported by its path
//! (`services.web.build`), never dropped silently. `x-` keys are extensions
//! and ignored, except `x-run` on a service (readiness, see `Ready`).

use std::collections::BTreeMap;

use serde_yaml_ng::{Mapping, Value};

use crate::duration::parse_ms;
use crate::interpolate::{Missing, interpolate};

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
    /// Keys this plugin does not support, by path.
    pub unsupported: Vec<String>,
    /// Variables used without a default that the environment lacks.
    pub missing_env: Vec<Missing>,
}

/// A top-level network or volume.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceDef {
    /// `name:`: the engine name, used as is.
    pub name: Option<String>,
    pub external: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// The volume key, or the bind's path as written (relative to the project).
    pub source: String,
    pub target: String,
    pub read_only: bool,
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

#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub name: String,
    pub image: String,
    pub container_name: Option<String>,
    pub entrypoint: Option<Vec<String>>,
    pub command: Option<Vec<String>>,
    pub environment: Vec<(String, String)>,
    pub labels: Vec<(String, String)>,
    pub ports: Vec<Port>,
    pub volumes: Vec<VolumeMount>,
    /// Network keys with aliases; empty means the project's default network.
    pub networks: Vec<(String, Vec<String>)>,
    pub healthcheck: Option<Healthcheck>,
    pub depends_on: Vec<(String, Condition)>,
    pub restart: Option<String>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub ready: Ready,
}

const TOP_KEYS: &[&str] = &["name", "services", "networks", "volumes", "version"];
const SERVICE_KEYS: &[&str] = &[
    "image",
    "container_name",
    "command",
    "entrypoint",
    "environment",
    "labels",
    "ports",
    "expose",
    "volumes",
    "tmpfs",
    "networks",
    "healthcheck",
    "depends_on",
    "restart",
    "user",
    "working_dir",
    "x-run",
];

/// Why a file cannot be used at all (the caller adds the file's name).
pub type ParseError = String;

struct Reader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    unsupported: Vec<String>,
    missing: Vec<Missing>,
}

fn key_str(key: &Value, path: &str) -> Result<String, ParseError> {
    match key {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(format!("{path}: keys must be strings")),
    }
}

impl Reader<'_> {
    fn text(&mut self, value: &Value, path: &str) -> Result<String, ParseError> {
        let raw = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => String::new(),
            _ => return Err(format!("{path}: expected a string")),
        };
        interpolate(&raw, self.lookup, &mut self.missing).map_err(|e| format!("{path}: {e}"))
    }

    fn mapping<'v>(&self, value: &'v Value, path: &str) -> Result<&'v Mapping, ParseError> {
        value
            .as_mapping()
            .ok_or_else(|| format!("{path}: expected a mapping"))
    }

    /// Checks the keys of `map` against `known`; `x-` keys are extensions.
    /// The top-level `networks` or `volumes` (`section`): each with `name`
    /// and `external`; a `driver` other than `driver` is unsupported.
    fn resources(
        &mut self,
        value: Option<&Value>,
        section: &str,
        driver: &str,
    ) -> Result<BTreeMap<String, ResourceDef>, ParseError> {
        let mut defs = BTreeMap::new();
        let Some(value) = value else {
            return Ok(defs);
        };
        for (k, v) in self.mapping(value, section)? {
            let key = key_str(k, section)?;
            let at = format!("{section}.{key}");
            let mut def = ResourceDef::default();
            if let Value::Mapping(m) = v {
                self.keys(m, &["name", "external", "driver"], &at)?;
                if let Some(n) = m.get(Value::String("name".into())) {
                    def.name = Some(self.text(n, &format!("{at}.name"))?);
                }
                def.external = m
                    .get(Value::String("external".into()))
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                if let Some(d) = m.get(Value::String("driver".into())) {
                    let used = self.text(d, &format!("{at}.driver"))?;
                    if used != driver {
                        self.unsupported
                            .push(format!("{at}.driver ({used}; only {driver})"));
                    }
                }
            }
            defs.insert(key, def);
        }
        Ok(defs)
    }

    fn keys(&mut self, map: &Mapping, known: &[&str], path: &str) -> Result<(), ParseError> {
        for key in map.keys() {
            let key = key_str(key, path)?;
            if !known.contains(&key.as_str()) && !key.starts_with("x-") {
                self.unsupported.push(format!("{path}.{key}"));
            }
        }
        Ok(())
    }

    /// A string (split like a shell would, for `command: echo hi`) or a list.
    fn command(&mut self, value: &Value, path: &str) -> Result<Vec<String>, ParseError> {
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

    /// `KEY: value` mappings or `KEY=value` lists (environment, labels).
    fn pairs(&mut self, value: &Value, path: &str) -> Result<Vec<(String, String)>, ParseError> {
        let mut out = Vec::new();
        match value {
            Value::Mapping(map) => {
                for (k, v) in map {
                    let key = key_str(k, path)?;
                    let value = self.text(v, &format!("{path}.{key}"))?;
                    out.push((key, value));
                }
            }
            Value::Sequence(items) => {
                for (i, item) in items.iter().enumerate() {
                    let text = self.text(item, &format!("{path}[{i}]"))?;
                    match text.split_once('=') {
                        Some((k, v)) => out.push((k.to_owned(), v.to_owned())),
                        // `- NAME` passes the variable through from the environment.
                        None => {
                            if let Some(v) = (self.lookup)(&text) {
                                out.push((text, v));
                            }
                        }
                    }
                }
            }
            Value::Null => {}
            _ => return Err(format!("{path}: expected a mapping or a list")),
        }
        Ok(out)
    }

    fn list(&mut self, value: &Value, path: &str) -> Result<Vec<String>, ParseError> {
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

    fn duration(&mut self, value: &Value, path: &str) -> Result<u64, ParseError> {
        let text = self.text(value, path)?;
        parse_ms(&text).map_err(|e| format!("{path}: {e}"))
    }

    fn ports(&mut self, value: &Value, path: &str) -> Result<Vec<Port>, ParseError> {
        let Value::Sequence(items) = value else {
            return Err(format!("{path}: expected a list"));
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{path}[{i}]");
            if let Value::Mapping(map) = item {
                self.keys(
                    map,
                    &["target", "published", "host_ip", "protocol", "mode"],
                    &at,
                )?;
                let get = |k: &str| map.get(Value::String(k.into()));
                let target = get("target").ok_or_else(|| format!("{at}: `target` is required"))?;
                let target = self.text(target, &format!("{at}.target"))?;
                let published = match get("published") {
                    Some(p) => Some(self.text(p, &format!("{at}.published"))?),
                    None => None,
                };
                let host_ip = match get("host_ip") {
                    Some(h) => Some(self.text(h, &format!("{at}.host_ip"))?),
                    None => None,
                };
                let protocol = match get("protocol") {
                    Some(p) => self.text(p, &format!("{at}.protocol"))?,
                    None => "tcp".into(),
                };
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
                out.push(short_port(&text).map_err(|e| format!("{at}: {e}"))?);
            }
        }
        Ok(out)
    }

    fn volume_mounts(&mut self, value: &Value, path: &str) -> Result<Vec<VolumeMount>, ParseError> {
        let Value::Sequence(items) = value else {
            return Err(format!("{path}: expected a list"));
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{path}[{i}]");
            if let Value::Mapping(map) = item {
                self.keys(map, &["type", "source", "target", "read_only"], &at)?;
                let get = |k: &str| map.get(Value::String(k.into()));
                let kind = match get("type") {
                    Some(t) => self.text(t, &format!("{at}.type"))?,
                    None => "volume".into(),
                };
                if !matches!(kind.as_str(), "volume" | "bind" | "tmpfs") {
                    self.unsupported.push(format!("{at}.type ({kind})"));
                    continue;
                }
                let source = match get("source") {
                    Some(s) => self.text(s, &format!("{at}.source"))?,
                    None => String::new(),
                };
                let target = get("target").ok_or_else(|| format!("{at}: `target` is required"))?;
                out.push(VolumeMount {
                    kind,
                    source,
                    target: self.text(target, &format!("{at}.target"))?,
                    read_only: get("read_only").and_then(Value::as_bool).unwrap_or(false),
                });
            } else {
                let text = self.text(item, &at)?;
                out.push(short_volume(&text).map_err(|e| format!("{at}: {e}"))?);
            }
        }
        Ok(out)
    }

    fn healthcheck(&mut self, value: &Value, path: &str) -> Result<Healthcheck, ParseError> {
        let map = self.mapping(value, path)?;
        self.keys(
            map,
            &[
                "test",
                "interval",
                "timeout",
                "retries",
                "start_period",
                "disable",
            ],
            path,
        )?;
        let get = |k: &str| map.get(Value::String(k.into()));
        if get("disable").and_then(Value::as_bool) == Some(true) {
            return Ok(Healthcheck::Disabled);
        }
        let test = match get("test") {
            Some(Value::Sequence(_)) => {
                self.command(get("test").unwrap(), &format!("{path}.test"))?
            }
            Some(other) => vec![
                "CMD-SHELL".to_owned(),
                self.text(other, &format!("{path}.test"))?,
            ],
            None => return Err(format!("{path}: `test` is required")),
        };
        if test.first().map(String::as_str) == Some("NONE") {
            return Ok(Healthcheck::Disabled);
        }
        let mut duration = |k: &str| -> Result<Option<u64>, ParseError> {
            get(k)
                .map(|v| self.duration(v, &format!("{path}.{k}")))
                .transpose()
        };
        let interval_ms = duration("interval")?;
        let timeout_ms = duration("timeout")?;
        let start_period_ms = duration("start_period")?;
        let retries = match get("retries") {
            Some(v) => Some(
                v.as_u64()
                    .and_then(|r| u32::try_from(r).ok())
                    .ok_or_else(|| format!("{path}.retries: expected a number"))?,
            ),
            None => None,
        };
        Ok(Healthcheck::Check {
            test,
            interval_ms,
            timeout_ms,
            retries,
            start_period_ms,
        })
    }

    fn depends_on(
        &mut self,
        value: &Value,
        path: &str,
    ) -> Result<Vec<(String, Condition)>, ParseError> {
        match value {
            Value::Sequence(_) => Ok(self
                .list(value, path)?
                .into_iter()
                .map(|s| (s, Condition::Started))
                .collect()),
            Value::Mapping(map) => {
                let mut out = Vec::new();
                for (k, v) in map {
                    let name = key_str(k, path)?;
                    let at = format!("{path}.{name}");
                    let mut condition = Condition::Started;
                    if let Value::Mapping(m) = v {
                        self.keys(m, &["condition", "required"], &at)?;
                        if let Some(c) = m.get(Value::String("condition".into())) {
                            condition = match self.text(c, &format!("{at}.condition"))?.as_str() {
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
                    }
                    out.push((name, condition));
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
    ) -> Result<Vec<(String, Vec<String>)>, ParseError> {
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
                    let at = format!("{path}.{name}");
                    let mut aliases = Vec::new();
                    if let Value::Mapping(m) = v {
                        self.keys(m, &["aliases"], &at)?;
                        if let Some(a) = m.get(Value::String("aliases".into())) {
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

    fn ready(&mut self, value: &Value, path: &str) -> Result<Ready, ParseError> {
        let map = self.mapping(value, path)?;
        self.keys(map, &["ready", "timeout", "url"], path)?;
        let mut ready = Ready::default();
        if let Some(r) = map.get(Value::String("ready".into())) {
            let at = format!("{path}.ready");
            let m = self.mapping(r, &at)?;
            self.keys(m, &["http", "tcp", "log"], &at)?;
            let mut field = |k: &str| -> Result<Option<String>, ParseError> {
                m.get(Value::String(k.into()))
                    .map(|v| self.text(v, &format!("{at}.{k}")))
                    .transpose()
            };
            ready.http = field("http")?;
            ready.tcp = field("tcp")?;
            ready.log = field("log")?;
        }
        if let Some(t) = map.get(Value::String("timeout".into())) {
            ready.timeout_ms = Some(self.duration(t, &format!("{path}.timeout"))?);
        }
        if let Some(u) = map.get(Value::String("url".into())) {
            ready.url = Some(self.text(u, &format!("{path}.url"))?);
        }
        Ok(ready)
    }

    fn service(&mut self, name: &str, value: &Value) -> Result<Service, ParseError> {
        let path = format!("services.{name}");
        let map = self.mapping(value, &path)?;
        self.keys(map, SERVICE_KEYS, &path)?;
        let get = |k: &str| map.get(Value::String(k.into()));
        let image = match get("image") {
            Some(v) => self.text(v, &format!("{path}.image"))?,
            None if get("build").is_some() => {
                return Err(format!(
                    "{path}: `build` is not supported: build the image first (docker build -t NAME .) and give its name in `image`"
                ));
            }
            None => return Err(format!("{path}: `image` is required")),
        };
        let opt_text = |reader: &mut Self, k: &str| -> Result<Option<String>, ParseError> {
            get(k)
                .map(|v| reader.text(v, &format!("{path}.{k}")))
                .transpose()
        };
        let container_name = opt_text(self, "container_name")?;
        let restart = opt_text(self, "restart")?;
        let user = opt_text(self, "user")?;
        let working_dir = opt_text(self, "working_dir")?;
        let entrypoint = get("entrypoint")
            .map(|v| self.command(v, &format!("{path}.entrypoint")))
            .transpose()?;
        let command = get("command")
            .map(|v| self.command(v, &format!("{path}.command")))
            .transpose()?;
        let environment = match get("environment") {
            Some(v) => self.pairs(v, &format!("{path}.environment"))?,
            None => Vec::new(),
        };
        let labels = match get("labels") {
            Some(v) => self.pairs(v, &format!("{path}.labels"))?,
            None => Vec::new(),
        };
        let mut ports = match get("ports") {
            Some(v) => self.ports(v, &format!("{path}.ports"))?,
            None => Vec::new(),
        };
        if let Some(v) = get("expose") {
            for (i, p) in self.list(v, &format!("{path}.expose"))?.iter().enumerate() {
                let (number, protocol) = p.split_once('/').unwrap_or((p, "tcp"));
                ports.push(Port {
                    host_ip: None,
                    host_port: None,
                    container_port: port_number(number)
                        .map_err(|e| format!("{path}.expose[{i}]: {e}"))?,
                    protocol: protocol.to_owned(),
                });
            }
        }
        let mut volumes = match get("volumes") {
            Some(v) => self.volume_mounts(v, &format!("{path}.volumes"))?,
            None => Vec::new(),
        };
        if let Some(v) = get("tmpfs") {
            for target in self.list(v, &format!("{path}.tmpfs"))? {
                volumes.push(VolumeMount {
                    kind: "tmpfs".into(),
                    source: String::new(),
                    target,
                    read_only: false,
                });
            }
        }
        let networks = match get("networks") {
            Some(v) => self.networks(v, &format!("{path}.networks"))?,
            None => Vec::new(),
        };
        let healthcheck = get("healthcheck")
            .map(|v| self.healthcheck(v, &format!("{path}.healthcheck")))
            .transpose()?;
        let depends_on = match get("depends_on") {
            Some(v) => self.depends_on(v, &format!("{path}.depends_on"))?,
            None => Vec::new(),
        };
        let ready = match get("x-run") {
            Some(v) => self.ready(v, &format!("{path}.x-run"))?,
            None => Ready::default(),
        };
        Ok(Service {
            name: name.to_owned(),
            image,
            container_name,
            entrypoint,
            command,
            environment,
            labels,
            ports,
            volumes,
            networks,
            healthcheck,
            depends_on,
            restart,
            user,
            working_dir,
            ready,
        })
    }
}

/// Reads a Compose file. `lookup` gives environment variables.
pub fn parse(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Stack, ParseError> {
    let mut document: Value =
        serde_yaml_ng::from_str(text).map_err(|e| format!("not valid YAML: {e}"))?;
    document
        .apply_merge()
        .map_err(|e| format!("bad `<<` merge: {e}"))?;
    let mut reader = Reader {
        lookup,
        unsupported: Vec::new(),
        missing: Vec::new(),
    };
    let top = reader.mapping(&document, "the file")?;
    reader.keys(top, TOP_KEYS, "")?;
    // Paths of top-level keys read `.build`; drop the leading dot.
    for path in &mut reader.unsupported {
        if let Some(rest) = path.strip_prefix('.') {
            *path = rest.to_owned();
        }
    }
    let get = |k: &str| top.get(Value::String(k.into()));
    let name = get("name").map(|v| reader.text(v, "name")).transpose()?;
    let networks = reader.resources(get("networks"), "networks", "bridge")?;
    let volumes = reader.resources(get("volumes"), "volumes", "local")?;
    let services_value = get("services").ok_or("no `services`")?;
    let mut services = Vec::new();
    for (k, v) in reader.mapping(services_value, "services")? {
        let name = key_str(k, "services")?;
        check_service_name(&name)?;
        services.push(reader.service(&name, v)?);
    }
    if services.is_empty() {
        return Err("`services` is empty".into());
    }
    let stack = Stack {
        name,
        services,
        networks,
        volumes,
        unsupported: reader.unsupported,
        missing_env: reader.missing,
    };
    check_references(&stack)?;
    Ok(stack)
}

fn check_service_name(name: &str) -> Result<(), ParseError> {
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

/// Every `depends_on`, network and named volume a service uses is defined.
fn check_references(stack: &Stack) -> Result<(), ParseError> {
    for service in &stack.services {
        for (dep, _) in &service.depends_on {
            if !stack.services.iter().any(|s| &s.name == dep) {
                return Err(format!(
                    "services.{}.depends_on: no service `{dep}`",
                    service.name
                ));
            }
            if dep == &service.name {
                return Err(format!(
                    "services.{}.depends_on: a service cannot depend on itself",
                    service.name
                ));
            }
        }
        for (network, _) in &service.networks {
            if network != "default" && !stack.networks.contains_key(network) {
                return Err(format!(
                    "services.{}.networks: network `{network}` is not defined under top-level `networks`",
                    service.name
                ));
            }
        }
        for mount in &service.volumes {
            if mount.kind == "volume"
                && !mount.source.is_empty()
                && !stack.volumes.contains_key(&mount.source)
            {
                return Err(format!(
                    "services.{}.volumes: volume `{}` is not defined under top-level `volumes`",
                    service.name, mount.source
                ));
            }
        }
    }
    Ok(())
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

/// `name:/path[:ro]`, `./dir:/path[:ro]`, `/abs:/path`, or `/path` (anonymous).
fn short_volume(text: &str) -> Result<VolumeMount, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [t] => ("", *t, ""),
        [s, t] => (*s, *t, ""),
        [s, t, m] => (*s, *t, *m),
        _ => return Err(format!("`{text}` is not a volume mount")),
    };
    let read_only = match mode {
        "" | "rw" => false,
        "ro" => true,
        other => return Err(format!("volume mode `{other}` in `{text}` (ro or rw)")),
    };
    let kind = if source.is_empty() {
        "volume"
    } else if source.starts_with(['.', '/', '~']) {
        "bind"
    } else {
        "volume"
    };
    Ok(VolumeMount {
        kind: kind.into(),
        source: source.into(),
        target: target.into(),
        read_only,
    })
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
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "PGPASS").then(|| "secret".to_owned())
    }

    const DEMO: &str = r#"
name: demo
x-common: &common
  restart: "no"
services:
  db:
    image: run-test/postgres:15
    environment:
      POSTGRES_PASSWORD: ${PGPASS}
    ports: ["127.0.0.1:55432:5432"]
    volumes: ["pgdata:/var/lib/postgresql/data"]
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U postgres"]
      interval: 1s
      retries: 30
  init:
    <<: *common
    image: run-test/busybox:latest
    command: sh -c 'echo "init done"'
    depends_on:
      db:
        condition: service_healthy
  web:
    image: run-test/busybox:latest
    command: ["httpd", "-f", "-p", "8080"]
    ports:
      - target: 8080
        published: "58080"
    depends_on:
      init: { condition: service_completed_successfully }
    networks:
      default:
        aliases: [www]
    x-run:
      ready: { http: "http://127.0.0.1:58080/" }
      timeout: 30s
    build: .
    cap_add: [NET_ADMIN]
volumes:
  pgdata:
"#;

    #[test]
    fn reads_the_demo_stack() {
        let stack = parse(DEMO, &env).unwrap();
        assert_eq!(stack.name.as_deref(), Some("demo"));
        let names: Vec<_> = stack.services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["db", "init", "web"]);
        let db = &stack.services[0];
        assert_eq!(
            db.environment,
            [("POSTGRES_PASSWORD".to_string(), "secret".to_string())]
        );
        assert_eq!(
            db.ports,
            [Port {
                host_ip: Some("127.0.0.1".into()),
                host_port: Some(55432),
                container_port: 5432,
                protocol: "tcp".into()
            }]
        );
        assert_eq!(db.volumes[0].kind, "volume");
        let init = &stack.services[1];
        assert_eq!(init.restart.as_deref(), Some("no"));
        assert_eq!(
            init.command.as_ref().unwrap(),
            &["sh", "-c", "echo \"init done\""]
        );
        assert_eq!(init.depends_on, [("db".to_string(), Condition::Healthy)]);
        let web = &stack.services[2];
        assert_eq!(web.ports[0].host_port, Some(58080));
        assert_eq!(web.ready.http.as_deref(), Some("http://127.0.0.1:58080/"));
        assert_eq!(web.ready.timeout_ms, Some(30_000));
        assert_eq!(
            web.networks,
            [("default".to_string(), vec!["www".to_string()])]
        );
        assert_eq!(
            stack.unsupported,
            ["services.web.build", "services.web.cap_add"]
        );
        assert!(stack.missing_env.is_empty());
    }

    #[test]
    fn missing_variables_are_reported() {
        let stack = parse(DEMO, &|_| None).unwrap();
        assert_eq!(stack.missing_env[0].name, "PGPASS");
    }

    #[test]
    fn short_forms() {
        assert_eq!(short_port("80").unwrap().host_port, None);
        assert_eq!(short_port("8080:80/udp").unwrap().protocol, "udp");
        assert!(short_port("8000-8010:80").is_err());
        let bind = short_volume("./html:/www:ro").unwrap();
        assert_eq!((bind.kind.as_str(), bind.read_only), ("bind", true));
        assert_eq!(
            split_shell("a 'b c' \"d\\\"e\"").unwrap(),
            ["a", "b c", "d\"e"]
        );
    }

    #[test]
    fn bad_files_say_where() {
        let e = parse("services:\n  a:\n    image: x\n    depends_on: [b]\n", &env).unwrap_err();
        assert_eq!(e, "services.a.depends_on: no service `b`");
        let e = parse("services:\n  a:\n    build: .\n", &env).unwrap_err();
        assert!(e.contains("`build` is not supported"), "{e}");
        let e = parse("services: [", &env).unwrap_err();
        assert!(e.starts_with("not valid YAML"), "{e}");
        let e = parse("version: '3'\nfoo: 1\nservices:\n  a: {image: x}\n", &env).unwrap();
        assert_eq!(e.unsupported, ["foo"]);
    }
}
