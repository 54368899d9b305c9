//! Runaway plugins are stopped with a clear message and the documented exit code.

use std::time::{Duration, Instant};

use crate::test::Test;

fn fixture(config: &str, extra: &str) -> String {
    format!("[tasks.t]\nplugin = \"{{fixture}}\"\nconfig = {{ {config} }}\n{extra}\n")
}

#[test]
fn busy_loop_is_stopped_by_the_timeout() {
    let start = Instant::now();
    Test::new()
        .tasks(&fixture(r#"mode = "loop""#, r#"timeout = "300ms""#))
        .args(&["t"])
        .stderr_contains("error: task `t` (plugin `test_programs.wasm`): timed out after 300ms")
        .stderr_lacks("panicked")
        .status(124)
        .run();
    assert!(start.elapsed() < Duration::from_secs(20));
}

#[test]
fn a_plugin_blocked_in_a_host_call_is_stopped_by_the_timeout() {
    Test::new()
        .tasks(&fixture(
            r#"mode = "sleep", ms = 60000"#,
            r#"timeout = "300ms""#,
        ))
        .args(&["t"])
        .stderr_contains("timed out after 300ms")
        .status(124)
        .run();
}

#[test]
fn memory_bomb_is_stopped_at_the_limit() {
    Test::new()
        .tasks(&fixture(r#"mode = "memory", mb = 1024"#, r#"memory = "64MiB""#))
        .args(&["t"])
        .stderr_contains("error: task `t` (plugin `test_programs.wasm`): stopped: it exceeded its memory limit of 64 MiB")
        .stderr_lacks("RUST_BACKTRACE")
        .status(1)
        .run();
}

#[test]
fn memory_within_the_limit_is_fine() {
    Test::new()
        .tasks(&fixture(
            r#"mode = "memory", mb = 16"#,
            r#"memory = "64MiB""#,
        ))
        .args(&["t"])
        .stdout("allocated 16 MiB\n")
        .run();
}

#[test]
fn a_trap_names_task_plugin_and_reason_without_a_backtrace() {
    Test::new()
        .tasks(&fixture(r#"mode = "trap""#, ""))
        .args(&["t"])
        .stderr_contains("fixture trap: deliberate")
        .stderr_contains("error: task `t` (plugin `test_programs.wasm`): trapped: ")
        .stderr_lacks("stack backtrace")
        .stderr_lacks("wasm backtrace")
        .status(1)
        .run();
}

#[test]
fn a_plugin_error_sets_its_exit_code() {
    Test::new()
        .tasks(&fixture(
            r#"mode = "fail", code = 7, message = "database is down""#,
            "",
        ))
        .args(&["t"])
        .stderr_contains("error: task `t` (plugin `test_programs.wasm`): failed: database is down")
        .status(7)
        .run();
}

#[test]
fn interrupt_stops_a_running_plugin_with_130() {
    let test = Test::new()
        .tasks(&fixture(r#"mode = "loop""#, ""))
        .args(&["t"]);
    let child = test
        .command()
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let start = Instant::now();
    let output = child.wait_with_output().unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "the runner must stop promptly"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
}

#[test]
fn a_plugin_error_asking_for_exit_code_0_still_fails_the_run() {
    Test::new()
        .tasks(&fixture(
            r#"mode = "fail", code = 0, message = "failed quietly""#,
            "",
        ))
        .args(&["t"])
        .stderr_contains("failed quietly")
        .status(1)
        .run();
}

fn hostile(config: &str, extra: &str) -> String {
    format!("[tasks.t]\nplugin = \"{{hostile}}\"\nconfig = {{ {config} }}\n{extra}\n")
}

/// Starts `run` with its stdout on a pipe that is never read (its read end
/// held open, so writes block rather than fail); returns the child, the
/// held read end, and a receiver for its stderr once it exits. The plugin
/// is compiled first, so that what is stopped is the blocked write.
fn run_into_a_full_pipe(
    test: &Test,
) -> (
    std::process::Child,
    std::io::PipeReader,
    std::sync::mpsc::Receiver<String>,
) {
    Test::new()
        .tasks(&hostile(r#"mode = "mode""#, ""))
        .args(&["t"])
        .stdout("mode=run\n")
        .run();
    let (reader, writer) = std::io::pipe().unwrap();
    let mut child = test
        .command()
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        let _ = send.send(text);
    });
    (child, reader, receive)
}

/// Waits for `child` at most `bound`; kills it and fails the test past that.
fn exit_within(child: &mut std::process::Child, bound: Duration) -> (i32, Duration) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code().unwrap_or(-1), start.elapsed());
        }
        if start.elapsed() > bound {
            let _ = child.kill();
            panic!("`run` did not exit within {bound:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_plugin_blocked_writing_to_a_pipe_nobody_reads_is_stopped_by_the_timeout() {
    let test = Test::new()
        .tasks(&hostile(
            r#"mode = "flood", stream = "stdout""#,
            r#"timeout = "1s""#,
        ))
        .args(&["t"]);
    let (mut child, _unread, stderr) = run_into_a_full_pipe(&test);
    let (code, elapsed) = exit_within(&mut child, Duration::from_secs(20));
    let stderr = stderr.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(code, 124, "{stderr}");
    assert!(stderr.contains("timed out after 1s"), "{stderr}");
    // The timeout itself plus the runner's start, with room for a busy machine.
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

#[test]
fn interrupt_stops_a_plugin_blocked_writing_to_a_pipe_nobody_reads() {
    let test = Test::new()
        .tasks(&hostile(r#"mode = "flood", stream = "stdout""#, ""))
        .args(&["t"]);
    let (mut child, _unread, stderr) = run_into_a_full_pipe(&test);
    // Long enough to start and fill the pipe (the plugin is compiled already).
    std::thread::sleep(Duration::from_millis(1500));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let (code, elapsed) = exit_within(&mut child, Duration::from_secs(10));
    let stderr = stderr.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(code, 130, "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    // Blocked forever without the fix; 8 s is margin for a busy host.
    assert!(elapsed < Duration::from_secs(8), "{elapsed:?}");
}

#[test]
fn a_plugin_is_stopped_at_its_handle_limit_and_a_sibling_still_opens_its_files() {
    // The process may open 4096 files. Without a per-plugin limit `hog`
    // takes nearly all of them, says so (`hog/full`) and holds them 3 s;
    // `sibling` waits for that (at most 5 s), then opens its 300 and fails
    // with "Too many open files". With the limit, `hog` is stopped at 1024.
    let test = Test::new()
        .tasks(
            "[tasks.both]\ndepends = [\"hog\", \"sibling\"]\n\n\
             [tasks.hog]\nplugin = \"{hostile}\"\nconfig = { mode = \"open-files\", dir = \"hog\", count = 100000, hold-ms = 3000 }\nallow = { write = [\"hog\"] }\n\n\
             [tasks.sibling]\nplugin = \"{hostile}\"\nconfig = { mode = \"read-files\", dir = \"sibling\", count = 300, wait-for = \"hog/full\", wait-ms = 5000 }\nallow = { write = [\"sibling\", \"hog\"] }\n",
        )
        .args(&["-j", "3", "--keep-going", "both"]);
    let mut command = test.command();
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut command, || {
            let limit = libc::rlimit {
                rlim_cur: 4096,
                rlim_max: 4096,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let context = format!("\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
    assert!(
        stderr.contains(
            "error: task `hog` (plugin `hostile.wasm`): stopped: it exceeded its limit of 1024 open handles"
        ),
        "{context}"
    );
    assert!(stdout.contains("opened 300 files"), "{context}");
    assert!(!stderr.contains("sibling` (plugin"), "{context}");
    assert_eq!(output.status.code(), Some(1), "{context}");
}

#[test]
fn the_default_memory_limit_is_512_mib_and_memory_raises_it() {
    Test::new()
        .tasks(&hostile(r#"mode = "memory", mb = 520"#, ""))
        .args(&["t"])
        .stderr_contains(
            "error: task `t` (plugin `hostile.wasm`): stopped: it exceeded its memory limit of 512 MiB",
        )
        .status(1)
        .run();
    Test::new()
        .tasks(&hostile(
            r#"mode = "memory", mb = 520"#,
            r#"memory = "640MiB""#,
        ))
        .args(&["t"])
        .stdout("allocated 520 MiB\n")
        .run();
}

#[test]
fn a_plugin_file_over_the_size_limit_is_refused_before_it_is_read() {
    let test = Test::new()
        .tasks("[tasks.t]\nplugin = \"./big.wasm\"\n")
        .tap(|t| {
            // Sparse: 200 MiB that take no disk; reading it would take time and memory.
            let file = std::fs::File::create(t.path("big.wasm")).unwrap();
            file.set_len(200 << 20).unwrap();
        });
    let big = test.path("big.wasm");
    test.args(&["t"])
        .stderr_contains(&format!(
            "plugin {} is 200.0 MiB (209715200 bytes), over the 128 MiB limit for plugin files: refused",
            big.display()
        ))
        .status(2)
        .run();
}

#[test]
fn a_download_over_the_size_limit_is_refused_by_its_length_or_stopped_at_the_limit() {
    use std::io::{BufRead, BufReader, Write};
    // One server announcing 200 MiB; one sending without a length, forever.
    let serve = |announce: bool| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/p.wasm", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(&stream);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let mut stream = &stream;
                if announce {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Length: 209715200\r\nConnection: close\r\n\r\n"
                    );
                    continue;
                }
                let _ = write!(stream, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
                let chunk = vec![0u8; 1 << 20];
                while stream.write_all(&chunk).is_ok() {}
            }
        });
        url
    };
    let pin = "0".repeat(64);
    for (url, size) in [
        (serve(true), "is 200.0 MiB (209715200 bytes)"),
        (
            serve(false),
            "is more than 128.0 MiB (134217728 bytes), where reading stopped",
        ),
    ] {
        Test::new()
            .tasks(&format!(
                "[tasks.t]\nplugin = {{ url = \"{url}\", sha256 = \"{pin}\" }}\n"
            ))
            .args(&["t"])
            .stderr_contains(&format!(
                "plugin {url} {size}, over the 128 MiB limit for plugin files: refused"
            ))
            .status(2)
            .run();
    }
}

#[test]
fn a_missing_import_is_a_load_error_in_the_runners_words() {
    let component = wat::parse_str(
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
    )
    .unwrap();
    Test::new()
        .tasks("[tasks.t]\nplugin = \"./kv.wasm\"\n")
        .tap(|t| std::fs::write(t.path("kv.wasm"), &component).unwrap())
        .args(&["t"])
        .stderr_contains(
            "error: task `t` (plugin `kv.wasm`): plugin `kv.wasm` cannot be linked: it imports `wasi:keyvalue/store@0.2.0` (`get`), which this runner does not provide; the plugin targets runner:plugin@0.3.0 and WASI 0.2.6 (and wasi:keyvalue@0.2.0), and this runner provides runner:plugin@0.3.0 and WASI 0.2 (cli, clocks, filesystem, http, io, random, sockets)",
        )
        .stderr_lacks("matching implementation was not found")
        .status(2)
        .run();
}
