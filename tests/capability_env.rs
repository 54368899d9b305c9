//! `env` grants, host side: only named variables pass; fixed values win.

use runner::capability::env::environment;
use runner::config::model::{EnvSpec, Grants};

fn vars() -> Vec<(String, String)> {
    [
        ("HOME", "/root"),
        ("SECRET", "x"),
        ("APP_A", "1"),
        ("APP_B", "2"),
        ("PATH", "/bin"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[test]
fn nothing_passes_by_default() {
    assert!(environment(&EnvSpec::default(), &Grants::default(), vars()).is_empty());
}

#[test]
fn names_and_prefix_globs_pass() {
    let spec = EnvSpec {
        pass: vec!["APP_*".into()],
        ..EnvSpec::default()
    };
    let grants = Grants {
        env: vec!["HOME".into()],
        ..Grants::default()
    };
    let env = environment(&spec, &grants, vars());
    assert_eq!(
        env,
        [
            ("APP_A".into(), "1".into()),
            ("APP_B".into(), "2".into()),
            ("HOME".into(), "/root".into())
        ]
    );
}

#[test]
fn fixed_values_override_passed_ones() {
    let spec = EnvSpec {
        pass: vec!["HOME".into()],
        set: vec![("HOME".into(), "/fixed".into())],
    };
    assert_eq!(
        environment(&spec, &Grants::default(), vars()),
        [("HOME".into(), "/fixed".into())]
    );
}
