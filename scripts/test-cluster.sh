#!/usr/bin/env bash
# `pnpm test:cluster`: the product on a local Redis Cluster (3 masters, 3 replicas, started from the
# redis-server binary and joined with `redis-cli --cluster create` by each suite). It runs the
# end-to-end suite (tests/e2e) against a cluster instead of one redis-server, then the cluster's own
# scenarios (tests/cluster/*.cluster.ts): two relays and two gateways, key placement, and a failover
# under load with REDIS_WAIT_REPLICAS=1.
set -euo pipefail
cd "$(dirname "$0")/.."
for bin in redis-server redis-cli; do
  if ! command -v "$bin" >/dev/null 2>&1; then
    echo "tenantcast: the cluster tests need $bin on PATH; install it: sudo apt-get install redis-server (Debian/Ubuntu) or brew install redis (macOS)." >&2
    exit 1
  fi
done
# --test-force-exit: a suite file whose tests are done exits even if timers linger. They do in
# scale-out.cluster.ts: BullMQ reconnects its worker's blocking cluster client (a Cluster.duplicate())
# after Worker.close() once the cluster is gone, and that failed connect leaves three ioredis timers
# (traced with a preload that records every Cluster; the apps exit with process.exit, so only
# processes embedding relays, like these tests, see it).
mapfile -t e2e < <(find tests/e2e -name '*.test.ts' | sort)
mapfile -t scenarios < <(find tests/cluster -name '*.cluster.ts' | sort)
echo "== end-to-end suite on a Redis Cluster"
TENANTCAST_TEST_REDIS=cluster npx tsx --test --test-force-exit --test-concurrency=2 --test-timeout=180000 "${e2e[@]}"
echo "== cluster scenarios"
exec npx tsx --test --test-force-exit --test-concurrency=1 --test-timeout=300000 "${scenarios[@]}"
