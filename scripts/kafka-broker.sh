#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft, broker+controller in one
# JVM) on 127.0.0.1 for posd's real-broker tests and for trying posd by hand.
# The broker's jars come from Maven Central through tests/broker/pom.xml and
# stay in Maven's cache (~/.m2); nothing is downloaded into the repository.
#
#   scripts/kafka-broker.sh start DIR      fresh broker: new data, new free ports
#   scripts/kafka-broker.sh restart DIR    same broker, same ports, data kept
#   scripts/kafka-broker.sh stop DIR       TERM, then KILL after a timeout
#   scripts/kafka-broker.sh status DIR     exit 0 when running
#   scripts/kafka-broker.sh bootstrap DIR  prints 127.0.0.1:PORT
#   scripts/kafka-broker.sh cluster-id N   prints N new cluster ids (tests)
#
# DIR holds everything of one broker: server.properties, data/ (the log
# dirs), logs/server.log (WARN and above), broker.out (the JVM's stdout and
# stderr), broker.pid, ports and bootstrap. `start` and `stop` are safe to
# repeat: `start` stops a broker still running from DIR first, `stop` does
# nothing when none runs.
#
# Environment: POSD_KAFKA_CACHE (where the resolved classpath is cached;
# default ~/.cache/posd), POSD_KAFKA_START_TIMEOUT_S (default 90),
# POSD_KAFKA_STOP_TIMEOUT_S (default 30), POSD_KAFKA_HEAP (default
# "-Xmx512m -Xms256m").
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pom="$here/tests/broker/pom.xml"
log4j="$here/tests/broker/log4j.properties"
cache_dir=${POSD_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/posd}
start_timeout_s=${POSD_KAFKA_START_TIMEOUT_S:-90}
stop_timeout_s=${POSD_KAFKA_STOP_TIMEOUT_S:-30}
heap=${POSD_KAFKA_HEAP:--Xmx512m -Xms256m}

say() { echo "kafka-broker: $*" >&2; }
die() { say "$*"; exit 1; }

