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
