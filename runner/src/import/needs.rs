//! What targets need of each other, decided once for the whole Makefile in
//! time linear in targets and links: which sit on a dependency cycle, which
//! are left out because something they need was, and which do nothing.
//!
//! Targets are numbered as in [`super::targets::Read::targets`].

/// For each target on a cycle of `depends`, the way back to itself
/// (first and last the target itself).
pub fn cycles(depends: &[Vec<usize>]) -> Vec<(usize, Vec<usize>)> {
    let n = depends.len();
    let dependents = reverse(depends);
    // Peel off what needs nothing left, then what nothing left needs: what
    // remains is on a cycle (or, rarely, between two).
    let mut left = vec![true; n];
    let mut pending: Vec<usize> = depends.iter().map(Vec::len).collect();
    let mut queue: Vec<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
    while let Some(i) = queue.pop() {
        left[i] = false;
        for &p in &dependents[i] {
            pending[p] -= 1;
            if pending[p] == 0 {
                queue.push(p);
            }
        }
    }
    let mut needed: Vec<usize> = (0..n)
        .map(|i| dependents[i].iter().filter(|&&p| left[p]).count())
        .collect();
    let mut queue: Vec<usize> = (0..n).filter(|&i| left[i] && needed[i] == 0).collect();
    while let Some(i) = queue.pop() {
        left[i] = false;
        for &d in &depends[i] {
            if left[d] {
                needed[d] -= 1;
                if needed[d] == 0 {
                    queue.push(d);
                }
            }
        }
    }
    (0..n)
        .filter(|&i| left[i])
        .filter_map(|i| way_back(depends, &left, i).map(|path| (i, path)))
        .collect()
}

/// A shortest way from `start` back to itself through targets in `within`.
fn way_back(depends: &[Vec<usize>], within: &[bool], start: usize) -> Option<Vec<usize>> {
    let mut came_from: Vec<Option<usize>> = vec![None; depends.len()];
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(i) = queue.pop_front() {
        for &next in &depends[i] {
            if next == start {
                let mut back = Vec::new();
                let mut at = i;
                while at != start {
                    back.push(at);
                    at = came_from[at]?;
                }
                back.reverse();
                let mut path = vec![start];
                path.extend(back);
                path.push(start);
                return Some(path);
            }
            if within[next] && came_from[next].is_none() && next != start {
                came_from[next] = Some(i);
                queue.push_back(next);
            }
        }
    }
    None
}

/// Targets left out because something they need was: for each, what it
/// needed. `needs` are all the targets each target needs (dependencies and
/// the targets of its `run` lines); `left_out` are those left out already.
pub fn cascade(needs: &[Vec<usize>], left_out: &[bool]) -> Vec<(usize, usize)> {
    let needed_by = reverse(needs);
    let mut out = left_out.to_vec();
    let mut queue: Vec<usize> = (0..needs.len()).filter(|&i| out[i]).collect();
    let mut taken = Vec::new();
    while let Some(i) = queue.pop() {
        for &j in &needed_by[i] {
            if !out[j] {
                out[j] = true;
                taken.push((j, i));
                queue.push(j);
            }
        }
    }
    taken
}

/// Targets that do nothing: no command of their own, and needing only
/// targets that do nothing (or none).
pub fn nothing(needs: &[Vec<usize>], has_command: &[bool]) -> Vec<bool> {
    let needed_by = reverse(needs);
    let mut pending: Vec<usize> = needs.iter().map(Vec::len).collect();
    let mut nothing = vec![false; needs.len()];
    let mut queue: Vec<usize> = (0..needs.len())
        .filter(|&i| pending[i] == 0 && !has_command[i])
        .collect();
    while let Some(i) = queue.pop() {
        nothing[i] = true;
        for &j in &needed_by[i] {
            pending[j] -= 1;
            if pending[j] == 0 && !has_command[j] {
                queue.push(j);
            }
        }
    }
    nothing
}

/// The same links, pointing the other way (a link listed twice stays
/// twice, so counts of links agree both ways).
fn reverse(links: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut reversed = vec![Vec::new(); links.len()];
    for (from, targets) in links.iter().enumerate() {
        for &to in targets {
            reversed[to].push(from);
        }
    }
    reversed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_and_their_way_back() {
        // 0 → 1 → 2 → 0, 3 → 3, 4 → 0 (needs a cycle, not on one), 5 alone.
        let depends = vec![vec![1], vec![2], vec![0], vec![3], vec![0], vec![]];
        assert_eq!(
            cycles(&depends),
            [
                (0, vec![0, 1, 2, 0]),
                (1, vec![1, 2, 0, 1]),
                (2, vec![2, 0, 1, 2]),
                (3, vec![3, 3])
            ]
        );
    }

    #[test]
    fn a_long_chain_is_linear() {
        let n = 100_000;
        let depends: Vec<Vec<usize>> = (0..n)
            .map(|i| if i == 0 { vec![] } else { vec![i - 1] })
            .collect();
        assert!(cycles(&depends).is_empty());
        let mut out = vec![false; n];
        out[0] = true;
        assert_eq!(cascade(&depends, &out).len(), n - 1);
        let mut has_command = vec![false; n];
        has_command[n - 1] = true;
        let nothing = nothing(&depends, &has_command);
        assert_eq!(nothing.iter().filter(|&&x| x).count(), n - 1);
    }

    #[test]
    fn cascade_names_what_was_needed() {
        // 1 needs 0, 2 needs 1 and 3; 0 is left out.
        let needs = vec![vec![], vec![0], vec![1, 3], vec![]];
        assert_eq!(
            cascade(&needs, &[true, false, false, false]),
            [(1, 0), (2, 1)]
        );
    }

    #[test]
    fn nothing_propagates_only_without_commands() {
        // 0 nothing; 1 needs 0 (nothing); 2 needs 0 but has a command; 3 needs 2.
        let needs = vec![vec![], vec![0], vec![0], vec![2]];
        assert_eq!(
            nothing(&needs, &[false, false, true, false]),
            [true, true, false, false]
        );
    }
}
