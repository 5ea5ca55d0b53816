#!/usr/bin/env bash
# HTTP ingest throughput: a `segflow run` job (http_ingest -> rolling_count_threshold ->
# file sink to /dev/null) on loopback, loaded by segflow_http_load with keep-alive
# POST /v1/batch requests of 100 events; reports each run and the median events/s accepted
# (answered 200). The load generator shares the machine's cores with segflow.
#   bash bench/http_ingest.sh [--runs R] [--seconds S] [--connections C] [--threads T]
#                             [--batch B] [--smoke]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=5 seconds=10 connections=4 threads=2 batch=100
while (($#)); do
  case "$1" in
    --runs) runs=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --connections) connections=$2; shift ;;
    --threads) threads=$2; shift ;;
    --batch) batch=$2; shift ;;
    --smoke) runs=1 seconds=1 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
bin=build/release/segflow load=build/release/bench/segflow_http_load
[[ -x $bin && -x $load ]] || {
  echo "build first: cmake --build --preset release --target segflow segflow_http_load" >&2
  exit 1
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/job.yaml" <<YAML
name: http_ingest_bench
parallelism: 2
watermarks: { out_of_orderness: 5s }
dead_letter: { path: /dev/null }
sources:
  - { id: events, type: http_ingest, port: 0, write_keys: [bench-key], threads: $threads }
operators:
  - { id: frequent_viewers, type: rolling_count_threshold, input: events,
      events: [Product Viewed], window: 10m, threshold: 20 }
sinks:
  - { id: changes, type: file_sink, input: frequent_viewers, path: /dev/null }
YAML

rates=()
for ((i = 1; i <= runs; i++)); do
  $bin run "$work/job.yaml" 2>"$work/segflow.log" &
  pid=$!
  port=""
  for _ in $(seq 1 500); do
    port=$(sed -n 's/.*http_ingest listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/segflow.log")
    [[ -n $port ]] && break
    sleep 0.02
  done
  [[ -n $port ]] || { cat "$work/segflow.log" >&2; kill "$pid"; exit 1; }
  result=$($load --port "$port" --connections "$connections" --seconds "$seconds" --batch "$batch")
  kill -TERM "$pid"
  wait "$pid"
  [[ -n ${SHOW_SUMMARY:-} ]] && cat "$work/segflow.log" >&2
  rate=$(sed -n 's/.* = \([0-9]*\) events\/s.*/\1/p' <<<"$result")
  rates+=("$rate")
  echo "run $i: $result"
done
printf '%s\n' "${rates[@]}" | sort -n | awk '
  { v[NR] = $1 }
  END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "median %.0f events/s (min %.0f, max %.0f, %d runs)\n", m, v[1], v[NR], NR }'
