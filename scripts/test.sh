#!/usr/bin/env bash
# The test command: installs what is missing, builds everything with
# warnings as errors, and runs every test (unit, integration, randomized).
# Then the sanitizer build (tests/fuzz/README.md): clang with
# AddressSanitizer + UBSan, the unit tests that need no broker, and a short
# libFuzzer run of each fuzz target over its seed corpus. SANITIZE=no skips
# that second part; arguments go to the first ctest only.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
build_dir=${BUILD_DIR:-build}  # not POSD_*: posd reads every POSD_ variable as a setting
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build_dir" -j"$(nproc)"
(cd "$build_dir" && ctest --output-on-failure -j"$(nproc)" "$@")

[ "${SANITIZE:-yes}" = no ] && exit 0
sanitize_dir=${build_dir}-sanitize
cmake -S . -B "$sanitize_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ \
  -DPOSD_SANITIZE=ON -DPOSD_BUILD_BENCH=OFF
cmake --build "$sanitize_dir" -j"$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
(cd "$sanitize_dir" && ctest --output-on-failure -j"$(nproc)")
