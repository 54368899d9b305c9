//! Foreign-key-closed down-sampling.
//!
//! - **Roots** (chosen in the policy) keep a fraction of their rows, chosen
//!   by a keyed hash of the primary key: the same rows every run. The
//!   INHERITS children of a root are sampled the same way.
//! - **Ancestors** (tables a kept row references, transitively) keep exactly
//!   the rows that are referenced.
//! - **Every other table** keeps a row when every row it references is kept
//!   (children of dropped rows go), and all of its rows when it references
//!   nothing (lookup tables).
//!
//! A partitioned table is one table here: its rows are those of all its
//! partitions, a foreign key declared on it binds every partition, and a
//! key that references it may point into any partition. A key declared on
//! one partition binds that partition only. (INHERITS children are tables
//! of their own, as they are to PostgreSQL's foreign keys.)
//!
//! The dump is read again for each step, in waves: every table whose
//! inputs are final is read in the same pass, and the blocks of the others
//! are skipped with one search each. Only 128-bit hashes of the keys of kept
//! rows that other rows reference are held in memory, never rows.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::hash::{BuildHasherDefault, Hash, Hasher};

use super::dump::{Dump, Event};
use super::ident::TableName;
use super::input::Input;
use super::mask::Masker;
use super::policy::Sample;
use super::schema::Schema;
use super::{Error, copy};

/// Keys are already hashes: a set of them needs no hashing of its own.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u128(&mut self, n: u128) {
        self.0 = n as u64;
    }
}

type KeySet = HashSet<u128, BuildHasherDefault<KeyHasher>>;

/// A foreign key of a logical table.
#[derive(Debug, Clone)]
struct Link {
    columns: Vec<String>,
    parent: TableName,
    /// Which of the parent's referenced column sets.
    parent_set: usize,
    /// The physical tables it binds (`None`: all of the node's).
    scope: Option<BTreeSet<TableName>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Root,
    Ancestor,
    Other,
}

/// One logical table: a plain table, or a partitioned one with all its
/// partitions.
#[derive(Debug)]
struct Node {
    role: Role,
    links: Vec<Link>,
    /// Column sets other tables reference.
    referenced: Vec<Vec<String>>,
    /// Roots and ancestors: referenced keys that must be kept.
    forced: Vec<KeySet>,
    /// Keys of kept rows, per referenced column set.
    kept: Vec<KeySet>,
    /// The root's sampling key (the primary key; the whole row without one).
    sample_key: Option<Vec<String>>,
}

/// Where a node's columns are in one physical table's COPY rows.
#[derive(Debug, Default)]
struct Layout {
    node: TableName,
    /// Per link of the node: its columns' positions, when it binds this
    /// table.
    links: Vec<Option<Vec<usize>>>,
    referenced: Vec<Option<Vec<usize>>>,
    sample_key: Option<Vec<usize>>,
}

/// What one read of the dump added.
#[derive(Debug, Default, Clone, Copy)]
struct Growth {
    forced: bool,
    /// A table's own forced set (through a self reference).
    own_forced: bool,
    kept: bool,
}

/// Which rows to keep; built once, asked for every row on output.
pub struct Selection {
    fraction: f64,
    masker: Masker,
    nodes: BTreeMap<TableName, Node>,
    layouts: BTreeMap<TableName, Layout>,
}

impl Selection {
    /// Computes the kept keys; `open` reads the dump again from the start.
    pub fn compute<R: Input>(
        schema: &Schema,
        sample: &Sample,
        masker: &Masker,
        mut open: impl FnMut() -> Result<R, Error>,
    ) -> Result<Selection, Error> {
        let mut selection = Selection::build(schema, sample, masker);
        let order = selection.children_first();

        // Step 1: roots and ancestors, children first: their kept rows push
        // the keys they reference into their parents' forced sets.
        let upper: Vec<TableName> = order
            .iter()
            .filter(|t| selection.nodes[*t].role != Role::Other)
            .cloned()
            .collect();
        let forcing = |s: &Selection, t: &TableName| -> Vec<TableName> {
            // The upper tables that force rows of `t`.
            s.nodes
                .iter()
                .filter(|(n, node)| {
                    *n != t && node.role != Role::Other && node.links.iter().any(|l| &l.parent == t)
                })
                .map(|(n, _)| n.clone())
                .collect()
        };
        selection.in_waves(schema, &mut open, &upper, true, &forcing)?;

        // Step 2: the other tables that are referenced, parents first: a row
        // is kept when everything it references is kept.
        let lower: Vec<TableName> = order
            .iter()
            .rev()
            .filter(|t| {
                let n = &selection.nodes[*t];
                n.role == Role::Other && !n.referenced.is_empty()
            })
            .cloned()
            .collect();
        let lower_set: BTreeSet<TableName> = lower.iter().cloned().collect();
        let parents = |s: &Selection, t: &TableName| -> Vec<TableName> {
            s.nodes[t]
                .links
                .iter()
                .map(|l| l.parent.clone())
                .filter(|p| p != t && lower_set.contains(p))
                .collect()
        };
        selection.in_waves(schema, &mut open, &lower, false, &parents)?;
        Ok(selection)
    }

