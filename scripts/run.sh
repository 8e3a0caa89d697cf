#!/usr/bin/env bash
# The run command: installs what is missing, builds posd, and runs its main
# job: with no brokers configured, an embedded Kafka-protocol cluster and the
# sample data (data/sample/), until Ctrl-C.
# Extra arguments go to posd (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
build_dir=${BUILD_DIR:-build}  # not POSD_*: posd reads every POSD_ variable as a setting
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j"$(nproc)" --target posd posctl >&2  # stdout carries only what posd prints
# Logs as text for people (posd's default is JSON lines); a later
# --log.format=json wins.
exec "$build_dir/services/posd/posd" --log.format=text "$@"
