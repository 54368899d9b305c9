//! The static audit of a Compose file: each service's [`Settings`], every
//! value located at its line, so a finding reads `compose.yaml:14`. The
//! YAML is parsed with positions (saphyr); anchors and aliases are resolved
//! by the parser (with its expansion budget), and `<<` merge keys here, as
//! Compose does. `${VAR:-default}` is read as its default (the plugin sees
//! no environment); `extends`, `include` and `env_file` are not followed.

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use super::{At, Settings};

/// A YAML node reduced to what the audit needs, with its line (1-based).
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Scalar(String, usize),
    Null(usize),
    Seq(Vec<Node>, usize),
    Map(Vec<(String, usize, Node)>, usize),
}

impl Node {
    fn line(&self) -> usize {
        match self {
            Node::Scalar(_, l) | Node::Null(l) | Node::Seq(_, l) | Node::Map(_, l) => *l,
        }
    }

    fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries, _) => entries.iter().find(|(k, _, _)| k == key).map(|(_, _, v)| v),
            _ => None,
        }
    }

    fn path(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |node, key| node.get(key))
    }

    fn text(&self) -> Option<At<String>> {
        match self {
            Node::Scalar(s, l) => Some(At::new(interpolate(s), Some(*l))),
            _ => None,
        }
    }

    fn flag(&self) -> Option<At<bool>> {
        let t = self.text()?;
        Some(At::new(
            matches!(t.value.to_ascii_lowercase().as_str(), "true" | "yes" | "on"),
            t.line,
        ))
    }

    fn list(&self) -> Vec<At<String>> {
        match self {
            Node::Seq(items, _) => items.iter().filter_map(Node::text).collect(),
            other => other.text().into_iter().collect(),
        }
    }

    /// Whether the value sets a limit: present, and not 0/-1/unlimited.
    fn limits(&self) -> bool {
        self.text().is_some_and(|t| {
            let v = t.value.trim();
            !v.is_empty() && v != "0" && v != "-1" && v != "0.0"
        })
    }
}