    fn build(schema: &Schema, sample: &Sample, masker: &Masker) -> Selection {
        let mut nodes: BTreeMap<TableName, Node> = BTreeMap::new();
        let mut layouts: BTreeMap<TableName, Layout> = BTreeMap::new();
        // A node per logical table that has data somewhere.
        for (name, table) in schema.tables.iter().filter(|(_, t)| t.has_data()) {
            let root = schema.partition_root(name);
            layouts.insert(
                name.clone(),
                Layout {
                    node: root.clone(),
                    ..Layout::default()
                },
            );
            nodes.entry(root.clone()).or_insert_with(|| Node {
                role: Role::Other,
                links: Vec::new(),
                referenced: Vec::new(),
                forced: Vec::new(),
                kept: Vec::new(),
                sample_key: schema
                    .tables
                    .get(&root)
                    .and_then(|t| t.primary_key.clone())
                    .or_else(|| table.primary_key.clone()),
            });
        }
        // Foreign keys, from wherever they are declared to the logical
        // tables at both ends.
        for (declared_on, table) in &schema.tables {
            let node = schema.partition_root(declared_on);
            if !nodes.contains_key(&node) {
                continue;
            }
            for fk in &table.foreign_keys {
                let parent = schema.partition_root(&fk.parent);
                let Some(parent_node) = nodes.get_mut(&parent) else {
                    // A table without data constrains nothing that could be
                    // kept or dropped.
                    continue;
                };
                let parent_columns = if fk.parent_columns.is_empty() {
                    match &parent_node.sample_key {
                        Some(pk) => pk.clone(),
                        None => continue,
                    }
                } else {
                    fk.parent_columns.clone()
                };
                let parent_set = match parent_node
                    .referenced
                    .iter()
                    .position(|s| *s == parent_columns)
                {
                    Some(i) => i,
                    None => {
                        parent_node.referenced.push(parent_columns);
                        parent_node.forced.push(KeySet::default());
                        parent_node.kept.push(KeySet::default());
                        parent_node.referenced.len() - 1
                    }
                };
                let scope = (declared_on != &node).then(|| {
                    schema
                        .tables
                        .keys()
                        .filter(|t| schema.lineage(t).contains(declared_on))
                        .cloned()
                        .collect()
                });
                nodes.get_mut(&node).expect("has data").links.push(Link {
                    columns: fk.columns.clone(),
                    parent,
                    parent_set,
                    scope,
                });
            }
        }

        // Roles: roots (and their INHERITS children), then everything
        // reachable upwards from them.
        let mut stack: Vec<TableName> = Vec::new();
        for (root, _) in &sample.roots {
            for (name, table) in &schema.tables {
                let is_root = name == root
                    || (table.partition_of.is_none() && schema.lineage(name).contains(root));
                if is_root && let Some(node) = nodes.get_mut(name) {
                    node.role = Role::Root;
                    stack.push(name.clone());
                }
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
                if node.role == Role::Other {
                    node.role = Role::Ancestor;
                    stack.push(parent);
                }
            }
        }

        // Positions in each physical table.
        for (name, layout) in layouts.iter_mut() {
            let table = &schema.tables[name];
            let node = &nodes[&layout.node];
            let positions = |columns: &[String]| -> Option<Vec<usize>> {
                columns.iter().map(|c| table.copy_index(c)).collect()
            };
            layout.links = node
                .links
                .iter()
                .map(|l| {
                    let binds = l.scope.as_ref().is_none_or(|s| s.contains(name));
                    if binds { positions(&l.columns) } else { None }
                })
                .collect();
            layout.referenced = node.referenced.iter().map(|c| positions(c)).collect();
            layout.sample_key = node.sample_key.as_deref().and_then(positions);
        }

        Selection {
            fraction: sample.fraction,
            masker: masker.clone(),
            nodes,
            layouts,
        }
    }

