//! `http` grants: URL prefixes checked on the parsed, normalised URL; the
//! host's client (TLS with a CA only when told, limits) against local
//! servers; and plugins downloading through the real `run` binary.

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use runner::capability::http::{Client, HttpHost, HttpPrefix, HttpUrl, Limits};
use runner::grant::Grants;

use crate::support::http_server::{Reply, Server, TestCa};
use crate::test::Test;

fn host(prefixes: &[&str]) -> HttpHost {
    let grants = Grants {
        http: prefixes.iter().map(|p| p.to_string()).collect(),
        ..Grants::default()
    };
    HttpHost::new("t", &grants, None)
}

fn check(host: &HttpHost, url: &str) -> Result<String, String> {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, "/"),
    };
    host.check(scheme, authority, path)
        .map(|u| u.to_string())
        .map_err(|d| d.to_string())
}

#[test]
fn a_prefix_allows_its_path_and_below_on_the_same_origin() {
    let host = host(&["https://Example.ORG/path/"]);
    assert_eq!(
        check(&host, "https://example.org/path/a.json"),
        Ok("https://example.org/path/a.json".to_owned())
    );
    assert!(check(&host, "https://EXAMPLE.org:443/path/sub/b?x=1").is_ok());
    // Dot segments that stay inside the prefix are resolved first.
    assert_eq!(
        check(&host, "https://example.org/path/x/../y"),
        Ok("https://example.org/path/y".to_owned())
    );
}

#[test]
fn prefix_tricks_are_denied() {
    let host = host(&["https://example.org/path/"]);
    for url in [
        "https://example.org/path/../other",
        "https://example.org/path/%2e%2e/other",
        "https://example.org/path/%2E%2E/other",
        "https://example.org/path/.%2e/other",
        "https://example.org/path/..%2fother",
        "https://example.org/path/%2f..%2f..%2fother",
        "https://example.org/path/..%5cother",
        "https://example.org/pathX",
        "https://example.org/pathX/a",
        "https://example.org/path",
        "https://example.org@evil/path/",
        "https://evil@example.org/path/",
        "https://example.org:8443/path/a",
        "http://example.org/path/a",
        "https://example.org.evil/path/a",
        "https://evil/path/a",
    ] {
        let denied = check(&host, url);
        assert!(denied.is_err(), "{url} should be denied, got {denied:?}");
        let message = denied.unwrap_err();
        assert!(
            message.starts_with("URL `") && message.contains("is not granted to task `t`"),
            "{message}"
        );
        assert!(
            message.ends_with("(allow.http grants https://example.org/path/)"),
            "{message}"
        );
    }
    assert_eq!(
        check(&host, "https://example.org/pathX"),
        Err("URL `https://example.org/pathX` is not granted to task `t` (allow.http grants https://example.org/path/)".to_owned())
    );
    assert!(
        check(&host, "https://example.org@evil/path/")
            .unwrap_err()
            .contains(": it carries a user name or password")
    );
}

#[test]
fn nothing_is_granted_by_default() {
    let host = host(&[]);
    assert_eq!(
        check(&host, "https://example.org/"),
        Err(
            "URL `https://example.org/` is not granted to task `t` (allow.http grants nothing)"
                .to_owned()
        )
    );
}

#[test]
fn a_prefix_without_a_slash_is_a_whole_segment() {
    let host = host(&["http://127.0.0.1:8080/data"]);
    assert!(check(&host, "http://127.0.0.1:8080/data").is_ok());
    assert!(check(&host, "http://127.0.0.1:8080/data/x").is_ok());
    assert!(check(&host, "http://127.0.0.1:8080/database").is_err());
    assert!(check(&host, "http://127.0.0.1/data").is_err());
}

#[test]
fn grants_are_urls_without_query_fragment_or_user() {
    for bad in [
        "example.org/path/",
        "ftp://example.org/",
        "https://user@example.org/",
        "https://example.org/?q=1",
        "https://example.org/#x",
        "https://",
        "https://:443/",
        "https://example.org/a%2fb/",
    ] {
        assert!(HttpPrefix::parse(bad).is_err(), "{bad} should be refused");
    }
    let wide = HttpPrefix::parse("https://example.org/").unwrap();
    let narrow = HttpPrefix::parse("https://example.org/a/b/").unwrap();
    assert!(wide.covers(&narrow));
    assert!(!narrow.covers(&wide));
    assert!(wide.allows(&HttpUrl::parse("https://example.org").unwrap()));
}

