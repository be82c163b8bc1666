#!/bin/sh
# Runs every benchmark program of a release build tree (bench-* under its
# bench/ folder). Each prints lines of the form
#   NAME: VALUE UNIT; baseline BASELINE-NAME: VALUE UNIT; ratio R
# measured in the same run, and writes the same data as JSON into
# bench/results/NAME.json. Nothing here is a pass/fail test.
set -eu
tree=$1
out=$(cd "$(dirname "$0")" && pwd)/results
mkdir -p "$out"
found=0
for bin in "$tree"/bench/bench-*; do
	[ -x "$bin" ] || continue
	found=1
	name=$(basename "$bin")
	echo "== $name"
	"$bin" --json "$out/$name.json"
done
if [ "$found" -eq 0 ]; then
	echo "bench: no benchmarks built in $tree/bench" >&2
	exit 1
fi
