//! The dependency graph as a layered SVG: one column per depth (depth = the longest chain of
//! dependencies below a service), dependencies on the left, so a column starts only after
//! the columns left of it. No JavaScript, no external resources.

use std::fmt::Write as _;

use super::GraphView;
use super::svg::{FONT, escape, text_width};
use crate::State;

const MARGIN: f64 = 16.0;
const NODE_HEIGHT: f64 = 28.0;
const ROW_GAP: f64 = 14.0;
const COLUMN_GAP: f64 = 64.0;
const PADDING: f64 = 12.0;

fn fill(state: State) -> &'static str {
    match state {
        State::New => "#e5e7eb",
        State::Starting => "#fde68a",
        State::Running => "#bbf7d0",
        State::Stopping => "#fed7aa",
        State::Stopped => "#d1d5db",
        State::Failed => "#fecaca",
    }
}

struct Placed {
    x: f64,
    y: f64,
    width: f64,
}

/// A column of boxes: its left edge, width and number of rows.
struct Column {
    x: f64,
    width: f64,
    rows: usize,
}

fn row_top(row: usize) -> f64 {
    MARGIN + row as f64 * (NODE_HEIGHT + ROW_GAP)
}

/// The `d` of an edge from `from` (its left side) to its dependency `to` (its right side).
/// An edge that skips columns crosses each of them (`between`, left to right) horizontally,
/// at the height of the straight line if that is free, else in the gap between two rows
/// nearest to it: it never passes behind a box. Between columns, curves with horizontal
/// tangents stay inside the gap, where there are no boxes.
fn edge_path(from: &Placed, to: &Placed, between: &[Column]) -> String {
    let (x1, y1) = (from.x, from.y + NODE_HEIGHT / 2.0);
    let (x2, y2) = (to.x + to.width, to.y + NODE_HEIGHT / 2.0);
    let mut d = format!("M{x1:.1},{y1:.1}");
    let mut at = (x1, y1);
    for column in between.iter().rev() {
        let middle = column.x + column.width / 2.0;
        let straight = y1 + (y2 - y1) * (x1 - middle) / (x1 - x2);
        let crossing = free_height(straight, column.rows);
        curve(&mut d, at, (column.x + column.width, crossing));
        let _ = write!(d, " L{:.1},{crossing:.1}", column.x);
        at = (column.x, crossing);
    }
    curve(&mut d, at, (x2, y2));
    d
}

/// A cubic from `from` leftwards to `to` with horizontal tangents: its x never leaves
/// `[to.0, from.0]`.
fn curve(d: &mut String, from: (f64, f64), to: (f64, f64)) {
    let bend = (from.0 - to.0) / 2.0;
    let _ = write!(
        d,
        " C{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
        from.0 - bend,
        from.1,
        to.0 + bend,
        to.1,
        to.0,
        to.1
    );
}

/// `y` if no box of a column with `rows` rows covers it, else the middle of the nearer gap
/// (above or below the box it hits).
fn free_height(y: f64, rows: usize) -> f64 {
    let pitch = NODE_HEIGHT + ROW_GAP;
    let offset = y - MARGIN;
    if offset < 0.0 {
        return y;
    }
    let row = (offset / pitch).floor() as usize;
    let top = row_top(row);
    if row >= rows || y - top > NODE_HEIGHT {
        return y;
    }
    let above = top - ROW_GAP / 2.0;
    let below = top + NODE_HEIGHT + ROW_GAP / 2.0;
    if y - above <= below - y { above } else { below }
}