fn get(url: &str) -> http::Request<wasmtime_wasi_http::WasiBody> {
    http::Request::builder()
        .uri(url)
        .body(Empty::new().map_err(|e| match e {}).boxed_unsync())
        .unwrap()
}

async fn fetch(client: &Client, url: &str) -> Result<Vec<u8>, String> {
    let target = HttpUrl::parse(url).unwrap();
    let (response, _io) = client
        .send(target, get(url), None)
        .await
        .map_err(|e| format!("{e:?}"))?;
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok(body.to_bytes().to_vec())
}

fn ca_file(ca: &TestCa) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &ca.ca_pem).unwrap();
    file
}

#[tokio::test]
async fn https_is_trusted_only_with_the_test_ca() {
    let ca = TestCa::new();
    let server = Server::https(&ca);
    server.route("/data/a.json", Reply::ok("{\"a\":1}"));
    let url = format!("https://localhost:{}/data/a.json", server.port);

    let untrusting = Client::new(Limits::default(), None).unwrap();
    let error = fetch(&untrusting, &url).await.unwrap_err();
    assert!(error.contains("TlsCertificateError"), "{error}");

    let file = ca_file(&ca);
    let trusting = Client::new(Limits::default(), Some(file.path())).unwrap();
    assert_eq!(fetch(&trusting, &url).await.unwrap(), b"{\"a\":1}");
    let seen = server.seen();
    let last = seen.last().unwrap();
    assert_eq!(last.target, "/data/a.json");
    assert_eq!(
        last.header("host"),
        Some(format!("localhost:{}", server.port).as_str())
    );
}

#[tokio::test]
async fn plain_http_is_sent_to_the_normalised_target() {
    let server = Server::http();
    server.route("/data/b", Reply::ok("b"));
    let client = Client::new(Limits::default(), None).unwrap();
    let url = format!("http://127.0.0.1:{}/data/x/../b", server.port);
    assert_eq!(fetch(&client, &url).await.unwrap(), b"b");
    assert_eq!(server.seen().last().unwrap().target, "/data/b");
}

#[tokio::test]
async fn a_response_over_the_size_limit_fails() {
    let server = Server::http();
    server.route("/big", Reply::ok(vec![b'x'; 5000]));
    server.route("/big-chunked", Reply::ok(vec![b'x'; 5000]).chunked());
    server.route("/small", Reply::ok(vec![b'x'; 100]));
    let limits = Limits {
        max_size: 1000,
        ..Limits::default()
    };
    let client = Client::new(limits, None).unwrap();
    let base = format!("http://127.0.0.1:{}", server.port);
    let declared = fetch(&client, &format!("{base}/big")).await.unwrap_err();
    assert!(declared.contains("HttpResponseBodySize"), "{declared}");
    let streamed = fetch(&client, &format!("{base}/big-chunked"))
        .await
        .unwrap_err();
    assert!(streamed.contains("HttpResponseBodySize"), "{streamed}");
    assert_eq!(
        fetch(&client, &format!("{base}/small"))
            .await
            .unwrap()
            .len(),
        100
    );
}