usage() {
  sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# --- the classpath ----------------------------------------------------------

# Prints the broker's classpath. Resolved once per pom.xml content and cached
# (the file is keyed by the pom's hash); reused without running Maven while
# every jar it names is still in ~/.m2. When the cache file exists but a jar
# is gone, Maven resolves again (online, since offline cannot help then).
classpath() {
  local key file jar ok=1 tmp
  key=$(sha256sum "$pom" | cut -c1-16)
  file="$cache_dir/kafka-broker-$key.classpath"
  if [[ -s $file ]]; then
    local IFS=:
    for jar in $(<"$file"); do [[ -f $jar ]] || { ok=0; break; }; done
    unset IFS
    if ((ok)); then cat "$file"; return; fi
    say "a jar of the cached classpath is missing; resolving again"
  fi
  command -v mvn >/dev/null || die "mvn not found (Debian: apt-get install maven)"
  mkdir -p "$cache_dir"
  tmp=$(mktemp "$cache_dir/.classpath.XXXXXX")
  say "resolving the broker's jars with Maven (first run only)"
  # Maven prints its errors on stdout; show its output only when it fails.
  if ! mvn -B -q -Dstyle.color=never -f "$pom" dependency:build-classpath \
         -Dmdep.outputFile="$tmp" >"$tmp.log" 2>&1; then
    cat "$tmp.log" >&2
    rm -f "$tmp" "$tmp.log"
    die "mvn could not resolve $pom"
  fi
  rm -f "$tmp.log"
  [[ -s $tmp ]] || { rm -f "$tmp"; die "mvn wrote an empty classpath"; }
  mv -f "$tmp" "$file" # atomic: concurrent starts never read half a file
  cat "$file"
}

# --- ports ------------------------------------------------------------------

port_free() {
  [[ -z $(ss -Hltn "sport = :$1" 2>/dev/null) ]] || return 1
  # Nothing listens; also make sure nothing answers (ss may be filtered).
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A free port below Linux's ephemeral range (32768-60999), so a client
# socket's local port cannot take it between stop and restart.
free_port() {
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
    [[ $p != "${2:-}" ]] && port_free "$p" && { echo "$p"; return; }
  done
  die "no free loopback port found"
}

# --- the process ------------------------------------------------------------

pid_of() { # prints the broker's pid when it runs from DIR
  local dir=$1 pid state
  [[ -s $dir/broker.pid ]] || return 1
  pid=$(<"$dir/broker.pid")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  # The pid may have been reused; it is ours only if it runs kafka.Kafka
  # with this DIR's server.properties.
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "kafka.Kafka $dir/server.properties" || return 1
  # A zombie (not yet reaped by its new parent) has exited.
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo Z)
  [[ $state != Z ]] || return 1
  echo "$pid"
}

jvm_opts() {
  local dir=$1
  # shellcheck disable=SC2086 # heap is a list of options
  echo $heap -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true -Dkafka.logs.dir="$dir/logs" -Dlog4j.configuration="file:$log4j"
}

write_properties() {
  local dir=$1 port=$2 cport=$3
  cat >"$dir/server.properties" <<EOF
# Written by scripts/kafka-broker.sh: one KRaft node, broker and controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
# One node: every internal topic has one replica, and one is enough.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
default.replication.factor=1
min.insync.replicas=1
num.partitions=4
# Tests join groups often; do not wait 3 s for more members.
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
EOF
}

log_tail() {
  local dir=$1
  say "--- $dir/broker.out (tail) ---"
  tail -n 30 "$dir/broker.out" >&2 2>/dev/null || true
  say "--- $dir/logs/server.log (tail) ---"
  tail -n 30 "$dir/logs/server.log" >&2 2>/dev/null || true
}

ready() { # the broker answers a metadata request
  local bootstrap=$1
  # A cheap connect first: kcat waits its whole timeout on a closed port.
  (exec 3<>"/dev/tcp/${bootstrap%:*}/${bootstrap#*:}") 2>/dev/null || return 1
  ! command -v kcat >/dev/null || kcat -b "$bootstrap" -L -m 5 2>/dev/null | grep -q "broker 1 at"
}

# Launches the JVM (classpath $2) on the ports of DIR/ports and waits
# until it answers. Returns 2 when the JVM exited early because a port was
# taken, 1 on other failures.
launch() {
  local dir=$1 cp=$2 port cport pid deadline
  # shellcheck disable=SC1091
  source "$dir/ports"
  port=$broker_port
  cport=$controller_port
  mkdir -p "$dir/logs"
  # Where this launch's output starts (restart appends to the same files).
  local out_from log_from
  out_from=$(stat -c %s "$dir/broker.out" 2>/dev/null || echo 0)
  log_from=$(stat -c %s "$dir/logs/server.log" 2>/dev/null || echo 0)
  # setsid: the broker outlives this script and the CTest fixture test that
  # ran it, and no terminal signal reaches it. Its output goes to files so
  # that whoever ran this script (CTest) is not left reading an open pipe.
  # shellcheck disable=SC2046
  setsid java $(jvm_opts "$dir") -cp "$cp" kafka.Kafka "$dir/server.properties" \
    </dev/null >>"$dir/broker.out" 2>&1 &
  pid=$!
  echo "$pid" >"$dir/broker.pid"
  deadline=$((SECONDS + start_timeout_s))
  while ! ready "127.0.0.1:$port"; do
    if ! kill -0 "$pid" 2>/dev/null || [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]]; then
      rm -f "$dir/broker.pid"
      if { tail -c +$((out_from + 1)) "$dir/broker.out"; tail -c +$((log_from + 1)) "$dir/logs/server.log"; } 2>/dev/null |
           grep -q "Address already in use"; then
        return 2
      fi
      log_tail "$dir"
      say "the broker exited during startup"
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log_tail "$dir"
      say "the broker did not answer on 127.0.0.1:$port within ${start_timeout_s}s"
      stop "$dir"
      return 1
    fi
    sleep 0.3
  done
  echo "127.0.0.1:$port" >"$dir/bootstrap"
  echo "bootstrap.servers=127.0.0.1:$port"
}

