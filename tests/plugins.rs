//! Loading plugins: bad files, wrong WIT versions, path resolution and the
//! compiled-component cache.

use crate::test::{FIXTURE, Test};

fn path_task(path: &str) -> String {
    format!("[tasks.t]\nplugin = \"{path}\"\n")
}

#[test]
fn a_file_that_is_not_wasm_is_refused() {
    Test::new()
        .tasks(&path_task("bad.wasm"))
        .file("bad.wasm", "not wasm at all")
        .args(&["t"])
        .stderr_contains("bad.wasm is not a WebAssembly component (bad magic bytes)")
        .status(2)
        .run();
}

#[test]
fn a_core_module_is_refused_as_not_a_component() {
    let test = Test::new().tasks(&path_task("core.wasm"));
    std::fs::write(test.path("core.wasm"), wat::parse_str("(module)").unwrap()).unwrap();
    test.args(&["t"])
        .stderr_contains("core.wasm is a core WebAssembly module, not a component")
        .status(2)
        .run();
}

#[test]
fn a_missing_plugin_file_is_named() {
    Test::new()
        .tasks(&path_task("missing.wasm"))
        .args(&["t"])
        .stderr_contains("cannot read plugin file")
        .stderr_contains("missing.wasm")
        .status(2)
        .run();
}

/// A component exporting the handler interface of a future WIT version.
const FUTURE_PLUGIN: &str = r#"
(component
  (core module $m (func (export "f")))
  (core instance $i (instantiate $m))
  (func $f (canon lift (core func $i "f")))
  (instance $h (export "describe" (func $f)))
  (export "runner:plugin/handler@9.0.0" (instance $h))
)"#;

#[test]
fn an_incompatible_wit_version_names_both_versions() {
    let test = Test::new().tasks(&path_task("future.wasm"));
    std::fs::write(
        test.path("future.wasm"),
        wat::parse_str(FUTURE_PLUGIN).unwrap(),
    )
    .unwrap();
    test.args(&["t"])
        .stderr_contains("plugin `future.wasm` cannot be used: it targets WIT runner:plugin@9.0.0, but this run supports runner:plugin@0.3.0")
        .status(2)
        .run();
}

#[test]
fn a_component_without_the_handler_is_not_a_plugin() {
    let test = Test::new().tasks(&path_task("other.wasm"));
    std::fs::write(
        test.path("other.wasm"),
        wat::parse_str("(component)").unwrap(),
    )
    .unwrap();
    test.args(&["t"])
        .stderr_contains("it does not export `runner:plugin/handler`: it is not a run plugin")
        .status(2)
        .run();
}

#[test]
fn plugin_paths_resolve_against_tasks_toml_from_a_subdirectory() {
    let test = Test::new()
        .tasks("[tasks.t]\nplugin = \"plugins/f.wasm\"\nconfig = { mode = \"fail\", code = 3, message = \"ran\" }\n")
        .dir("plugins")
        .dir("sub/deeper");
    std::fs::copy(FIXTURE, test.path("plugins/f.wasm")).unwrap();
    let output = test
        .command()
        .current_dir(test.path("sub/deeper"))
        .arg("t")
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn compiled_components_are_cached_by_digest() {
    let cache = tempfile::tempdir().unwrap();
    let test =
        Test::new().tasks("[tasks.t]\nplugin = \"{fixture}\"\nconfig = { mode = \"noop\" }\n");
    for _ in 0..2 {
        let output = test
            .command()
            .env("RUN_CACHE_DIR", cache.path())
            .arg("t")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let compiled: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".cwasm"))
        .collect();
    assert_eq!(
        compiled.len(),
        1,
        "one entry for one component: {compiled:?}"
    );
}

