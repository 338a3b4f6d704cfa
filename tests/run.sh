#!/usr/bin/env bash
# Runs the unit suites and then the integration tests against a real slapd
# from scripts/testenv, and prints "N passed, N failed" as its last line.
# Usage: tests/run.sh [--unit-only] BUILDDIR
set -uo pipefail

unit_only=0
if [[ "${1:-}" == --unit-only ]]; then
	unit_only=1
	shift
fi
builddir=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2

passed=0
failed=0

# Check prints "100%: Checks: 84, Failures: 0, Errors: 0".
for suite in "$builddir"/tests/check_*; do
	[[ -x "$suite" ]] || continue
	echo "== $(basename "$suite")"
	output=$("$suite" 2>&1)
	rc=$?
	# Show failures, notes and the summary; the expected log lines of the
	# suites' negative tests stay out of the way.
	echo "$output" | grep -E '^[^ ]+:[0-9]+:[EF]:|^NOTE|^[0-9]+%: Checks'
	summary=$(echo "$output" | grep -Eo 'Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' | tail -n 1)
	if [[ -z "$summary" ]]; then
		echo "$(basename "$suite"): no summary (exit status $rc)"
		failed=$((failed + 1))
		continue
	fi
	read -r checks failures errors < <(echo "$summary" | tr -cd '0-9 ' | awk '{print $1, $2, $3}')
	passed=$((passed + checks - failures - errors))
	failed=$((failed + failures + errors))
	if [[ $rc -ne 0 && $((failures + errors)) -eq 0 ]]; then
		failed=$((failed + 1))
	fi
done

if [[ $unit_only -eq 0 ]]; then
	echo "== integration"
	result=$(mktemp)
	SMIMEGW_BIN="$top/$builddir/smimegw" python3 tests/integration/run.py --result "$result"
	if read -r ip if < "$result" 2>/dev/null && [[ -n "$ip" ]]; then
		passed=$((passed + ip))
		failed=$((failed + if))
	else
		echo "integration: the runner wrote no result"
		failed=$((failed + 1))
	fi
	rm -f "$result"
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 && $passed -gt 0 ]]
