#!/usr/bin/env bash
# Scrapes a running posd (the embedded default: mock Kafka cluster, sample
# data) with real Prometheus tools.
#
#   posd_metrics_check.sh promtool   POSD_BINARY   /metrics after the sample,
#       checked by `promtool check metrics` and for the series that must move
#   posd_metrics_check.sh prometheus POSD_BINARY   a Prometheus server scrapes
#       posd on loopback; its query API must answer posd_records_applied_total
#
# Exits 77 (CTest's skip) when the tool is not installed (Debian: prometheus).
# Stops everything it started, whatever happens.
set -euo pipefail

mode=${1:?promtool or prometheus}
posd=${2:?the posd binary}
case $mode in
  promtool) tool=promtool ;;
  prometheus) tool=prometheus ;;
  *) echo "unknown mode $mode" >&2; exit 2 ;;
esac
if ! command -v "$tool" >/dev/null; then
  echo "SKIP: $tool not found (apt-get install prometheus)"
  exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/posd-metrics-XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done
  exit 1
}

# Waits up to $1 seconds for the command after it to succeed.
wait_for() {
  local seconds=$1; shift
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

# posd prints http=ADDRESS:PORT on stdout once its HTTP server listens.
"$posd" --http.port=0 --log.format=text --log.level=warn >"$work/posd.out" 2>"$work/posd.log" &
pids+=($!)
wait_for 60 grep -q '^http=' "$work/posd.out" || fail "posd printed no http= line"
http=$(sed -n 's/^http=//p' "$work/posd.out")

scrape() { curl -sf "http://$http/metrics" >"$work/metrics.txt"; }
# The sample: 200 records plus the END_OF_DAY on each of the 4 partitions.
sample_done() {
  scrape || return 1
  awk '/^posd_records_consumed_total\{/ { n += $2 } END { exit !(n >= 203) }' "$work/metrics.txt"
}
wait_for 120 sample_done || fail "posd did not consume the sample"

if [ "$mode" = promtool ]; then
  curl -s -o /dev/null "http://$http/no-such-route" # a 404 for posd_http_requests_total
  scrape || fail "no /metrics"
  promtool check metrics <"$work/metrics.txt" >"$work/promtool.log" 2>&1 ||
    fail "promtool check metrics: $(cat "$work/promtool.log")"
  value() { awk -v s="$1" '$1 == s { print $2 }' "$work/metrics.txt"; }
  positive() { local v; v=$(value "$1"); [ -n "$v" ] && awk -v v="$v" 'BEGIN { exit !(v > 0) }' || fail "$1 is '${v}', not > 0"; }
  present() { grep -q "^$1 " "$work/metrics.txt" || fail "no sample $1"; }
  positive posd_records_applied_total
  positive posd_apply_latency_seconds_count
  positive posd_end_to_end_latency_seconds_count
  positive 'posd_records_rejected_total{reason="UNKNOWN_KEY_CODE"}'
  positive 'posd_outputs_total{topic="position.updated"}'
  positive 'posd_end_of_day_records_applied_total{partition="0"}'
  positive 'posd_business_date_seconds{partition="0"}'
  positive 'posd_http_requests_total{route="/metrics",status="200"}'
  positive 'posd_http_requests_total{route="unmatched",status="404"}'
  present 'posd_records_rejected_total{reason="WRONG_PARTITION"}'
  present 'posd_refdata_rejected_total{reason="MALFORMED"}'
  present posd_transaction_aborts_total
  present posd_state_write_stalls_total
  grep -Eq '^posd_build_info\{commit="([0-9a-f]{40}|unknown)",version="[0-9.]+"\} 1$' "$work/metrics.txt" ||
    fail "no posd_build_info"
  echo "OK: promtool check metrics passes on $(grep -vc '^#' "$work/metrics.txt") samples"
  exit 0
fi

# A free loopback port for Prometheus's own HTTP API.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: posd
    static_configs:
      - targets: ["$http"]
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$port" >"$work/prometheus.log" 2>&1 &
pids+=($!)
query() { curl -sf "http://127.0.0.1:$port/api/v1/query" --data-urlencode "query=$1"; }
# The applied count Prometheus stored, once it has scraped posd.
applied() {
  query posd_records_applied_total >"$work/answer.json" 2>/dev/null || return 1
  python3 - "$work/answer.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
values = [float(s["value"][1]) for s in r["data"]["result"] if s["metric"].get("job") == "posd"]
sys.exit(0 if r["status"] == "success" and values and values[0] > 0 else 1)
PY
}
wait_for 60 applied || fail "Prometheus never stored posd_records_applied_total > 0: $(cat "$work/answer.json" 2>/dev/null)"
query 'up{job="posd"}' | grep -q '"value":\[[0-9.]*,"1"\]' || fail "up{job=\"posd\"} is not 1"
echo "OK: Prometheus scraped posd: $(cat "$work/answer.json")"
