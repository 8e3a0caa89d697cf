#!/usr/bin/env bash
# 400 cluster ids from scripts/kafka-broker.sh: each is 22 characters of
# URL-safe base64 (16 bytes, no padding) and none starts with '-', which
# StorageTool's `-t` read as an option. Before the fix 1 in 64 did, so 400
# ids held one with probability 99.8%.
#
#   check_cluster_ids.sh SCRIPT
set -euo pipefail
ids=$(bash "$1" cluster-id 400)
n=$(wc -l <<<"$ids")
((n == 400)) || { echo "FAIL: $n ids, not 400"; exit 1; }
if bad=$(grep -vE '^[A-Za-z0-9_][A-Za-z0-9_-]{21}$' <<<"$ids"); then
  echo "FAIL: bad cluster ids:"
  echo "$bad"
  exit 1
fi
echo "PASS: 400 cluster ids, none starting with '-'"
