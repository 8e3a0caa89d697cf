#!/usr/bin/env bash
# catch_discover_tests registers each Catch2 test case with CTest by name,
# and CMake splits a name at ';' (its list separator): such a test runs a
# filter that matches nothing, and Catch2 v2 then exits 0 — a test that
# silently never runs. Fail on any test case name with ';'.
set -euo pipefail
root=$1
bad=$(grep -rn --include='*.cc' --include='*.h' -E 'TEST_CASE\("[^"]*;' "$root/libs" "$root/tests" "$root/services" || true)
if [ -n "$bad" ]; then
  echo "test case names with ';' (CTest would never run them):"
  echo "$bad"
  exit 1
fi
echo "no test case name has ';'"
