//! `container` grants, host side: every call checks the container first and a
//! denial names the container and the task. Through wasm: calls return
//! `unsupported` (never a trap) until the engine backend exists.

use runner::capability::container::ContainerHost;

use crate::test::Test;

#[test]
fn names_and_globs_are_granted_and_nothing_else() {
    let host = ContainerHost::new(
        "backup",
        &["pg-demo".into(), "redis-*".into()],
        Vec::new(),
        false,
    )
    .unwrap();
    assert!(host.is_granted("pg-demo"));
    assert!(
        host.is_granted("/pg-demo"),
        "engine names carry a leading slash"
    );
    assert!(host.is_granted("redis-1"));
    assert!(!host.is_granted("pg-demo2"));
    assert!(!host.is_granted("etcd"));
}

#[test]
fn a_denial_names_the_container_and_the_task() {
    let host = ContainerHost::new("backup", &[], Vec::new(), false).unwrap();
    let error = host.check("pg-demo").unwrap_err();
    assert_eq!(
        format!("{error:?}"),
        "ContainerError::Denied(\"container `pg-demo` is not granted to task `backup` (it grants no containers; add it to allow.containers)\")"
    );
}

#[test]
fn calls_from_a_plugin_return_unsupported_not_a_trap() {
    Test::new()
        .tasks("[tasks.t]\nplugin = \"{fixture}\"\nconfig = { mode = \"container\" }\n")
        .args(&["t"])
        .stdout("kind=unsupported message=container.list is not supported by this run yet: no container engine backend\n")
        .run();
}
