//! Checks the capabilities a plugin declares in `describe` against its task's
//! grants, so an under-granted task fails before the plugin does anything.

use super::bindings::types::Capability;
use crate::capability::network;
use crate::config::model::Grants;

/// The declared capabilities the grants do not cover, as (`allow` key, value)
/// pairs such as `("write", "out")`, in declaration order.
pub fn missing_grants(wanted: &[Capability], grants: &Grants) -> Vec<(&'static str, String)> {
    wanted
        .iter()
        .filter(|want| !covered(want, grants))
        .map(|want| match want {
            Capability::Read(dir) => ("read", dir.clone()),
            Capability::Write(dir) => ("write", dir.clone()),
            Capability::Network(addr) => ("network", addr.clone()),
            Capability::Container(name) => ("containers", name.clone()),
            Capability::Env(name) => ("env", name.clone()),
        })
        .collect()
}

fn covered(want: &Capability, grants: &Grants) -> bool {
    match want {
        Capability::Read(dir) => grants
            .read
            .iter()
            .chain(&grants.write)
            .any(|g| within(dir, g)),
        Capability::Write(dir) => grants.write.iter().any(|g| within(dir, g)),
        Capability::Network(pattern) => network_covered(pattern, &grants.network),
        Capability::Container(name) => grants.containers.iter().any(|g| {
            g == name || globset::Glob::new(g).is_ok_and(|g| g.compile_matcher().is_match(name))
        }),
        Capability::Env(name) => grants.env.iter().any(|g| match g.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => g == name,
        }),
    }
}

/// `out/notes` is within a grant of `out` or `./out/`.
fn within(dir: &str, grant: &str) -> bool {
    let norm = |p: &str| -> Vec<String> {
        p.split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .map(str::to_owned)
            .collect()
    };
    let (dir, grant) = (norm(dir), norm(grant));
    dir.starts_with(&grant)
}

fn network_covered(pattern: &str, grants: &[String]) -> bool {
    let Ok(want) = network::parse(pattern) else {
        return false;
    };
    grants
        .iter()
        .filter_map(|g| network::parse(g).ok())
        .any(|g| {
            (g.host == network::Host::Any || g.host == want.host)
                && g.ports.0 <= want.ports.0
                && want.ports.1 <= g.ports.1
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_grant_covers_subdirectories_and_reads() {
        let grants = Grants {
            write: vec!["./out/".into()],
            ..Grants::default()
        };
        assert!(missing_grants(&[Capability::Write("out/notes".into())], &grants).is_empty());
        assert!(missing_grants(&[Capability::Read("out".into())], &grants).is_empty());
        assert_eq!(
            missing_grants(&[Capability::Write("outside".into())], &grants),
            vec![("write", "outside".to_owned())]
        );
    }

    #[test]
    fn network_ranges_must_contain_the_wanted_ports() {
        let grants = Grants {
            network: vec!["db:5000-6000".into()],
            ..Grants::default()
        };
        assert!(missing_grants(&[Capability::Network("db:5432".into())], &grants).is_empty());
        assert_eq!(
            missing_grants(&[Capability::Network("db:80".into())], &grants).len(),
            1
        );
    }
}