    /// Reads `tables` (in the order given) in as few passes as their
    /// dependencies allow: a table is read once everything `waits_for`
    /// names is final; a table that references itself is read again until
    /// nothing grows. With a cycle, the rest are read together until
    /// nothing grows.
    fn in_waves<R: Input>(
        &mut self,
        schema: &Schema,
        open: &mut impl FnMut() -> Result<R, Error>,
        tables: &[TableName],
        upper: bool,
        waits_for: &dyn Fn(&Selection, &TableName) -> Vec<TableName>,
    ) -> Result<(), Error> {
        let mut done: BTreeSet<TableName> = BTreeSet::new();
        let wanted: BTreeSet<TableName> = tables.iter().cloned().collect();
        while done.len() < wanted.len() {
            let ready: BTreeSet<TableName> = tables
                .iter()
                .filter(|t| !done.contains(*t))
                .filter(|t| {
                    waits_for(self, t)
                        .iter()
                        .all(|d| done.contains(d) || !wanted.contains(d))
                })
                .cloned()
                .collect();
            if ready.is_empty() {
                // A cycle: read what is left together until nothing grows.
                let rest: BTreeSet<TableName> = wanted.difference(&done).cloned().collect();
                loop {
                    let grew = self.pass(schema, open, &rest, upper)?;
                    let grew = grew.values().any(|g| g.forced || g.kept);
                    if !grew {
                        break;
                    }
                }
                return Ok(());
            }
            let mut pending = ready.clone();
            while !pending.is_empty() {
                let grew = self.pass(schema, open, &pending, upper)?;
                // Tables that reference themselves are read again while
                // their own sets grow.
                let nodes = &self.nodes;
                pending.retain(|t| {
                    let self_ref = nodes[t].links.iter().any(|l| &l.parent == t);
                    let g = grew.get(t).copied().unwrap_or_default();
                    self_ref && if upper { g.own_forced } else { g.kept }
                });
            }
            done.extend(ready);
        }
        Ok(())
    }

    /// Orders logical tables so each comes before the tables it references
    /// (tables in a cycle last).
    fn children_first(&self) -> Vec<TableName> {
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
        for name in self.nodes.keys() {
            if !order.contains(name) {
                order.push(name.clone());
            }
        }
        order
    }

    /// One read of the dump, taking in the rows of the logical tables in
    /// `nodes`; every other block is skipped.
    fn pass<R: Input>(
        &mut self,
        schema: &Schema,
        open: &mut impl FnMut() -> Result<R, Error>,
        nodes: &BTreeSet<TableName>,
        upper: bool,
    ) -> Result<BTreeMap<TableName, Growth>, Error> {
        // Stop after the last block of the tables read.
        let last = schema
            .blocks
            .iter()
            .rposition(|t| self.layouts.get(t).is_some_and(|l| nodes.contains(&l.node)));
        let mut grew: BTreeMap<TableName, Growth> = BTreeMap::new();
        let Some(last) = last else {
            return Ok(grew);
        };
        let mut dump = Dump::new(open()?);
        let mut block = 0usize;
        let mut inside: Option<TableName> = None;
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        while let Some(event) = dump.next_event()? {
            match event {
                Event::CopyStart { table, .. } => {
                    let node = self.layouts.get(&table).map(|l| l.node.clone());
                    block += 1;
                    match node {
                        Some(node) if nodes.contains(&node) => inside = Some(table),
                        _ => {
                            dump.skip_rows()?;
                            if block > last {
                                break;
                            }
                        }
                    }
                }
                Event::CopyEnd(_) => {
                    inside = None;
                    if block > last {
                        break;
                    }
                }
                Event::Row(row) => {
                    let Some(table) = &inside else { continue };
                    copy::split(row, &mut ranges);
                    if !self.keeps_fields(table, row, &ranges) {
                        continue;
                    }
                    let layout = &self.layouts[table];
                    let node_name = layout.node.clone();
                    let g = grew.entry(node_name.clone()).or_default();
                    let node = self.nodes.get_mut(&node_name).expect("laid out");
                    for (set, positions) in layout.referenced.iter().enumerate() {
                        if let Some(k) = positions.as_ref().and_then(|p| key(row, &ranges, p)) {
                            g.kept |= node.kept[set].insert(k);
                        }
                    }
                    if upper {
                        for (link, positions) in node.links.clone().iter().zip(&layout.links) {
                            let Some(k) = positions.as_ref().and_then(|p| key(row, &ranges, p))
                            else {
                                continue;
                            };
                            let parent = self.nodes.get_mut(&link.parent).expect("linked");
                            if parent.forced[link.parent_set].insert(k) {
                                g.forced = true;
                                g.own_forced |= link.parent == node_name;
                            }
                        }
                    }
                }
                Event::Sql(_) | Event::Meta(_) => {}
            }
        }
        Ok(grew)
    }

