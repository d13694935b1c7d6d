//! The graph as text: Graphviz DOT and Mermaid.

use std::fmt::Write as _;

use super::GraphView;

fn escape(name: &str) -> String {
    name.replace('\\', "\\\\").replace('"', "\\\"")
}

pub(crate) fn to_dot(view: &GraphView<'_>) -> String {
    let mut out = String::from("digraph services {\n    rankdir=LR;\n");
    for (i, name) in view.names.iter().enumerate() {
        let _ = writeln!(out, "    s{i} [label=\"{}\"];", escape(name));
    }
    for (i, deps) in view.deps.iter().enumerate() {
        for dep in deps.iter() {
            let _ = writeln!(out, "    s{i} -> s{dep};");
        }
    }
    out.push_str("}\n");
    out
}

pub(crate) fn to_mermaid(view: &GraphView<'_>) -> String {
    let mut out = String::from("flowchart LR\n");
    for (i, name) in view.names.iter().enumerate() {
        let label = name.replace('"', "#quot;");
        let _ = writeln!(out, "    s{i}[\"{label}\"]");
    }
    for (i, deps) in view.deps.iter().enumerate() {
        for dep in deps.iter() {
            let _ = writeln!(out, "    s{i} --> s{dep}");
        }
    }
    out
}