pub(crate) fn to_svg(view: &GraphView<'_>) -> String {
    let n = view.len();
    let depth = view.depths();
    let columns = depth.iter().copied().max().map_or(0, |d| d + 1);
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); columns];
    for (i, &d) in depth.iter().enumerate() {
        layers[d].push(i);
    }
    // Order each column by the mean row of its dependencies (one barycentre pass), which
    // removes most crossings; ties keep registration order.
    let mut row = vec![0usize; n];
    for layer in &mut layers {
        let key = |i: usize| -> f64 {
            let deps = view.deps[i];
            if deps.is_empty() {
                return i as f64 / n.max(1) as f64;
            }
            deps.iter().map(|&d| row[d as usize] as f64).sum::<f64>() / deps.len() as f64
        };
        let mut keyed: Vec<(f64, usize)> = layer.iter().map(|&i| (key(i), i)).collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
        *layer = keyed.into_iter().map(|(_, i)| i).collect();
        for (r, &i) in layer.iter().enumerate() {
            row[i] = r;
        }
    }

    let mut placed: Vec<Placed> = (0..n)
        .map(|_| Placed {
            x: 0.0,
            y: 0.0,
            width: 0.0,
        })
        .collect();
    let mut x = MARGIN;
    let mut tallest = 0usize;
    let mut column_boxes: Vec<Column> = Vec::with_capacity(columns);
    for layer in &layers {
        let width = layer
            .iter()
            .map(|&i| text_width(view.names[i]))
            .fold(0.0, f64::max)
            + 2.0 * PADDING;
        for (r, &i) in layer.iter().enumerate() {
            placed[i] = Placed {
                x,
                y: row_top(r),
                width,
            };
        }
        column_boxes.push(Column {
            x,
            width,
            rows: layer.len(),
        });
        tallest = tallest.max(layer.len());
        x += width + COLUMN_GAP;
    }
    let total_width = if columns == 0 {
        2.0 * MARGIN
    } else {
        x - COLUMN_GAP + MARGIN
    };
    let total_height = if tallest == 0 {
        2.0 * MARGIN
    } else {
        2.0 * MARGIN + tallest as f64 * (NODE_HEIGHT + ROW_GAP) - ROW_GAP
    };

    let mut out = String::new();
    let _ = writeln!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="lifecycle-graph" width="{w:.1}" height="{h:.1}" viewBox="0 0 {w:.1} {h:.1}" {FONT}>"##,
        w = total_width,
        h = total_height,
    );
    out.push_str(
        "<title>Service dependency graph (arrows point to dependencies)</title>\n\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#6b7280\"/></marker></defs>\n\
         <rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n<g class=\"edges\" fill=\"none\" stroke=\"#6b7280\" stroke-width=\"1.2\">\n",
    );
    for (i, deps) in view.deps.iter().enumerate() {
        for &d in deps.iter() {
            let path = edge_path(
                &placed[i],
                &placed[d as usize],
                &column_boxes[depth[d as usize] + 1..depth[i]],
            );
            let _ = writeln!(
                out,
                r#"<path class="edge" data-from="{i}" data-to="{d}" d="{path}" marker-end="url(#arrow)"/>"#,
            );
        }
    }
    out.push_str("</g>\n<g class=\"services\">\n");
    for i in 0..n {
        let p = &placed[i];
        let name = escape(view.names[i]);
        let state = view.states[i];
        let depends: Vec<String> = view.deps[i]
            .iter()
            .map(|&d| escape(view.names[d as usize]))
            .collect();
        let _ = writeln!(
            out,
            r##"<g class="service state-{state_lower}" data-index="{i}" data-name="{name}" data-depth="{depth}" data-state="{state}"><title>{name}: {state}, depth {depth}{deps}</title><rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{NODE_HEIGHT}" rx="6" fill="{fill}" stroke="#374151"/><text x="{tx:.1}" y="{ty:.1}" text-anchor="middle" fill="#111827">{name}</text></g>"##,
            state_lower = state.to_string().to_ascii_lowercase(),
            depth = depth[i],
            deps = if depends.is_empty() {
                String::new()
            } else {
                format!(", depends on {}", depends.join(", "))
            },
            x = p.x,
            y = p.y,
            w = p.width,
            fill = fill(state),
            tx = p.x + p.width / 2.0,
            ty = p.y + NODE_HEIGHT / 2.0 + 4.0,
        );
    }
    out.push_str("</g>\n</svg>\n");
    out
}
