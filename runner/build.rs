//! Builds the built-in plugins (plugins/*) for wasm32-wasip2 and embeds them
//! in the `run` binary, so a plain `cargo build` yields one self-contained
//! binary. Each built-in is embedded three times over:
//!
//! - its component bytes (and their sha256), the plugin itself;
//! - its code precompiled by the engine configuration the runner uses
//!   (src/plugin/engine_config.rs, included below), with that engine's
//!   compatibility key: a runner whose engine has the same key loads it
//!   instead of compiling (src/plugin/builtin.rs);
//! - what its `describe` returns, so `--list`, completion and `TASK --help`
//!   never load it.
//!
//! The test programs (tests/programs, tests/hostile) are not built here but
//! by the test-only crate tests/artifacts: a release build never builds them,
//! and a change to them does not rebuild the built-in plugins.

use std::env;
use std::fmt::Write as _;
use std::path::PathBuf;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker, Val};
use wasmtime::{Engine, Store};

#[path = "../build-support/wasm.rs"]
mod wasm;
use wasm::{TARGET, artifact, build_wasm, wasm_target_dir};

#[path = "src/plugin/engine_config.rs"]
#[allow(dead_code)]
mod engine_config;

/// Plugins embedded in the binary: (name, crate). One line per built-in.
const BUILTINS: &[(&str, &str)] = &[
    ("hello", "hello"),
    ("backup", "backup"),
    ("scan", "scan"),
    ("chaos", "chaos"),
    ("sanitize", "sanitize"),
    ("quickstart", "quickstart"),
];

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest_dir.parent().unwrap().to_path_buf();
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    for watched in [
        "plugins",
        "wit",
        "Cargo.lock",
        "build-support",
        "runner/src/plugin/engine_config.rs",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }

    // Contributors only: `RUN_SKIP_WASM=1 cargo check` type-checks the host
    // while the plugins do not build (e.g. mid-way through a WIT change). The
    // binary then has no built-in plugins (tests/artifacts reads the same
    // variable for the test programs).
    println!("cargo:rerun-if-env-changed=RUN_SKIP_WASM");
    let skip = env::var("RUN_SKIP_WASM").unwrap_or_default();
    if skip == "1" || skip == "sdk" {
        println!("cargo:warning=RUN_SKIP_WASM={skip}: built without plugins");
        std::fs::write(
            out_dir.join("builtins.rs"),
            "pub static BUILTINS: &[Builtin] = &[];\npub const ENGINE_KEY: &str = \"\";\n",
        )
        .unwrap();
        return;
    }

    let target_dir = wasm_target_dir(&out_dir, "wasm-plugins");
    let crates: Vec<&str> = BUILTINS.iter().map(|(_, krate)| *krate).collect();
    build_wasm(&workspace, &target_dir, &crates);
    let artifacts = target_dir.join(TARGET).join("release");

    let (engine, _) = engine_config::create().expect("creating the wasmtime engine");
    let engine_key = engine_config::compatibility_key(&engine);
    let mut builtins = String::from("pub static BUILTINS: &[Builtin] = &[\n");
    let mut descriptors = String::new();
    for (name, krate) in BUILTINS {
        let path = artifact(&artifacts, krate);
        let bytes = std::fs::read(&path).unwrap();
        let digest = hex::encode(Sha256::digest(&bytes));
        let compiled = engine
            .precompile_component(&bytes)
            .unwrap_or_else(|e| panic!("precompiling the built-in plugin `{name}`: {e:#}"));
        let compiled_path = out_dir.join(format!("{krate}.cwasm"));
        std::fs::write(&compiled_path, &compiled).unwrap();
        // SAFETY: compiled just now by this engine.
        let component = unsafe { Component::deserialize(&engine, &compiled) }.unwrap();
        let descriptor = match describe(&engine, &component) {
            Ok(code) => {
                let function = format!("descriptor_{}", krate.replace('-', "_"));
                writeln!(
                    descriptors,
                    "fn {function}() -> Descriptor {{\n    {code}\n}}\n"
                )
                .unwrap();
                format!("Some({function})")
            }
            Err(reason) => {
                println!(
                    "cargo:warning=the descriptor of built-in plugin `{name}` is not embedded: {reason}"
                );
                "None".to_owned()
            }
        };
        writeln!(
            builtins,
            "    Builtin {{ name: {name:?}, bytes: include_bytes!({path:?}), digest: {digest:?}, precompiled: include_bytes!({compiled:?}), descriptor: {descriptor} }},",
            path = path.display().to_string(),
            compiled = compiled_path.display().to_string(),
        )
        .unwrap();
    }
    builtins.push_str("];\n\n");
    writeln!(
        builtins,
        "/// The compatibility key of the engine that precompiled `BUILTINS`.\npub const ENGINE_KEY: &str = {engine_key:?};\n"
    )
    .unwrap();
    builtins.push_str(&descriptors);
    std::fs::write(out_dir.join("builtins.rs"), builtins).unwrap();
}

