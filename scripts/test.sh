#!/usr/bin/env bash
# Runs the whole hoist test suite on a Debian 12 machine: installs what is
# missing, builds a normal and an AddressSanitizer/UBSan build, and runs
# the unit, Python and end-to-end tests in both.  Prints
# "N passed, N failed" last and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh || exit 1

# Sanitizer findings must fail the run, not scroll by.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0

passed=0
failed=0
run_suite() {
	local dir=$1
	shift
	echo "== building $dir"
	if ! scripts/build.sh "$dir" "$@"; then
		echo "hoist: the build in $dir failed" >&2
		failed=$((failed + 1))
		return
	fi
	echo "== testing $dir"
	meson test -C "$dir" --print-errorlogs --no-rebuild \
		--num-processes 2 || true
	local results="$dir/meson-logs/testlog.json"
	if [ -f "$results" ]; then
		local ok bad
		ok=$(grep -c '"result": "OK"' "$results" || true)
		bad=$(grep -c '"result": "\(FAIL\|TIMEOUT\|ERROR\)"' "$results" \
			|| true)
		passed=$((passed + ok))
		failed=$((failed + bad))
	else
		failed=$((failed + 1))
	fi
}

run_suite build
run_suite build-sanitize -Db_sanitize=address,undefined -Db_lundef=false

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
