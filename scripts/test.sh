#!/usr/bin/env bash
# Sets everything up and runs the whole test suite, as CI does:
#   1. Debian packages (scripts/setup.sh --deps)
#   2. Release build + every test
#   3. AddressSanitizer + UndefinedBehaviorSanitizer build + every test
#   4. ThreadSanitizer build + the concurrency tests
#   5. clang-format check and a benchmark smoke run
# Run as root on Debian 12 from anywhere: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_DIR="${CCACHE_DIR:-$PWD/.ccache}"
jobs=$(nproc)

bash scripts/setup.sh --deps
# Everything optional is installed now: a test that finds a dependency missing fails.
export SEGFLOW_REQUIRE_DEPENDENCIES=1

step() { printf '\n=== %s ===\n' "$*"; }

step "release build"
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"
step "release tests"
ctest --preset release -j "$jobs" --no-tests=error

step "address + undefined-behaviour sanitizer build"
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"
step "address + undefined-behaviour sanitizer tests"
ctest --preset asan -j "$jobs" --no-tests=error

step "thread sanitizer build (concurrency tests)"
cmake --preset tsan >/dev/null
cmake --build --preset tsan -j "$jobs" --target engine_tests
step "thread sanitizer tests"
ctest --preset tsan -j "$jobs" --no-tests=error

step "format check"
git ls-files '*.h' '*.cpp' | xargs clang-format --dry-run -Werror

step "benchmark smoke run"
if [[ -x build/release/bench/segflow_bench ]]; then
  SEGFLOW_LIMIT_EVENTS=20000 build/release/bench/segflow_bench --benchmark_min_time=0.01 >/dev/null
fi
bash bench/pipeline.sh --smoke
bash bench/run.sh --smoke

echo "all checks passed"
