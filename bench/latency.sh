#!/usr/bin/env bash
# End-to-end latency at fixed input rates: measures the maximum throughput of
# jobs/retail.yaml (generator -> segments -> sink to /dev/null, unpaced), then runs the job
# with the generator paced at 25 %, 50 % and 75 % of that maximum and reads the sink's
# segflow_end_to_end_latency_seconds histogram from the metrics endpoint: the difference
# between a scrape after the warm-up and one at the end of the run, so start-up is left
# out. Percentiles are interpolated within buckets as PromQL's histogram_quantile does.
# Prints, per rate, the median over the runs of p50 / p99 / p99.9 (ms).
#   bash bench/latency.sh [--runs R] [--duration S] [--warmup S] [--max-events N] [--smoke]
#                         [--bin PATH] [--set KEY=VALUE]... [--max EVENTS_PER_S] [--job YAML]
#                         [--source ID] [--rates "PCT..."]
# --bin runs another segflow binary (before/after comparisons in the same minute); each
# --set is passed to every run of the job (e.g. --set watermarks.interval=50ms); --max
# skips measuring the maximum and paces at percentages of the one given; --job measures
# another job, whose source (id `events`, or the one --source names) must take `events`
# (0: unbounded) and `rate` (events/s of processing time), as `generator` and `nexmark` do.
# --rates lists the percentages of the maximum to run at (default "25 50 75").
set -euo pipefail
cd "$(dirname "$0")/.."
runs=3 duration=20 warmup=5 max_events=2000000 job=jobs/retail.yaml source=events
bin=build/release/segflow
rates="25 50 75"
sets=()
max=""
while (($#)); do
  case "$1" in
    --runs) runs=$2; shift ;;
    --duration) duration=$2; shift ;;
    --warmup) warmup=$2; shift ;;
    --max-events) max_events=$2; shift ;;
    --smoke) runs=1 duration=3 warmup=1 max_events=100000 ;;
    --bin) bin=$2; shift ;;
    --set) sets+=(--set "$2"); shift ;;
    --max) max=$2; shift ;;
    --job) job=$2; shift ;;
    --source) source=$2; shift ;;
    --rates) rates=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[[ -x $bin ]] || { echo "build first: bash scripts/setup.sh" >&2; exit 1; }
mkdir -p build && tmp=$(mktemp -d build/latency.XXXXXX)  # not /tmp: shared with other jobs
job_pid=""
cleanup() {
  if [[ -n $job_pid ]]; then kill "$job_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# 1. The maximum: unpaced runs, median events/s.
maxima=()
for ((i = 1; i <= runs && ${#max} == 0; i++)); do
  summary=$($bin run "$job" ${sets[@]+"${sets[@]}"} --set "sources.$source.events=$max_events" \
    --set dead_letter.path=/dev/null 2>&1 >/dev/null)
  secs=$(sed -n "s/.*finished in \([0-9.]*\) s.*/\1/p" <<<"$summary")
  maxima+=("$(awk -v n="$max_events" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')")
done
if [[ -z $max ]]; then
  max=$(printf '%s\n' "${maxima[@]}" | median)
  echo "maximum: $max events/s (median of ${maxima[*]})"
else
  echo "maximum: $max events/s (given)"
fi

# Sums the sink histograms of a scrape: "le cumulative_count" lines, +Inf last.
buckets() {
  grep '^segflow_end_to_end_latency_seconds_bucket' "$1" |
    sed -E 's/.*le="([^"]+)"} ([0-9.e+]+)$/\1 \2/' |
    awk '{ c[$1] += $2; if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } }
         END { for (i = 1; i <= n; i++) print order[i], c[order[i]] }'
}
# quantile Q FILE: histogram_quantile over "le count" lines (cumulative), in ms.
quantile() {
  awk -v q="$1" '
    { le[NR] = $1; c[NR] = $2 }
    END {
      total = c[NR]; if (total == 0) { print "nan"; exit }
      rank = q * total; prev_le = 0; prev_c = 0
      for (i = 1; i <= NR; i++) {
        if (c[i] >= rank) {
          if (le[i] == "+Inf") { print prev_le * 1000; exit }
          printf "%.1f\n", 1000 * (prev_le + (le[i] - prev_le) * (rank - prev_c) / (c[i] - prev_c))
          exit
        }
        prev_le = le[i]; prev_c = c[i]
      }
    }' "$2"
}

# 2. Paced runs.
printf '%-6s %12s %10s %10s %10s %12s\n' rate events/s p50_ms p99_ms p99.9_ms observed
for pct in $rates; do
  rate=$((max * pct / 100))
  p50s=() p99s=() p999s=() observed=()
  for ((i = 1; i <= runs; i++)); do
    $bin run "$job" ${sets[@]+"${sets[@]}"} --set "sources.$source.events=0" \
      --set "sources.$source.rate=$rate" \
      --set metrics.address=127.0.0.1:0 --set dead_letter.path=/dev/null --no-summary \
      >/dev/null 2>"$tmp/err" &
    job_pid=$!
    port=""
    for _ in $(seq 100); do
      port=$(sed -n 's|.*metrics on http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$tmp/err")
      [[ -n $port ]] && break
      sleep 0.1
    done
    [[ -n $port ]] || { cat "$tmp/err" >&2; exit 1; }
    sleep "$warmup"
    curl -s "http://127.0.0.1:$port/metrics" >"$tmp/start"
    sleep "$duration"
    curl -s "http://127.0.0.1:$port/metrics" >"$tmp/end"
    kill -INT "$job_pid"
    wait "$job_pid" || true
    job_pid=""
    # The run's own observations: end minus start, bucket by bucket (same order in both).
    paste -d' ' <(buckets "$tmp/start") <(buckets "$tmp/end") |
      awk '{ print $1, $4 - $2 }' >"$tmp/delta"
    p50s+=("$(quantile 0.5 "$tmp/delta")")
    p99s+=("$(quantile 0.99 "$tmp/delta")")
    p999s+=("$(quantile 0.999 "$tmp/delta")")
    observed+=("$(tail -1 "$tmp/delta" | awk '{ print $2 }')")
  done
  printf '%-6s %12s %10s %10s %10s %12s\n' "$pct%" "$rate" \
    "$(printf '%s\n' "${p50s[@]}" | median)" "$(printf '%s\n' "${p99s[@]}" | median)" \
    "$(printf '%s\n' "${p999s[@]}" | median)" "$(printf '%s\n' "${observed[@]}" | median)"
done