#[test]
fn a_corrupt_cache_entry_is_recompiled() {
    let cache = tempfile::tempdir().unwrap();
    let test =
        Test::new().tasks("[tasks.t]\nplugin = \"{fixture}\"\nconfig = { mode = \"noop\" }\n");
    let run = || {
        test.command()
            .env("RUN_CACHE_DIR", cache.path())
            .arg("t")
            .output()
            .unwrap()
    };
    assert!(run().status.success());
    let entry = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|path| path.extension().is_some_and(|e| e == "cwasm"))
        .expect("a compiled entry");
    std::fs::write(&entry, b"garbage").unwrap();
    let output = run();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn inspect_shows_a_builtin_without_running_it() {
    let (output, _) = Test::new().args(&["plugin", "inspect", "hello"]).run();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("plugin        hello 0.1.0\nsummary       Greets someone and leaves a note\nwit           runner:plugin@0.3.0\ndigest        sha256:"), "{stdout}");
    assert!(stdout.ends_with("parameters\n  --name VALUE  who to greet (overrides config) (default: world)\nneeds\n  write out\n"), "{stdout}");
}

#[test]
fn inspect_reads_a_component_file() {
    let (output, _) = Test::new().args(&["plugin", "inspect", FIXTURE]).run();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with("plugin        fixture 0.1.0\n"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("parameters    none\nneeds         none\n"),
        "{stdout}"
    );
}

#[test]
fn inspect_refuses_what_is_not_a_plugin() {
    let test = Test::new().file("bad.wasm", "garbage");
    test.args(&["plugin", "inspect", "bad.wasm"])
        .stderr_contains("bad.wasm is not a WebAssembly component")
        .status(2)
        .run();
    Test::new()
        .args(&["plugin", "inspect", "helo"])
        .stderr_contains("no built-in plugin named `helo`")
        .stderr_contains("did you mean `hello`?")
        .status(2)
        .run();
    Test::new()
        .args(&["plugin"])
        .stderr_contains("usage: run plugin inspect")
        .status(2)
        .run();
}

#[test]
fn task_help_shows_parameters_grants_and_what_is_missing() {
    Test::new()
        .tasks("[tasks.greet]\ndescription = \"Say hello\"\nplugin = \"hello\"\nallow = { read = [\"docs\"] }\n")
        .args(&["greet", "--help"])
        .stdout(
            "greet: Say hello\n\nPlugin hello 0.1.0: Greets someone and leaves a note\n\nUsage: run greet [--name VALUE]\n\nParameters:\n  --name VALUE  who to greet (overrides config) (default: world)\n\nGranted (allow):\n  read: docs\n\nThe plugin asks for more than the task grants (it would be denied): write out\n",
        )
        .run();
    Test::new()
        .tasks("[tasks.build]\ncommand = \"cargo build\"\n")
        .args(&["build", "-h"])
        .stdout("build\n\nHost command (unsandboxed); arguments become $1, $2, …:\n  cargo build\n")
        .run();
}

/// A loopback HTTP server that answers every GET with the current `body`,
/// for as long as the test holds it.
struct Server {
    url: String,
    body: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl Server {
    fn serving(bytes: Vec<u8>) -> Server {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/plugin.wasm", listener.local_addr().unwrap());
        let body = std::sync::Arc::new(std::sync::Mutex::new(bytes));
        let serving = body.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(&stream);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let body = serving.lock().unwrap().clone();
                let mut stream = &stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(&body);
            }
        });
        Server { url, body }
    }
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Another real component, to stand for "the same plugin, changed".
fn other_component() -> Vec<u8> {
    std::fs::read(crate::test::builtin_wasm("hello")).unwrap()
}

fn url_task(url: &str, sha: &str) -> String {
    format!(
        "[tasks.t]\nplugin = {{ url = \"{url}\", sha256 = \"{sha}\" }}\nconfig = {{ mode = \"fail\", code = 3, message = \"ran from a url\" }}\n"
    )
}