# --- commands ---------------------------------------------------------------

# A cluster id: 16 random bytes in URL-safe base64 without padding (what
# `kafka-storage.sh random-uuid` prints), without a second JVM. Like Kafka's
# Uuid.randomUuid(), never one that starts with '-': 1 in 64 did, and
# `format -t -xyz...` then read the id as an unknown option.
new_cluster_id() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ $id == -* ]] || { echo "$id"; return; }
  done
}

start() {
  local dir=$1 attempt cp port cport cluster_id rc
  stop "$dir"
  cp=$(classpath)
  for attempt in 1 2 3; do
    # Fresh: nothing of an earlier broker in DIR survives.
    rm -rf "$dir/data" "$dir/logs" "$dir/broker.out" "$dir/bootstrap" "$dir/ports" "$dir/server.properties"
    mkdir -p "$dir/data" "$dir/logs"
    port=$(free_port)
    cport=$(free_port "$port")
    printf 'broker_port=%s\ncontroller_port=%s\n' "$port" "$cport" >"$dir/ports"
    write_properties "$dir" "$port" "$cport"
    cluster_id=$(new_cluster_id)
    # --cluster-id=ID: an id starting with '-' stays the option's value.
    # shellcheck disable=SC2046
    if ! java $(jvm_opts "$dir") -cp "$cp" kafka.tools.StorageTool format \
           --cluster-id="$cluster_id" -c "$dir/server.properties" >>"$dir/broker.out" 2>&1; then
      log_tail "$dir"
      die "formatting the storage in $dir/data failed"
    fi
    rc=0
    launch "$dir" "$cp" || rc=$?
    ((rc == 0)) && return 0
    ((rc == 2)) || exit 1
    say "a port was taken before the broker bound it; new ports (attempt $attempt)"
  done
  die "could not start the broker"
}

restart() {
  local dir=$1 cp rc=0
  [[ -s $dir/ports && -s $dir/server.properties && -d $dir/data ]] ||
    die "$dir holds no broker to restart (run start first)"
  cp=$(classpath)
  stop "$dir"
  launch "$dir" "$cp" || rc=$?
  ((rc == 2)) && die "a port of $dir/ports is taken by another process"
  ((rc == 0)) || exit 1
}

stop() {
  local dir=$1 pid deadline
  pid=$(pid_of "$dir") || { rm -f "$dir/broker.pid"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + stop_timeout_s))
  while pid_of "$dir" >/dev/null; do
    if ((SECONDS >= deadline)); then
      say "the broker (pid $pid) did not stop within ${stop_timeout_s}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      deadline=$((SECONDS + 10))
      while pid_of "$dir" >/dev/null; do
        ((SECONDS < deadline)) || die "pid $pid survived SIGKILL"
        sleep 0.1
      done
      break
    fi
    sleep 0.2
  done
  rm -f "$dir/broker.pid"
}

status() {
  local dir=$1 pid
  if pid=$(pid_of "$dir"); then
    echo "running pid=$pid bootstrap.servers=$(cat "$dir/bootstrap" 2>/dev/null || echo '?')"
  else
    echo "not running"
    return 1
  fi
}

bootstrap() {
  local dir=$1
  pid_of "$dir" >/dev/null || die "no broker runs from $dir"
  cat "$dir/bootstrap"
}

(($# == 2)) || usage
cmd=$1
if [[ $cmd == cluster-id ]]; then
  [[ $2 =~ ^[0-9]+$ ]] || usage
  for ((i = 0; i < $2; i++)); do new_cluster_id; done
  exit 0
fi
[[ $cmd != start ]] || mkdir -p "$2"
if [[ -d $2 ]]; then dir=$(cd "$2" && pwd); else dir=$(realpath -m "$2"); fi
case $cmd in
  start | restart | stop | status | bootstrap) "$cmd" "$dir" ;;
  *) usage ;;
esac