#[tokio::test]
async fn a_response_slower_than_the_time_limit_fails() {
    let server = Server::http();
    server.route("/slow", Reply::ok("late").delay(Duration::from_secs(30)));
    let limits = Limits {
        timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let client = Client::new(limits, None).unwrap();
    let started = std::time::Instant::now();
    let error = fetch(&client, &format!("http://127.0.0.1:{}/slow", server.port))
        .await
        .unwrap_err();
    assert!(error.contains("Timeout"), "{error}");
    // The server answers after 30 s: anything well short of that is the limit.
    assert!(started.elapsed() < Duration::from_secs(15));
}

fn download_task(url: &str, prefix: &str, etag: Option<&str>) -> String {
    let etag = etag.map_or(String::new(), |e| format!(", etag = {e:?}"));
    format!(
        r#"
[tasks.get]
plugin = "{{fixture}}"
config = {{ mode = "http-get", url = "{url}", path = "out/data.json"{etag} }}
allow = {{ write = ["out"], http = ["{prefix}"] }}
"#
    )
}

#[test]
fn a_plugin_downloads_over_https_through_the_host() {
    let ca = TestCa::new();
    let server = Server::https(&ca);
    server.route("/data/a.json", Reply::ok("{\"a\":1}").etag("\"v1\""));
    let base = format!("https://localhost:{}", server.port);
    let (_, test) = Test::new()
        .tasks(&download_task(
            &format!("{base}/data/a.json"),
            &format!("{base}/data/"),
            None,
        ))
        .dir("out")
        .file("ca.pem", &ca.ca_pem)
        .env("RUN_HTTP_CA_FILE", "ca.pem")
        .args(&["get"])
        .stdout_contains("saved 7 bytes to out/data.json, etag Some(\"\\\"v1\\\"\")")
        .run();
    assert_eq!(
        std::fs::read_to_string(test.path("out/data.json")).unwrap(),
        "{\"a\":1}"
    );
    assert!(!test.path("out/data.json.part").exists());
}

#[test]
fn a_plugin_revalidates_with_its_etag_over_plain_http() {
    let server = Server::http();
    server.route("/data/a.json", Reply::ok("{}").etag("\"v1\""));
    let base = format!("http://127.0.0.1:{}", server.port);
    Test::new()
        .tasks(&download_task(
            &format!("{base}/data/a.json"),
            &format!("{base}/data/"),
            Some("\"v1\""),
        ))
        .dir("out")
        .args(&["get"])
        .stdout_contains("not modified")
        .run();
    assert_eq!(
        server.seen().last().unwrap().header("if-none-match"),
        Some("\"v1\"")
    );
}

#[test]
fn a_plugin_outside_its_prefix_is_denied_with_the_grant_to_add() {
    let server = Server::http();
    server.route("/other/x", Reply::ok("secret"));
    let base = format!("http://127.0.0.1:{}", server.port);
    Test::new()
        .tasks(&download_task(
            &format!("{base}/data/../other/x"),
            &format!("{base}/data/"),
            None,
        ))
        .dir("out")
        .args(&["get"])
        .status(1)
        .stderr_contains(&format!(
            "URL `{base}/other/x` is not granted to task `get` (allow.http grants {base}/data/)"
        ))
        .stderr_contains(&format!("allow = {{ http = [\"{base}/other/\"] }}"))
        .run();
    assert!(server.seen().is_empty(), "nothing reached the server");
}

#[test]
fn without_the_ca_https_fails_as_untrusted() {
    let ca = TestCa::new();
    let server = Server::https(&ca);
    server.route("/data/a.json", Reply::ok("{}"));
    let base = format!("https://localhost:{}", server.port);
    Test::new()
        .tasks(&download_task(
            &format!("{base}/data/a.json"),
            &format!("{base}/data/"),
            None,
        ))
        .dir("out")
        .args(&["get"])
        .status(1)
        .stderr_contains("TLS certificate is not trusted")
        .run();
}

#[test]
fn a_bad_http_grant_is_a_config_error() {
    Test::new()
        .tasks(
            r#"
[tasks.get]
plugin = "{fixture}"
allow = { http = ["https://user@example.org/"] }
"#,
        )
        .args(&["get"])
        .status(2)
        .stderr_contains("error: invalid URL prefix `https://user@example.org/` in `allow.http` in task `get`: it carries a user name or password\n --> tasks.toml:4:19")
        .run();
}

#[test]
fn under_plan_http_grants_nothing() {
    let server = Server::http();
    server.route("/data/a.json", Reply::ok("{}"));
    let base = format!("http://127.0.0.1:{}", server.port);
    let tasks = download_task(
        &format!("{base}/data/a.json"),
        &format!("{base}/data/"),
        None,
    );
    Test::new()
        .tasks(&tasks)
        .dir("out")
        .args(&["--plan", "get"])
        .status(1)
        .stderr_contains(&format!(
            "URL `{base}/data/a.json` is not granted to task `get` (allow.http grants nothing)"
        ))
        .run();
    assert!(server.seen().is_empty(), "nothing reached the server");
}
