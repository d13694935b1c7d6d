#!/usr/bin/env bash
# Runs the benchmark harness against one committed revision of the repository (default HEAD),
# exported with `git archive` to a temp dir, so uncommitted work in the tree cannot leak in.
#
#   benches/run.sh [w1] [w2] [w3] [w4] [callgrind] [dhat]   (default: all of them, in that order)
#
# env: REV (default HEAD), CORE_REV (lifecycle-core from another revision), RUNS (default 15), SIZES (default 1000,10000,100000),
#      CG_N (default 2000), CG_REPS (default 5), OUT (default benches/results/core-<last lifecycle-core commit>)
#
# Builds only `lifecycle-bench` (and what it depends on), in the repo's target dir. Results
# (Markdown tables and raw CSV) go to OUT, with the revision and the machine in OUT/ENV.md.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
# Resolve once: other sessions commit to this repo while the harness runs.
REV="$(git -C "$REPO" rev-parse "${REV:-HEAD}")"
COMMIT="$(git -C "$REPO" rev-parse --short "$REV")"
CORE="$(git -C "$REPO" log -1 --format=%h "${CORE_REV:-$REV}" -- lifecycle-core)"
OUT="${OUT:-$REPO/benches/results/core-$CORE}"
EXPORT="$(mktemp -d /tmp/lifecycle-bench-export.XXXXXX)"
trap 'rm -rf "$EXPORT"' EXIT

git -C "$REPO" archive "$REV" | tar -x -C "$EXPORT"
if [ -n "${CORE_REV:-}" ]; then
  # The harness of REV against an older (or newer) lifecycle-core.
  rm -rf "$EXPORT/lifecycle-core"
  git -C "$REPO" archive "$CORE_REV" lifecycle-core | tar -x -C "$EXPORT"
fi
export CARGO_TARGET_DIR="$REPO/target"
(cd "$EXPORT" && cargo build -q -p lifecycle-benches --release --bin lifecycle-bench)
BIN="$EXPORT/lifecycle-bench"
cp "$CARGO_TARGET_DIR/release/lifecycle-bench" "$BIN"

mkdir -p "$OUT"
[ -f "$OUT/ENV.md" ] || {
  echo "- revision: \`$COMMIT\` ($(git -C "$REPO" log -1 --format=%s "$REV"))"
  echo "- lifecycle-core last changed in: \`$(git -C "$REPO" log -1 --format='%h %s' "${CORE_REV:-$REV}" -- lifecycle-core)\`"
  echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB"
  echo "- $(rustc --version)"
} > "$OUT/ENV.md"
echo "- $(date -u '+%Y-%m-%d %H:%M UTC'): steps ${*:-all} of revision \`$COMMIT\`" >> "$OUT/ENV.md"

steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(w1 w2 w3 w4 callgrind dhat)
for step in "${steps[@]}"; do
  echo "== $step ($(date -u +%H:%M:%S))" >&2
  echo "- before \`$step\` ($(date -u +%H:%M:%S)): load average $(cut -d' ' -f1-3 /proc/loadavg) (other sessions build on this machine)" >> "$OUT/ENV.md"
  case "$step" in
    w1) "$BIN" w1 --runs "${RUNS:-15}" --sizes "${SIZES:-1000,10000,100000}" --out "$OUT" 2> "$OUT/w1.log" ;;
    w2) "$BIN" w2 --runs "${RUNS:-15}" --out "$OUT" 2> "$OUT/w2.log" ;;
    w3) "$BIN" w3 --runs 201 --out "$OUT" 2> /dev/null ;;
    w4) "$BIN" w4 --runs 21 --out "$OUT" 2> /dev/null ;;
    callgrind) "$BIN" callgrind --n "${CG_N:-2000}" --reps "${CG_REPS:-5}" --out "$OUT" 2> "$OUT/callgrind.log" ;;
    dhat)
      for v in lifecycle hand-written tgs; do
        valgrind --tool=dhat --dhat-out-file="$EXPORT/dhat.$v.json" "$BIN" child "$v" "${CG_N:-2000}" --phase start 2> /dev/null
        { echo "### $v, N = ${CG_N:-2000} (dhat, running state)"; echo; echo '```'
          python3 "$REPO/benches/tools/dhat_sites.py" "$EXPORT/dhat.$v.json" "${CG_N:-2000}"; echo '```'; echo; }
      done > "$OUT/dhat.md" ;;
    *) echo "unknown step $step" >&2; exit 2 ;;
  esac
done
