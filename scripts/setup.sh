#!/usr/bin/env bash
# Installs every Debian package segflow needs (skipping those already present) and builds
# the Release tree in build/. Idempotent; run as root on Debian 12.
#   scripts/setup.sh            # packages + Release build
#   scripts/setup.sh --deps     # packages only
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config ccache clang libclang-rt-14-dev clang-format
  libboost1.81-dev libconcurrentqueue-dev libyaml-cpp-dev prometheus-cpp-dev libcivetweb-dev
  libsimdjson-dev libcli11-dev libxxhash-dev zlib1g-dev
  libhiredis-dev redis-server   # the redis sink and its tests
  libssl-dev openssl python3    # the webhook sink (HTTPS); its tests (test server, certificate)
  libgtest-dev libgmock-dev libbenchmark-dev
  sqlite3
  python3 python3-yaml    # the benchmark suite (bench/run.sh)
  tzdata                  # time zones of segment rules (operators/segment/time_zone.h)
  librdkafka-dev kcat     # the Kafka source and sink (optional module) and their tests
  librocksdb-dev          # the rocksdb state backend (optional module)
  prometheus curl jq      # the Prometheus test (tests/runner/prometheus_test.sh); promtool ships with prometheus
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

[[ "${1:-}" == "--deps" ]] && exit 0

cmake --preset release >/dev/null
cmake --build --preset release
