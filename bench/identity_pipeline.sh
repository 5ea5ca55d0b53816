#!/usr/bin/env bash
# Is identity resolution the bottleneck? Runs jobs/retail.yaml with an identity operator in
# front of its segments (generator -> identity (own thread) -> keyed segments -> sink; the
# job is derived from jobs/retail.yaml at run time, so it follows that file) and reports,
# per run and as the median, the identity subtask's busy seconds against the busiest other
# subtask's (the job summary's "busy seconds", = segflow_subtask_busy_seconds_total). The
# issue's target: the ratio stays below 0.5.
#   bash bench/identity_pipeline.sh [--events N] [--runs R] [--job JOB.yaml] [--smoke]
# --job runs a job that already has an operator with id `identity` (e.g.
# jobs/identity_example.yaml) instead of the derived one.
set -euo pipefail
cd "$(dirname "$0")/.."
events=2000000 runs=3 job=
while (($#)); do
  case "$1" in
    --events) events=$2; shift ;;
    --runs) runs=$2; shift ;;
    --job) job=$2; shift ;;
    --smoke) events=20000 runs=1 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
bin=build/release/segflow
[[ -x $bin ]] || { echo "build first: bash scripts/setup.sh" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [[ -z $job ]]; then
  job=$work/retail_identity.yaml
  python3 - jobs/retail.yaml "$job" <<'EOF'
import sys
text = open(sys.argv[1]).read()
head = "operators:\n  - id: segments\n    type: segments\n    input: events\n"
if head not in text:
    sys.exit("jobs/retail.yaml changed shape: its first operator is not 'segments' on 'events'")
identity = ("operators:\n  - id: identity\n    type: identity\n    input: events\n"
            "    partition: rebalance\n  - id: segments\n    type: segments\n    input: identity\n")
open(sys.argv[2], "w").write(text.replace(head, identity, 1))
EOF
fi

ratios=()
for ((i = 1; i <= runs; i++)); do
  summary=$($bin run "$job" --set "sources.events.events=$events" \
    --set dead_letter.path=/dev/null 2>&1 >/dev/null)
  busy=$(grep '^  busy seconds:' <<<"$summary")
  line=$(awk '{
      for (f = 3; f < NF; f += 2) {
        split($f, id, "#")
        if (id[1] == "identity") mine += $(f + 1)
        else if ($(f + 1) > other) { other = $(f + 1); who = $f }
      }
      printf "%.3f identity %.2f s, busiest other %s %.2f s", mine / other, mine, who, other
    }' <<<"$busy")
  ratios+=("${line%% *}")
  echo "run $i: $events events: ratio ${line}"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '
  { v[NR] = $1 }
  END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "median identity/busiest ratio %.3f (min %.3f, max %.3f, %d runs; target < 0.5)\n",
               m, v[1], v[NR], NR }'
