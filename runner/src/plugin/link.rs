//! Whether the host provides everything a plugin imports, checked when it is
//! loaded, so that a plugin built for another host (WASI HTTP, a newer
//! `runner:plugin`) is refused before anything runs, in the runner's words:
//! which import is missing and what the plugin targets.

use std::collections::BTreeSet;

use wasmtime::Engine;
use wasmtime::component::Component;

use super::version::{HOST_VERSION, PACKAGE};

/// The WASI 0.2 packages the host provides (`wasmtime_wasi::p2`, and
/// `wasi:http`'s outgoing handler under `allow.http`).
const WASI_PACKAGES: [&str; 7] = [
    "wasi:cli",
    "wasi:clocks",
    "wasi:filesystem",
    "wasi:http",
    "wasi:io",
    "wasi:random",
    "wasi:sockets",
];

/// An import the host cannot satisfy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unlinkable {
    /// The import, as the component names it (`wasi:http/types@0.2.0`).
    pub import: String,
    /// Within it, the item that is missing or differs (`fields`, `[method]fields.get`).
    pub item: Option<String>,
    /// Whether the host has the item, with another type (else it has nothing by that name).
    pub differs: bool,
    /// What the plugin was built against: `runner:plugin@0.3.0 and WASI 0.2.6`.
    pub targets: String,
}

impl std::fmt::Display for Unlinkable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "it imports `{}`", self.import)?;
        if let Some(item) = &self.item {
            write!(f, " (`{item}`)")?;
        }
        if self.differs {
            write!(f, " with a type this runner does not provide")?;
        } else {
            write!(f, ", which this runner does not provide")?;
        }
        write!(
            f,
            "; the plugin targets {}, and this runner provides {PACKAGE}@{HOST_VERSION} and WASI 0.2 ({})",
            self.targets,
            WASI_PACKAGES.map(|p| &p[5..]).join(", ")
        )
    }
}

/// Links `component` against the host's linker; says what is missing if it cannot.
pub fn check(
    engine: &Engine,
    component: &Component,
    linker: &wasmtime::component::Linker<super::state::HostState>,
) -> Result<(), Unlinkable> {
    match linker.instantiate_pre(component) {
        Ok(_) => Ok(()),
        Err(error) => Err(explain(&error, &targets(engine, component))),
    }
}

/// Reads wasmtime's link error (its wording is pinned with wasmtime: the
/// unit tests below fail if an upgrade changes it): the outermost context
/// names the import, inner `instance export` contexts the item, and the
/// root cause says whether the item is missing or has another type.
fn explain(error: &wasmtime::Error, targets: &str) -> Unlinkable {
    let messages: Vec<String> = error.chain().map(|e| e.to_string()).collect();
    let quoted = |text: &str, prefix: &str| -> Option<String> {
        let rest = &text[text.find(prefix)? + prefix.len()..];
        let start = rest.find('`')? + 1;
        let end = start + rest[start..].find('`')?;
        Some(rest[start..end].to_owned())
    };
    let import = messages
        .iter()
        .find_map(|m| quoted(m, "component imports "))
        .unwrap_or_else(|| messages.first().cloned().unwrap_or_default());
    let items: Vec<String> = messages
        .iter()
        .filter_map(|m| quoted(m, "instance export "))
        .collect();
    let root = messages.last().map(String::as_str).unwrap_or_default();
    Unlinkable {
        import,
        item: (!items.is_empty()).then(|| items.join("` / `")),
        differs: !root.contains("implementation is missing"),
        targets: targets.to_owned(),
    }
}