#[test]
fn a_pinned_url_plugin_is_downloaded_once_and_cached_by_digest() {
    let fixture = std::fs::read(FIXTURE).unwrap();
    let server = Server::serving(fixture.clone());
    let cache = tempfile::tempdir().unwrap();
    let test = Test::new().tasks(&url_task(&server.url, &sha256(&fixture)));
    let run = || {
        test.command()
            .env("RUN_CACHE_DIR", cache.path())
            .arg("t")
            .output()
            .unwrap()
    };
    let first = run();
    assert_eq!(
        first.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // The server now serves other bytes: the cached download (by digest) is used.
    *server.body.lock().unwrap() = other_component();
    assert_eq!(run().status.code(), Some(3));
    assert!(
        cache
            .path()
            .join("downloads")
            .join(format!("{}.wasm", sha256(&fixture)))
            .exists()
    );
}

#[test]
fn a_url_serving_changed_bytes_is_refused_with_both_digests() {
    let fixture = std::fs::read(FIXTURE).unwrap();
    let changed = other_component();
    let server = Server::serving(changed.clone());
    let cache = tempfile::tempdir().unwrap();
    let test = Test::new().tasks(&url_task(&server.url, &sha256(&fixture)));
    let output = test
        .command()
        .env("RUN_CACHE_DIR", cache.path())
        .arg("t")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "plugin {} has sha256:{}, but tasks.toml pins sha256:{}: refused",
            server.url,
            sha256(&changed),
            sha256(&fixture)
        )),
        "{stderr}"
    );
}

#[test]
fn an_unpinned_url_is_a_config_error() {
    Test::new()
        .tasks("[tasks.t]\nplugin = { url = \"http://127.0.0.1:9/p.wasm\" }\n")
        .args(&["t"])
        .stderr_contains(
            "bad plugin pin in task `t`: `sha256` is missing: a downloaded plugin must be pinned",
        )
        .status(2)
        .run();
}

#[test]
fn the_lock_records_plugin_files_and_refuses_a_changed_one() {
    let test = Test::new()
        .tasks("[tasks.t]\nplugin = \"plugins/p.wasm\"\nconfig = { mode = \"noop\" }\n")
        .dir("plugins");
    std::fs::copy(FIXTURE, test.path("plugins/p.wasm")).unwrap();
    let fixture = sha256(&std::fs::read(FIXTURE).unwrap());
    assert!(test.command().arg("t").output().unwrap().status.success());
    let lock = std::fs::read_to_string(test.path("tasks.lock")).unwrap();
    assert!(
        lock.contains(&format!("\"plugins/p.wasm\" = \"sha256:{fixture}\"")),
        "{lock}"
    );

    let changed = other_component();
    std::fs::write(test.path("plugins/p.wasm"), &changed).unwrap();
    let output = test.command().arg("t").output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!(
        "plugin `plugins/p.wasm` of task `t` changed: {} records sha256:{fixture}, but it is now sha256:{}",
        test.path("tasks.lock").display(),
        sha256(&changed)
    )), "{stderr}");
}

#[test]
fn a_plugin_a_crate_in_the_project_builds_is_not_pinned_so_rebuilds_just_run() {
    let artifact = "plugins/p/target/wasm32-wasip2/release/p.wasm";
    let test = Test::new()
        .tasks(&format!(
            "[tasks.t]\nplugin = \"{artifact}\"\nconfig = {{ mode = \"noop\" }}\n"
        ))
        .dir("plugins/p/target/wasm32-wasip2/release")
        .file("plugins/p/Cargo.toml", "[package]\nname = \"p\"\n");
    // A line an older run wrote is dropped, not checked.
    std::fs::write(
        test.path("tasks.lock"),
        format!(
            "[plugins]\n\"{artifact}\" = \"sha256:{}\"\n",
            "0".repeat(64)
        ),
    )
    .unwrap();
    std::fs::copy(FIXTURE, test.path(artifact)).unwrap();
    let first = test.command().arg("t").output().unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // A rebuild: other bytes at the same path.
    std::fs::write(test.path(artifact), other_component()).unwrap();
    let rebuilt = test.command().arg("t").output().unwrap();
    let stderr = String::from_utf8_lossy(&rebuilt.stderr);
    assert!(!stderr.contains("changed"), "{stderr}");
    let lock = std::fs::read_to_string(test.path("tasks.lock")).unwrap();
    assert!(!lock.contains(artifact), "{lock}");
}

