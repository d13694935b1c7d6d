//! Pictures of a registry: the dependency graph as Graphviz DOT, Mermaid and SVG, and the
//! start-up timeline as SVG. Edges point from a service to what it depends on.
//!
//! Every renderer reads a [`GraphView`], a neutral snapshot of names, edges and states, so
//! only [`GraphView::of`] knows the engine's layout.

mod graph_svg;
mod svg;
mod text;
mod timeline;

use crate::State;
use crate::engine::Engine;
use crate::events::ServiceIndex;

pub(crate) use graph_svg::to_svg;
pub(crate) use text::{to_dot, to_mermaid};

/// What the renderers need of a registry: each service's name, state and dependencies.
pub(crate) struct GraphView<'a> {
    pub(crate) names: Vec<&'a str>,
    pub(crate) states: Vec<State>,
    pub(crate) deps: Vec<&'a [ServiceIndex]>,
}

impl<'a> GraphView<'a> {
    /// The one place that reads the engine.
    pub(crate) fn of(engine: &'a Engine) -> Self {
        let n = engine.nodes.len();
        Self {
            names: engine.nodes.iter().map(|node| &*node.name).collect(),
            states: engine.nodes.iter().map(|node| node.state.get()).collect(),
            deps: (0..n as ServiceIndex)
                .map(|i| engine.graph.deps(i))
                .collect(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    /// Each service's depth: 0 without dependencies, else one more than its deepest
    /// dependency (the longest dependency chain below it). Kahn's algorithm; services on a
    /// cycle (which `build()` rejects) keep depth 0 rather than looping.
    pub(crate) fn depths(&self) -> Vec<usize> {
        let n = self.len();
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut remaining: Vec<usize> = vec![0; n];
        for (i, deps) in self.deps.iter().enumerate() {
            for &d in deps.iter() {
                if let Some(list) = dependents.get_mut(d as usize) {
                    list.push(i);
                    remaining[i] += 1;
                }
            }
        }
        let mut depth = vec![0usize; n];
        let mut queue: Vec<usize> = (0..n).filter(|&i| remaining[i] == 0).collect();
        while let Some(i) = queue.pop() {
            for &dependent in &dependents[i] {
                depth[dependent] = depth[dependent].max(depth[i] + 1);
                remaining[dependent] -= 1;
                if remaining[dependent] == 0 {
                    queue.push(dependent);
                }
            }
        }
        depth
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_is_the_longest_chain() {
        // 0 <- 1 <- 2, 0 <- 2, 3 alone, 4 -> 2 and 3
        let deps: Vec<Vec<ServiceIndex>> = vec![vec![], vec![0], vec![1, 0], vec![], vec![2, 3]];
        let view = GraphView {
            names: vec!["a", "b", "c", "d", "e"],
            states: vec![State::New; 5],
            deps: deps.iter().map(Vec::as_slice).collect(),
        };
        assert_eq!(view.depths(), vec![0, 1, 2, 0, 3]);
    }
}
