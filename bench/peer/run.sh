#!/usr/bin/env bash
# bench/peer/run.sh — posd side by side with Kafka Streams and a null
# transactional processor on one fresh real Kafka 3.9.1 broker (issue 10).
#
#   bench/peer/run.sh [--smoke] [--posd PATH] [--records N] [--accounts N]
#                     [--rate R] [--systems posd,ks,ks-tuned,null]
#                     [--repetitions N] [--latency-seconds S] [--warmup-seconds S]
#                     [--work DIR] [--keep] [--skip-latency] [--check-args]
#
# Per repetition and system, in the order given (posd first: the null
# processor copies posd's output counts and sizes from the same repetition):
#   throughput  fresh topics (activity: 8 partitions), --records generated
#               records (libs/workload via posctl produce, murmur2) produced
#               BEFORE the system starts; then the system runs until its group's
#               committed offsets reach the log end. records/s is measured from
#               the first commit seen (polled every 100 ms) to the end; CPU is
#               the process's utime+stime at that moment over --records; peak
#               RSS its VmHWM.
#   latency     fresh topics again; the system starts, its group becomes
#               stable, then posctl produces at --rate for warm-up + measured
#               seconds; produce (the input's CreateTime) -> read_committed
#               position.updated (the ids in its activityIds) p50 / p99 over
#               the records produced after the warm-up.
# Defaults: 200,000 records over 20,000 accounts, 2,000 records/s, 10 s of
# warm-up and 30 s measured, 3 repetitions, every system. --smoke: 5,000
# records over 1,000 accounts, 1 repetition, 4 s warm-up + 8 s measured.
# --check-args prints the settings and exits (no build, no broker).
# Results: a table per repetition on stdout, raw JSON lines in
# WORK/results.jsonl, logs in WORK/ (removed at the end unless --keep or a
# failure).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

records=200000 accounts=20000 rate=2000 repetitions=3 systems=posd,ks,ks-tuned,null
latency_s=30 warmup_s=10 posd="" work="" keep=0 check_args=0 smoke=0 skip_latency=0

die() { echo "peer: $*" >&2; exit 2; }
say() { echo "peer: $*" >&2; }

while (($#)); do
  case $1 in
    --posd) posd=${2:?}; shift 2 ;;
    --records) records=${2:?}; shift 2 ;;
    --accounts) accounts=${2:?}; shift 2 ;;
    --rate) rate=${2:?}; shift 2 ;;
    --systems) systems=${2:?}; shift 2 ;;
    --repetitions) repetitions=${2:?}; shift 2 ;;
    --latency-seconds) latency_s=${2:?}; shift 2 ;;
    --warmup-seconds) warmup_s=${2:?}; shift 2 ;;
    --work) work=${2:?}; shift 2 ;;
    --keep) keep=1; shift ;;
    --skip-latency) skip_latency=1; shift ;;
    --smoke) smoke=1; records=5000 accounts=1000 repetitions=1 latency_s=8 warmup_s=4; shift ;;
    --check-args) check_args=1; shift ;;
    -h | --help) sed -n '2,31p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (--help)" ;;
  esac
done
for v in records accounts rate repetitions latency_s warmup_s; do
  [[ ${!v} =~ ^[0-9]+$ && ${!v} -gt 0 ]] || die "--${v//_/-} must be a whole number > 0 (got '${!v}')"
