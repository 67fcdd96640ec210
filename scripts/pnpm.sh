#!/usr/bin/env bash
# Runs pnpm 12.4.2, the version this workspace pins, installing it with npm when it is missing.
set -euo pipefail
want=12.4.2
if [ "$(pnpm --version 2>/dev/null || true)" != "$want" ]; then
  echo "tenantcast: installing pnpm $want (npm i -g pnpm@$want)" >&2
  if ! npm i -g "pnpm@$want" >/dev/null 2>&1; then
    echo "tenantcast: global install refused; running pnpm through npx instead" >&2
    exec npx --yes "pnpm@$want" "$@"
  fi
  hash -r
fi
exec pnpm "$@"
