#!/usr/bin/env bash
# Workload 5: compile time of a registry of S derived services vs the same S services
# hand-written with tokio-util, for S in 50 100 200 400 (or the sizes given as arguments).
#
#   benches/compile-time/run.sh [SIZE…]        env: REV (default HEAD), RUNS (default 3),
#                                              KEEP=1 keeps the temp dir
#   SUMMARY_FROM=LOG benches/compile-time/run.sh   re-prints the table from a run's log
#
# Generates, in a temp dir, one Cargo workspace with a crate per (kind, size), all depending on
# lifecycle-core (derive feature on) exported from revision REV of this repo (so work in
# progress in the tree cannot leak in), tokio and tokio-util; builds every
# crate once (so all dependencies are prebuilt in the temp target dir), then RUNS times per
# crate, interleaving the kinds: touch its lib.rs and time `cargo build -p CRATE` (dev profile),
# i.e. the crate itself only. Prints a Markdown table of medians (min–max).
#
# Every service: one periodic task (30 s) and two dependencies on the level above (10 levels),
# so the registry has real wiring. The hand-written crate does the same by hand: constructors
# taking the dependencies, one child token and one tracked task per service, start in
# dependency order, cancel and wait at stop.
set -euo pipefail

# Markdown table from the per-run lines ("run R KIND-SIZE wall W s  cpu C s") of a log.
summarize() {
  python3 - "$1" <<'PY'
import re, sys, statistics as st
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r"run (\d+) (\w+)-(\d+)\s+wall\s+([\d.]+) s\s+cpu\s+([\d.]+) s", line)
    if m:
        r, kind, size, wall, cpu = int(m[1]), m[2], int(m[3]), float(m[4]), float(m[5])
        rows.setdefault(size, {}).setdefault(kind, {})[r] = (wall, cpu)
def f(v): return f"{st.median(v):.2f} ({min(v):.2f}–{max(v):.2f})"
print("| services | derived: wall s | hand-written: wall s | derived: CPU s | hand-written: CPU s | derived / hand-written: wall, CPU (median of per-round ratios) |")
print("|---|---|---|---|---|---|")
for size in sorted(rows):
    d, h = rows[size]["derived"], rows[size]["hand"]
    rounds = sorted(set(d) & set(h))
    rw = st.median(d[r][0] / h[r][0] for r in rounds)
    rc = st.median(d[r][1] / h[r][1] for r in rounds)
    print(f"| {size} | {f([d[r][0] for r in d])} | {f([h[r][0] for r in h])} | {f([d[r][1] for r in d])} | {f([h[r][1] for r in h])} | {rw:.2f}×, {rc:.2f}× |")
PY
}
if [ -n "${SUMMARY_FROM:-}" ]; then summarize "$SUMMARY_FROM"; exit 0; fi

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(50 100 200 400)
RUNS="${RUNS:-3}"
REV="$(git -C "$REPO" rev-parse "${REV:-HEAD}")"
WORK="$(mktemp -d /tmp/lifecycle-compile-time.XXXXXX)"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
git -C "$REPO" archive "$REV" lifecycle-core lifecycle-derive Cargo.toml Cargo.lock rust-toolchain.toml \
  | tar -x -C "$WORK"
echo "lifecycle-core and lifecycle-derive at $(git -C "$REPO" log -1 --format='%h %s' "$REV")" >&2

