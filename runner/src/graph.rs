//! From a requested task to an execution plan: every task reachable through
//! `depends`, `before` and `after`, each once, with what it waits for.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};

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
    // Names before aliases (they never collide; the parser checks), each the
    // first of its kind: one map, so a plan is linear in the tasks and edges.
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(file.tasks.len());
    for (i, task) in file.tasks.iter().enumerate() {
        index.entry(task.name.as_str()).or_insert(i);
    }
    for (i, task) in file.tasks.iter().enumerate() {
        for alias in &task.aliases {
            index.entry(alias.value.as_str()).or_insert(i);
        }
    }
    let names = |list: &[crate::config::model::Spanned<String>]| -> Vec<usize> {
        list.iter()
            .filter_map(|s| index.get(s.value.as_str()).copied())
            .collect()
    };

    // Reachable tasks, in discovery order.
    let mut seen = vec![false; file.tasks.len()];
    seen[root] = true;
    let mut reachable = vec![root];
    let mut i = 0;
    while i < reachable.len() {
        let task = &file.tasks[reachable[i]];
        for next in names(&task.depends)
            .into_iter()
            .chain(names(&task.before))
            .chain(names(&task.after))
        {
            if !std::mem::replace(&mut seen[next], true) {
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

    // Kahn's algorithm, taking the ready task first in the file for stable
    // output: the smallest task index whose waits have all been ordered.
    let mut blocking: HashMap<usize, usize> = waits.iter().map(|(&t, w)| (t, w.len())).collect();
    let mut waited_by: HashMap<usize, Vec<usize>> = HashMap::new();
    for (&t, list) in &waits {
        for &w in list {
            waited_by.entry(w).or_default().push(t);
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> = blocking
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(&t, _)| Reverse(t))
        .collect();
    let mut order: Vec<usize> = Vec::with_capacity(reachable.len());
    while let Some(Reverse(t)) = ready.pop() {
        order.push(t);
        for &next in waited_by.get(&t).map_or(&[][..], Vec::as_slice) {
            let count = blocking.get_mut(&next).unwrap();
            *count -= 1;
            if *count == 0 {
                ready.push(Reverse(next));
            }
        }
    }
    if order.len() < reachable.len() {
        let ordered: std::collections::HashSet<usize> = order.iter().copied().collect();
        let remaining: BTreeSet<usize> = reachable
            .iter()
            .copied()
            .filter(|t| !ordered.contains(t))
            .collect();
        return Err(Deadlock(
            remaining
                .iter()
                .map(|&t| file.tasks[t].name.clone())
                .collect(),
        ));
    }
    let positions: HashMap<usize, usize> = order.iter().enumerate().map(|(p, &t)| (t, p)).collect();
    let nodes = order
        .iter()
        .map(|&t| Node {
            task: t,
            waits_for: waits[&t].iter().map(|w| positions[w]).collect(),
            hook_for: hook_for.get(&t).cloned(),
        })
        .collect();
    Ok(Plan {
        nodes,
        root: positions[&root],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(toml: &str) -> TaskFile {
        crate::config::parse(std::path::Path::new("/p/tasks.toml"), toml, &[]).unwrap()
    }

    fn order(file: &TaskFile, root: &str) -> Vec<String> {
        let root = file.tasks.iter().position(|t| t.name == root).unwrap();
        let plan = plan(file, root).unwrap();
        plan.nodes
            .iter()
            .map(|n| file.tasks[n.task].name.clone())
            .collect()
    }

    #[test]
    fn ready_tasks_start_in_file_order_and_hooks_wait() {
        let file = file(
            "[tasks.all]\ndepends = [\"c\", \"b\"]\nbefore = [\"pre\"]\nafter = [\"post\"]\n\n\
             [tasks.b]\ncommand = \"true\"\n\n[tasks.c]\ncommand = \"true\"\n\n\
             [tasks.pre]\ncommand = \"true\"\n\n[tasks.post]\ncommand = \"true\"\n",
        );
        // `pre` waits for `all`'s depends; `post` for `all`.
        assert_eq!(order(&file, "all"), ["b", "c", "pre", "all", "post"]);
    }

    /// Regression: planning a 10,000-task chain took over a minute
    /// (position look-ups and readiness scans in loops).
    #[test]
    fn a_ten_thousand_task_chain_is_planned_in_well_under_a_second() {
        let mut toml = String::new();
        for i in 0..10_000 {
            toml += &format!("[tasks.t{i}]\ncommand = \"true\"\n");
            if i + 1 < 10_000 {
                toml += &format!("depends = [\"t{}\"]\n", i + 1);
            }
        }
        let file = file(&toml);
        let started = std::time::Instant::now();
        let plan = plan(&file, 0).unwrap();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(plan.nodes.len(), 10_000);
        assert_eq!(plan.root, 9_999);
        assert_eq!(plan.nodes[1].waits_for, [0]);
    }
}
