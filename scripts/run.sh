#!/usr/bin/env bash
# The run command: installs what is missing, builds posd, and runs its main
# job on the sample data (reference data and activity under data/sample/).
# Extra arguments go to posd (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
build_dir=${POSD_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j"$(nproc)" --target posd >&2  # stdout carries only the events
exec "$build_dir/services/posd/posd" "$@"
