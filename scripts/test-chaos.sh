#!/usr/bin/env bash
# `pnpm test:chaos`: fault and abuse scenarios (tests/chaos/*.chaos.ts), one at a time, each with
# its own redis-server processes on 127.0.0.1. CHAOS_SEED fixes the fuzzers' seed to replay a run.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v redis-server >/dev/null 2>&1; then
  echo "tenantcast: the chaos tests need redis-server on PATH; install it: sudo apt-get install redis-server (Debian/Ubuntu) or brew install redis (macOS)." >&2
  exit 1
fi
mapfile -t files < <(find tests/chaos -name '*.chaos.ts' | sort)
exec npx tsx --test --test-concurrency=1 --test-timeout=300000 "${files[@]}"
