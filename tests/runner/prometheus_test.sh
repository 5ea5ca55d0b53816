#!/usr/bin/env bash
# The observability test: a real Prometheus server (Debian package `prometheus`) scrapes a
# running segflow job with deploy/prometheus's configuration and rules; then every PromQL
# expression of the Grafana dashboard must return data, every alert rule must evaluate
# (health ok) over metrics that exist, and promtool must accept the config, the rules and
# the exposition. Exits 77 (ctest: skipped) when prometheus or promtool is missing,
# 1 when SEGFLOW_REQUIRE_DEPENDENCIES=1.
#   tests/runner/prometheus_test.sh SEGFLOW_BINARY SOURCE_DIR
set -euo pipefail
trap 'echo "FAIL: line $LINENO: $BASH_COMMAND" >&2' ERR
segflow=${1:?segflow binary}
src=${2:?source dir}
for tool in prometheus promtool curl jq; do
  if ! command -v "$tool" >/dev/null; then
    echo "$tool not installed"
    # scripts/test.sh installed every dependency: missing is then a failure, not a skip.
    [[ "${SEGFLOW_REQUIRE_DEPENDENCIES:-}" == 1 ]] && exit 1
    exit 77
  fi
done

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE
fail() { echo "FAIL: $*" >&2; [[ -f $tmp/segflow.err ]] && tail -5 "$tmp/segflow.err" >&2; exit 1; }

# 1. promtool on the shipped files.
promtool check config "$src/deploy/prometheus/prometheus.yml" >/dev/null || fail "check config"
promtool check rules "$src/deploy/prometheus/segflow-rules.yml" >/dev/null || fail "check rules"

# 2. A segflow job that runs ~25 s (paced generator) through identity resolution and
#    segments, with checkpoints, and listens for Segment HTTP calls (HTTP ingest series; a
#    batch with a malformed event gives the dead-letter series), so every dashboard series
#    has data.
cat >"$tmp/job.yaml" <<YAML
name: promtest
parallelism: 2
metrics:
  address: 127.0.0.1:0
watermarks:
  idle_timeout: 1s
checkpoints:
  interval: 2s
  dir: $tmp/checkpoints
sources:
  - id: events
    type: generator
    seed: 7
    users: 500
    events: 50000
    rate: 2000
  - id: web
    type: http_ingest
    port: 0
    write_keys: [promtest-key]
operators:
  - id: identity
    type: identity
    inputs: [events, web]
    partition: rebalance
  - id: segments
    type: segments
    input: identity
    segments:
      - name: viewers
        enter: {window: {events: [Product Viewed], within: 10m, is: ">= 2"}}
      - name: browsers
        enter: {window: {events: [page, Product List Viewed], within: 30m, is: ">= 3"}}
sinks:
  - id: out
    type: file_sink
    input: segments
    path: $tmp/out.jsonl
