//! Builds the built-in plugins (plugins/*) and the test programs (tests/programs)
//! for wasm32-wasip2 and embeds the plugins in the `run` binary, so a plain
//! `cargo build` yields one self-contained binary.
//!
//! The nested cargo uses its own target directory: sharing the outer one would
//! deadlock on cargo's build-directory lock.

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// Plugins embedded in the binary: (name, crate). One line per built-in.
const BUILTINS: &[(&str, &str)] = &[
    ("hello", "hello"),
    ("backup", "backup"),
    ("scan", "scan"),
    ("chaos", "chaos"),
    ("sanitize", "sanitize"),
    ("quickstart", "quickstart"),
];

/// Guest programs used only by the tests (crate name → constant name).
const TEST_PROGRAMS: &[(&str, &str)] = &[("test-programs", "FIXTURE"), ("hostile", "HOSTILE")];

/// Test programs written against wit/ directly, without the SDK: still built
/// under `RUN_SKIP_WASM=sdk`.
const WITHOUT_SDK: &[&str] = &["hostile"];

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest_dir.parent().unwrap().to_path_buf();
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    for watched in [
        "plugins",
        "tests/programs",
        "tests/hostile",
        "wit",
        "Cargo.lock",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }

    // Contributors only: `RUN_SKIP_WASM=1 cargo check` type-checks the host
    // while the plugins do not build (e.g. mid-way through a WIT change). The
    // binary then has no built-in plugins and the tests' fixture is missing.
    // `RUN_SKIP_WASM=sdk` still builds the test programs that do not use the
    // SDK, so their tests can run.
    println!("cargo:rerun-if-env-changed=RUN_SKIP_WASM");
    let skip = env::var("RUN_SKIP_WASM").unwrap_or_default();
    if skip == "1" || skip == "sdk" {
        println!("cargo:warning=RUN_SKIP_WASM={skip}: built without plugins");
        std::fs::write(
            out_dir.join("builtins.rs"),
            "pub static BUILTINS: &[Builtin] = &[];\n",
        )
        .unwrap();
        let built: &[&str] = if skip == "sdk" { WITHOUT_SDK } else { &[] };
        if !built.is_empty() {
            build_wasm(&workspace, &wasm_target_dir(&out_dir), built);
        }
        let artifacts = wasm_target_dir(&out_dir).join(TARGET).join("release");
        for (krate, constant) in TEST_PROGRAMS {
            let path = if built.contains(krate) {
                artifact(&artifacts, krate)
            } else {
                PathBuf::from(format!("/nonexistent/{constant}.wasm"))
            };
            println!(
                "cargo:rustc-env=RUN_TEST_PROGRAM_{constant}={}",
                path.display()
            );
        }
        return;
    }

    let target_dir = wasm_target_dir(&out_dir);
    let crates: Vec<&str> = BUILTINS
        .iter()
        .map(|(_, krate)| *krate)
        .chain(TEST_PROGRAMS.iter().map(|(krate, _)| *krate))
        .collect();
    build_wasm(&workspace, &target_dir, &crates);
    let artifacts = target_dir.join(TARGET).join("release");

    let mut builtins = String::from("pub static BUILTINS: &[Builtin] = &[\n");
    for (name, krate) in BUILTINS {
        let path = artifact(&artifacts, krate);
        let bytes = std::fs::read(&path).unwrap();
        let digest = hex::encode(Sha256::digest(&bytes));
        writeln!(
            builtins,
            "    Builtin {{ name: {name:?}, bytes: include_bytes!({path:?}), digest: {digest:?} }},",
            path = path.display().to_string()
        )
        .unwrap();
    }
    builtins.push_str("];\n");
    std::fs::write(out_dir.join("builtins.rs"), builtins).unwrap();

    for (krate, constant) in TEST_PROGRAMS {
        let path = artifact(&artifacts, krate);
        println!(
            "cargo:rustc-env=RUN_TEST_PROGRAM_{constant}={}",
            path.display()
        );
    }
}

/// `<target>/wasm-plugins`, beside the host build, so `cargo clean` removes it.
/// Derived from OUT_DIR (`<target>/<profile>/build/runner-*/out`), which is
/// absolute: CARGO_TARGET_DIR may be relative to wherever cargo was started.
fn wasm_target_dir(out_dir: &Path) -> PathBuf {
    out_dir
        .ancestors()
        .nth(4)
        .expect("OUT_DIR is inside the target directory")
        .join("wasm-plugins")
}

fn artifact(dir: &Path, krate: &str) -> PathBuf {
    dir.join(format!("{}.wasm", krate.replace('-', "_")))
}

fn build_wasm(workspace: &Path, target_dir: &Path, crates: &[&str]) {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args(["build", "--release", "--target", TARGET, "--target-dir"])
        .arg(target_dir);
    for krate in crates {
        cmd.args(["-p", krate]);
    }
    // The outer build's flags and wrappers are for the host target; clippy's
    // wrapper in particular must not lint (and fail) the nested build.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_MAKEFLAGS",
        "CARGO_PRIMARY_PACKAGE",
        "CLIPPY_ARGS",
    ] {
        cmd.env_remove(var);
    }
    let output = cmd
        .output()
        .expect("failed to start cargo for the wasm plugins");
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let hint = if stderr.contains("target may not be installed")
            || stderr.contains("can't find crate for `core`")
        {
            "\nThe wasm32-wasip2 target is missing: run `rustup target add wasm32-wasip2`."
        } else {
            ""
        };
        panic!(
            "building the wasm plugins ({}) failed:\n{stderr}{hint}",
            crates.join(", ")
        );
    }
}
