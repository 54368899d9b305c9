//! Foreign-key-closed down-sampling.
//!
//! - **Roots** (chosen in the policy) keep a fraction of their rows, chosen
//!   by a keyed hash of the primary key: the same rows every run.
//! - **Ancestors** (tables a kept row references, transitively) keep exactly
//!   the rows that are referenced.
//! - **Every other table** keeps a row when every row it references is kept
//!   (children of dropped rows go), and all of its rows when it references
//!   nothing (lookup tables).
//!
//! The dump is read again for each step; only the keys of kept rows that
//! other rows reference are held in memory, never rows.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::BufRead;

use super::dump::{Dump, Event};
use super::ident::TableName;
use super::mask::Masker;
use super::policy::Sample;
use super::schema::Schema;
use super::{Error, copy};

type KeySet = HashSet<Box<[u8]>>;

/// A foreign key as COPY positions.
#[derive(Debug, Clone)]
struct Link {
    columns: Vec<usize>,
    parent: TableName,
    /// Which of the parent's referenced column sets.
    parent_set: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Root,
    Ancestor,
    Other,
}

#[derive(Debug, Default)]
struct Node {
    role: Option<Role>,
    links: Vec<Link>,
    /// COPY positions of each column set other tables reference.
    referenced: Vec<Vec<usize>>,
    /// Ancestors and roots: referenced keys that must be kept.
    forced: Vec<KeySet>,
    /// Keys of kept rows, per referenced column set.
    kept: Vec<KeySet>,
    /// The root's sampling key: the primary key's positions (or the whole row).
    sample_key: Option<Vec<usize>>,
}

/// What one read of a table added.
#[derive(Debug, Default, Clone, Copy)]
struct Growth {
    /// Some table's forced set.
    forced: bool,
    /// The read table's own forced set (through a self reference).
    own_forced: bool,
    /// The read table's kept keys.
    kept: bool,
}

/// Which rows to keep; built once, asked for every row on output.
pub struct Selection {
    fraction: f64,
    masker: Masker,
    nodes: BTreeMap<TableName, Node>,
}

impl Selection {
    /// Computes the kept keys; `open` reads the dump again from the start.
    pub fn compute<R: BufRead>(
        schema: &Schema,
        sample: &Sample,
        masker: &Masker,
        mut open: impl FnMut() -> Result<R, Error>,
    ) -> Result<Selection, Error> {
        let mut nodes: BTreeMap<TableName, Node> = BTreeMap::new();
        for (name, table) in &schema.tables {
            if table.has_data() {
                let sample_key = table.primary_key.as_ref().and_then(|pk| {
                    pk.iter()
                        .map(|c| table.copy_index(c))
                        .collect::<Option<Vec<_>>>()
                });
                nodes.insert(
                    name.clone(),
                    Node {
                        sample_key,
                        ..Node::default()
                    },
                );
            }
        }
        // Links between tables that both have data (a foreign key to a table
        // without data constrains nothing that could be kept or dropped).
        for (name, table) in &schema.tables {
            if !nodes.contains_key(name) {
                continue;
            }
            for fk in &table.foreign_keys {
                let Some(parent) = schema.tables.get(&fk.parent).filter(|p| p.has_data()) else {
                    continue;
                };
                let columns: Option<Vec<usize>> =
                    fk.columns.iter().map(|c| table.copy_index(c)).collect();
                let parent_columns: Option<Vec<usize>> = fk
                    .parent_columns
                    .iter()
                    .map(|c| parent.copy_index(c))
                    .collect();
                let (Some(columns), Some(parent_columns)) = (columns, parent_columns) else {
                    continue;
                };
                let parent_node = nodes.get_mut(&fk.parent).expect("has data");
                let parent_set = match parent_node
                    .referenced
                    .iter()
                    .position(|s| *s == parent_columns)
                {
                    Some(i) => i,
                    None => {
                        parent_node.referenced.push(parent_columns);
                        parent_node.forced.push(KeySet::new());
                        parent_node.kept.push(KeySet::new());
                        parent_node.referenced.len() - 1
                    }
                };
                nodes.get_mut(name).expect("has data").links.push(Link {
                    columns,
                    parent: fk.parent.clone(),
                    parent_set,
                });
            }
        }

        // Roles: roots, then everything reachable upwards from them.
        let mut stack: Vec<TableName> = Vec::new();
        for (root, _) in &sample.roots {
            if let Some(node) = nodes.get_mut(root) {
                node.role = Some(Role::Root);
                stack.push(root.clone());
            }
        }
        while let Some(name) = stack.pop() {
            let parents: Vec<TableName> = nodes[&name]
                .links
                .iter()
                .map(|l| l.parent.clone())
                .collect();
            for parent in parents {
                let node = nodes.get_mut(&parent).expect("linked");
                if node.role.is_none() {
                    node.role = Some(Role::Ancestor);
                    stack.push(parent);
                }
            }
        }
        for node in nodes.values_mut() {
            node.role.get_or_insert(Role::Other);
        }

        let mut selection = Selection {
            fraction: sample.fraction,
            masker: masker.clone(),
            nodes,
        };
        let (order, acyclic) = selection.children_first();

        // Step 1: roots and ancestors, children first, pushing the keys
        // their kept rows reference into their parents' forced sets.
        let upper: BTreeSet<TableName> = order
            .iter()
            .filter(|t| selection.nodes[*t].role != Some(Role::Other))
            .cloned()
            .collect();
        let upper_order: Vec<TableName> = order
            .iter()
            .filter(|t| upper.contains(*t))
            .cloned()
            .collect();
        loop {
            let mut changed = false;
            for table in &upper_order {
                // A self reference (customers.referrer_id) forces rows of the
                // table being read: read it again until nothing new is forced.
                loop {
                    let grew = selection.scan(&mut open, table, true)?;
                    changed |= grew.forced;
                    if !grew.own_forced {
                        break;
                    }
                }
            }
            if acyclic || !changed {
                break;
            }
        }

        // Step 2: the other tables that are referenced, parents first: a row
        // is kept when all it references is kept.
        let lower_order: Vec<TableName> = order
            .iter()
            .rev()
            .filter(|t| {
                let n = &selection.nodes[*t];
                n.role == Some(Role::Other) && !n.referenced.is_empty()
            })
            .cloned()
            .collect();
        loop {
            let mut changed = false;
            for table in &lower_order {
                let self_referencing = selection.nodes[table]
                    .links
                    .iter()
                    .any(|l| &l.parent == table);
                loop {
                    let grew = selection.scan(&mut open, table, false)?;
                    changed |= grew.kept;
                    if !(self_referencing && grew.kept) {
                        break;
                    }
                }
            }
            if acyclic || !changed {
                break;
            }
        }
        Ok(selection)
    }

