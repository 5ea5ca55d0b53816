#!/usr/bin/env bash
# Installs Segment's own Node.js client, @segment/analytics-node, from the npm registry into
# <dir>/node_modules with the machine's npm, once (a later run finds it and does nothing).
# Exit 77 (the tests' "skip") when node or npm is missing; non-zero when the install fails.
set -euo pipefail
dir=${1:?usage: install_analytics_node.sh <dir>}
version=3.1.0
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "node and npm are not installed (apt-get install nodejs npm)" >&2
  exit 77
fi
package_json="$dir/node_modules/@segment/analytics-node/package.json"
if [ -f "$package_json" ] && grep -q "\"version\": \"$version\"" "$package_json"; then
  exit 0
fi
mkdir -p "$dir"
npm install --prefix "$dir" --no-audit --no-fund --no-save --loglevel=error \
  "@segment/analytics-node@$version" >&2
test -f "$package_json"
