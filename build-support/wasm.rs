//! Building workspace crates for wasm32-wasip2 from a build script, with a
//! nested cargo: shared by runner/build.rs (the built-in plugins) and
//! tests/artifacts/build.rs (the test programs), which include it with `#[path]`.
//!
//! The nested cargo uses its own target directory: sharing the outer one would
//! deadlock on cargo's build-directory lock.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const TARGET: &str = "wasm32-wasip2";

/// `<target>/NAME`, beside the host build, so `cargo clean` removes it.
/// Derived from OUT_DIR (`<target>/<profile>/build/runner-*/out`), which is
/// absolute: CARGO_TARGET_DIR may be relative to wherever cargo was started.
pub fn wasm_target_dir(out_dir: &Path, name: &str) -> PathBuf {
    out_dir
        .ancestors()
        .nth(4)
        .expect("OUT_DIR is inside the target directory")
        .join(name)
}

pub fn artifact(dir: &Path, krate: &str) -> PathBuf {
    dir.join(format!("{}.wasm", krate.replace('-', "_")))
}

pub fn build_wasm(workspace: &Path, target_dir: &Path, crates: &[&str]) {
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
