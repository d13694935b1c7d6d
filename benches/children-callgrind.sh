#!/bin/sh
# Instructions per child (callgrind; stable where wall time on a shared machine is not):
# (Ir with N children - Ir with 0 children) / N, one fresh process each, per variant.
#   benches/children-callgrind.sh [N] [BASELINE_EXE]
set -eu
n=${1:-10000}
base=${2:-}
exe=${CARGO_TARGET_DIR:-target}/release/children
tmp=$(mktemp -d)
ir() { # exe variant n
    valgrind --tool=callgrind --callgrind-out-file="$tmp/out" "$1" --one "$2" "$3" >/dev/null 2>"$tmp/err"
    grep -o 'Collected : [0-9]*' "$tmp/err" | grep -o '[0-9]*$'
}
echo "| variant | instructions/child |"
echo "|---|---:|"
for v in tracker shutdown-spawn unnamed-in-child named; do
    a=$(ir "$exe" $v 0); b=$(ir "$exe" $v "$n")
    echo "| $v | $(( (b - a) / n )) |"
done
if [ -n "$base" ]; then
    a=$(ir "$base" shutdown-spawn 0); b=$(ir "$base" shutdown-spawn "$n")
    echo "| shutdown-spawn (baseline build) | $(( (b - a) / n )) |"
fi
rm -rf "$tmp"
