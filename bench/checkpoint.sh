#!/usr/bin/env bash
# Checkpoint cost and recovery (issue 7).
#   1. Cost: jobs/retail.yaml (generator with --users profiles -> segments -> sink,
#      parallelism 2), --events events per run, without checkpoints, every 10 s and every
#      1 s. The three run one after another in each of --runs rounds (same minute), and the
#      figures are medians over the rounds: events/s, and the cost 1 - rate / rate without
#      checkpoints. Each run's summary line gives the checkpoints completed, the last one's
#      size and duration (trigger to _metadata), the longest subtask pause at the barrier
#      (sync), the longest deferred keyed-state write (async, copy-on-write) and the longest
#      file write (checksum, write, fsync). Runs must last well over 10 s for the 10 s
#      interval to mean anything: the default 5 M events take ~25 s on 2 quiet cores.
#   2. Recovery: a JSONL file where the first --profiles events each introduce a new
#      profile and the rest (--tail) go to 1000 of them; file source ->
#      rolling_count_threshold (window 2h, all state stays live) -> file sink, parallelism 2,
#      1 s checkpoints, killed (SIGKILL) once a complete checkpoint holds (nearly) every
#      profile; the restart reports reading+verifying the checkpoint and the longest subtask
#      restore.
# With --backend rocksdb, checkpoints are incremental (new SST files uploaded to
# checkpoints/shared/; the summary's "X MB of Y MB state" is what the last one wrote of
# what it references); --full-export makes them export every entry instead.
# Usage: bash bench/checkpoint.sh [--events 5000000] [--users 1000000] [--runs 3]
#                                 [--profiles 1000000] [--tail 3000000]
#                                 [--backend heap|rocksdb] [--full-export] [--smoke]
set -euo pipefail
events=5000000
users=1000000
profiles=1000000
tail_events=3000000
runs=3
backend=heap
recovery_interval=1s  # checkpoint interval of the run that is killed
incremental=true
while [[ $# -gt 0 ]]; do
  case "$1" in
    --events) events=$2; shift 2 ;;
    --users) users=$2; shift 2 ;;
    --profiles) profiles=$2; shift 2 ;;
    --tail) tail_events=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --backend) backend=$2; shift 2 ;;
    --full-export) incremental=false; shift ;;
    --smoke) events=20000; users=1000; profiles=20000; tail_events=2000000; runs=1
      recovery_interval=100ms; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
segflow=${SEGFLOW:-$root/build/release/segflow}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# 1. Cost, on the retail job.
backend_sets=()
[[ $backend == rocksdb ]] &&
  backend_sets=(--set state_backend.type=rocksdb --set "state_backend.dir=$work/state"
    --set "state_backend.incremental=$incremental")
