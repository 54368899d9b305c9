//! `network` grants, host side: pattern parsing and the address check.

use std::net::SocketAddr;

use runner::capability::network::{Allowed, Host, parse};

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn patterns_parse() {
    assert_eq!(parse("127.0.0.1:5432").unwrap().ports, (5432, 5432));
    assert_eq!(
        parse("localhost:*").unwrap().host,
        Host::Name("localhost".into())
    );
    assert_eq!(parse("db:8000-8010").unwrap().ports, (8000, 8010));
    assert_eq!(
        parse("[::1]:80").unwrap().host,
        Host::Ip("::1".parse().unwrap())
    );
    assert_eq!(parse("*:443").unwrap().host, Host::Any);
    for bad in ["localhost", ":80", "db:http", "db:9-1", "db:70000"] {
        assert!(parse(bad).is_err(), "{bad} should be refused");
    }
}

#[tokio::test]
async fn only_granted_addresses_and_ports_are_permitted() {
    let grants = [
        parse("127.0.0.1:5432").unwrap(),
        parse("localhost:8000-8001").unwrap(),
    ];
    let allowed = Allowed::resolve(&grants).await;
    assert!(allowed.permits(addr("127.0.0.1:5432")));
    assert!(allowed.permits(addr("127.0.0.1:8001")));
    assert!(!allowed.permits(addr("127.0.0.1:5433")));
    assert!(!allowed.permits(addr("10.0.0.1:5432")));
    assert!(
        allowed.permits(addr("[::ffff:127.0.0.1]:5432")),
        "v4-mapped v6 is the same host"
    );
}

#[tokio::test]
async fn nothing_is_permitted_without_grants() {
    let allowed = Allowed::resolve(&[]).await;
    assert!(!allowed.permits(addr("127.0.0.1:80")));
}
