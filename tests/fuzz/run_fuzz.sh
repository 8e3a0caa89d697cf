#!/usr/bin/env bash
# Fuzzes one libFuzzer target for SECONDS over a copy of its seed corpora
# (the repository is never written), and fails with the reproducer when the
# target crashes, leaks, times out or breaks its contract.
#   run_fuzz.sh TARGET_BINARY SECONDS ARTIFACT_DIR SEED_DIR...
set -euo pipefail
binary=$1 seconds=$2 artifacts=$3
shift 3
work=$(mktemp -d "${TMPDIR:-/tmp}/posd-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
rm -rf "$artifacts"
mkdir -p "$work/corpus" "$artifacts"
for dir in "$@"; do
  for f in "$dir"/*; do cp "$f" "$work/corpus/$(basename "$dir")_$(basename "$f")"; done
done
# -max_len: records beyond a few KiB only meet the size check; the seeds keep
# the larger shapes. -timeout: one input taking 10 s is a finding too.
status=0
"$binary" "$work/corpus" -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$artifacts/" >"$work/log" 2>&1 || status=$?
if ((status == 0)); then
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)' "$work/log" || true
  exit 0
fi
tail -n 80 "$work/log"
echo "FUZZ FAILURE in $(basename "$binary") (exit $status); reproducers kept in $artifacts:"
for f in "$artifacts"/*; do
  [ -f "$f" ] || continue
  echo "== $f ($(stat -c %s "$f") bytes), base64:"
  base64 -w 76 "$f" | head -n 40
  echo "reproduce: $binary $f"
done
exit 1
