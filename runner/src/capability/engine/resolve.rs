//! Resolving what a plugin names to an identity, then checking the grant on
//! that identity.
//!
//! A container is named by its canonical name, its full ID, or a unique ID
//! prefix of at least 12 hex digits. The name is checked against the
//! engine's grammar first (no `/`, `%`, `?`, `#`, spaces or look-alike
//! letters ever reach a lookup). The engine's list is read once per lookup;
//! a container's canonical name is the one `Names` entry without a further
//! `/`: `/GRANTED/db`, the alias a legacy `--link` gives another container,
//! never counts. The match is confirmed by inspecting its ID and reading its
//! `.Name`; the grant is checked against that name.
//!
//! A name the task does not grant is refused before anything is looked up,
//! so the answer says nothing about whether such a container exists.

use bollard::models::ContainerSummary;

use super::backend::Engine;
use super::ids::ContainerId;
use super::{HostError, HostResult, Scope};
use crate::grant::{Grant, GrantKind, Object, name};

/// The shortest ID prefix a lookup accepts (what `docker ps` shows).
pub const MIN_ID_PREFIX: usize = 12;

/// A container's identity: its ID and its one canonical name (without the
/// engine's leading `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub id: ContainerId,
    pub name: String,
}

/// The canonical name among a list entry's `Names`: `/db` -> `db`; `/app/db`
/// (a link alias) is not a name of this container.
pub fn canonical_name(names: &[String]) -> Option<&str> {
    names
        .iter()
        .filter_map(|n| n.strip_prefix('/').or(Some(n.as_str())))
        .find(|n| !n.contains('/') && !n.is_empty())
}

/// A container from the engine's list, with its canonical name.
#[derive(Debug, Clone)]
pub struct Listed {
    pub name: String,
    pub id: ContainerId,
    pub summary: ContainerSummary,
}

/// The engine's containers with a canonical name and a valid ID.
pub fn listed(summaries: Vec<ContainerSummary>) -> Vec<Listed> {
    summaries
        .into_iter()
        .filter_map(|summary| {
            let id = ContainerId::parse(summary.id.as_deref()?)?;
            let name = canonical_name(summary.names.as_deref()?)?.to_owned();
            Some(Listed { name, id, summary })
        })
        .collect()
}

fn is_id_prefix(text: &str) -> bool {
    text.len() >= MIN_ID_PREFIX
        && text.len() < 64
        && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl Scope {
    /// The containers the task's grants reach, by canonical name, from one listing.
    pub(crate) async fn granted_containers(&self, engine: &dyn Engine) -> HostResult<Vec<Listed>> {
        let all = listed(engine.list_containers().await?);
        Ok(all
            .into_iter()
            .filter(|c| self.grants.allows_container(&c.name))
            .collect())
    }

    fn deny_container(&self, name: &str) -> HostError {
        self.deny(
            Object::Container,
            name,
            Some(Grant::new(GrantKind::Containers, name)),
        )
        .into()
    }

    /// Resolves `name_or_id` to a granted container's identity (see the module doc).
    pub(crate) async fn resolve_container(
        &self,
        engine: &dyn Engine,
        name_or_id: &str,
    ) -> HostResult<Identity> {
        let missing = || HostError::not_found(Object::Container, name_or_id);
        let (id, by_name) = if let Some(id) = ContainerId::parse(name_or_id) {
            (id, None)
        } else {
            name::check_name(name_or_id)
                .map_err(|problem| HostError::invalid(Object::Container, name_or_id, problem))?;
            let granted_name = self.grants.allows_container(name_or_id);
            let prefix = is_id_prefix(name_or_id);
            if !granted_name && !prefix {
                return Err(self.deny_container(name_or_id));
            }
            let all = listed(engine.list_containers().await?);
            let named = all
                .iter()
                .find(|c| granted_name && c.name == name_or_id)
                .map(|c| (c.id.clone(), Some(c.name.clone())));
            match named {
                Some(found) => found,
                None if prefix => {
                    let mut matches = all.iter().filter(|c| c.id.as_str().starts_with(name_or_id));
                    match (matches.next(), matches.next()) {
                        (Some(only), None) => (only.id.clone(), None),
                        // None, or more than one: the WIT's `not-found`.
                        _ => return Err(missing()),
                    }
                }
                None => return Err(missing()),
            }
        };
        // Confirm by ID: the engine's own record of this container's name.
        let inspect = engine
            .inspect_container(&id)
            .await
            .map_err(|e| e.on(Object::Container, name_or_id))?;
        if inspect.id.as_deref() != Some(id.as_str()) {
            return Err(missing());
        }
        let canonical = inspect
            .name
            .as_deref()
            .map(|n| n.strip_prefix('/').unwrap_or(n))
            .filter(|n| name::check_name(n).is_ok())
            .ok_or_else(missing)?
            .to_owned();
        if let Some(listed_name) = by_name
            && listed_name != canonical
        {
            // Renamed between the list and the inspect.
            return Err(missing());
        }
        if !self.grants.allows_container(&canonical) {
            let error = self
                .deny(
                    Object::Container,
                    &canonical,
                    Some(Grant::new(GrantKind::Containers, &canonical)),
                )
                .because(format!("`{name_or_id}` is its ID"));
            return Err(error.into());
        }
        Ok(Identity {
            id,
            name: canonical,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_aliases_are_not_canonical_names() {
        let names = vec!["/granted/db".to_owned(), "/victim".to_owned()];
        assert_eq!(canonical_name(&names), Some("victim"));
        assert_eq!(canonical_name(&["/a/b".to_owned()]), None);
        assert_eq!(canonical_name(&[]), None);
    }

    #[test]
    fn id_prefixes_are_12_to_63_lower_hex_digits() {
        assert!(is_id_prefix("0123456789ab"));
        assert!(!is_id_prefix("0123456789a"));
        assert!(!is_id_prefix("0123456789AB"));
        assert!(!is_id_prefix("0123456789ag"));
    }
}
