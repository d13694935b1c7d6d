#!/usr/bin/env python3
"""Check time (`cargo check`) of one file with N derived services in one registry vs the same
N services hand-written against `impl Service` + `DynRegistry` (issue 11).

    python3 benches/compile-time/check_time.py gen DIR [N]   # writes a workspace to DIR
    then: cd DIR && cargo check -p derived && cargo check -p hand   (deps once), and time
    `touch derived/src/lib.rs && cargo check -p derived` (see CHECK-TIME.md for the loop).

Every service: two `#[depends_on]` on the level above (10 levels of N/10), an `AtomicU64`
field, one periodic task (30 s) whose future is dropped at stop. The hand-written crate states
the same: `NAME`, `dependencies()`, `spawn_tasks` with the same `TaskSpec`, construction in
dependency order and one `DynRegistry`.
"""
import os
import sys


def deps(k, width):
    level, pos = divmod(k, width)
    if level == 0:
        return []
    above = (level - 1) * width
    d = [above + pos]
    if width > 1:
        d.append(above + (pos + 1) % width)
    return d


def derived(n):
    width = max(n // 10, 1)
    out = ["#![allow(dead_code)]", "use std::sync::Arc;",
           "use std::sync::atomic::{AtomicU64, Ordering};", "",
           "use lifecycle_core::{Registry, Service};", ""]
    for k in range(n):
        out.append("#[derive(Service)]\n#[service(tasks)]\npub struct Svc%d {" % k)
        for j, d in enumerate(deps(k, width)):
            out.append("    #[depends_on]\n    d%d: Arc<Svc%d>," % (j, d))
        out.append("    ticks: AtomicU64,\n}\n")
        out.append("#[lifecycle_core::tasks]\nimpl Svc%d {" % k)
        out.append('    #[background_task(every = "30s")]')
        out.append("    async fn tick(&self) {\n        self.ticks.fetch_add(1, Ordering::Relaxed);\n    }\n}\n")
    out.append("#[derive(Registry)]\npub struct Platform {")
    for k in range(n):
        out.append("    s%d: Svc%d," % (k, k))
    out.append("}\n")
    out.append("pub async fn run() {")
    out.append("    let running = Platform::builder().build().expect(\"build\").start().await.expect(\"start\");")
    out.append("    let _first: &Arc<Svc0> = &running.s0;")
    out.append("    running.stop().await;\n}")
    return "\n".join(out) + "\n"


def hand(n):
    width = max(n // 10, 1)
    out = ["#![allow(dead_code)]", "use std::sync::Arc;",
           "use std::sync::atomic::{AtomicU64, Ordering};", "use std::time::Duration;", "",
           "use lifecycle_core::{Cancel, Dependency, DynRegistry, Service, TaskSpawner, TaskSpec};", ""]
    for k in range(n):
        ds = deps(k, width)
        out.append("pub struct Svc%d {" % k)
        for j, d in enumerate(ds):
            out.append("    d%d: Arc<Svc%d>," % (j, d))
        out.append("    ticks: AtomicU64,\n}\n")
        out.append("impl Svc%d {" % k)
        out.append("    async fn tick(&self) {\n        self.ticks.fetch_add(1, Ordering::Relaxed);\n    }\n}\n")
        out.append("impl Service for Svc%d {" % k)
        out.append('    const NAME: &\'static str = "Svc%d";' % k)
        if ds:
            out.append("    fn dependencies() -> Vec<Dependency> {")
            out.append("        vec![%s]" % ", ".join("Dependency::of::<Svc%d>()" % d for d in ds))
            out.append("    }")
        out.append("    fn spawn_tasks(self: &Arc<Self>, tasks: &mut TaskSpawner<'_>) {")
        out.append("        let this = Arc::clone(self);")
        out.append('        tasks.spawn(TaskSpec::periodic("tick", Duration::from_secs(30)).cancel(Cancel::Drop), move |_| {')
        out.append("            let this = Arc::clone(&this);")
        out.append("            async move { this.tick().await }")
        out.append("        });")
        out.append("    }\n}\n")
    out.append("pub async fn run() {")
    for k in range(n):
        fields = "".join("d%d: Arc::clone(&s%d), " % (j, d) for j, d in enumerate(deps(k, width)))
        out.append("    let s%d = Arc::new(Svc%d { %sticks: AtomicU64::new(0) });" % (k, k, fields))
    out.append("    let mut registry = DynRegistry::new();")
    for k in range(n):
        out.append("    registry.add(Arc::clone(&s%d));" % k)
    out.append("    let running = registry.build().expect(\"build\").start().await.expect(\"start\");")
    out.append("    let _first: &Arc<Svc0> = &s0;")
    out.append("    running.stop().await;\n}")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) < 3 or sys.argv[1] != "gen":
        sys.exit(__doc__)
    root = sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 150
    repo = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "Cargo.toml"), "w") as f:
        f.write('[workspace]\nresolver = "3"\nmembers = ["derived", "hand"]\n')
    for kind, text in (("derived", derived(n)), ("hand", hand(n))):
        os.makedirs(os.path.join(root, kind, "src"), exist_ok=True)
        with open(os.path.join(root, kind, "Cargo.toml"), "w") as f:
            f.write('[package]\nname = "%s"\nversion = "0.0.0"\nedition = "2024"\npublish = false\n\n'
                    '[dependencies]\nlifecycle-core = { path = "%s/lifecycle-core" }\n' % (kind, repo))
        with open(os.path.join(root, kind, "src", "lib.rs"), "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