done
IFS=, read -r -a system_list <<<"$systems"
((${#system_list[@]})) || die "--systems is empty"
for s in "${system_list[@]}"; do
  case $s in posd | ks | ks-tuned | null) ;; *) die "unknown system '$s' (posd, ks, ks-tuned, null)" ;; esac
done
if [[ ,$systems, == *,null,* ]]; then
  [[ ,$systems, == *,posd,* ]] || die "the null processor writes posd's output profile: list posd too (before null)"
  pi=-1 ni=-1
  for i in "${!system_list[@]}"; do
    [[ ${system_list[$i]} == posd ]] && pi=$i
    [[ ${system_list[$i]} == null ]] && ni=$i
  done
  ((pi < ni)) || die "posd must come before null in --systems"
fi
if [[ -z $posd ]]; then
  for c in "$repo/build-rel/services/posd/posd" "$repo/build/services/posd/posd"; do
    [[ -x $c ]] && { posd=$c; break; }
  done
fi
posctl=""
[[ -n $posd ]] && posctl="$(dirname "$posd")/../posctl/posctl"

if ((check_args)); then
  echo "records=$records accounts=$accounts rate=$rate repetitions=$repetitions systems=$systems" \
    "latency_s=$latency_s warmup_s=$warmup_s skip_latency=$skip_latency smoke=$smoke posd=${posd:-none}"
  exit 0
fi
[[ -n $posd && -x $posd ]] || die "no posd binary (build it, or --posd PATH)"
[[ -x $posctl ]] || die "no posctl next to posd ($posctl)"
command -v mvn >/dev/null || die "mvn not found (Debian: apt-get install maven)"
command -v java >/dev/null || die "java not found (Debian: apt-get install openjdk-17-jre-headless)"

# --- the Java part ------------------------------------------------------------
say "building bench/peer (Maven; jars in ~/.m2)"
build_log=$(mktemp /tmp/posd-peer-mvn.XXXXXX)
if ! (cd "$here" && mvn -B -q -Dstyle.color=never package dependency:build-classpath \
       -Dmdep.outputFile=target/classpath >"$build_log" 2>&1); then
  cat "$build_log" >&2
  rm -f "$build_log"
  die "the Maven build failed"
fi
rm -f "$build_log"
cp="$here/target/classes:$(<"$here/target/classpath")"
jvm=(java -Xmx1g -XX:+UseG1GC -cp "$cp")
tools() { "${jvm[@]}" posd.peer.Tools "$@"; }

# --- processes, cleanup -------------------------------------------------------
[[ -n $work ]] || work=$(mktemp -d /tmp/posd-peer.XXXXXX)
mkdir -p "$work"
work=$(cd "$work" && pwd)
broker_dir=$work/broker
results=$work/results.jsonl
: >"$results"
pids=()
failed=1
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  "$repo/scripts/kafka-broker.sh" stop "$broker_dir" >/dev/null 2>&1 || true
  if ((failed || keep)); then say "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Stops one process we started: TERM, then KILL after 30 s.
stop_pid() {
  local p=$1 i
  kill -TERM "$p" 2>/dev/null || return 0
  for ((i = 0; i < 300; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  forget_pid "$p"
}
forget_pid() {
  local keep_pids=() q
  for q in "${pids[@]}"; do [[ $q == "$1" ]] || keep_pids+=("$q"); done
  pids=("${keep_pids[@]}")
}

clk_tck=$(getconf CLK_TCK)
cpu_seconds() { # utime + stime of a running process, seconds
  awk -v t="$clk_tck" '{ sub(/^.*\) /, ""); printf "%.3f", ($12 + $13) / t }' "/proc/$1/stat"
}
peak_rss_mib() { awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
json_field() { # json_field KEY <<< '{"KEY":value,...}'
  sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" | tr -d '"'
}

# --- the broker and the reference data -----------------------------------------
say "starting a fresh broker in $broker_dir"
bootstrap=$("$repo/scripts/kafka-broker.sh" start "$broker_dir" | sed -n 's/^bootstrap.servers=//p')
[[ -n $bootstrap ]] || die "the broker did not start"
say "broker at $bootstrap"
tools create-topics --bootstrap "$bootstrap" --partitions 8 \
  --compacted refdata.bookkeeping-rules,refdata.products,refdata.securities,refdata.margin-rules,prices,fx-rates >&2
tools load-refdata --bootstrap "$bootstrap" --dir "$repo/data/sample" 2>"$work/load-refdata.log" >&2

out_topics=(position.updated market-value margin.updated activity.dlq)

# create_run_topics PREFIX: fresh activity and output topics (and posd's changelog)
create_run_topics() {
  local p=$1 list="" t
  for t in activity "${out_topics[@]}"; do list+="${list:+,}$p$t"; done
  tools create-topics --bootstrap "$bootstrap" --partitions 8 --topics "$list" --compacted "${p}posd.changelog" >&2
}

# start_system SYSTEM PREFIX LOG: starts it in the background; sets $sys_pid and $sys_group
start_system() {
  local sys=$1 p=$2 log=$3
  case $sys in
    posd)
      sys_group="${p}posd"
      "$posd" --kafka.bootstrap.servers="$bootstrap" --group.id="$sys_group" --instance.id="${p}posd-1" \
        --state.dir="$work/state/${p}posd" --http.port=0 --business-date=2024-03-04 --log.level=warn \
        --topics.activity="${p}activity" --topics.position-updated="${p}position.updated" \
        --topics.market-value="${p}market-value" --topics.margin-updated="${p}margin.updated" \
        --topics.dlq="${p}activity.dlq" --topics.changelog="${p}posd.changelog" >"$log" 2>&1 &
      ;;
    ks | ks-tuned)
      sys_group="${p}streams"
      local tuned=()
      [[ $sys == ks-tuned ]] && tuned=(--tuned)
      "${jvm[@]}" posd.peer.PeerStreams --bootstrap "$bootstrap" --application-id "$sys_group" \
        --state-dir "$work/state/${p}streams" --topic-prefix "$p" --partitions 8 \
        --business-date 2024-03-04 "${tuned[@]}" >"$log" 2>&1 &
      ;;
    null)
      sys_group="${p}null"
      local outs=() i=0 t c k v h
      while read -r t c k v h; do
        i=$((i + 1))
        outs+=("--out$i" "$p${t#*posd-}=$c,$k,$v,$h")
      done <"$profile"
      "${jvm[@]}" posd.peer.NullProcessor --bootstrap "$bootstrap" --group "$sys_group" --input "${p}activity" \
        --transactional-id "${p}null-1" --inputs "$profile_inputs" "${outs[@]}" >"$log" 2>&1 &
      ;;
  esac
  sys_pid=$!
  pids+=("$sys_pid")
}

produce() { # produce TOPIC N [RATE]
  "$posctl" produce --bootstrap-servers "$bootstrap" --topic "$1" --generate "$2" --accounts "$accounts" \
    --rate "${3:-0}" 2>&1 | tail -n 1 >&2
}

profile=$work/posd-profile.txt
profile_inputs=0
declare -A rps cpu rss p50 p99

# --- the runs -------------------------------------------------------------------
for ((rep = 1; rep <= repetitions; rep++)); do
  for sys in "${system_list[@]}"; do
    # throughput
    p="r$rep-$sys-"
    create_run_topics "$p"
    say "rep $rep $sys: producing $records records to ${p}activity"
    produce "${p}activity" "$records"
    start_system "$sys" "$p" "$work/${p}throughput.log"
    if ! w=$(tools wait-group --bootstrap "$bootstrap" --group "$sys_group" --topic "${p}activity" --timeout-s 1800); then
      die "wait-group failed for $sys"
    fi
    kill -0 "$sys_pid" 2>/dev/null || { tail -n 30 "$work/${p}throughput.log" >&2; die "$sys exited during the run"; }
    c=$(cpu_seconds "$sys_pid")
    r=$(peak_rss_mib "$sys_pid")
    stop_pid "$sys_pid"
    [[ $(json_field timed_out <<<"$w") == false ]] || say "rep $rep $sys: TIMED OUT: $w"
    rps[$rep,$sys]=$(json_field records_per_s <<<"$w")
    inputs=$(json_field end <<<"$w") # Kafka messages: the generator's records, duplicates included
    cpu[$rep,$sys]=$(awk -v c="$c" -v n="$inputs" 'BEGIN { printf "%.1f", c / n * 1e6 }') # µs per record
    rss[$rep,$sys]=$r
    say "rep $rep $sys: $w cpu_s=$c peak_rss_mib=$r"
    echo "{\"rep\":$rep,\"system\":\"$sys\",\"phase\":\"throughput\",\"records\":$inputs,\"accounts\":$accounts,\"cpu_s\":$c,\"peak_rss_mib\":$r,\"wait\":$w}" >>"$results"
    # every system's outputs (read_committed): posd's are the null processor's profile
    topics=""
    for t in "${out_topics[@]}"; do topics+="${topics:+,}$p$t"; done
    tools topic-stats --bootstrap "$bootstrap" --topics "$topics" | sed "s/^$p/$sys-/" >"$work/${p}outputs.txt"
    say "rep $rep $sys outputs (topic count key_bytes value_bytes header_bytes):"
    sed 's/^/peer:   /' "$work/${p}outputs.txt" >&2
    awk -v rep="$rep" -v n="$inputs" -v sys="$sys" '{ printf "{\"rep\":%d,\"system\":\"%s\",\"phase\":\"outputs\",\"topic\":\"%s\",\"count\":%d,\"key_bytes\":%d,\"value_bytes\":%d,\"header_bytes\":%d,\"per_input\":%.4f,\"bytes_per_message\":%.1f}\n", rep, sys, substr($1, length(sys) + 2), $2, $3, $4, $5, $2 / n, $2 ? ($3 + $4 + $5) / $2 : 0 }' "$work/${p}outputs.txt" >>"$results"
    if [[ $sys == posd ]]; then
      cp "$work/${p}outputs.txt" "$profile"
      profile_inputs=$inputs
    fi

    # latency
    ((skip_latency)) && continue
    p="r$rep-$sys-lat-"
    create_run_topics "$p"
    start_system "$sys" "$p" "$work/${p}latency.log"
    tools wait-stable --bootstrap "$bootstrap" --group "$sys_group" --timeout-s 120 >&2 ||
      { tail -n 30 "$work/${p}latency.log" >&2; die "$sys's group did not become stable"; }
    n=$((rate * (warmup_s + latency_s)))
    ready=$work/${p}ready
    tools latency --bootstrap "$bootstrap" --input "${p}activity" --output "${p}position.updated" \
      --expect "$n" --warmup-s "$warmup_s" --ready-file "$ready" --timeout-s $((4 * (warmup_s + latency_s) + 120)) \
      >"$work/${p}latency.json" 2>"$work/${p}latency-tool.log" &
    lat_pid=$!
    pids+=("$lat_pid")
    for _ in $(seq 1 600); do [[ -e $ready ]] && break; sleep 0.1; done
    say "rep $rep $sys: latency run, $n records at $rate/s"
    produce "${p}activity" "$n" "$rate"
    wait "$lat_pid" || true
    forget_pid "$lat_pid"
    stop_pid "$sys_pid"
    l=$(<"$work/${p}latency.json")
    [[ -n $l ]] || { cat "$work/${p}latency-tool.log" >&2; die "the latency tool printed nothing"; }
    say "rep $rep $sys: latency $l"
    p50[$rep,$sys]=$(json_field p50_ms <<<"$l")
    p99[$rep,$sys]=$(json_field p99_ms <<<"$l")
    echo "{\"rep\":$rep,\"system\":\"$sys\",\"phase\":\"latency\",\"rate\":$rate,\"warmup_s\":$warmup_s,\"seconds\":$latency_s,\"result\":$l}" >>"$results"
  done

  # --- the table of this repetition
  ratio() { # ratio A B -> A/B with 2 decimals, or - when either is missing
    awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'
  }
  echo
  echo "repetition $rep — $records records over $accounts accounts; latency at $rate records/s (${warmup_s} s warm-up, ${latency_s} s measured); load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "| system | records/s | vs Kafka Streams defaults | vs null processor | p50 ms | p99 ms | p99 vs Kafka Streams defaults | CPU µs/record | CPU vs Kafka Streams defaults | peak RSS MiB |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  for sys in "${system_list[@]}"; do
    case $sys in
      posd) name=posd ;; ks) name="Kafka Streams, defaults" ;; ks-tuned) name="Kafka Streams, tuned" ;; null) name="null transactional processor" ;;
    esac
    printf '| %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "${rps[$rep,$sys]}" \
      "$(ratio "${rps[$rep,$sys]}" "${rps[$rep,ks]:-}")" "$(ratio "${rps[$rep,$sys]}" "${rps[$rep,null]:-}")" \
      "${p50[$rep,$sys]:--}" "${p99[$rep,$sys]:--}" "$(ratio "${p99[$rep,$sys]:-}" "${p99[$rep,ks]:-}")" \
      "${cpu[$rep,$sys]}" "$(ratio "${cpu[$rep,$sys]}" "${cpu[$rep,ks]:-}")" "${rss[$rep,$sys]}"
  done
  echo
done
failed=0
if ((keep)); then say "raw results: $results"; fi
