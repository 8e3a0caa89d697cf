#!/usr/bin/env bash
# The test command: installs what is missing, builds everything with
# warnings as errors, and runs every test (unit, integration, randomized).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
build_dir=${BUILD_DIR:-build}  # not POSD_*: posd reads every POSD_ variable as a setting
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build_dir" -j"$(nproc)"
cd "$build_dir"
ctest --output-on-failure -j"$(nproc)" "$@"
