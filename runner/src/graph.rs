//! From a requested task to an execution plan: every task reachable through
//! `depends`, `before` and `after`, each once, with what it waits for.

use std::collections::{BTreeSet, HashMap};

use crate::config::model::{Task, TaskFile};

/// One task in the plan.
#[derive(Debug)]
pub struct Node {
    /// Index into `TaskFile::tasks`.
    pub task: usize,
    /// Plan indices that must succeed first.
    pub waits_for: Vec<usize>,
    /// Set when the task runs as a `before`/`after` hook of another.
    pub hook_for: Option<String>,
}

/// Tasks in a valid start order (dependencies first).
#[derive(Debug)]
pub struct Plan {
    pub nodes: Vec<Node>,
    /// The plan index of the requested task.
    pub root: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("the tasks {} wait for each other (a `before` hook waits for its task's `depends`)", .0.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", "))]
pub struct Deadlock(pub Vec<String>);

/// Builds the plan for `root` (an index into `file.tasks`). Names were validated
/// when the file was parsed; cycles in plain edges were rejected there too, but
/// hook ordering adds edges, so the order is checked again here.
pub fn plan(file: &TaskFile, root: usize) -> Result<Plan, Deadlock> {
    let index_of = |name: &str| {
        file.tasks.iter().position(|t| t.name == name).or_else(|| {
            file.tasks
                .iter()
                .position(|t| t.aliases.iter().any(|a| a.value == name))
        })
    };
    let names = |list: &[crate::config::model::Spanned<String>]| -> Vec<usize> {
        list.iter().filter_map(|s| index_of(&s.value)).collect()
    };

    // Reachable tasks, in discovery order.
    let mut reachable = vec![root];
    let mut i = 0;
    while i < reachable.len() {
        let task = &file.tasks[reachable[i]];
        for next in names(&task.depends)
            .into_iter()
            .chain(names(&task.before))
            .chain(names(&task.after))
        {
            if !reachable.contains(&next) {
                reachable.push(next);
            }
        }
        i += 1;
    }

    let mut waits: HashMap<usize, BTreeSet<usize>> =
        reachable.iter().map(|&t| (t, BTreeSet::new())).collect();
    let mut hook_for: HashMap<usize, String> = HashMap::new();
    for &t in &reachable {
        let task: &Task = &file.tasks[t];
        let depends = names(&task.depends);
        let before = names(&task.before);
        waits
            .get_mut(&t)
            .unwrap()
            .extend(depends.iter().chain(&before));
        for &hook in &before {
            waits.get_mut(&hook).unwrap().extend(&depends);
            hook_for.entry(hook).or_insert_with(|| task.name.clone());
        }
        for hook in names(&task.after) {
            waits.get_mut(&hook).unwrap().insert(t);
            hook_for.entry(hook).or_insert_with(|| task.name.clone());
        }
    }

    // Kahn's algorithm, preferring file order among ready tasks for stable output.
    let mut order: Vec<usize> = Vec::new();
    let mut remaining: BTreeSet<usize> = reachable.iter().copied().collect();
    while !remaining.is_empty() {
        let ready = remaining
            .iter()
            .copied()
            .find(|t| waits[t].iter().all(|w| order.contains(w)));
        match ready {
            Some(t) => {
                remaining.remove(&t);
                order.push(t);
            }
            None => {
                return Err(Deadlock(
                    remaining
                        .iter()
                        .map(|&t| file.tasks[t].name.clone())
                        .collect(),
                ));
            }
        }
    }
    let position = |t: usize| order.iter().position(|&o| o == t).unwrap();
    let nodes = order
        .iter()
        .map(|&t| Node {
            task: t,
            waits_for: waits[&t].iter().map(|&w| position(w)).collect(),
            hook_for: hook_for.get(&t).cloned(),
        })
        .collect();
    Ok(Plan {
        nodes,
        root: position(root),
    })
}
