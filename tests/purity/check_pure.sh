#!/usr/bin/env bash
# The functional core includes no I/O library: base, model and engine may
# not include librdkafka, RocksDB, Asio/Beast, prometheus-cpp or protobuf
# headers (STYLE.md, "Functional core, imperative shell"). Fails listing
# every offending line.
set -u
root=${1:?usage: check_pure.sh REPO_ROOT}
pattern='#[[:space:]]*include[[:space:]]*[<"](librdkafka/|rdkafka|rocksdb/|boost/asio|boost/beast|asio\.hpp|prometheus/|google/protobuf/|.*\.pb\.h)'
hits=$(grep -rnE "$pattern" "$root/libs/base" "$root/libs/model" "$root/libs/engine" 2>/dev/null)
if [ -n "$hits" ]; then
  echo "impure includes in the functional core:"
  echo "$hits"
  exit 1
fi
count=$(find "$root/libs/base" "$root/libs/model" "$root/libs/engine" -name '*.h' -o -name '*.cc' | wc -l)
echo "functional core is pure: $count files checked"
