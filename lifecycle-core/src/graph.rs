//! The dependency graph as text: Graphviz DOT and Mermaid. Edges point from a service to
//! what it depends on.

use std::fmt::Write as _;

use crate::engine::Engine;
use crate::events::ServiceIndex;

fn escape(name: &str) -> String {
    name.replace('\\', "\\\\").replace('"', "\\\"")
}

pub(crate) fn to_dot(engine: &Engine) -> String {
    let mut out = String::from("digraph services {\n    rankdir=LR;\n");
    for (i, node) in engine.nodes.iter().enumerate() {
        let _ = writeln!(out, "    s{i} [label=\"{}\"];", escape(&node.name));
    }
    for i in 0..engine.nodes.len() as ServiceIndex {
        for dep in engine.graph.deps(i) {
            let _ = writeln!(out, "    s{i} -> s{dep};");
        }
    }
    out.push_str("}\n");
    out
}

pub(crate) fn to_mermaid(engine: &Engine) -> String {
    let mut out = String::from("flowchart LR\n");
    for (i, node) in engine.nodes.iter().enumerate() {
        let label = node.name.replace('"', "#quot;");
        let _ = writeln!(out, "    s{i}[\"{label}\"]");
    }
    for i in 0..engine.nodes.len() as ServiceIndex {
        for dep in engine.graph.deps(i) {
            let _ = writeln!(out, "    s{i} --> s{dep}");
        }
    }
    out
}
