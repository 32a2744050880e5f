#!/usr/bin/env bash
# Runs the example training job through hoist on this machine, preempts
# its instance part-way, and shows how the job resumed from its last
# checkpoint.  Installs what is missing and builds first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build
exec /usr/bin/python3 scripts/demo.py "$@"