    /// Tables ordered so each comes before the tables it references, and
    /// whether the graph has no cycle (self references aside).
    fn children_first(&self) -> (Vec<TableName>, bool) {
        let mut waiting: BTreeMap<&TableName, usize> = self.nodes.keys().map(|t| (t, 0)).collect();
        for (name, node) in &self.nodes {
            for link in &node.links {
                if &link.parent != name {
                    *waiting.get_mut(&link.parent).expect("linked") += 1;
                }
            }
        }
        let mut ready: Vec<&TableName> = waiting
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(t, _)| *t)
            .collect();
        let mut order = Vec::new();
        while let Some(name) = ready.pop() {
            order.push(name.clone());
            for link in &self.nodes[name].links {
                if &link.parent == name {
                    continue;
                }
                let n = waiting.get_mut(&link.parent).expect("linked");
                *n -= 1;
                if *n == 0 {
                    ready.push(&link.parent);
                }
            }
        }
        let acyclic = order.len() == self.nodes.len();
        if !acyclic {
            for name in self.nodes.keys() {
                if !order.contains(name) {
                    order.push(name.clone());
                }
            }
        }
        (order, acyclic)
    }

    /// Reads `table`'s rows, recording the kept ones' referenced keys (and,
    /// in step 1, forcing what they reference). Sets only ever grow, so
    /// reading again until nothing grows reaches the closure.
    fn scan<R: BufRead>(
        &mut self,
        open: &mut impl FnMut() -> Result<R, Error>,
        table: &TableName,
        upper: bool,
    ) -> Result<Growth, Error> {
        let mut dump = Dump::new(open()?);
        let mut inside = false;
        let mut grew = Growth::default();
        while let Some(event) = dump.next_event()? {
            match event {
                Event::CopyStart { table: t, .. } => inside = &t == table,
                Event::CopyEnd(_) if inside => break,
                Event::Row(row) if inside => {
                    let fields: Vec<&[u8]> = copy::fields(row).collect();
                    if !self.keeps_fields(table, &fields) {
                        continue;
                    }
                    let node = self.nodes.get_mut(table).expect("scanned tables exist");
                    for (set, columns) in node.referenced.iter().enumerate() {
                        if let Some(key) = key(&fields, columns) {
                            grew.kept |= node.kept[set].insert(key);
                        }
                    }
                    if upper {
                        let links = node.links.clone();
                        for link in links {
                            if let Some(key) = key(&fields, &link.columns) {
                                let parent = self.nodes.get_mut(&link.parent).expect("linked");
                                if parent.forced[link.parent_set].insert(key) {
                                    grew.forced = true;
                                    grew.own_forced |= &link.parent == table;
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(grew)
    }

    /// Whether a row (its COPY fields) of `table` is in the sample.
    pub fn keeps(&self, table: &TableName, row: &[u8]) -> bool {
        let fields: Vec<&[u8]> = copy::fields(row).collect();
        self.keeps_fields(table, &fields)
    }

    fn keeps_fields(&self, table: &TableName, fields: &[&[u8]]) -> bool {
        let Some(node) = self.nodes.get(table) else {
            return true;
        };
        let forced = || {
            node.referenced
                .iter()
                .zip(&node.forced)
                .any(|(columns, set)| key(fields, columns).is_some_and(|k| set.contains(&k)))
        };
        match node.role {
            Some(Role::Root) => self.sampled(table, node, fields) || forced(),
            Some(Role::Ancestor) => forced(),
            _ => node
                .links
                .iter()
                .all(|link| match key(fields, &link.columns) {
                    // MATCH SIMPLE: a NULL in the key references nothing.
                    None => true,
                    Some(k) => self.nodes[&link.parent].kept[link.parent_set].contains(&k),
                }),
        }
    }

    fn sampled(&self, table: &TableName, node: &Node, fields: &[&[u8]]) -> bool {
        let all: Vec<usize>;
        let columns = match &node.sample_key {
            Some(c) => c,
            None => {
                all = (0..fields.len()).collect();
                &all
            }
        };
        let bytes = encode_key(fields, columns);
        self.masker.sample_score(&table.to_string(), &bytes) < self.fraction
    }
}

/// The key of `columns` in a row, or `None` when one of them is NULL.
fn key(fields: &[&[u8]], columns: &[usize]) -> Option<Box<[u8]>> {
    if columns
        .iter()
        .any(|&i| fields.get(i).is_none_or(|f| *f == copy::NULL))
    {
        return None;
    }
    Some(encode_key(fields, columns).into_boxed_slice())
}

/// Length-prefixed fields: no separator can be confused with data.
fn encode_key(fields: &[&[u8]], columns: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    for &i in columns {
        let f = fields.get(i).copied().unwrap_or_default();
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    out
}
