#!/usr/bin/env bash
# The README's start command (`npm start`): installs on first run, then runs the product locally.
set -euo pipefail
cd "$(dirname "$0")/.."
pnpm=(bash scripts/pnpm.sh)
if [ ! -d node_modules/.pnpm ] || [ pnpm-lock.yaml -nt node_modules/.modules.yaml ]; then
  echo "== installing dependencies (first run)"
  "${pnpm[@]}" install --frozen-lockfile
fi
exec "${pnpm[@]}" exec tsx scripts/dev.ts
