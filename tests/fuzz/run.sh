#!/usr/bin/env bash
# Runs every fuzz target of BUILDDIR/fuzz: first once over each committed
# input (tests/fuzz/corpus/NAME, so that inputs that once crashed stay
# regression tests), then for SECONDS seconds of fuzzing that starts from
# those inputs. New inputs go to BUILDDIR/corpus/NAME and crashes to
# BUILDDIR/artifacts/. Fails when any target crashes, leaks or hits
# undefined behaviour.
# Usage: tests/fuzz/run.sh [BUILDDIR [SECONDS]]
set -uo pipefail

builddir=${1:-build-fuzz}
seconds=${2:-20}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2

failed=0
ran=0
if [[ ! -d "$builddir/fuzz" ]]; then
	echo "no fuzz targets in $builddir/fuzz: run make fuzz"
	exit 2
fi
# Targets that need files (fuzz_email's store) make them here.
TMPDIR=$(cd "$builddir" && pwd)/tmp
export TMPDIR
rm -rf "$TMPDIR"
mkdir -p "$TMPDIR"
for bin in "$builddir"/fuzz/fuzz_*; do
	[[ -x "$bin" ]] || continue
	name=${bin##*/fuzz_}
	seeds=tests/fuzz/corpus/$name
	work=$builddir/corpus/$name
	log=$builddir/fuzz_$name.log
	dict=()
	[[ -f tests/fuzz/$name.dict ]] && dict=(-dict="tests/fuzz/$name.dict")
	mkdir -p "$work" "$builddir/artifacts"
	ran=$((ran + 1))

	if ! "$bin" "$seeds"/* >"$log" 2>&1; then
		echo "fuzz_$name: a committed input fails; the end of $log:"
		tail -n 30 "$log"
		failed=$((failed + 1))
		continue
	fi
	if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$builddir/artifacts/$name-" \
		"${dict[@]}" "$work" "$seeds" >>"$log" 2>&1; then
		echo "fuzz_$name: crash found; the end of $log:"
		tail -n 40 "$log"
		failed=$((failed + 1))
		continue
	fi
	runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -n 1)
	echo "fuzz_$name: ${runs:-?} inputs in ${seconds}s, no crash ($(ls "$work" | wc -l) in $work)"
done

if ((ran == 0)); then
	echo "no fuzz targets in $builddir/fuzz: run make fuzz"
	exit 2
fi
echo "$((ran - failed)) fuzz targets passed, $failed failed"
((failed == 0))
