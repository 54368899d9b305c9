//! `extends`: a service built on another one, of this file or of another
//! (`extends: {file: common.yaml, service: base}`), merged as Compose merges
//! them, before any value is read. The other file is read through the
//! task's read grant like the Compose file (the sandbox resolves it beneath
//! a granted directory; outside them the read fails and the problem names
//! the grant). Relative paths of an extended service (`build`, `env_file`,
//! bind sources) are relative to its own file's directory, as under
//! Compose, so they are rewritten relative to the Compose file's. A chain
//! that comes back to a service it passed is a cycle, and refused.

use std::collections::BTreeMap;

use serde_yaml_ng::{Mapping, Value};

use super::{Problems, get, merge};

/// Longer chains are taken for a cycle through a path written two ways.
const MAX_DEPTH: usize = 32;

/// Other files, by their path relative to the Compose file's directory.
struct Files<'a> {
    read: &'a dyn Fn(&str) -> Result<String, String>,
    parsed: BTreeMap<String, Mapping>,
}

impl Files<'_> {
    /// The `services` of `path`, read and parsed once.
    fn services(&mut self, path: &str) -> Result<Mapping, String> {
        if let Some(services) = self.parsed.get(path) {
            return Ok(services.clone());
        }
        let text = (self.read)(path).map_err(|e| format!("`{path}` cannot be read: {e}"))?;
        let mut document: Value = serde_yaml_ng::from_str(&text)
            .map_err(|e| format!("`{path}` is not valid YAML: {e}"))?;
        merge::resolve(&mut document, "").map_err(|e| format!("`{path}`: bad `<<` merge: {e}"))?;
        let services = document
            .as_mapping()
            .and_then(|m| get(m, "services"))
            .and_then(Value::as_mapping)
            .cloned()
            .ok_or_else(|| format!("`{path}` has no `services`"))?;
        self.parsed.insert(path.to_owned(), services.clone());
        Ok(services)
    }
}

/// Replaces every service that `extends` another by the merged service.
pub fn resolve(document: &mut Value, read: &dyn Fn(&str) -> Result<String, String>) -> Problems {
    let mut problems = Vec::new();
    let Some(services) = document
        .as_mapping_mut()
        .and_then(|m| m.get_mut(Value::String("services".into())))
        .and_then(Value::as_mapping_mut)
    else {
        return problems;
    };
    let own = services.clone();
    let mut files = Files {
        read,
        parsed: BTreeMap::new(),
    };
    for (key, service) in services.iter_mut() {
        let Some(name) = key.as_str() else { continue };
        if service
            .as_mapping()
            .is_none_or(|m| get(m, "extends").is_none())
        {
            continue;
        }
        let mut chain = Vec::new();
        match expand(&mut files, None, "", &own, name, &mut chain) {
            Ok(merged) => *service = Value::Mapping(merged),
            Err(problem) => problems.push(format!("services.{name}.extends: {problem}")),
        }
    }
    problems
}