/// Calls the plugin's `describe` with every import a trap (a plugin's
/// `describe` has no inputs and no side effects), and returns the Rust
/// expression building the `Descriptor` it returned.
fn describe(engine: &Engine, component: &Component) -> Result<String, String> {
    let error = |e: wasmtime::Error| format!("{e:#}");
    let mut linker = Linker::<()>::new(engine);
    linker
        .define_unknown_imports_as_traps(component)
        .map_err(error)?;
    let mut store = Store::new(engine, ());
    // Nothing advances the epoch here: any deadline is never reached.
    store.set_epoch_deadline(1 << 40);
    let instance = linker.instantiate(&mut store, component).map_err(error)?;
    let handler = component
        .component_type()
        .exports(engine)
        .map(|(name, _)| name.to_owned())
        .find(|name| name.starts_with("runner:plugin/handler"))
        .ok_or("it exports no runner:plugin/handler")?;
    let handler = instance
        .get_export_index(&mut store, None, &handler)
        .ok_or("no handler export")?;
    let describe = instance
        .get_export_index(&mut store, Some(&handler), "describe")
        .ok_or("no describe export")?;
    let func = instance
        .get_func(&mut store, describe)
        .ok_or("describe is not a function")?;
    let mut results = [Val::Bool(false)];
    func.call(&mut store, &[], &mut results).map_err(error)?;
    rust(&results[0], "Descriptor")
}

/// The Rust expression for a value of the WIT type `ty` (a record, list,
/// option, enum or primitive of runner:plugin/types).
fn rust(value: &Val, ty: &str) -> Result<String, String> {
    Ok(match value {
        Val::String(s) => format!("{s:?}.to_owned()"),
        Val::Bool(b) => b.to_string(),
        Val::Option(None) => "None".to_owned(),
        Val::Option(Some(v)) => format!("Some({})", rust(v, ty)?),
        Val::List(items) => {
            let items: Vec<String> = items
                .iter()
                .map(|v| rust(v, ty))
                .collect::<Result<_, _>>()?;
            format!("vec![{}]", items.join(", "))
        }
        Val::Enum(case) => format!("{ty}::{}", camel(case)),
        Val::Record(fields) => {
            let mut out = format!("{ty} {{ ");
            for (name, v) in fields {
                let field_ty = match (ty, name.as_str()) {
                    ("Descriptor", "parameters") => "Parameter",
                    ("Descriptor", "needs") => "Grant",
                    ("Parameter", "kind") => "ParameterKind",
                    ("Grant", "kind") => "GrantKind",
                    _ => "",
                };
                write!(out, "{}: {}, ", name.replace('-', "_"), rust(v, field_ty)?).unwrap();
            }
            out.push('}');
            out
        }
        other => return Err(format!("unexpected value {other:?} in a descriptor")),
    })
}

/// `cap-add` → `CapAdd`.
fn camel(kebab: &str) -> String {
    kebab
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}
