//! Environment grants. A plugin sees no host variable unless its task passes it
//! through by name (`env = ["NAME"]` or `allow.env`), plus the fixed values of
//! `env = { NAME = "value" }`.

use crate::config::model::{EnvSpec, Grants};

/// The variables a plugin sees, from the host's `vars`.
pub fn environment(
    spec: &EnvSpec,
    grants: &Grants,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Vec<(String, String)> {
    let passed = |name: &str| {
        spec.pass
            .iter()
            .chain(&grants.env)
            .any(|p| matches(p, name))
    };
    let mut env: Vec<(String, String)> = vars.into_iter().filter(|(k, _)| passed(k)).collect();
    for (name, value) in &spec.set {
        env.retain(|(k, _)| k != name);
        env.push((name.clone(), value.clone()));
    }
    env.sort();
    env
}

/// `NAME` matches itself; `PREFIX_*` matches names starting with `PREFIX_`.
fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}
