#!/usr/bin/env bash
# The README's test command (`npm test`): installs, builds, typechecks, lints, and runs every test suite.
# The tests run the TypeScript sources under tsx (the `source` condition, from pnpm-workspace.yaml);
# Each suite starts its own redis-server on a free port; no test touches a Redis it did not start.
set -euo pipefail
cd "$(dirname "$0")/.."
pnpm=(bash scripts/pnpm.sh)

if ! command -v redis-server >/dev/null 2>&1; then
  echo "tenantcast: the tests need redis-server on PATH; install it: sudo apt-get install redis-server (Debian/Ubuntu) or brew install redis (macOS)." >&2
  exit 1
fi

echo "== install"
"${pnpm[@]}" install --frozen-lockfile
echo "== build"
"${pnpm[@]}" run build
echo "== typecheck"
"${pnpm[@]}" run typecheck
echo "== lint"
"${pnpm[@]}" run lint
echo "== tests"
mapfile -t files < <(find packages apps tests -name '*.test.ts' -not -path '*/node_modules/*' 2>/dev/null | sort)
if [ "${#files[@]}" -eq 0 ]; then
  echo "tenantcast: no test files found" >&2
  exit 1
fi
"${pnpm[@]}" exec tsx --test --test-concurrency=2 --test-timeout=180000 "${files[@]}"