gen() { # kind size dir
  python3 - "$1" "$2" "$3" <<'PY'
import sys, os
kind, size, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
os.makedirs(os.path.join(root, "src"), exist_ok=True)
# 10 levels of size/10 services; each depends on 2 services of the level above. (A chain as
# deep as the registry is long overflows rustc's drop-check recursion limit near 130 levels,
# derived or hand-written alike: nested `Arc<Svc…>` fields.)
width = max(size // 10, 1)
def deps(k):
    level, pos = divmod(k, width)
    if level == 0:
        return []
    above = (level - 1) * width
    d = [above + pos]
    if width > 1:
        d.append(above + (pos + 1) % width)
    return d
out = ["#![allow(dead_code)]", "use std::sync::Arc;", "use std::sync::atomic::{AtomicU64, Ordering};", ""]
if kind == "derived":
    out.append("use lifecycle_core::{Registry, Service};\n")
    for k in range(size):
        out.append("#[derive(Service)]\n#[service(tasks)]\npub struct Svc%d {" % k)
        for j, d in enumerate(deps(k)):
            out.append("    #[depends_on]\n    d%d: Arc<Svc%d>," % (j, d))
        out.append("    ticks: AtomicU64,\n}\n")
        out.append("#[lifecycle_core::tasks]\nimpl Svc%d {" % k)
        out.append('    #[background_task(every = "30s")]')
        out.append("    async fn tick(&self) {\n        self.ticks.fetch_add(1, Ordering::Relaxed);\n    }\n}\n")
    out.append("#[derive(Registry)]\npub struct Platform {")
    for k in range(size):
        out.append("    s%d: Svc%d," % (k, k))
    out.append("}\n")
    out.append("pub async fn run() {")
    out.append("    let running = Platform::builder().build().expect(\"build\").start().await.expect(\"start\");")
    out.append("    let _first: &Arc<Svc0> = &running.s0;")
    out.append("    running.stop().await;\n}")
else:
    out.append("use std::time::Duration;\nuse tokio_util::sync::CancellationToken;\nuse tokio_util::task::TaskTracker;\n")
    for k in range(size):
        ds = deps(k)
        out.append("pub struct Svc%d {" % k)
        for j, d in enumerate(ds):
            out.append("    d%d: Arc<Svc%d>," % (j, d))
        out.append("    ticks: AtomicU64,\n}\n")
        out.append("impl Svc%d {" % k)
        params = ", ".join("d%d: Arc<Svc%d>" % (j, d) for j, d in enumerate(ds))
        fields = "".join("d%d, " % j for j in range(len(ds)))
        out.append("    pub fn new(%s) -> Self {\n        Self { %sticks: AtomicU64::new(0) }\n    }\n" % (params, fields))
        out.append("    async fn tick(&self) {\n        self.ticks.fetch_add(1, Ordering::Relaxed);\n    }\n")
        out.append("    pub fn start(self: &Arc<Self>, token: CancellationToken, tracker: &TaskTracker) {")
        out.append("        let this = Arc::clone(self);")
        out.append("        tracker.spawn(async move {")
        out.append("            let mut interval = tokio::time::interval(Duration::from_secs(30));")
        out.append("            loop {")
        out.append("                tokio::select! {")
        out.append("                    biased;")
        out.append("                    () = token.cancelled() => break,")
        out.append("                    _ = interval.tick() => this.tick().await,")
        out.append("                }")
        out.append("            }")
        out.append("        });\n    }\n}\n")
    out.append("pub struct Platform {")
    for k in range(size):
        out.append("    pub s%d: Arc<Svc%d>," % (k, k))
    out.append("}\n")
    out.append("impl Platform {\n    pub fn build() -> Self {")
    for k in range(size):
        args = ", ".join("Arc::clone(&s%d)" % d for d in deps(k))
        out.append("        let s%d = Arc::new(Svc%d::new(%s));" % (k, k, args))
    out.append("        Self { %s }\n    }\n" % ", ".join("s%d" % k for k in range(size)))
    out.append("    pub async fn run(&self) {")
    out.append("        let root = CancellationToken::new();")
    out.append("        let tracker = TaskTracker::new();")
    for k in range(size):
        out.append("        self.s%d.start(root.child_token(), &tracker);" % k)
    out.append("        root.cancel();\n        tracker.close();\n        tracker.wait().await;\n    }\n}\n")
    out.append("pub async fn run() {\n    Platform::build().run().await;\n}")
open(os.path.join(root, "src", "lib.rs"), "w").write("\n".join(out) + "\n")
open(os.path.join(root, "Cargo.toml"), "w").write("""[package]
name = "%s-%d"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
%s
tokio = { version = "1.54", default-features = false, features = ["rt", "rt-multi-thread", "time", "sync", "macros"] }
tokio-util = { version = "0.7.20", default-features = false, features = ["rt"] }
""" % (kind, size, 'lifecycle-core = { path = "../lifecycle-core" }' if kind == "derived" else ""))
PY
}

export REPO
members=()
for s in "${SIZES[@]}"; do
  for kind in derived hand; do
    gen "$kind" "$s" "$WORK/$kind-$s"
    members+=("\"$kind-$s\"")
  done
done
# The repo's workspace manifest (package defaults, dependency versions, lints), our members.
members_line="members = [\"lifecycle-core\", \"lifecycle-derive\", $(IFS=,; echo "${members[*]}")]"
sed -i "s|^members = .*|$members_line|" "$WORK/Cargo.toml"
cd "$WORK"
export CARGO_TARGET_DIR="$WORK/target" CARGO_INCREMENTAL=0

echo "prebuilding dependencies and every crate once in $WORK …" >&2
for s in "${SIZES[@]}"; do
  for kind in derived hand; do
    if ! cargo build -q -p "$kind-$s" 2> "$WORK/$kind-$s.err"; then
      echo "build of $kind-$s failed:" >&2
      head -50 "$WORK/$kind-$s.err" >&2
      exit 1
    fi
  done
done

for ((r = 0; r < RUNS; r++)); do
  for s in "${SIZES[@]}"; do
    for kind in derived hand; do
      touch "$kind-$s/src/lib.rs"
      # Wall time and CPU time (user + sys of cargo and rustc): CPU time is less disturbed by
      # other load on this shared machine.
      /usr/bin/time -f '%e %U %S' -o "$WORK/time.txt" cargo build -q -p "$kind-$s"
      read -r wall user sys < "$WORK/time.txt"
      cpu=$(echo "$user + $sys" | bc -l)
      printf 'run %d %-12s wall %6.2f s  cpu %6.2f s\n' "$r" "$kind-$s" "$wall" "$cpu" | tee -a "$WORK/runs.log" >&2
    done
  done
done

echo
echo "lifecycle-core and lifecycle-derive at \`$(git -C "$REPO" log -1 --format=%h "$REV")\`; $RUNS rounds per crate, kinds interleaved; median (min–max)."
echo
summarize "$WORK/runs.log"
