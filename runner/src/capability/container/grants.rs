//! Which containers a task reaches: names or globs from `allow.containers`.
//! Volumes and images are reached through the granted containers that use them.

use globset::{Glob, GlobSet, GlobSetBuilder};

#[derive(Debug, Clone)]
pub struct ContainerGrants {
    set: GlobSet,
    pub patterns: Vec<String>,
}

impl ContainerGrants {
    pub fn new(patterns: &[String]) -> Result<ContainerGrants, globset::Error> {
        let mut set = GlobSetBuilder::new();
        for pattern in patterns {
            set.add(Glob::new(pattern)?);
        }
        Ok(ContainerGrants {
            set: set.build()?,
            patterns: patterns.to_vec(),
        })
    }

    /// Engine names carry a leading `/`; grants are written without it.
    pub fn allows(&self, name: &str) -> bool {
        self.set.is_match(name.trim_start_matches('/'))
    }

    /// `it grants pg-demo, redis-*` / `it grants no containers`.
    pub fn describe(&self) -> String {
        if self.patterns.is_empty() {
            "it grants no containers".to_owned()
        } else {
            format!("it grants {}", self.patterns.join(", "))
        }
    }
}