/// The fixture as if built against another version of the WIT package: every
/// `runner:plugin/…@0.3.0` name rewritten (same length, so the binary stays valid).
fn fixture_targeting(version: &str) -> Vec<u8> {
    assert_eq!(version.len(), "0.3.0".len());
    let mut bytes = std::fs::read(FIXTURE).unwrap();
    let (from, to) = ("@0.3.0".as_bytes(), format!("@{version}").into_bytes());
    let mut i = 0;
    let mut replaced = 0;
    while let Some(at) = bytes[i..].windows(from.len()).position(|w| w == from) {
        let at = i + at;
        // Only the package's own names: `runner:plugin/INTERFACE@0.3.0`.
        let name_start = bytes[..at]
            .iter()
            .rposition(|b| !(b.is_ascii_alphanumeric() || *b == b'-'))
            .unwrap_or(0);
        if bytes[..=name_start].ends_with(b"runner:plugin/") {
            bytes[at..at + to.len()].copy_from_slice(&to);
            replaced += 1;
        }
        i = at + from.len();
    }
    assert!(replaced > 0);
    bytes
}

#[test]
fn a_plugin_built_for_a_newer_minor_version_runs_and_a_newer_major_is_refused() {
    let test = Test::new().tasks(
        "[tasks.minor]\nplugin = \"minor.wasm\"\nconfig = { mode = \"fail\", code = 3, message = \"ran on 0.1.0\" }\n\n[tasks.major]\nplugin = \"major.wasm\"\nconfig = { mode = \"noop\" }\n",
    );
    std::fs::write(test.path("minor.wasm"), fixture_targeting("0.3.9")).unwrap();
    std::fs::write(test.path("major.wasm"), fixture_targeting("0.4.0")).unwrap();
    let minor = test.command().arg("minor").output().unwrap();
    assert_eq!(
        minor.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&minor.stderr)
    );
    let major = test.command().arg("major").output().unwrap();
    let stderr = String::from_utf8_lossy(&major.stderr);
    assert_eq!(major.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "it targets WIT runner:plugin@0.4.0, but this run supports runner:plugin@0.3.0"
        ),
        "{stderr}"
    );
}

/// A built-in's code and descriptor are embedded in the binary: with an
/// empty cache, listing, `--help`, a dry run and a first run compile nothing
/// (the runner logs every compile at debug level), and nothing is written
/// to the cache.
#[test]
fn a_builtin_is_never_compiled_on_a_fresh_machine() {
    let cache = tempfile::tempdir().unwrap();
    let test = Test::new().tasks(
        "[tasks.greet]\nplugin = \"hello\"\nallow = { write = [\"out\"] }\nsources = [\"tasks.toml\"]\n",
    );
    let fresh = |args: &[&str]| {
        test.invoke_env(
            &[
                ("RUN_CACHE_DIR", cache.path().to_str().unwrap()),
                ("RUN_LOG", "runner=debug"),
            ],
            args,
        )
        .ok()
        .stderr_lacks("compiling plugin")
    };
    // Listing and help never even load it.
    fresh(&["--list"])
        .stdout_contains("greet [--name VALUE]")
        .stderr_lacks("precompiled");
    fresh(&["greet", "--help"])
        .stdout_contains("--name VALUE  who to greet")
        .stderr_lacks("precompiled");
    // A dry run and a run load the embedded code.
    fresh(&["-n", "greet"])
        .stderr_contains("plugin `hello`: loaded the code precompiled into the binary");
    fresh(&["greet"])
        .stderr_contains("plugin `hello`: loaded the code precompiled into the binary");
    let cached: Vec<_> = std::fs::read_dir(cache.path())
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(
        cached
            .iter()
            .all(|n| !n.to_string_lossy().ends_with(".cwasm")),
        "{cached:?}"
    );
}

/// A test program the runner cannot describe would make every test using it
/// fail for the wrong reason: each one loads. `foreach_program!` does not
/// compile unless every program has a test named after it here.
mod programs {
    use crate::test::{FIXTURE, HOSTILE, Test};

    macro_rules! assert_test_exists {
        ($name:ident) => {
            #[allow(unused_imports)]
            use self::$name as _;
        };
    }
    test_artifacts::foreach_program!(assert_test_exists);

    fn describes(path: &str, name: &str) {
        Test::new()
            .invoke(&["plugin", "inspect", path])
            .ok()
            .stdout_contains(&format!("plugin        {name} "));
    }

    #[test]
    fn fixture() {
        describes(FIXTURE, "fixture");
    }

    #[test]
    fn hostile() {
        describes(HOSTILE, "hostile");
    }
}
