//! Builds the test programs for wasm32-wasip2 and hands their paths to
//! src/lib.rs (`RUN_TEST_PROGRAM_<NAME>`), with a `foreach_program!` macro
//! naming every program, so the tests can require one test per program (as
//! wasmtime's crates/test-programs does).

use std::env;
use std::fmt::Write as _;
use std::path::PathBuf;

#[path = "../../build-support/wasm.rs"]
mod wasm;
use wasm::{TARGET, artifact, build_wasm, wasm_target_dir};

/// (crate, name): one line per test program.
const PROGRAMS: &[(&str, &str)] = &[("test-programs", "fixture"), ("hostile", "hostile")];

/// Programs written against wit/ directly, without the SDK: still built under
/// `RUN_SKIP_WASM=sdk`.
const WITHOUT_SDK: &[&str] = &["hostile"];

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest_dir
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    // Exactly what the programs are built from.
    for watched in [
        "tests/programs",
        "tests/hostile",
        "plugins/sdk",
        "wit",
        "Cargo.lock",
        "build-support",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    println!("cargo:rerun-if-env-changed=RUN_SKIP_WASM");
    let skip = env::var("RUN_SKIP_WASM").unwrap_or_default();
    let crates: Vec<&str> = PROGRAMS
        .iter()
        .map(|(krate, _)| *krate)
        .filter(|krate| match skip.as_str() {
            "1" => false,
            "sdk" => WITHOUT_SDK.contains(krate),
            _ => true,
        })
        .collect();
    let target_dir = wasm_target_dir(&out_dir, "wasm-test-programs");
    if !crates.is_empty() {
        build_wasm(&workspace, &target_dir, &crates);
    }
    let artifacts = target_dir.join(TARGET).join("release");
    let mut names = String::new();
    for (krate, name) in PROGRAMS {
        let path = if crates.contains(krate) {
            artifact(&artifacts, krate)
        } else {
            PathBuf::from(format!("/nonexistent/{name}.wasm"))
        };
        println!(
            "cargo:rustc-env=RUN_TEST_PROGRAM_{}={}",
            name.to_uppercase(),
            path.display()
        );
        write!(names, "$mac!({name}); ").unwrap();
    }
    std::fs::write(
        out_dir.join("programs.rs"),
        format!(
            "/// Calls `$mac!(NAME)` for every test program.\n#[macro_export]\nmacro_rules! foreach_program {{\n    ($mac:ident) => {{ {names}}};\n}}\n"
        ),
    )
    .unwrap();
}
