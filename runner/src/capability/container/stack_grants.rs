//! What a task may build a stack from, beyond the containers it names:
//! `allow.images` (pull and create from), `allow.networks` and
//! `allow.volumes` (create, attach, remove) and `allow.ports` (publish on the
//! host). Each is empty, so denied, unless tasks.toml grants it.

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::config::Grants;

/// One kind of named thing granted by globs.
#[derive(Debug, Clone)]
pub struct NameGrant {
    /// The tasks.toml key, for messages (`allow.images`).
    pub key: &'static str,
    set: GlobSet,
    patterns: Vec<String>,
}

impl NameGrant {
    fn new(key: &'static str, patterns: &[String]) -> Result<NameGrant, globset::Error> {
        let mut set = GlobSetBuilder::new();
        for pattern in patterns {
            set.add(Glob::new(pattern)?);
        }
        Ok(NameGrant {
            key,
            set: set.build()?,
            patterns: patterns.to_vec(),
        })
    }

    pub fn allows(&self, name: &str) -> bool {
        self.set.is_match(name)
    }

    /// `it grants demo-*` / `it grants none`.
    pub fn describe(&self) -> String {
        if self.patterns.is_empty() {
            format!("{} grants none", self.key)
        } else {
            format!("{} grants {}", self.key, self.patterns.join(", "))
        }
    }
}

#[derive(Debug, Clone)]
pub struct StackGrants {
    pub images: NameGrant,
    pub networks: NameGrant,
    pub volumes: NameGrant,
    /// Inclusive host port ranges.
    pub ports: Vec<(u16, u16)>,
    port_patterns: Vec<String>,
}

impl Default for StackGrants {
    fn default() -> Self {
        StackGrants::new(&Grants::default()).expect("empty grants are valid")
    }
}

impl StackGrants {
    pub fn new(grants: &Grants) -> Result<StackGrants, String> {
        let glob = |key, patterns: &[String]| {
            NameGrant::new(key, patterns).map_err(|e| format!("bad {key} grant: {e}"))
        };
        let ports = grants
            .ports
            .iter()
            .map(|p| {
                crate::config::network::check_ports(p)
                    .map_err(|e| format!("bad allow.ports grant `{p}`: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(StackGrants {
            images: glob("allow.images", &grants.images)?,
            networks: glob("allow.networks", &grants.networks)?,
            volumes: glob("allow.volumes", &grants.volumes)?,
            ports,
            port_patterns: grants.ports.clone(),
        })
    }

    /// An image is granted as written, or with the `:latest` it implies.
    pub fn allows_image(&self, image: &str) -> bool {
        if self.images.allows(image) {
            return true;
        }
        let tagged = !image.rsplit('/').next().unwrap_or(image).contains(':');
        tagged && !image.contains('@') && self.images.allows(&format!("{image}:latest"))
    }

    pub fn allows_port(&self, port: u16) -> bool {
        self.ports.iter().any(|&(a, b)| (a..=b).contains(&port))
    }

    pub fn describe_ports(&self) -> String {
        if self.port_patterns.is_empty() {
            "allow.ports grants none".to_owned()
        } else {
            format!("allow.ports grants {}", self.port_patterns.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants() -> StackGrants {
        StackGrants::new(&Grants {
            images: vec!["run-test/*".into(), "busybox:latest".into()],
            networks: vec!["demo-*".into()],
            ports: vec!["8080".into(), "9000-9010".into()],
            ..Grants::default()
        })
        .unwrap()
    }

    #[test]
    fn images_match_as_written_or_with_latest() {
        let g = grants();
        assert!(g.allows_image("run-test/postgres:15"));
        assert!(g.allows_image("busybox"));
        assert!(!g.allows_image("busybox:1.36"));
        assert!(!g.allows_image("postgres:15"));
    }

    #[test]
    fn nothing_is_granted_by_default() {
        let g = StackGrants::default();
        assert!(!g.allows_image("busybox"));
        assert!(!g.networks.allows("demo-default"));
        assert!(!g.volumes.allows("demo-data"));
        assert!(!g.allows_port(8080));
        assert_eq!(g.volumes.describe(), "allow.volumes grants none");
    }

    #[test]
    fn ports_are_ranges() {
        let g = grants();
        assert!(g.allows_port(8080) && g.allows_port(9005));
        assert!(!g.allows_port(8081) && !g.allows_port(9011));
        assert!(g.networks.allows("demo-default"));
    }
}
