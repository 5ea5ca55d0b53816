#!/usr/bin/env bash
# The benchmark suite: every workload of bench/README.md, written to bench/results.json and
# bench/RESULTS.md (with --smoke: tiny inputs, seconds, written to build/bench-smoke/).
#   bash bench/run.sh [--smoke] [--runs N]
# Needs build/release/segflow and build/release/bench/segflow_bench, python3 and python3-yaml.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 bench/run.py "$@"
