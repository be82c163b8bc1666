#!/bin/sh
# Runs every fuzz target of a FUZZ=ON build tree for a number of seconds on
# a scratch copy of its corpus. New inputs that libFuzzer finds are left in
# build/fuzz/corpus/NAME for a person to review and add to the repo's corpus;
# a crash stops the run and leaves its input in build/fuzz/crash-NAME-*.
set -eu
tree=$1
seconds=${2:-60}
status=0
while IFS='=' read -r name corpus; do
	[ -n "$name" ] || continue
	bin=$(find "$tree" -type f -name "$name" -perm -u+x | head -n 1)
	if [ -z "$bin" ]; then
		echo "run-fuzz: $name was not built" >&2
		status=1
		continue
	fi
	work="$tree/corpus/$name"
	mkdir -p "$work"
	echo "== $name for ${seconds}s (corpus $corpus)"
	if ! "$bin" -max_total_time="$seconds" -artifact_prefix="$tree/crash-$name-" \
		"$work" "$corpus"; then
		status=1
	fi
done < "$tree/fuzz-targets.txt"
exit $status
