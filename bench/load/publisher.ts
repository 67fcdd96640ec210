/**
 * Load process: publishes events into Redis as the relay does, for the fan-out, latency and resume
 * scenarios, so that the server under test gets its events the way it would in production:
 * - `tenantcast`: the relay's own write (`StreamAppender.append` from @tenantcast/server: the same Lua
 *   script, dedupe, XADD, trim and PUBLISH of the live notification), in batches per tenant;
 * - `redis`: the bare ws ceiling's feed, a plain PUBLISH of the same events (newline-separated) on a
 *   channel per tenant.
 * HTTP ingest (the relay's own cost) is measured apart, in the ingest scenario.
 *
 * Arguments: mode, Redis URL, key prefix, and optionally the nodes of a Redis Cluster
 * (`host:port,host:port,…`): then it connects as the relay does on a cluster (`createRedis` with
 * the nodes, `StreamAppender` with `pubsub: 'sharded'`, so notifications go out with SPUBLISH).
 */
import { connectRedis, createRedis, type RedisClient, StreamAppender, StreamReader } from '@tenantcast/server';
import { Redis } from 'ioredis';
import { now } from '../lib/clock.ts';
import { benchEvent } from '../lib/events.ts';
import { serve } from '../lib/rpc.ts';

export interface PublishParams {
  tenants: string[];
  /** Events per tenant. */
  perTenant: number;
  /** Events per write (per relay request). */
  batch: number;
  /** Writes in flight. */
  inFlight: number;
  /** A label that makes event ids unique across runs. */
  run: string;
  /** Stamp data.t with the publish time (latency). */
  stamp?: boolean;
  /**
   * Writes per second, paced on a fixed schedule (open loop: a write that is late does not delay
   * the next ones, and data.t is the time it was due, so queueing counts in the latency).
   */
  writesPerSecond?: number;
}

export interface PublishResult {
  startAt: number;
  endAt: number;
  events: number;
  /** The last offset of each tenant, for resume. */
  offsets?: Record<string, string>;
}

const mode = process.argv[2] as 'tenantcast' | 'redis';
const redisUrl = process.argv[3]!;
const keyPrefix = process.argv[4] ?? 'bench:';
const clusterNodes = (process.argv[5] ?? '').split(',').filter(Boolean);
if (clusterNodes.length > 0 && mode !== 'tenantcast') throw new Error('publisher: a cluster takes the tenantcast mode only');
const redis: RedisClient =
  clusterNodes.length > 0
    ? createRedis(
        { url: redisUrl, clusterNodes },
        { warn: (object, message) => console.error(`publisher: ${message}`, object), info: () => {} },
        { lazyConnect: true, enableOfflineQueue: true, maxRetriesPerRequest: 3, commandTimeout: undefined },
      )
    : new Redis(redisUrl, { maxRetriesPerRequest: 3 });
if (clusterNodes.length > 0 && !(await connectRedis(redis, 30_000)))
  throw new Error(`publisher: cannot reach the cluster ${clusterNodes.join(',')}`);
// The relay's defaults (apps/relay/src/config.ts).
const store = new StreamAppender(redis, {
  keyPrefix,
  pubsub: clusterNodes.length > 0 ? 'sharded' : 'classic',
  streamMaxLen: 100_000,
  streamMaxAgeSeconds: 7 * 24 * 3600,
  dedupeWindowSeconds: 24 * 3600,
  rateLimitFor: () => 1_000_000,
});
const reader = new StreamReader(redis, { keyPrefix });

/** Every write of a publish, in order: round-robin over tenants, one batch at a time. */
function* writes(params: PublishParams): Generator<{ tenant: string; from: number; count: number }> {
  for (let from = 0; from < params.perTenant; from += params.batch) {
    const count = Math.min(params.batch, params.perTenant - from);
    for (const tenant of params.tenants) yield { tenant, from, count };
  }
}

async function write(
  tenant: string,
  from: number,
  count: number,
  params: PublishParams,
  offsets: Record<string, string>,
  due?: number,
): Promise<void> {
  const t = params.stamp ? (due ?? now()) : 0;
  if (mode === 'tenantcast') {
    const events = [];
    for (let i = 0; i < count; i++) {
      const id = `${params.run}-${from + i}`;
      events.push({ source: 'bench/publisher', id, json: JSON.stringify(benchEvent(tenant, id, from + i, t)) });
    }
    const results = await store.append(tenant, events);
    offsets[tenant] = results.at(-1)!.offset;
  } else {
    const lines = [];
    for (let i = 0; i < count; i++) {
      const id = `${params.run}-${from + i}`;
      lines.push(JSON.stringify(benchEvent(tenant, id, from + i, t)));
    }
    await redis.publish(`${keyPrefix}{${tenant}}:live`, lines.join('\n'));
  }
}

serve({
  async publish(params: PublishParams): Promise<PublishResult> {
    const offsets: Record<string, string> = {};
    const queue = writes(params);
    const startAt = now();
    if (params.writesPerSecond !== undefined) {
      const interval = 1000 / params.writesPerSecond;
      const inFlight = new Set<Promise<void>>();
      let n = 0;
      for (let next = queue.next(); !next.done; next = queue.next()) {
        const due = startAt + n++ * interval;
        const wait = due - now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const p = write(next.value.tenant, next.value.from, next.value.count, params, offsets, due).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      await Promise.all(inFlight);
      return { startAt, endAt: now(), events: params.perTenant * params.tenants.length, offsets };
    }
    const worker = async () => {
      for (let next = queue.next(); !next.done; next = queue.next()) {
        await write(next.value.tenant, next.value.from, next.value.count, params, offsets);
      }
    };
    await Promise.all(Array.from({ length: params.inFlight }, worker));
    return { startAt, endAt: now(), events: params.perTenant * params.tenants.length, offsets };
  },
  async lastOffset(params: { tenant: string }) {
    return reader.lastOffset(params.tenant);
  },
  /** Reads a tenant's stream as fast as Redis allows, in pages: the resume ceiling. */
  async readAll(params: { tenant: string; after: string; pageSize: number; expected: number }) {
    const startAt = now();
    let after = params.after;
    let count = 0;
    while (count < params.expected) {
      const rows = (await redis.xrange(store.keys(params.tenant).stream, `(${after}`, '+', 'COUNT', params.pageSize)) as Array<
        [string, string[]]
      >;
      if (rows.length === 0) break;
      count += rows.length;
      after = rows.at(-1)![0];
    }
    return { ms: now() - startAt, count };
  },
});
