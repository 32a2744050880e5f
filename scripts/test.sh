#!/usr/bin/env bash
# Runs the whole hoist test suite on a Debian 12 machine: installs what is
# missing, builds a normal and an AddressSanitizer/UBSan build, and runs
# the unit, fuzz-corpus, Python, S3 and end-to-end tests in both.  Prints
# "N passed, N failed" last and exits non-zero on any failure.
#
# Most tests wait on real processes rather than compute, so the two builds'
# suites run side by side; each build's log is printed when it finishes.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh || exit 1

# Sanitizer findings must fail the run, not scroll by.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0

builds=(build build-sanitize)
declare -A setup_args=(
	[build]=""
	[build-sanitize]="-Db_sanitize=address,undefined -Db_lundef=false"
)

failed=0
passed=0
ready=()
for dir in "${builds[@]}"; do
	echo "== building $dir"
	# shellcheck disable=SC2086
	if scripts/build.sh "$dir" ${setup_args[$dir]}; then
		ready+=("$dir")
	else
		echo "hoist: the build in $dir failed" >&2
		failed=$((failed + 1))
	fi
done

pids=()
for dir in "${ready[@]}"; do
	echo "== testing $dir"
	meson test -C "$dir" --print-errorlogs --no-rebuild \
		--num-processes 2 >"$dir/hoist-test.log" 2>&1 &
	pids+=($!)
done
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" || true
	dir=${ready[$i]}
	echo "== results of $dir"
	cat "$dir/hoist-test.log"
	results="$dir/meson-logs/testlog.json"
	if [ -f "$results" ]; then
		ok=$(grep -c '"result": "OK"' "$results" || true)
		bad=$(grep -c '"result": "\(FAIL\|TIMEOUT\|ERROR\)"' "$results" \
			|| true)
		passed=$((passed + ok))
		failed=$((failed + bad))
	else
		failed=$((failed + 1))
	fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
