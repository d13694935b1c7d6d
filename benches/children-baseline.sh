#!/bin/sh
# Builds the children bench against another commit of lifecycle-core (default: the merge base
# with main), without the variants that need the child tree, for its `Shutdown::spawn` row:
#   benches/children-baseline.sh [COMMIT]   -> prints the path of the baseline binary
# then: target/release/children --baseline <that path>
# Its own target dir (seeded with hard links to this one's, for the dependencies): cargo names
# workspace artifacts by their path relative to the workspace, so two checkouts sharing one
# target dir would overwrite each other's lifecycle-core.
set -eu
commit=${1:-$(git merge-base HEAD main)}
dir=${TMPDIR:-/tmp}/children-baseline-$commit
here_target=${CARGO_TARGET_DIR:-$PWD/target}
rm -rf "$dir" "$dir-target" && mkdir -p "$dir" "$dir-target"
git archive "$commit" | tar -x -C "$dir"
# Newer than any seeded artifact, so cargo rebuilds the workspace crates from these sources.
find "$dir" -type f -exec touch {} +
if [ -d "$here_target/release" ]; then cp -al "$here_target/release" "$dir-target/release"; fi
mkdir -p "$dir/benches/src/bin"
# Drop what only the child tree has (marked BEGIN tree / END tree).
sed '/BEGIN tree/,/END tree/d' benches/src/bin/children.rs > "$dir/benches/src/bin/children.rs"
(cd "$dir" && CARGO_TARGET_DIR="$dir-target" cargo build -q -p lifecycle-benches --release --bin children)
echo "$dir-target/release/children"