declare -A rates
for ((r = 1; r <= runs; r++)); do
  for interval in none 10s 1s; do
    sets=()
    [[ $interval != none ]] && sets=(--set "checkpoints.interval=$interval"
      --set "checkpoints.dir=$work/checkpoints" --set checkpoints.retain=2)
    rm -rf "$work/checkpoints" "$work/state"
    "$segflow" run "$root/jobs/retail.yaml" --set "sources.events.events=$events" \
      --set "sources.events.users=$users" --set parallelism=2 --set dead_letter.path=/dev/null \
      ${backend_sets[@]+"${backend_sets[@]}"} ${sets[@]+"${sets[@]}"} \
      > /dev/null 2> "$work/summary.txt"
    secs=$(sed -n 's/.*finished in \([0-9.]*\) s.*/\1/p' "$work/summary.txt")
    rate=$(awk -v n="$events" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
    rates[$interval]+="$rate "
    echo "round $r, checkpoints $interval: $events events in $secs s = $rate events/s"
    grep 'checkpoints:' "$work/summary.txt" || true
  done
done
base=$(printf '%s\n' ${rates[none]} | median)
for interval in none 10s 1s; do
  m=$(printf '%s\n' ${rates[$interval]} | median)
  echo "checkpoints $interval: median $m events/s ($(awk -v m="$m" -v b="$base" \
    'BEGIN { printf "cost %.1f%%", 100 * (1 - m / b) }') against none, $runs rounds)"
done

# 2. Recovery, on a file source with exactly --profiles profiles.
rm -rf "$work/checkpoints" "$work/state"
python3 - "$work/input.jsonl" "$profiles" "$tail_events" <<'PY'
import datetime, random, sys
path, profiles, tail = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(42)
base = datetime.datetime(2024, 1, 1)
with open(path, "w") as f:
    for i in range(profiles + tail):
        user = i if i < profiles else rng.randrange(1000)
        t = (base + datetime.timedelta(milliseconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        f.write('{"type":"track","timestamp":"%sZ","userId":"u%d","event":"Product Viewed"}\n'
                % (t, user))
PY

job() {  # job FILE [checkpoint interval]
  {
    echo "name: checkpoint_bench"
    echo "parallelism: 2"
    [[ $backend == rocksdb ]] &&
      echo "state_backend: { type: rocksdb, dir: $work/state, incremental: $incremental }"
    [[ -n "${2:-}" ]] && echo "checkpoints: { interval: $2, dir: $work/checkpoints, retain: 2 }"
    echo "sources:"
    echo "  - { id: input, type: file, path: $work/input.jsonl }"
    echo "operators:"
    echo "  - { id: high_intent, type: rolling_count_threshold, input: input,"
    echo "      events: [Product Viewed], window: 2h, threshold: 3 }"
    echo "sinks:"
    echo "  - { id: out, type: file_sink, path: $work/out/segments.jsonl, input: high_intent }"
  } > "$1"
}

job "$work/job.yaml" "$recovery_interval"
rm -rf "$work/checkpoints" "$work/out"
"$segflow" run "$work/job.yaml" --no-summary 2> /dev/null &
pid=$!
# Kill once a complete checkpoint holds (nearly) every profile: a profile's state takes
# about 76 bytes in a heap checkpoint (about 50 in the compressed files of an incremental
# RocksDB one), so wait for one of profiles * 60 (40) bytes. Its size is what its
# _metadata lists: subtask files, and the shared files of incremental stores.
lines=$((profiles + tail_events))
bytes_per_profile=60
[[ $backend == rocksdb && $incremental == true ]] && bytes_per_profile=40
checkpoint_bytes() {  # checkpoint_bytes DIR/_metadata (format: engine/checkpoint_storage.cpp)
  python3 - "$1" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()[16:-8]  # frame: magic, version, length | XXH64
at = 8  # checkpoint id
def u64():
    global at
    at += 8
    return struct.unpack_from("<Q", data, at - 8)[0]
def skip_str():
    global at
    n = u64()
    at += n
total = 0
for _ in range(u64()):  # subtask files: name, size, hash
    skip_str(); total += u64(); u64()
if at < len(data):
    for _ in range(u64()):  # shared files: local name, path, size, hash
        skip_str(); skip_str(); total += u64(); u64()
print(total)
PY
}
while kill -0 $pid 2> /dev/null; do
  newest=$(ls -d "$work"/checkpoints/chk-*/_metadata 2> /dev/null | tail -1 || true)
  if [[ -n "$newest" ]]; then
    size=$(checkpoint_bytes "$newest" 2> /dev/null || echo 0)
    if (( size > profiles * bytes_per_profile )); then kill -KILL $pid; break; fi
  fi
  sleep 0.05
done
wait $pid 2> /dev/null && {
  echo "the job finished before a checkpoint held every profile: raise --tail" >&2
  exit 1
}
echo "killed; newest complete checkpoint: $(ls -d "$work"/checkpoints/chk-* | tail -1) ($(du -sh "$work/checkpoints" | cut -f1) on disk)"
"$segflow" run "$work/job.yaml" 2> "$work/summary.txt"
grep -E 'restoring checkpoint|checkpoints:' "$work/summary.txt"
echo "(input: $lines events, $profiles profiles)"
