#!/usr/bin/env bash
# Installs s3rver, the S3 server of the tests, from package-lock.json with
# `npm ci` (this needs the npm registry and Node.js with npm).  Safe to run
# from several tests at once: the first one installs, the others wait.
set -euo pipefail
cd "$(dirname "$0")/s3rver"

if ! command -v npm >/dev/null 2>&1; then
	echo "tests/s3/setup.sh: npm is not installed; install Node.js" \
		"with npm (Debian: nodejs and npm)" >&2
	exit 1
fi

exec 9>.setup.lock
flock 9
if [ ! -f node_modules/.package-lock.json ] ||
	[ package-lock.json -nt node_modules/.package-lock.json ]; then
	npm ci --no-audit --no-fund --loglevel=error >&2
fi
