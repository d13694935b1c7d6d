//! Renderings of the dependency graph live in [`crate::render`]; these wrappers keep the
//! call sites in `registry/` short.

use crate::engine::Engine;
use crate::render::{self, GraphView};

pub(crate) fn to_dot(engine: &Engine) -> String {
    render::to_dot(&GraphView::of(engine))
}

pub(crate) fn to_mermaid(engine: &Engine) -> String {
    render::to_mermaid(&GraphView::of(engine))
}

pub(crate) fn to_svg(engine: &Engine) -> String {
    render::to_svg(&GraphView::of(engine))
}
