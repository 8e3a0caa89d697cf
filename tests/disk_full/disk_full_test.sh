#!/usr/bin/env bash
# posd, embedded, with its temporary state on a 20 MiB tmpfs, fed until the
# disk is full, several times: every run must end with exit code 1 (never a
# signal: RocksDB used to abort in 2 of 8 such runs), the JSON log line
# {"level":"error","msg":"posd failed",...No space left on device...}, and
# nothing left on the tmpfs (the temporary state directory is removed on the
# failure path too).
#
#   disk_full_test.sh POSD POSCTL     (DISK_FULL_RUNS, default 3)
#
# Exit 77 (CTest: skipped) when a tmpfs cannot be mounted (not root, or no
# CAP_SYS_ADMIN in a container).
set -uo pipefail
posd=$1
posctl=$2
runs=${DISK_FULL_RUNS:-3}

work=$(mktemp -d /tmp/posd-disk-full-XXXXXX)
mnt=$work/tmpfs
mkdir -p "$mnt"
pid=
cleanup() {
  [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null
  mountpoint -q "$mnt" && umount "$mnt"
  rm -rf "$work"
}
trap cleanup EXIT
if ! mount -t tmpfs -o size=20m tmpfs "$mnt" 2>"$work/mount.err"; then
  echo "SKIPPED: cannot mount a tmpfs here ($(cat "$work/mount.err")); the disk-full test needs root"
  exit 77
fi

fail() { echo "FAIL (run $run): $*"; echo "--- posd stderr (tail) ---"; tail -n 20 "$work/posd.err"; exit 1; }

for ((run = 1; run <= runs; run++)); do
  rm -rf "${mnt:?}"/*
  # The last run's output must not answer for this run's posd (its shell may
  # not have truncated the file yet when the loop below first reads it).
  rm -f "$work/posd.out" "$work/posd.err"
  # Small memtables: flushes and compactions write table files while the
  # disk fills, not only the write-ahead log. input.gap=skip: the embedded
  # mock cluster drops a partition's oldest records past its size cap, which
  # on a loaded machine happens before posd reads them; posd would stop
  # those partitions at the gap (by default) and never fill the disk.
  TMPDIR=$mnt "$posd" --http.port=0 --state.write-buffer-mb=2 --replay.file=/dev/null \
    --business-date=2024-03-04 --input.gap=skip >"$work/posd.out" 2>"$work/posd.err" &
  pid=$!
  for ((i = 0; i < 300; i++)); do
    grep -q '^http=' "$work/posd.out" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  bootstrap=$(sed -n 's/^bootstrap.servers=//p' "$work/posd.out")
  [[ -n $bootstrap ]] || fail "posd did not start"
  # More than 20 MiB of state: posd cannot keep up, and the disk fills.
  "$posctl" produce --bootstrap-servers "$bootstrap" --generate 300000 --accounts 20000 \
    --end-of-day-every 50000 --seed "$run" >/dev/null 2>&1 || true
  rc=
  for ((i = 0; i < 600; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid"
      rc=$?
      break
    fi
    sleep 0.1
  done
  if [[ -z $rc ]]; then
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null
    pid=
    fail "posd did not stop within 60 s of the load (df: $(df -h --output=used,avail "$mnt" | tail -1))"
  fi
  pid=
  ((rc < 128)) || fail "posd died of signal $((rc - 128)) instead of exiting 1"
  ((rc == 1)) || fail "exit code $rc, not 1"
  grep -q '"level":"error","msg":"posd failed".*No space left on device' "$work/posd.err" ||
    fail "no error line saying the disk is full"
  leftover=$(ls -A "$mnt")
  [[ -z $leftover ]] || fail "left on the disk: $leftover"
  echo "run $run: exit 1, logged: $(grep -o 'No space left on device: While [a-z]* [a-z ]*file' "$work/posd.err" | head -1); nothing left behind"
done
echo "PASS: $runs runs"