YAML
# `timeout`: the servers end on their own even if this script is killed outright.
timeout 90 "$segflow" run "$tmp/job.yaml" --no-summary >/dev/null 2>"$tmp/segflow.err" &
pids+=($!)
port=""
for _ in $(seq 100); do
  port=$(sed -n 's|.*metrics on http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$tmp/segflow.err" 2>/dev/null || true)
  [[ -n $port ]] && break
  sleep 0.1
done
[[ -n $port ]] || fail "segflow did not report its metrics port"
[[ $(curl -s "http://127.0.0.1:$port/healthz") == ok ]] || fail "/healthz"
curl -s "http://127.0.0.1:$port/status" | jq -e '.state == "running" and (.operators | length) == 5' \
  >/dev/null || fail "/status"
web=""
for _ in $(seq 100); do
  web=$(sed -n 's|.*http_ingest listening on http://127.0.0.1:\([0-9]*\)/v1/.*|\1|p' "$tmp/segflow.err")
  [[ -n $web ]] && break
  sleep 0.1
done
[[ -n $web ]] || fail "segflow did not report its http_ingest port"
post() {  # endpoint, write key, body: prints the status code
  curl -s -o /dev/null -w '%{http_code}' -u "$2:" -H 'Content-Type: application/json' \
    --data "$3" "http://127.0.0.1:$web/v1/$1"
}
[[ $(post track promtest-key '{"userId":"h1","event":"Product Viewed"}') == 200 ]] || fail "ingest 200"
[[ $(post track wrong-key '{"userId":"h1","event":"Product Viewed"}') == 401 ]] || fail "ingest 401"
[[ $(post batch promtest-key '{"batch":[{"type":"page","userId":"h2","name":"Home"},{"type":"bogus"}]}') == 200 ]] ||
  fail "ingest batch 200"

# 3. Prometheus with deploy/'s scrape config pointed at the job, scraping every second.
cp "$src/deploy/prometheus/segflow-rules.yml" "$tmp/"
sed -e 's/scrape_interval: 15s/scrape_interval: 1s/' -e 's/evaluation_interval: 15s/evaluation_interval: 1s/' \
  -e "s/127.0.0.1:9464/127.0.0.1:$port/" "$src/deploy/prometheus/prometheus.yml" >"$tmp/prometheus.yml"
promtool check config "$tmp/prometheus.yml" >/dev/null || fail "check config (test copy)"
prom=""
for _ in 1 2 3 4 5; do
  candidate=$((20000 + RANDOM % 20000))
  timeout 90 prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
    --web.listen-address="127.0.0.1:$candidate" >"$tmp/prometheus.log" 2>&1 &
  ppid_=$!
  for _ in $(seq 50); do
    if curl -sf "http://127.0.0.1:$candidate/-/ready" >/dev/null; then prom=$candidate; break; fi
    kill -0 "$ppid_" 2>/dev/null || break
    sleep 0.2
  done
  if [[ -n $prom ]]; then pids+=("$ppid_"); break; fi
  kill "$ppid_" 2>/dev/null || true
  wait "$ppid_" 2>/dev/null || true
done
[[ -n $prom ]] || { cat "$tmp/prometheus.log" >&2; fail "prometheus did not start"; }

query() {  # prints the JSON answer of an instant query
  curl -s --get "http://127.0.0.1:$prom/api/v1/query" --data-urlencode "query=$1"
}
# Wait for enough scrapes that rates over 1m have two samples, and the job has run a while.
for _ in $(seq 60); do
  n=$(query 'count_over_time(up{job="segflow"}[1m])' | jq -r '.data.result[0].value[1] // 0' || echo 0)
  ((n >= 8)) && break
  sleep 0.5
done
((n >= 8)) || fail "prometheus scraped only $n times"
[[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz") == 200 ]] || fail "/readyz"
# /status has the segment sizes (one members series per segment, summed over subtasks).
curl -s "http://127.0.0.1:$port/status" | jq -e '.operators[] | select(.id == "segments") | .metrics
  | map(select(.name == "segflow_segment_members")) | map(.labels.segment) | sort == ["browsers", "viewers"]' \
  >/dev/null || fail "/status segment sizes"

# 4. The exposition passes promtool's lint.
curl -s "http://127.0.0.1:$port/metrics" >"$tmp/metrics.txt"
promtool check metrics <"$tmp/metrics.txt" || fail "check metrics"

# 5. The job's own series moved: changes, merges and latency observations reached Prometheus.
for expr in 'sum(segflow_segment_entered_total)' 'sum(segflow_segment_members)' \
  'sum(segflow_profile_merges_total)' 'sum(segflow_end_to_end_latency_seconds_count)' \
  'sum(segflow_identity_identifiers)' 'sum(segflow_http_ingest_requests_total{status="200"})' \
  'sum(segflow_checkpoints_completed_total)'; do
  v=$(query "$expr" | jq -r '.data.result[0].value[1] // 0')
  jq -e --arg v "$v" -n '($v | tonumber) > 0' >/dev/null || fail "$expr is $v, expected > 0"
done

# 6. Every dashboard expression returns data (Grafana variables: all jobs, 1m rate window).
failures=0
while IFS= read -r expr; do
  q=${expr//\$__rate_interval/1m}
  q=${q//\$job/.*}
  answer=$(query "$q" || true)
  if ! jq -e '.status == "success" and (.data.result | length) > 0' <<<"$answer" >/dev/null; then
    echo "dashboard expression returned no data: $expr -> $answer" >&2
    failures=$((failures + 1))
  fi
done < <(jq -r '.panels[].targets[].expr' "$src/deploy/grafana/dashboards/segflow.json")
jq -r '.templating.list[] | select(.type == "query") | .definition' \
  "$src/deploy/grafana/dashboards/segflow.json" | grep -q 'label_values(segflow_build_info, job)' ||
  fail "dashboard job variable"
[[ $(query 'segflow_build_info' | jq -r '.data.result[0].metric.job') == promtest ]] ||
  fail "the job label is not the segflow job name (honor_labels)"

# 7. Alert rules: loaded, evaluated with health ok, and every metric they read has data.
sleep 1.5
rules=$(curl -s "http://127.0.0.1:$prom/api/v1/rules") || fail "GET /api/v1/rules"
nrules=$(jq '[.data.groups[].rules[]] | length' <<<"$rules")
expected=$(grep -c '^ *- alert:' "$src/deploy/prometheus/segflow-rules.yml")
((nrules == expected)) || fail "prometheus loaded $nrules rules, the file has $expected"
bad=$(jq -r '.data.groups[].rules[] | select(.health != "ok") | "\(.name): \(.health) \(.lastError)"' <<<"$rules")
[[ -z $bad ]] || fail "rules not healthy: $bad"
while IFS= read -r name; do
  answer=$(query "$name" || true)
  if ! jq -e '(.data.result | length) > 0' <<<"$answer" >/dev/null; then
    echo "alert rule reads $name, which has no data" >&2
    failures=$((failures + 1))
  fi
done < <(jq -r '.data.groups[].rules[].query' <<<"$rules" | grep -oE '\b(segflow_[a-z0-9_]+|up)\b' | sort -u)

((failures == 0)) || fail "$failures expressions without data"
echo "PASS: $(jq -r '.panels[].targets[].expr' "$src/deploy/grafana/dashboards/segflow.json" | wc -l) dashboard expressions and $nrules alert rules checked against Prometheus $(prometheus --version 2>&1 | head -1 | awk '{print $3}')"
