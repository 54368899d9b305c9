//! Rules across tasks: aliases are unambiguous, every referenced task exists,
//! and references never loop back.

use std::collections::HashMap;

use super::error::{AliasOwner, ConfigError, ErrorKind, Relation};
use super::model::{Span, Spanned, Task};
use super::suggest;

/// Checks names and references first, reporting whichever problem comes
/// first in the file, then cycles, which only make sense once names resolve.
pub(crate) fn check(tasks: &[Task]) -> Result<(), ConfigError> {
    let (index, alias_error) = names(tasks);
    let reference_error = references(tasks, &index).err();
    let first = [alias_error, reference_error]
        .into_iter()
        .flatten()
        .min_by_key(|e| e.span.map_or(0, |s| s.start));
    match first {
        Some(error) => Err(error),
        None => cycles(tasks, &index),
    }
}

/// Maps every task name and alias to its task's position, along with the
/// first alias that was already taken, if any. A taken alias keeps its first
/// meaning, so references can still be checked.
fn names(tasks: &[Task]) -> (HashMap<&str, usize>, Option<ConfigError>) {
    let task_names: HashMap<&str, usize> = tasks
        .iter()
        .enumerate()
        .map(|(i, task)| (task.name.as_str(), i))
        .collect();
    let mut aliases: HashMap<&str, (usize, Span)> = HashMap::new();
    let mut error = None;
    for (i, task) in tasks.iter().enumerate() {
        for alias in &task.aliases {
            let name = alias.value.as_str();
            let taken = match (task_names.get(name), aliases.get(name)) {
                (Some(&owner), _) => Some((AliasOwner::Task, tasks[owner].span)),
                (None, Some(&(owner, first))) => {
                    let task = tasks[owner].name.clone();
                    Some((AliasOwner::Alias { task }, first))
                }
                (None, None) => {
                    aliases.insert(name, (i, alias.span));
                    None
                }
            };
            if let (Some((owner, first)), None) = (taken, &error) {
                error = Some(ConfigError::at(
                    ErrorKind::AliasTaken {
                        task: task.name.clone(),
                        alias: alias.value.clone(),
                        owner,
                        first,
                    },
                    alias.span,
                ));
            }
        }
    }
    let mut index = task_names;
    index.extend(aliases.into_iter().map(|(name, (i, _))| (name, i)));
    (index, error)
}

/// Each task's references in the order they appear in the file.
fn edges(task: &Task) -> Vec<(Relation, &Spanned<String>)> {
    let mut edges: Vec<_> = [
        (Relation::Depends, &task.depends),
        (Relation::Before, &task.before),
        (Relation::After, &task.after),
    ]
    .into_iter()
    .flat_map(|(relation, targets)| targets.iter().map(move |t| (relation, t)))
    .collect();
    edges.sort_by_key(|(_, target)| target.span.start);
    edges
}

fn references(tasks: &[Task], index: &HashMap<&str, usize>) -> Result<(), ConfigError> {
    for task in tasks {
        for (relation, target) in edges(task) {
            if index.contains_key(target.value.as_str()) {
                continue;
            }
            // Names before aliases, each in file order, so the suggestion is
            // stable; never the task itself, which would be a cycle.
            let others = tasks.iter().filter(|t| t.name != task.name);
            let candidates = others
                .clone()
                .map(|t| t.name.as_str())
                .chain(others.flat_map(|t| t.aliases.iter().map(|a| a.value.as_str())));
            return Err(ConfigError::at(
                ErrorKind::UnknownTask {
                    task: task.name.clone(),
                    relation,
                    target: target.value.clone(),
                    suggestion: suggest::closest(&target.value, candidates).map(str::to_owned),
                },
                target.span,
            ));
        }
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    Unvisited,
    /// On the current search path: reaching it again closes a cycle.
    OnPath,
    Done,
}

/// Depth-first search from each task in file order, following references in
/// file order, so the cycle reported is the first one a reader would meet.
/// Iterative, so a long chain of tasks cannot overflow the stack.
fn cycles(tasks: &[Task], index: &HashMap<&str, usize>) -> Result<(), ConfigError> {
    let graph: Vec<Vec<(usize, Relation, Span)>> = tasks
        .iter()
        .map(|task| {
            edges(task)
                .into_iter()
                .map(|(relation, target)| (index[target.value.as_str()], relation, target.span))
                .collect()
        })
        .collect();
    let mut marks = vec![Mark::Unvisited; tasks.len()];
    for start in 0..tasks.len() {
        if marks[start] != Mark::Unvisited {
            continue;
        }
        marks[start] = Mark::OnPath;
        // (task, index of the next edge to follow)
        let mut path = vec![(start, 0)];
        while let Some((node, next)) = path.last_mut() {
            let node = *node;
            let Some(&(target, relation, at)) = graph[node].get(*next) else {
                marks[node] = Mark::Done;
                path.pop();
                continue;
            };
            *next += 1;
            match marks[target] {
                Mark::Unvisited => {
                    marks[target] = Mark::OnPath;
                    path.push((target, 0));
                }
                Mark::OnPath => {
                    let from = path.iter().position(|&(n, _)| n == target).unwrap_or(0);
                    let mut names: Vec<String> = path[from..]
                        .iter()
                        .map(|&(n, _)| tasks[n].name.clone())
                        .collect();
                    names.push(tasks[target].name.clone());
                    return Err(ConfigError::at(
                        ErrorKind::Cycle {
                            path: names,
                            relation,
                        },
                        at,
                    ));
                }
                Mark::Done => {}
            }
        }
    }
    Ok(())
}
