#!/usr/bin/env bash
# Kafka throughput: Kafka source -> rolling segments -> Kafka sink against librdkafka's mock
# cluster (3 brokers on loopback, build/release/kafka_mock_cluster), compared with kcat
# reading the same topic to /dev/null (the client library's own ceiling on this machine).
#   bash bench/kafka_pipeline.sh [--events N] [--runs R] [--partitions P] [--smoke]
#                                [--checkpoints INTERVAL]
# --checkpoints: the job checkpoints every INTERVAL (e.g. 1s): source offsets in the
# checkpoints, and the sink writes through Kafka transactions (exactly-once).
# Each segflow run is a fresh consumer group reading the topic from the beginning to its
# end (stop_at_end). Its wall time includes joining the group; the same job over an empty
# topic measures that fixed cost, and "net" is events / (run time - that cost).
# The mock cluster keeps about 5 MB per partition (older messages are deleted, as by
# retention), so keep events x ~160 bytes / partitions under that: the script checks that
# the topic holds every event.
set -euo pipefail
cd "$(dirname "$0")/.."
events=300000 runs=3 partitions=12 checkpoints=""
while (($#)); do
  case "$1" in
    --events) events=$2; shift ;;
    --runs) runs=$2; shift ;;
    --partitions) partitions=$2; shift ;;
    --smoke) events=5000 runs=1 ;;
    --checkpoints) checkpoints=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
bin=build/release/segflow mock=build/release/kafka_mock_cluster
[[ -x $bin && -x $mock ]] || { echo "build first: cmake --build --preset release --target segflow kafka_mock_cluster" >&2; exit 1; }
command -v kcat >/dev/null || { echo "kcat is not installed (scripts/setup.sh)" >&2; exit 1; }

work=$(mktemp -d)
exec 3> >("$mock" "in:$partitions" "empty:$partitions" "out:$partitions" >"$work/mock.out" 2>"$work/mock.err")
trap 'exec 3>&-; wait; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q bootstrap "$work/mock.out" 2>/dev/null && break; sleep 0.05; done
brokers=$(awk '/^bootstrap/ { print $2 }' "$work/mock.out")
[[ -n $brokers ]] || { echo "mock cluster did not start: $(cat "$work/mock.err")" >&2; exit 1; }

# Segment track events of 100,000 users, keyed by user, 100 ms apart.
awk -v n="$events" 'BEGIN {
  srand(42); split("Product Viewed,Product Viewed,Product Added,Order Completed", names, ",")
  for (i = 0; i < n; i++) {
    u = "u" int(rand() * 100000); t = 1704067200000 + i * 100
    printf "%s\t{\"type\":\"track\",\"event\":\"%s\",\"userId\":\"%s\",\"messageId\":\"m%d\",\"timestamp\":%d,\"properties\":{\"price\":%d,\"product_id\":%d}}\n",
      u, names[1 + int(rand() * 4)], u, i, t, int(rand() * 500), int(rand() * 10000)
  }
}' >"$work/in.txt"
kcat -E -P -b "$brokers" -t in -K '\t' -l "$work/in.txt"
stored=$(kcat -C -q -e -o beginning -b "$brokers" -t in -f '\n' | wc -l)
echo "topic in: $stored of $events events stored, $(wc -c <"$work/in.txt") bytes, $partitions partitions"
[[ $stored == "$events" ]] || { echo "kcat did not store every event" >&2; exit 1; }

write_job() {  # topic group
  local checkpointing=""
  [[ -n $checkpoints ]] && checkpointing="checkpoints: { interval: $checkpoints, dir: $work/checkpoints-$2 }"
  cat >"$work/job.yaml" <<YAML
name: kafka_bench
parallelism: 2
watermarks: { out_of_orderness: 5s, idle_timeout: 2s }
dead_letter: { path: $work/dead.jsonl }
$checkpointing
sources:
  - { id: in, type: kafka, parallelism: 2, brokers: "$brokers", group: $2, topics: [$1], stop_at_end: true,
      properties: { session.timeout.ms: 6000 } }
operators:
  - { id: high_intent, type: rolling_count_threshold, input: in, events: [Product Viewed], window: 10m, threshold: 1 }
sinks:
  - { id: out, type: kafka_sink, input: high_intent, brokers: "$brokers", topic: out,
      transactional_id_prefix: $2, properties: { linger.ms: 20, compression.type: lz4 } }
YAML
}
seconds() { sed -n "s/.*finished in \([0-9.]*\) s.*/\1/p" <<<"$1"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

kcat_rates=() raw_rates=() net_rates=()
for ((i = 1; i <= runs; i++)); do
  start=$(date +%s.%N)
  kcat -C -q -e -o beginning -b "$brokers" -t in >/dev/null
  secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
  kcat_rates+=("$(awk -v n="$events" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')")

  write_job empty "empty-$i-$RANDOM"
  fixed=$(seconds "$($bin run "$work/job.yaml" 2>&1 >/dev/null)")
  write_job in "bench-$i-$RANDOM"
  summary=$($bin run "$work/job.yaml" 2>&1 >/dev/null)
  total=$(seconds "$summary")
  raw_rates+=("$(awk -v n="$events" -v s="$total" 'BEGIN { printf "%.0f", n / s }')")
  net_rates+=("$(awk -v n="$events" -v s="$total" -v f="$fixed" 'BEGIN { printf "%.0f", n / (s - f) }')")
  echo "run $i: kcat ${kcat_rates[-1]} events/s; segflow $total s (group join etc. $fixed s):" \
    "${raw_rates[-1]} events/s raw, ${net_rates[-1]} net"
  grep -E "^  (in|high_intent|out) |dead letters" <<<"$summary" | sed 's/^/    /'
done
echo "median: kcat -> /dev/null $(printf '%s\n' "${kcat_rates[@]}" | median) events/s;" \
  "segflow kafka -> segments -> kafka $(printf '%s\n' "${raw_rates[@]}" | median) events/s raw," \
  "$(printf '%s\n' "${net_rates[@]}" | median) net ($runs runs${checkpoints:+, checkpoints every $checkpoints with transactions})"