/// The service `name` of the file `file` (`None`: the Compose file) in
/// directory `dir` (relative to the Compose file's), its `extends` merged
/// in, its paths relative to the Compose file's directory.
fn expand(
    files: &mut Files,
    file: Option<&str>,
    dir: &str,
    services: &Mapping,
    name: &str,
    chain: &mut Vec<String>,
) -> Result<Mapping, String> {
    let here = format!(
        "`{name}` of {}",
        file.map_or("this file".into(), |f| format!("`{f}`"))
    );
    if chain.contains(&here) || chain.len() >= MAX_DEPTH {
        chain.push(here);
        return Err(format!("a cycle: {}", chain.join(" extends ")));
    }
    let service = get(services, name)
        .ok_or_else(|| match file {
            None => format!("no service `{name}` in this file"),
            Some(f) => format!("no service `{name}` in `{f}`"),
        })?
        .as_mapping()
        .ok_or_else(|| format!("service {here} is not a mapping"))?
        .clone();
    chain.push(here);
    let mut own = rebase(service, dir);
    let Some(extends) = own.remove(Value::String("extends".into())) else {
        chain.pop();
        return Ok(own);
    };
    let (base_name, base_file) = match &extends {
        Value::String(s) => (s.clone(), None),
        Value::Mapping(m) => {
            for key in m.keys() {
                if !matches!(key.as_str(), Some("service" | "file")) {
                    return Err(format!(
                        "unknown key `{}` (service, file)",
                        key.as_str().unwrap_or("?")
                    ));
                }
            }
            let service = get(m, "service")
                .and_then(Value::as_str)
                .ok_or("`service` is required")?;
            let file = get(m, "file")
                .map(|f| f.as_str().ok_or("`file` is a path"))
                .transpose()?;
            (service.to_owned(), file.map(str::to_owned))
        }
        _ => return Err("write a service name, or {service: NAME, file: PATH}".into()),
    };
    let base = match base_file {
        None => expand(files, file, dir, services, &base_name, chain)?,
        Some(other) => {
            if other.contains("${") || other.contains('$') {
                return Err(format!(
                    "`{other}`: a variable in `extends.file` is not interpolated; write the path"
                ));
            }
            let path = join(dir, &other);
            let other_dir = match path.rsplit_once('/') {
                Some((d, _)) => d.to_owned(),
                None => String::new(),
            };
            let other_services = files.services(&path)?;
            expand(
                files,
                Some(&path),
                &other_dir,
                &other_services,
                &base_name,
                chain,
            )?
        }
    };
    chain.pop();
    Ok(merge_service(base, own))
}

