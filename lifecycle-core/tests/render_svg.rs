//! The SVG pictures, parsed as XML: the start-up timeline (one bar per service, positions
//! that match the measured timings, the critical path marked) and the layered graph.

use std::sync::Arc;
use std::time::Duration;

use lifecycle_core::{BoxError, DynRegistry, Service, ServiceId, StartupReport};
use roxmltree::{Document, Node};

/// A service whose `on_start` sleeps (virtual time) for `ms`.
struct Sleepy {
    ms: u64,
}

impl Service for Sleepy {
    const NAME: &'static str = "Sleepy";
    async fn on_start(&self) -> Result<(), BoxError> {
        tokio::time::sleep(Duration::from_millis(self.ms)).await;
        Ok(())
    }
}

/// A service without hooks.
struct Plain;

impl Service for Plain {
    const NAME: &'static str = "Plain";
    const HAS_START_HOOK: bool = false;
    const HAS_STOP_HOOK: bool = false;
}

fn attr_f64(node: Node<'_, '_>, name: &str) -> f64 {
    node.attribute(name)
        .unwrap_or_else(|| panic!("missing {name}"))
        .parse()
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn services<'a, 'i>(doc: &'a Document<'i>) -> Vec<Node<'a, 'i>> {
    doc.descendants()
        .filter(|n| {
            n.has_tag_name("g")
                && n.attribute("class")
                    .is_some_and(|c| c.split(' ').any(|c| c == "service"))
        })
        .collect()
}

fn rect<'a, 'i>(service: Node<'a, 'i>, class: &str) -> Option<Node<'a, 'i>> {
    service
        .children()
        .find(|n| n.has_tag_name("rect") && n.attribute("class") == Some(class))
}

/// Db (300 ms) and Cache (100 ms) start together; Api (50 ms) waits for both; Worker (no
/// hook) waits for Cache only; Audit (20 ms) has no dependency.
async fn diamond() -> (lifecycle_core::Running<DynRegistry>, [ServiceId; 5]) {
    let mut registry = DynRegistry::new();
    let db = registry
        .add_named("Db", Arc::new(Sleepy { ms: 300 }))
        .erase();
    let cache = registry
        .add_named("Cache", Arc::new(Sleepy { ms: 100 }))
        .erase();
    let api = registry
        .add_named("Api", Arc::new(Sleepy { ms: 50 }))
        .erase();
    let worker = registry.add_named("Worker", Arc::new(Plain)).erase();
    let audit = registry
        .add_named("Audit", Arc::new(Sleepy { ms: 20 }))
        .erase();
    registry.depends_on(api, db).unwrap();
    registry.depends_on(api, cache).unwrap();
    registry.depends_on(worker, cache).unwrap();
    let running = registry.build().unwrap().start().await.unwrap();
    (running, [db, cache, api, worker, audit])
}

#[tokio::test(start_paused = true)]
async fn timeline_has_one_bar_per_service_at_the_measured_times() {
    let (running, _) = diamond().await;
    let report = running.startup_report();
    assert_eq!(report.services.len(), 5);
    assert_eq!(report.total, Duration::from_millis(350));
    let svg = report.to_svg();
    let doc = Document::parse(&svg).expect("the timeline is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let scale = attr_f64(root, "data-scale");
    assert!(
        (scale * 350e6 - 800.0).abs() < 1e-6,
        "the axis spans start-up"
    );

    // Time zero is where the axis' first tick is.
    let zero = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("tick"))
        .expect("an axis");
    assert_eq!(zero.attribute("data-ns"), Some("0"));
    let left = attr_f64(zero, "x1");
    let ticks: Vec<u128> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("tick"))
        .map(|n| n.attribute("data-ns").unwrap().parse().unwrap())
        .collect();
    assert!(ticks.len() >= 4, "{ticks:?}");
    assert!(ticks.iter().all(|&t| t <= 350_000_000), "{ticks:?}");

    let rows = services(&doc);
    assert_eq!(rows.len(), report.services.len(), "one bar per service");
    let mut last_y = f64::MIN;
    for (row, timing) in rows.iter().zip(&report.services) {
        assert_eq!(row.attribute("data-name"), Some(&*timing.service));
        let hook = rect(*row, "hook").expect("a hook bar");
        let x = attr_f64(hook, "x");
        let y = attr_f64(hook, "y");
        assert!(y > last_y, "rows in the order services became Running");
        last_y = y;
        let begin = timing.began_after.as_nanos() as f64;
        let duration = timing.duration.as_nanos() as f64;
        assert!(
            (x - (left + begin * scale)).abs() < 0.01,
            "{}: x {x}",
            timing.service
        );
        let width = attr_f64(hook, "width");
        assert!(
            (width - (duration * scale).max(1.0)).abs() < 0.01,
            "{}: width {width}",
            timing.service
        );
        match rect(*row, "wait") {
            Some(wait) => {
                assert!(begin > 0.0);
                assert!((attr_f64(wait, "x") - left).abs() < 0.01);
                assert!((attr_f64(wait, "width") - begin * scale).abs() < 0.01);
            }
            None => assert_eq!(begin, 0.0, "{} waited but has no wait bar", timing.service),
        }
    }

    // The figures themselves, on virtual time.
    let by_name = |name: &str| {
        rows.iter()
            .find(|r| r.attribute("data-name") == Some(name))
            .copied()
            .unwrap()
    };
    let api = by_name("Api");
    assert_eq!(api.attribute("data-begin-ns"), Some("300000000"));
    assert_eq!(api.attribute("data-end-ns"), Some("350000000"));
    let worker = by_name("Worker");
    assert_eq!(worker.attribute("data-begin-ns"), Some("100000000"));
    assert!(
        rect(by_name("Db"), "wait").is_none(),
        "Db waited for nothing"
    );

    // Critical path: Db then Api; the others are not on it.
    assert_eq!(report.critical_path, ["Db", "Api"]);
    for row in &rows {
        let critical = row.attribute("class").unwrap().contains("critical");
        let name = row.attribute("data-name").unwrap();
        assert_eq!(critical, name == "Db" || name == "Api", "{name}");
        let fill = rect(*row, "hook").unwrap().attribute("fill").unwrap();
        assert_eq!(critical, fill == "#dc2626", "{name} drawn {fill}");
    }
    running.stop().await;
}

