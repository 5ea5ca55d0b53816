#!/usr/bin/env bash
# Checkpoint cost and recovery (issue 7). Input: a JSONL file where the first --profiles
# events each introduce a new profile and the rest (--tail) go to 1000 of them, so state
# holds --profiles profiles once the source is past them. Job: file source ->
# rolling_count_threshold (window 2h, all state stays live) -> file sink, parallelism 2.
#   1. throughput (median of --runs, events/s) without checkpoints, every 10 s, every 1 s;
#   2. size and duration of the last checkpoint of the 1 s runs (job summary);
#   3. recovery: a run with 1 s checkpoints is killed (SIGKILL) once the source is well
#      past the profiles; the restart reports reading+verifying the checkpoint and the
#      longest subtask restore.
# The summary line of each run also gives the longest subtask pause (serialising, on the
# subtask's thread) and the longest file write (checksum, write, fsync: writer thread).
# A run lasts a few seconds: a 10 s interval may complete no checkpoint in it (see the
# summary line); its cost is then about pause / 10 s.
# With --backend rocksdb, checkpoints are incremental (new SST files uploaded to
# checkpoints/shared/; the summary's "X MB of Y MB state" is what the last one wrote of
# what it references); --full-export makes them export every entry instead.
# Usage: bash bench/checkpoint.sh [--profiles 1000000] [--tail 3000000] [--runs 3]
#                                 [--backend heap|rocksdb] [--full-export] [--smoke]
set -euo pipefail
profiles=1000000
tail_events=3000000
runs=3
backend=heap
incremental=true
while [[ $# -gt 0 ]]; do
  case "$1" in
    --profiles) profiles=$2; shift 2 ;;
    --tail) tail_events=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --backend) backend=$2; shift 2 ;;
    --full-export) incremental=false; shift ;;
    --smoke) profiles=20000; tail_events=50000; runs=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
segflow=${SEGFLOW:-$root/build/release/segflow}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

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

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for interval in none 10s 1s; do
  job "$work/job.yaml" "$([[ $interval == none ]] || echo "$interval")"
  rates=()
  for ((r = 1; r <= runs; r++)); do
    rm -rf "$work/checkpoints" "$work/out"
    "$segflow" run "$work/job.yaml" 2> "$work/summary.txt"
    rate=$(grep -oE '\(([0-9]+) records/s\)' "$work/summary.txt" | grep -oE '[0-9]+')
    rates+=("$rate")
    echo "checkpoints $interval run $r: $rate events/s"
    grep 'checkpoints:' "$work/summary.txt" || true
  done
  echo "checkpoints $interval: median $(printf '%s\n' "${rates[@]}" | median) events/s"
done

job "$work/job.yaml" 1s
rm -rf "$work/checkpoints" "$work/out"
"$segflow" run "$work/job.yaml" --no-summary 2> /dev/null &
pid=$!
# Kill once a complete checkpoint holds (nearly) every profile: a profile's state takes
# about 90 bytes in a checkpoint (about 50 in the compressed files of an incremental
# RocksDB one), so wait for one of profiles * 80 (40) bytes. Its size is what its
# _metadata lists: subtask files, and the shared files of incremental stores.
lines=$((profiles + tail_events))
bytes_per_profile=80
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
wait $pid 2> /dev/null || true
echo "killed; newest complete checkpoint: $(ls -d "$work"/checkpoints/chk-* | tail -1) ($(du -sh "$work/checkpoints" | cut -f1) on disk)"
"$segflow" run "$work/job.yaml" 2> "$work/summary.txt"
grep -E 'restoring checkpoint|checkpoints:' "$work/summary.txt"
echo "(input: $lines events, $profiles profiles)"