    /// How to filter the rows of `table`, or `None` when every row is kept
    /// (tables that reference nothing and are no root): looked up once per
    /// COPY block, not per row.
    pub fn filter(&self, table: &TableName) -> Option<Filter<'_>> {
        let layout = self.layouts.get(table)?;
        let node = &self.nodes[&layout.node];
        if node.role == Role::Other && layout.links.iter().all(Option::is_none) {
            return None;
        }
        let parents = node
            .links
            .iter()
            .zip(&layout.links)
            .filter_map(|(link, positions)| {
                let positions = positions.as_ref()?;
                Some((
                    positions.as_slice(),
                    &self.nodes[&link.parent].kept[link.parent_set],
                ))
            })
            .collect();
        Some(Filter {
            selection: self,
            table: layout.node.to_string(),
            layout,
            node,
            parents,
        })
    }

    fn keeps_fields(&self, table: &TableName, row: &[u8], ranges: &[(usize, usize)]) -> bool {
        let Some(layout) = self.layouts.get(table) else {
            return true;
        };
        let node = &self.nodes[&layout.node];
        let forced = || {
            layout.referenced.iter().zip(&node.forced).any(|(p, set)| {
                p.as_ref()
                    .and_then(|p| key(row, ranges, p))
                    .is_some_and(|k| set.contains(&k))
            })
        };
        match node.role {
            Role::Root => self.sampled(&layout.node, layout, row, ranges) || forced(),
            Role::Ancestor => forced(),
            Role::Other => node
                .links
                .iter()
                .zip(&layout.links)
                .all(|(link, positions)| {
                    match positions.as_ref().map(|p| key(row, ranges, p)) {
                        // The key does not bind this partition.
                        None => true,
                        // MATCH SIMPLE: a NULL in the key references nothing.
                        Some(None) => true,
                        Some(Some(k)) => {
                            self.nodes[&link.parent].kept[link.parent_set].contains(&k)
                        }
                    }
                }),
        }
    }

    fn sampled(
        &self,
        node: &TableName,
        layout: &Layout,
        row: &[u8],
        ranges: &[(usize, usize)],
    ) -> bool {
        let all: Vec<usize>;
        let columns = match &layout.sample_key {
            Some(c) => c,
            None => {
                all = (0..ranges.len()).collect();
                &all
            }
        };
        let bytes = encode_key(row, ranges, columns);
        self.masker.sample_score(&node.to_string(), &bytes) < self.fraction
    }
}

/// The rows of one table that the sample keeps.
pub struct Filter<'s> {
    selection: &'s Selection,
    /// The logical table's name, for sampling scores.
    table: String,
    layout: &'s Layout,
    node: &'s Node,
    /// For "other" tables: each key's positions and the parent's kept keys.
    parents: Vec<(&'s [usize], &'s KeySet)>,
}

impl Filter<'_> {
    /// Whether a row (split into `ranges`) is in the sample.
    pub fn keeps(&self, row: &[u8], ranges: &[(usize, usize)]) -> bool {
        let forced = || {
            self.layout
                .referenced
                .iter()
                .zip(&self.node.forced)
                .any(|(p, set)| {
                    p.as_ref()
                        .and_then(|p| key(row, ranges, p))
                        .is_some_and(|k| set.contains(&k))
                })
        };
        match self.node.role {
            Role::Root => self.sampled(row, ranges) || forced(),
            Role::Ancestor => forced(),
            // MATCH SIMPLE: a NULL in the key references nothing.
            Role::Other => self.parents.iter().all(|(positions, kept)| {
                key(row, ranges, positions).is_none_or(|k| kept.contains(&k))
            }),
        }
    }

    fn sampled(&self, row: &[u8], ranges: &[(usize, usize)]) -> bool {
        let all: Vec<usize>;
        let columns = match &self.layout.sample_key {
            Some(c) => c,
            None => {
                all = (0..ranges.len()).collect();
                &all
            }
        };
        let bytes = encode_key(row, ranges, columns);
        self.selection.masker.sample_score(&self.table, &bytes) < self.selection.fraction
    }
}

/// The key of `columns` in a row, or `None` when one of them is NULL.
fn key(row: &[u8], ranges: &[(usize, usize)], columns: &[usize]) -> Option<u128> {
    let mut a = DefaultHasher::new();
    let mut b = DefaultHasher::new();
    b.write_u8(0x5a);
    for &i in columns {
        let (s, e) = *ranges.get(i)?;
        let field = &row[s..e];
        if field == copy::NULL {
            return None;
        }
        // Length-prefixed: no separator can be confused with data.
        field.hash(&mut a);
        field.hash(&mut b);
    }
    Some((u128::from(a.finish()) << 64) | u128::from(b.finish()))
}

fn encode_key(row: &[u8], ranges: &[(usize, usize)], columns: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    for &i in columns {
        let (s, e) = ranges.get(i).copied().unwrap_or_default();
        out.extend_from_slice(&((e - s) as u32).to_le_bytes());
        out.extend_from_slice(&row[s..e]);
    }
    out
}