#[test]
fn timeline_of_nothing_is_valid() {
    let empty = StartupReport::default().to_svg();
    let doc = Document::parse(&empty).unwrap();
    assert!(services(&doc).is_empty());
}

#[tokio::test(start_paused = true)]
async fn names_are_escaped() {
    let mut registry = DynRegistry::new();
    registry.add_named("<Tricky & \"quoted\">", Arc::new(Sleepy { ms: 1 }));
    let running = registry.build().unwrap().start().await.unwrap();
    for svg in [running.startup_report().to_svg(), running.to_svg()] {
        let doc = Document::parse(&svg).expect("well-formed");
        let rows = services(&doc);
        assert_eq!(rows.len(), 1);
        assert_eq!(
            rows[0].attribute("data-name"),
            Some("<Tricky & \"quoted\">")
        );
    }
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn graph_is_layered_by_longest_dependency_chain() {
    // Chain a <- b <- c, plus d depending on a and c (depth 3 although a is depth 0).
    let mut registry = DynRegistry::new();
    let a = registry.add_named("a", Arc::new(Plain)).erase();
    let b = registry.add_named("b", Arc::new(Plain)).erase();
    let c = registry.add_named("c", Arc::new(Plain)).erase();
    let d = registry.add_named("d", Arc::new(Plain)).erase();
    let lone = registry.add_named("lone", Arc::new(Plain)).erase();
    registry.depends_on(b, a).unwrap();
    registry.depends_on(c, b).unwrap();
    registry.depends_on(d, a).unwrap();
    registry.depends_on(d, c).unwrap();
    let _ = lone;
    let built = registry.build().unwrap();

    let before = built.to_svg();
    let doc = Document::parse(&before).unwrap();
    let rows = services(&doc);
    assert_eq!(rows.len(), 5, "one box per service");
    let depth = |name: &str| -> (u32, f64) {
        let node = rows
            .iter()
            .find(|r| r.attribute("data-name") == Some(name))
            .unwrap();
        let rect = node.children().find(|n| n.has_tag_name("rect")).unwrap();
        (
            node.attribute("data-depth").unwrap().parse().unwrap(),
            attr_f64(rect, "x"),
        )
    };
    let (da, xa) = depth("a");
    let (db, xb) = depth("b");
    let (dc, xc) = depth("c");
    let (dd, xd) = depth("d");
    let (dl, xl) = depth("lone");
    assert_eq!([da, db, dc, dd, dl], [0, 1, 2, 3, 0]);
    assert!(
        xa < xb && xb < xc && xc < xd,
        "columns left to right by depth"
    );
    assert_eq!(xa, xl, "same depth, same column");
    for row in &rows {
        assert_eq!(row.attribute("data-state"), Some("New"));
    }
    let edges: Vec<(u32, u32)> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("edge"))
        .map(|n| {
            (
                n.attribute("data-from").unwrap().parse().unwrap(),
                n.attribute("data-to").unwrap().parse().unwrap(),
            )
        })
        .collect();
    let mut sorted = edges.clone();
    sorted.sort();
    assert_eq!(sorted, [(1, 0), (2, 1), (3, 0), (3, 2)]);
    // `d` depends on `a` across the columns of `b` and `c`, which sit in `d`'s row: the edge
    // goes around them.
    assert_edges_avoid_boxes(&doc);
    assert!(!before.contains("<script"), "no script");
    assert_eq!(
        before.matches("http").count(),
        1,
        "no external resource, only the xmlns"
    );

    // Same picture from a running registry, now coloured by state.
    let running = built.start().await.unwrap();
    let after = running.handle().to_svg();
    let doc = Document::parse(&after).unwrap();
    let rows = services(&doc);
    assert_eq!(rows.len(), 5);
    assert!(
        rows.iter()
            .all(|r| r.attribute("data-state") == Some("Running"))
    );
    running.stop().await;
}