/// `runner:plugin@0.3.0 and WASI 0.2.6 (and wasi:keyvalue@0.2.0)`: the plugin's
/// handler version, the WASI it imports, and any other package it imports.
fn targets(engine: &Engine, component: &Component) -> String {
    let ty = component.component_type();
    let split = |name: &str| -> Option<(String, String)> {
        let (path, version) = name.split_once('@')?;
        let package = path.split('/').next()?;
        Some((package.to_owned(), version.to_owned()))
    };
    let handler = ty
        .exports(engine)
        .filter_map(|(name, _)| split(name))
        .find(|(package, _)| package == PACKAGE)
        .map_or_else(
            || format!("no {PACKAGE} version"),
            |(package, version)| format!("{package}@{version}"),
        );
    let mut wasi = BTreeSet::new();
    let mut others = BTreeSet::new();
    for (package, version) in ty.imports(engine).filter_map(|(name, _)| split(name)) {
        if WASI_PACKAGES.contains(&package.as_str()) {
            wasi.insert(version);
        } else if package != PACKAGE {
            others.insert(format!("{package}@{version}"));
        }
    }
    let mut out = handler;
    if !wasi.is_empty() {
        let versions: Vec<String> = wasi.into_iter().collect();
        out += &format!(" and WASI {}", versions.join(", "));
    }
    if !others.is_empty() {
        let others: Vec<String> = others.into_iter().collect();
        out += &format!(" (and {})", others.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(engine: &Engine, wat: &str) -> Component {
        Component::new(engine, wat::parse_str(wat).unwrap()).unwrap()
    }

    fn engine() -> &'static Engine {
        super::super::engine::engine().unwrap()
    }

    fn linker() -> &'static wasmtime::component::Linker<super::super::state::HostState> {
        super::super::run::linker().unwrap()
    }

    #[test]
    fn a_missing_interface_is_named_with_what_the_plugin_targets() {
        let engine = engine();
        let plugin = component(
            engine,
            r#"(component
                (import "wasi:keyvalue/store@0.2.0" (instance
                    (export "get" (func))
                ))
                (import "wasi:cli/environment@0.2.6" (instance
                    (export "get-arguments" (func (result (list string))))
                ))
                (core module $m (func (export "describe")))
                (core instance $i (instantiate $m))
                (func $describe (canon lift (core func $i "describe")))
                (instance $handler (export "describe" (func $describe)))
                (export "runner:plugin/handler@0.3.0" (instance $handler))
            )"#,
        );
        let error = check(engine, &plugin, linker()).unwrap_err();
        assert_eq!(
            error,
            Unlinkable {
                import: "wasi:keyvalue/store@0.2.0".into(),
                item: Some("get".into()),
                differs: false,
                targets: "runner:plugin@0.3.0 and WASI 0.2.6 (and wasi:keyvalue@0.2.0)".into(),
            }
        );
        assert_eq!(
            error.to_string(),
            "it imports `wasi:keyvalue/store@0.2.0` (`get`), which this runner does not provide; the plugin targets runner:plugin@0.3.0 and WASI 0.2.6 (and wasi:keyvalue@0.2.0), and this runner provides runner:plugin@0.3.0 and WASI 0.2 (cli, clocks, filesystem, http, io, random, sockets)"
        );
    }

    #[test]
    fn a_function_of_another_type_is_named() {
        let engine = engine();
        let plugin = component(
            engine,
            r#"(component
                (import "wasi:cli/environment@0.2.0" (instance
                    (export "get-arguments" (func (result u32)))
                ))
            )"#,
        );
        let error = check(engine, &plugin, linker()).unwrap_err();
        assert_eq!(error.import, "wasi:cli/environment@0.2.0");
        assert_eq!(error.item.as_deref(), Some("get-arguments"));
        assert!(error.differs, "{error:?}");
        assert!(
            error
                .targets
                .starts_with("no runner:plugin version and WASI 0.2.0")
        );
    }

    #[test]
    fn what_the_host_provides_links() {
        let engine = engine();
        let plugin = component(
            engine,
            r#"(component
                (import "wasi:cli/environment@0.2.3" (instance
                    (export "get-arguments" (func (result (list string))))
                ))
            )"#,
        );
        assert_eq!(check(engine, &plugin, linker()), Ok(()));
    }
}