/// `path` (relative to `dir`, itself relative to the Compose file's
/// directory) relative to the Compose file's directory, without `.`
/// components; `..` above it stays (the sandbox refuses what is outside).
fn join(dir: &str, path: &str) -> String {
    if path.starts_with(['/', '~']) {
        return path.to_owned();
    }
    let mut parts: Vec<&str> = dir
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_none_or(|p| *p == "..") => parts.push(".."),
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// A path for the Compose file's reader: `./x` (a bind source must start
/// with `.` to be one) or `../x`.
fn relative(dir: &str, path: &str) -> String {
    let joined = join(dir, path);
    if joined.starts_with(['/', '~']) || joined.starts_with("..") {
        joined
    } else if joined.is_empty() {
        ".".into()
    } else {
        format!("./{joined}")
    }
}

fn is_relative(path: &str) -> bool {
    !path.is_empty() && !path.starts_with(['/', '~', '$']) && !path.contains("://")
}

/// The service's relative paths, from `dir` to the Compose file's directory.
fn rebase(mut service: Mapping, dir: &str) -> Mapping {
    if dir.is_empty() {
        return service;
    }
    let rewrite = |v: &mut Value| {
        if let Value::String(s) = v
            && is_relative(s)
        {
            *s = relative(dir, s);
        }
    };
    if let Some(build) = service.get_mut(Value::String("build".into())) {
        match build {
            Value::Mapping(m) => match m.get_mut(Value::String("context".into())) {
                Some(context) => rewrite(context),
                None => {
                    m.insert(
                        Value::String("context".into()),
                        Value::String(relative(dir, ".")),
                    );
                }
            },
            other => rewrite(other),
        }
    }
    if let Some(env_file) = service.get_mut(Value::String("env_file".into())) {
        match env_file {
            Value::Sequence(items) => {
                for item in items {
                    match item {
                        Value::Mapping(m) => {
                            if let Some(p) = m.get_mut(Value::String("path".into())) {
                                rewrite(p);
                            }
                        }
                        other => rewrite(other),
                    }
                }
            }
            other => rewrite(other),
        }
    }
    if let Some(Value::Sequence(volumes)) = service.get_mut(Value::String("volumes".into())) {
        for volume in volumes {
            match volume {
                Value::String(s) if s.starts_with('.') => {
                    let (source, rest) = s.split_once(':').unwrap_or((s.as_str(), ""));
                    let source = relative(dir, source);
                    *s = if rest.is_empty() {
                        source
                    } else {
                        format!("{source}:{rest}")
                    };
                }
                Value::Mapping(m) if get(m, "type").and_then(Value::as_str) == Some("bind") => {
                    if let Some(source) = m.get_mut(Value::String("source".into())) {
                        rewrite(source);
                    }
                }
                _ => {}
            }
        }
    }
    service
}

/// `KEY=value` lists as mappings, for merging by key (`environment`, `labels`).
fn as_map(value: Value) -> Value {
    match value {
        Value::Sequence(items) => Value::Mapping(
            items
                .into_iter()
                .map(|item| match item {
                    Value::String(s) => match s.split_once('=') {
                        Some((k, v)) => (Value::String(k.into()), Value::String(v.into())),
                        None => (Value::String(s), Value::Null),
                    },
                    other => (other, Value::Null),
                })
                .collect(),
        ),
        other => other,
    }
}

/// A list of names (`depends_on`, `networks`) as a mapping of them.
fn names_as_map(value: Value) -> Value {
    match value {
        Value::Sequence(items) => {
            Value::Mapping(items.into_iter().map(|item| (item, Value::Null)).collect())
        }
        other => other,
    }
}

/// The container path of a `volumes` entry, by which Compose merges them.
fn volume_target(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => {
            let parts: Vec<&str> = s.split(':').collect();
            Some(match parts.as_slice() {
                [t] => t.to_string(),
                [_, t, ..] => t.to_string(),
                _ => return None,
            })
        }
        Value::Mapping(m) => get(m, "target").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

/// Mappings merged key by key, the override's values winning.
fn merge_mappings(mut base: Mapping, over: Mapping) -> Mapping {
    for (key, value) in over {
        let merged = match (base.remove(&key), value) {
            (Some(Value::Mapping(b)), Value::Mapping(o)) => Value::Mapping(merge_mappings(b, o)),
            (_, o) => o,
        };
        base.insert(key, merged);
    }
    base
}

/// The extended service `base` with the extending one's keys over it, by
/// Compose's merge rules: `command`, `entrypoint` and scalars are replaced;
/// `environment`, `labels`, `depends_on`, `networks`, `build`,
/// `healthcheck`, `deploy` and other mappings are merged by key; `volumes`
/// by container path; other lists are appended without duplicates.
fn merge_service(mut base: Mapping, over: Mapping) -> Mapping {
    for (key, value) in over {
        let name = key.as_str().unwrap_or_default().to_owned();
        let merged = match (name.as_str(), base.remove(&key), value) {
            (_, None, o) => o,
            ("command" | "entrypoint", _, o) => o,
            ("environment" | "labels" | "extra_hosts" | "sysctls" | "annotations", Some(b), o) => {
                match (as_map(b), as_map(o)) {
                    (Value::Mapping(b), Value::Mapping(o)) => Value::Mapping(merge_mappings(b, o)),
                    (_, o) => o,
                }
            }
            ("depends_on" | "networks", Some(b), o) => match (names_as_map(b), names_as_map(o)) {
                (Value::Mapping(b), Value::Mapping(o)) => Value::Mapping(merge_mappings(b, o)),
                (_, o) => o,
            },
            ("build", Some(b), o) => {
                let form = |v: Value| match v {
                    Value::String(context) => {
                        let mut m = Mapping::new();
                        m.insert(Value::String("context".into()), Value::String(context));
                        Value::Mapping(m)
                    }
                    other => other,
                };
                match (form(b), form(o)) {
                    (Value::Mapping(b), Value::Mapping(o)) => Value::Mapping(merge_mappings(b, o)),
                    (_, o) => o,
                }
            }
            ("volumes", Some(Value::Sequence(b)), Value::Sequence(o)) => {
                let mut out: Vec<Value> = b
                    .into_iter()
                    .filter(|v| {
                        let target = volume_target(v);
                        target.is_none() || !o.iter().any(|w| volume_target(w) == target)
                    })
                    .collect();
                out.extend(o);
                Value::Sequence(out)
            }
            (_, Some(Value::Sequence(mut b)), Value::Sequence(o)) => {
                for item in o {
                    if !b.contains(&item) {
                        b.push(item);
                    }
                }
                Value::Sequence(b)
            }
            (_, Some(Value::Mapping(b)), Value::Mapping(o)) => Value::Mapping(merge_mappings(b, o)),
            (_, _, o) => o,
        };
        base.insert(key, merged);
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(main: &str, others: &[(&str, &str)]) -> Result<Value, Problems> {
        let mut document: Value = serde_yaml_ng::from_str(main).unwrap();
        let read = |path: &str| {
            others
                .iter()
                .find(|(p, _)| *p == path)
                .map(|(_, text)| text.to_string())
                .ok_or_else(|| "No such file or directory".to_owned())
        };
        let problems = resolve(&mut document, &read);
        if problems.is_empty() {
            Ok(document)
        } else {
            Err(problems)
        }
    }

    fn service(document: &Value, name: &str) -> String {
        serde_yaml_ng::to_string(&document["services"][name]).unwrap()
    }

    #[test]
    fn another_files_service_is_merged_with_its_paths_from_its_directory() {
        let main = r#"
services:
  app:
    extends: {file: common/base.yaml, service: web}
    command: ["serve", "--fast"]
    environment: [B=2, C=3]
    volumes: ["./local:/data"]
    ports: ["80"]
"#;
        let base = r#"
services:
  web:
    extends: {file: ../shared/root.yaml, service: root}
    build: ./app
    command: serve
    env_file: web.env
    environment: {A: "1", B: "1"}
    volumes: ["./data:/data", "./conf:/etc/app:ro", "named:/n"]
    ports: ["80", "443"]
"#;
        let root = "services:\n  root:\n    image: base\n    labels: [tier=root]\n    volumes: [{type: bind, source: ./r, target: /r}]\n";
        let doc = resolved(
            main,
            &[("common/base.yaml", base), ("shared/root.yaml", root)],
        )
        .unwrap();
        let app = &doc["services"]["app"];
        assert_eq!(app["image"], "base");
        assert_eq!(app["build"], "./common/app");
        assert_eq!(app["env_file"], "./common/web.env");
        assert_eq!(
            serde_yaml_ng::to_string(&app["command"]).unwrap(),
            "- serve\n- --fast\n"
        );
        assert_eq!(app["environment"]["A"], "1");
        assert_eq!(app["environment"]["B"], "2");
        assert_eq!(app["environment"]["C"], "3");
        assert_eq!(app["labels"][0], "tier=root");
        assert_eq!(
            serde_yaml_ng::to_string(&app["volumes"]).unwrap(),
            "- type: bind\n  source: ./shared/r\n  target: /r\n- ./common/conf:/etc/app:ro\n- named:/n\n- ./local:/data\n",
            "{}",
            service(&doc, "app")
        );
        assert_eq!(
            serde_yaml_ng::to_string(&app["ports"]).unwrap(),
            "- '80'\n- '443'\n"
        );
        assert!(app.get("extends").is_none());
    }

    #[test]
    fn same_file_cycles_and_missing_files_are_refused() {
        let ok = resolved(
            "services:\n  a: {extends: b, environment: {X: a}}\n  b: {image: x, environment: {X: b, Y: b}}\n",
            &[],
        )
        .unwrap();
        assert_eq!(ok["services"]["a"]["image"], "x");
        assert_eq!(ok["services"]["a"]["environment"]["X"], "a");
        let e = resolved(
            "services:\n  a: {extends: {file: o.yaml, service: b}}\n",
            &[("o.yaml", "services:\n  b: {extends: {file: o.yaml, service: c}}\n  c: {extends: {service: b}}\n")],
        )
        .unwrap_err();
        assert_eq!(
            e,
            [
                "services.a.extends: a cycle: `a` of this file extends `b` of `o.yaml` extends `c` of `o.yaml` extends `b` of `o.yaml`"
            ]
        );
        let e = resolved(
            "services:\n  a: {extends: {file: ../x.yaml, service: b}}\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(
            e,
            ["services.a.extends: `../x.yaml` cannot be read: No such file or directory"]
        );
        let e = resolved(
            "services:\n  a: {extends: {file: o.yaml, service: nope}}\n",
            &[("o.yaml", "services:\n  b: {image: x}\n")],
        )
        .unwrap_err();
        assert_eq!(e, ["services.a.extends: no service `nope` in `o.yaml`"]);
    }
}