/// Points along an edge's path (`M`, then `C` cubics and `L` lines, absolute coordinates),
/// 64 per segment.
fn path_points(d: &str) -> Vec<(f64, f64)> {
    let spaced: String = d
        .chars()
        .flat_map(|c| {
            if c.is_ascii_alphabetic() {
                vec![' ', c, ' ']
            } else if c == ',' {
                vec![' ']
            } else {
                vec![c]
            }
        })
        .collect();
    let tokens: Vec<&str> = spaced.split_whitespace().collect();
    let mut points = Vec::new();
    let mut at = (0.0, 0.0);
    let mut k = 0;
    let num = |k: usize| -> f64 { tokens[k].parse().unwrap() };
    while k < tokens.len() {
        match tokens[k] {
            "M" => {
                at = (num(k + 1), num(k + 2));
                points.push(at);
                k += 3;
            }
            "L" => {
                let to = (num(k + 1), num(k + 2));
                for step in 1..=64 {
                    let t = f64::from(step) / 64.0;
                    points.push((at.0 + (to.0 - at.0) * t, at.1 + (to.1 - at.1) * t));
                }
                at = to;
                k += 3;
            }
            "C" => {
                let c1 = (num(k + 1), num(k + 2));
                let c2 = (num(k + 3), num(k + 4));
                let to = (num(k + 5), num(k + 6));
                for step in 1..=64 {
                    let t = f64::from(step) / 64.0;
                    let u = 1.0 - t;
                    let b = |p0: f64, p1: f64, p2: f64, p3: f64| {
                        u * u * u * p0
                            + 3.0 * u * u * t * p1
                            + 3.0 * u * t * t * p2
                            + t * t * t * p3
                    };
                    points.push((b(at.0, c1.0, c2.0, to.0), b(at.1, c1.1, c2.1, to.1)));
                }
                at = to;
                k += 7;
            }
            other => panic!("unexpected path command {other:?} in {d}"),
        }
    }
    points
}

/// No point of any edge lies inside a service's box (edges start and end on box borders).
fn assert_edges_avoid_boxes(doc: &Document<'_>) {
    let boxes: Vec<(String, f64, f64, f64, f64)> = services(doc)
        .iter()
        .map(|service| {
            let rect = service.children().find(|n| n.has_tag_name("rect")).unwrap();
            (
                service.attribute("data-name").unwrap().to_owned(),
                attr_f64(rect, "x"),
                attr_f64(rect, "y"),
                attr_f64(rect, "width"),
                attr_f64(rect, "height"),
            )
        })
        .collect();
    let edges: Vec<Node<'_, '_>> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("edge"))
        .collect();
    assert!(!edges.is_empty());
    for edge in edges {
        let d = edge.attribute("d").unwrap();
        for (x, y) in path_points(d) {
            for (name, bx, by, bw, bh) in &boxes {
                let inside = x > bx + 0.5 && x < bx + bw - 0.5 && y > by + 0.5 && y < by + bh - 0.5;
                assert!(
                    !inside,
                    "edge {d} passes behind `{name}` at ({x:.1}, {y:.1})"
                );
            }
        }
    }
}

#[tokio::test(start_paused = true)]
async fn long_edges_go_around_the_boxes_of_the_columns_they_cross() {
    // `top` depends on `root` across two full columns of three services each (the straight
    // line would cross the middle row of both), and on the middle service of the last one.
    let mut registry = DynRegistry::new();
    let root = registry.add_named("root", Arc::new(Plain)).erase();
    let mut previous = vec![root];
    for column in ["b", "c"] {
        let mut this = Vec::new();
        for row in 0..3 {
            let id = registry
                .add_named(format!("{column}{row}"), Arc::new(Plain))
                .erase();
            for &dependency in &previous {
                registry.depends_on(id, dependency).unwrap();
            }
            this.push(id);
        }
        previous = this;
    }
    let top = registry.add_named("top", Arc::new(Plain)).erase();
    registry.depends_on(top, root).unwrap();
    registry.depends_on(top, previous[1]).unwrap();
    let built = registry.build().unwrap();
    let svg = built.to_svg();
    let doc = Document::parse(&svg).unwrap();
    assert_eq!(services(&doc).len(), 8);
    assert_edges_avoid_boxes(&doc);
}