/// `${NAME:-default}` and `${NAME-default}` → `default`; other text as is.
fn interpolate(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let inner = &after[..end];
        match inner.split_once(":-").or_else(|| inner.split_once('-')) {
            Some((_, default)) => out.push_str(default),
            None => out.push_str(&rest[start..start + 2 + end + 1]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

fn scalar_text(s: &Scalar) -> Option<String> {
    Some(match s {
        Scalar::Null => return None,
        Scalar::Boolean(b) => b.to_string(),
        Scalar::Integer(i) => i.to_string(),
        Scalar::FloatingPoint(f) => f.to_string(),
        Scalar::String(s) => s.to_string(),
    })
}

fn convert(node: &MarkedYaml) -> Node {
    let line = node.span.start.line();
    match &node.data {
        YamlData::Value(s) => match scalar_text(s) {
            Some(t) => Node::Scalar(t, line),
            None => Node::Null(line),
        },
        YamlData::Representation(s, _, _) => Node::Scalar(s.to_string(), line),
        YamlData::Sequence(items) => Node::Seq(items.iter().map(convert).collect(), line),
        YamlData::Mapping(map) => {
            let mut entries: Vec<(String, usize, Node)> = Vec::new();
            let mut merged: Vec<Node> = Vec::new();
            for (k, v) in map {
                let key = match &k.data {
                    YamlData::Value(s) => scalar_text(s).unwrap_or_default(),
                    YamlData::Representation(s, _, _) => s.to_string(),
                    _ => continue,
                };
                if key == "<<" {
                    merged.push(convert(v));
                } else {
                    entries.push((key, k.span.start.line(), convert(v)));
                }
            }
            // `<<: *base` (or a list of them): keys the mapping does not set
            // itself come from the merged mappings, earlier ones first.
            for m in merged {
                let sources = match m {
                    Node::Seq(items, _) => items,
                    other => vec![other],
                };
                for source in sources {
                    if let Node::Map(more, _) = source {
                        for (k, l, v) in more {
                            if !entries.iter().any(|(e, _, _)| *e == k) {
                                entries.push((k, l, v));
                            }
                        }
                    }
                }
            }
            Node::Map(entries, line)
        }
        YamlData::Tagged(_, inner) => convert(inner),
        YamlData::Alias(_) | YamlData::BadValue => Node::Null(line),
    }
}

/// One service of a Compose file and its settings.
#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    pub settings: Settings,
}

/// The services of the Compose file `text` (named `file` in locations).
/// Errors name the line.
pub fn services(file: &str, text: &str) -> Result<Vec<Service>, String> {
    let docs = MarkedYaml::load_from_str(text).map_err(|e| {
        let m = e.marker();
        format!("{file}:{}: {}", m.line(), e.info())
    })?;
    let Some(doc) = docs.first().map(convert) else {
        return Err(format!("{file}: empty Compose file"));
    };
    let Some(services) = doc.get("services") else {
        return Err(format!("{file}:{}: no `services` mapping", doc.line()));
    };
    let Node::Map(entries, _) = services else {
        return Err(format!(
            "{file}:{}: `services` must be a mapping of service names",
            services.line()
        ));
    };
    Ok(entries
        .iter()
        .map(|(name, line, service)| Service {
            name: name.clone(),
            settings: settings(file, *line, service),
        })
        .collect())
}

fn settings(file: &str, line: usize, s: &Node) -> Settings {
    let get = |k: &str| s.get(k);
    let limit = |keys: &[&str], deploy: &str| {
        keys.iter().any(|k| get(k).is_some_and(Node::limits))
            || s.path(&["deploy", "resources", "limits", deploy])
                .is_some_and(Node::limits)
    };
    let env = match get("environment") {
        // `NAME: value`, or `NAME:` (null: passed through from the shell, so
        // the container still holds it).
        Some(Node::Map(entries, _)) => entries
            .iter()
            .filter(|(_, _, v)| !matches!(v, Node::Scalar(s, _) if s.is_empty()))
            .map(|(k, l, _)| At::new(k.clone(), Some(*l)))
            .collect(),
        // `- NAME=value` or `- NAME`.
        Some(Node::Seq(items, _)) => items
            .iter()
            .filter_map(Node::text)
            .filter_map(|t| match t.value.split_once('=') {
                Some((_, "")) => None,
                Some((name, _)) => Some(At::new(name.to_owned(), t.line)),
                None => Some(At::new(t.value.clone(), t.line)),
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut binds = Vec::new();
    for v in get("volumes")
        .map(|v| match v {
            Node::Seq(items, _) => items.clone(),
            _ => Vec::new(),
        })
        .unwrap_or_default()
    {
        match &v {
            // `SRC:DST[:MODE]`: a bind when SRC is a path.
            Node::Scalar(..) => {
                if let Some(t) = v.text()
                    && let Some((source, _)) = t.value.split_once(':')
                    && source.starts_with('/')
                {
                    binds.push(At::new(source.to_owned(), t.line));
                }
            }
            Node::Map(..) => {
                let bind = v
                    .get("type")
                    .and_then(Node::text)
                    .is_some_and(|t| t.value == "bind");
                if let Some(source) = v.get("source").and_then(Node::text)
                    && bind
                    && source.value.starts_with('/')
                {
                    binds.push(source);
                }
            }
            _ => {}
        }
    }
    Settings {
        file: Some(file.to_owned()),
        line: Some(line),
        user: get("user").and_then(Node::text),
        privileged: get("privileged").and_then(Node::flag),
        security_opt: get("security_opt").map(Node::list).unwrap_or_default(),
        cap_add: get("cap_add").map(Node::list).unwrap_or_default(),
        cap_drop: get("cap_drop").map(Node::list).unwrap_or_default(),
        read_only: get("read_only").and_then(Node::flag),
        memory_limited: limit(&["mem_limit"], "memory"),
        cpu_limited: limit(&["cpus", "cpu_quota"], "cpus"),
        pids_limited: limit(&["pids_limit"], "pids"),
        network_mode: get("network_mode").and_then(Node::text),
        pid_mode: get("pid").and_then(Node::text),
        ipc_mode: get("ipc").and_then(Node::text),
        uts_mode: get("uts").and_then(Node::text),
        env,
        binds,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{RULES, audit};
    use super::*;
    use crate::finding::Finding;

    /// A service that keeps every rule (the guide's hardened service).
    const HARDENED: &str = "\
services:
  app:
    image: app:1
    user: \"1000:1000\"
    read_only: true
    tmpfs: [/tmp]
    cap_drop: [ALL]
    cap_add: [NET_BIND_SERVICE]
    security_opt:
      - no-new-privileges:true
    mem_limit: 256m
    cpus: 0.5
    pids_limit: 128
    environment:
      POSTGRES_PASSWORD_FILE: /run/secrets/pg
      LOG_LEVEL: info
    volumes:
      - ./data:/data
      - type: volume
        source: cache
        target: /cache
";

    fn findings(text: &str) -> Vec<Finding> {
        services("compose.yaml", text)
            .unwrap()
            .iter()
            .flat_map(|s| audit(&s.name, &s.settings))
            .collect()
    }

    fn located(f: &[Finding]) -> Vec<(&str, usize)> {
        f.iter()
            .map(|f| (f.id.as_str(), f.location.as_ref().unwrap().line))
            .collect()
    }

    #[test]
    fn a_hardened_service_passes() {
        assert_eq!(located(&findings(HARDENED)), []);
    }

    /// Each rule fires alone on one edit of the hardened service, at the
    /// line of the setting that breaks it (or the service's line when the
    /// setting is missing).
    #[test]
    fn each_rule_fires_alone_at_its_line() {
        let cases: [(&str, &str, &str, usize); 21] = [
            (
                "RUN-H001",
                "    user: \"1000:1000\"\n",
                "    user: root\n",
                4,
            ),
            ("RUN-H001", "    user: \"1000:1000\"\n", "", 2),
            (
                "RUN-H002",
                "    read_only: true\n",
                "    read_only: true\n    privileged: true\n",
                6,
            ),
            (
                "RUN-H003",
                "      - no-new-privileges:true\n",
                "      - label:disable\n",
                2,
            ),
            (
                "RUN-H004",
                "    cap_drop: [ALL]\n",
                "    cap_drop: [NET_RAW]\n",
                7,
            ),
            (
                "RUN-H005",
                "    cap_add: [NET_BIND_SERVICE]\n",
                "    cap_add: [NET_BIND_SERVICE, SYS_ADMIN]\n",
                8,
            ),
            (
                "RUN-H006",
                "    read_only: true\n",
                "    read_only: false\n",
                5,
            ),
            ("RUN-H007", "    mem_limit: 256m\n", "", 2),
            ("RUN-H007", "    mem_limit: 256m\n", "    mem_limit: 0\n", 2),
            ("RUN-H008", "    cpus: 0.5\n", "", 2),
            (
                "RUN-H009",
                "    pids_limit: 128\n",
                "    pids_limit: -1\n",
                2,
            ),
            (
                "RUN-H010",
                "    image: app:1\n",
                "    image: app:1\n    network_mode: host\n",
                4,
            ),
            (
                "RUN-H011",
                "    image: app:1\n",
                "    image: app:1\n    pid: host\n",
                4,
            ),
            (
                "RUN-H012",
                "      LOG_LEVEL: info\n",
                "      LOG_LEVEL: info\n      DB_PASSWORD: hunter2\n",
                17,
            ),
            (
                "RUN-H012",
                "      LOG_LEVEL: info\n",
                "      LOG_LEVEL: info\n      API_TOKEN:\n",
                17,
            ),
            (
                "RUN-H013",
                "      - ./data:/data\n",
                "      - ./data:/data\n      - /var/run/docker.sock:/var/run/docker.sock:ro\n",
                19,
            ),
            (
                "RUN-H013",
                "      - ./data:/data\n",
                "      - ./data:/data\n      - ${DOCKER_SOCK:-/var/run/docker.sock}:/sock\n",
                19,
            ),
            (
                "RUN-H014",
                "      - type: volume\n        source: cache\n",
                "      - type: bind\n        source: /\n",
                20,
            ),
            (
                "RUN-H015",
                "      - no-new-privileges:true\n",
                "      - no-new-privileges:true\n      - seccomp:unconfined\n",
                11,
            ),
            (
                "RUN-H016",
                "      - no-new-privileges:true\n",
                "      - no-new-privileges:true\n      - apparmor=unconfined\n",
                11,
            ),
            (
                "RUN-H017",
                "    image: app:1\n",
                "    image: app:1\n    ipc: host\n",
                4,
            ),
        ];
        let mut covered = vec!["RUN-H018"];
        for (rule, from, to, line) in cases {
            assert!(HARDENED.contains(from), "{from}");
            let text = HARDENED.replacen(from, to, 1);
            let f = findings(&text);
            assert_eq!(located(&f), [(rule, line)], "{rule}: {to}");
            assert_eq!(f[0].location.as_ref().unwrap().file, "compose.yaml");
            covered.push(rule);
        }
        let uts = findings(&HARDENED.replacen(
            "    image: app:1\n",
            "    image: app:1\n    uts: host\n",
            1,
        ));
        assert_eq!(located(&uts), [("RUN-H018", 4)]);
        for (id, _, _) in RULES {
            assert!(covered.contains(&id), "{id} has no test");
        }
    }

    #[test]
    fn anchors_merge_keys_and_deploy_limits() {
        let text = "\
x-hardened: &hardened
  user: \"999\"
  read_only: true
  cap_drop: [ALL]
  security_opt: [no-new-privileges:true]
  deploy:
    resources:
      limits: {cpus: '0.5', memory: 128M, pids: 64}
services:
  db:
    <<: *hardened
    image: postgres:16
  cache:
    <<: *hardened
    image: redis:7
    read_only: false
";
        let s = services("compose.yaml", text).unwrap();
        assert_eq!(
            s.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            ["db", "cache"]
        );
        assert_eq!(located(&audit("db", &s[0].settings)), []);
        // The service's own value wins over the merged one.
        assert_eq!(located(&audit("cache", &s[1].settings)), [("RUN-H006", 16)]);
    }

    /// The Compose reference implementation's own end-to-end fixtures: every
    /// one parses, and their (unhardened) services break the rules a
    /// default container breaks.
    #[test]
    fn the_compose_e2e_fixtures() {
        let root = crate::shared_data("compose/docker-compose-e2e");
        let mut files = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let p = entry.path();
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                if p.is_dir() {
                    dirs.push(p);
                } else if (name.starts_with("compose") || name.starts_with("docker-compose"))
                    && (name.ends_with(".yaml") || name.ends_with(".yml"))
                {
                    files.push(p);
                }
            }
        }
        assert!(files.len() >= 30, "{}", files.len());
        let mut parsed = 0;
        for path in &files {
            let text = std::fs::read_to_string(path).unwrap();
            let Ok(found) = services("compose.yaml", &text) else {
                continue; // a few fixtures are deliberately not Compose files
            };
            parsed += 1;
            for s in &found {
                let ids: Vec<String> = audit(&s.name, &s.settings)
                    .into_iter()
                    .map(|f| f.id)
                    .collect();
                assert!(
                    ids.contains(&"RUN-H003".to_owned()),
                    "{}: {ids:?}",
                    path.display()
                );
            }
        }
        assert!(parsed >= 30, "{parsed} of {}", files.len());
        let text = std::fs::read_to_string(root.join("network-test/compose.yaml")).unwrap();
        let mydb = services("network-test/compose.yaml", &text).unwrap();
        // `network_mode: "service:db"` is not the host's namespace.
        assert!(
            !audit("mydb", &mydb[0].settings)
                .iter()
                .any(|f| f.id == "RUN-H010")
        );
    }

    #[test]
    fn errors_name_the_line() {
        let e = services("c.yaml", "services:\n  a:\n    image: [x\n").unwrap_err();
        assert!(e.starts_with("c.yaml:"), "{e}");
        let e = services("c.yaml", "version: '3'\n").unwrap_err();
        assert_eq!(e, "c.yaml:1: no `services` mapping");
        assert_eq!(interpolate("${A:-/x}:/y ${B} ${C-z}"), "/x:/y ${B} z");
    }
}
