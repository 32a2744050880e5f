#!/usr/bin/env bash
# Configures (once) and builds hoist in the folder given as $1 (default
# build/); further arguments go to meson setup.  On failure it prints the
# end of the build output.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
mkdir -p "$dir"
log="$dir/hoist-build.log"
if [ ! -f "$dir/build.ninja" ]; then
	if ! meson setup "$dir" "$@" >"$log" 2>&1; then
		tail -n 40 "$log" >&2
		exit 1
	fi
fi
if ! ninja -C "$dir" >"$log" 2>&1; then
	grep -E "error|FAILED" "$log" | head -n 40 >&2
	exit 1
fi
