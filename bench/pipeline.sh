#!/usr/bin/env bash
# Whole-pipeline benchmark: runs jobs/retail.yaml (generator -> keyed segment operators ->
# sink) several times and reports the median and spread of end-to-end events/s.
#   bash bench/pipeline.sh [--events N] [--runs R] [--parallelism P] [--set KEY=VALUE]... [--smoke]
# (--set goes to `segflow run`, e.g. --set state_backend.type=rocksdb --set state_backend.dir=D)
# Output goes to /dev/null so the figure is the engine, not the terminal.
set -euo pipefail
cd "$(dirname "$0")/.."
events=2000000 runs=5 parallelism=2 job=jobs/retail.yaml
overrides=()
while (($#)); do
  case "$1" in
    --events) events=$2; shift ;;
    --runs) runs=$2; shift ;;
    --parallelism) parallelism=$2; shift ;;
    --job) job=$2; shift ;;
    --set) overrides+=(--set "$2"); shift ;;
    --smoke) events=20000 runs=1 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
bin=build/release/segflow
[[ -x $bin ]] || { echo "build first: bash scripts/setup.sh" >&2; exit 1; }

rates=()
for ((i = 1; i <= runs; i++)); do
  summary=$($bin run "$job" --set "sources.events.events=$events" --set "parallelism=$parallelism" \
    --set dead_letter.path=/dev/null ${overrides[@]+"${overrides[@]}"} 2>&1 >/dev/null)
  secs=$(sed -n "s/.*finished in \([0-9.]*\) s.*/\1/p" <<<"$summary")
  rate=$(awk -v n="$events" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
  rates+=("$rate")
  echo "run $i: $events events in $secs s = $rate events/s"
done
printf '%s\n' "${rates[@]}" | sort -n | awk '
  { v[NR] = $1 }
  END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "median %.0f events/s (min %.0f, max %.0f, %d runs)\n", m, v[1], v[NR], NR }'
