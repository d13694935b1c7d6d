//! The dependency graph in CSR form: two offset arrays and two flat edge arrays.

use crate::events::ServiceIndex;

#[derive(Debug, Clone, Default)]
pub(crate) struct Graph {
    dep_offsets: Box<[u32]>,
    deps: Box<[ServiceIndex]>,
    dependent_offsets: Box<[u32]>,
    dependents: Box<[ServiceIndex]>,
}

impl Graph {
    /// Builds from per-node dependency lists (deduplicated by the caller).
    pub(crate) fn from_adjacency(adjacency: &[Vec<ServiceIndex>]) -> Self {
        let n = adjacency.len();
        let mut dep_offsets = Vec::with_capacity(n + 1);
        let mut deps = Vec::new();
        let mut counts = vec![0u32; n];
        dep_offsets.push(0);
        for list in adjacency {
            deps.extend_from_slice(list);
            dep_offsets.push(deps.len() as u32);
            for &d in list {
                counts[d as usize] += 1;
            }
        }
        let mut dependent_offsets = Vec::with_capacity(n + 1);
        dependent_offsets.push(0u32);
        for c in &counts {
            let last = *dependent_offsets.last().unwrap_or(&0);
            dependent_offsets.push(last + c);
        }
        let mut fill: Vec<u32> = dependent_offsets[..n].to_vec();
        let mut dependents = vec![0; deps.len()];
        for (i, list) in adjacency.iter().enumerate() {
            for &d in list {
                dependents[fill[d as usize] as usize] = i as ServiceIndex;
                fill[d as usize] += 1;
            }
        }
        Self {
            dep_offsets: dep_offsets.into(),
            deps: deps.into(),
            dependent_offsets: dependent_offsets.into(),
            dependents: dependents.into(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.dep_offsets.len().saturating_sub(1)
    }

    /// The services `i` depends on.
    pub(crate) fn deps(&self, i: ServiceIndex) -> &[ServiceIndex] {
        let i = i as usize;
        &self.deps[self.dep_offsets[i] as usize..self.dep_offsets[i + 1] as usize]
    }

    /// The services that depend on `i`.
    pub(crate) fn dependents(&self, i: ServiceIndex) -> &[ServiceIndex] {
        let i = i as usize;
        &self.dependents[self.dependent_offsets[i] as usize..self.dependent_offsets[i + 1] as usize]
    }

    /// `i` and everything that depends on it, transitively, as a membership mask.
    pub(crate) fn dependents_closure(&self, i: ServiceIndex) -> Vec<bool> {
        let mut member = vec![false; self.len()];
        let mut stack = vec![i];
        while let Some(j) = stack.pop() {
            if !std::mem::replace(&mut member[j as usize], true) {
                stack.extend_from_slice(self.dependents(j));
            }
        }
        member
    }

    /// `i` and everything that depends on it, transitively, in index order.
    pub(crate) fn dependents_closure_list(&self, i: ServiceIndex) -> Vec<ServiceIndex> {
        let member = self.dependents_closure(i);
        (0..self.len() as ServiceIndex)
            .filter(|&j| member[j as usize])
            .collect()
    }

    /// A cycle if there is one, as node indices with the first repeated at the end.
    pub(crate) fn find_cycle(&self) -> Option<Vec<ServiceIndex>> {
        // Iterative DFS with colours: 0 white, 1 on stack, 2 done.
        let n = self.len();
        let mut colour = vec![0u8; n];
        let mut stack: Vec<(ServiceIndex, usize)> = Vec::new();
        for root in 0..n {
            if colour[root] != 0 {
                continue;
            }
            stack.clear();
            stack.push((root as ServiceIndex, 0));
            colour[root] = 1;
            while let Some(&mut (node, ref mut next)) = stack.last_mut() {
                let deps = self.deps(node);
                if *next < deps.len() {
                    let d = deps[*next];
                    *next += 1;
                    match colour[d as usize] {
                        0 => {
                            colour[d as usize] = 1;
                            stack.push((d, 0));
                        }
                        1 => {
                            let start = stack.iter().position(|&(s, _)| s == d).unwrap_or(0);
                            let mut cycle: Vec<_> =
                                stack[start..].iter().map(|&(s, _)| s).collect();
                            cycle.push(d);
                            return Some(cycle);
                        }
                        _ => {}
                    }
                } else {
                    colour[node as usize] = 2;
                    stack.pop();
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csr_round_trip_and_closure() {
        // 0 <- 1 <- 2, 0 <- 3
        let g = Graph::from_adjacency(&[vec![], vec![0], vec![1], vec![0]]);
        assert_eq!(g.deps(2), &[1]);
        assert_eq!(g.dependents(0), &[1, 3]);
        assert_eq!(g.dependents_closure(1), vec![false, true, true, false]);
        assert_eq!(g.find_cycle(), None);
    }

    #[test]
    fn finds_cycle_with_path() {
        let g = Graph::from_adjacency(&[vec![2], vec![0], vec![1]]);
        let cycle = g.find_cycle().expect("cycle");
        assert_eq!(cycle.first(), cycle.last());
        assert_eq!(cycle.len(), 4);
    }
}
