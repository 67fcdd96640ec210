/**
 * (3) Latency: publish → client receive, p50 / p99 / p999, at a steady 5,000 events/s to 1,000
 * clients, in two shapes: 100 tenants × 10 clients (each event to the 10 clients of its tenant,
 * 50,000 msgs/s delivered) and 1,000 tenants × 1 client (5,000 msgs/s delivered).
 * - end to end: each event is a single-event POST /v1/events to the relay (open loop, stamped with
 *   the time it was due), stored, then delivered by the gateway;
 * - gateway only: the same events written into Redis as the relay writes them (no HTTP), to tell
 *   the relay's share from the gateway's.
 */
import { mintToken } from '@tenantcast/sdk/tokens';
import { ClientPool } from '../lib/clients.ts';
import { fmtCount, fmtMs } from '../lib/format.ts';
import { startRedis } from '../lib/redis.ts';
import { Worker } from '../lib/rpc.ts';
import { BENCH_SECRET, KEY_PREFIX, startServer } from '../lib/servers.ts';
import { median, quantile, sortedSamples } from '../lib/stats.ts';
import { type BenchContext, DISTURBED_CORES, type Row, type Scenario, withCpu } from '../lib/types.ts';
import type { LatencyPublishParams } from '../load/latency-publisher.ts';
import type { PublishResult } from '../load/publisher.ts';

const RATE = 5000;
const SHAPES = [
  { id: '100x10', tenants: 100, perTenant: 10, label: '100 tenants × 10 clients' },
  { id: '1000x1', tenants: 1000, perTenant: 1, label: '1,000 tenants × 1 client' },
];

interface Percentiles {
  p50: number;
  p99: number;
  p999: number;
  max: number;
  samples: number;
}

function percentiles(parts: Float64Array[]): Percentiles {
  const sorted = sortedSamples(parts);
  return {
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    p999: quantile(sorted, 0.999),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    samples: sorted.length,
  };
}

const medianOf = (runs: Percentiles[]): Percentiles => ({
  p50: median(runs.map((r) => r.p50)),
  p99: median(runs.map((r) => r.p99)),
  p999: median(runs.map((r) => r.p999)),
  max: median(runs.map((r) => r.max)),
  samples: median(runs.map((r) => r.samples)),
});

const show = (p: Percentiles) => `${fmtMs(p.p50)} / ${fmtMs(p.p99)} / ${fmtMs(p.p999)}`;

export const latency: Scenario = {
  id: 'latency',
  title: 'Latency: publish → receive at 5,000 events/s to 1,000 clients',
  async run(ctx: BenchContext) {
    const durationMs = ctx.quick ? 3000 : 5000;
    const redis = await startRedis();
    const details: Record<string, unknown> = { rate: RATE, durationMs };
    const rows: Row[] = [];
    try {
      const relay = await startServer('relay', redis.url, { label: 'latency-relay', profile: ctx.profile });
      const gateway = await startServer('gateway', redis.url, { label: 'latency-gateway', profile: ctx.profile });
      const httpPublisher = await Worker.start('latency-publisher', 'bench/load/latency-publisher.ts');
      const storePublisher = await Worker.start('publisher', 'bench/load/publisher.ts', { args: ['tenantcast', redis.url, KEY_PREFIX] });
      const subscribeToken = await mintToken({ sub: 'bench', scope: 'subscribe', tenants: ['*'] }, BENCH_SECRET);
      const publishToken = await mintToken({ sub: 'bench', scope: 'publish', tenants: ['*'] }, BENCH_SECRET);
      const ws = gateway.url.replace(/^http/, 'ws');

      for (const shape of SHAPES) {
        const pool = await ClientPool.start(2);
        const tenants = Array.from({ length: shape.tenants }, (_, i) => `lat${shape.id}-${i}`);
        const urls: string[] = [];
        for (let k = 0; k < shape.perTenant; k++)
          for (const t of tenants) urls.push(`${ws}/v1/tenants/${t}/events?token=${subscribeToken}`);
        ctx.log(`latency ${shape.id}: connecting ${fmtCount(urls.length)} clients`);
        const connected = await pool.connect(urls, { protocol: 'tenantcast', concurrency: 50, timeoutMs: 30_000 });
        ctx.log(`latency ${shape.id}: ${fmtCount(connected.connected)} connected`);

        const measure = async (path: 'relay' | 'store', label: string, ms: number) => {
          const total = Math.round((RATE * ms) / 1000);
          // Each client gets every event of its tenant.
          await pool.arm(total / shape.tenants, total * shape.perTenant);
          const pids: Record<string, number> = {
            relay: relay.pid,
            gateway: gateway.pid,
            redis: redis.pid,
            publisher: path === 'relay' ? httpPublisher.pid : storePublisher.pid,
          };
          pool.workers.forEach((w, i) => {
            pids[`clients${i}`] = w.pid;
          });
          const { value, cpu } = await withCpu(pids, async () => {
            let published: unknown;
            if (path === 'relay') {
              published = await httpPublisher.call(
                'publish',
                {
                  port: relay.port,
                  token: publishToken,
                  tenants,
                  eventsPerSecond: RATE,
                  durationMs: ms,
                  connections: 64,
                  run: label,
                } satisfies LatencyPublishParams,
                ms + 60_000,
              );
            } else {
              published = await storePublisher.call<PublishResult>(
                'publish',
                { tenants, perTenant: total / shape.tenants, batch: 1, inFlight: 1, run: label, stamp: true, writesPerSecond: RATE },
                ms + 60_000,
              );
            }
            const got = await pool.wait(30_000);
            return { published, got };
          });
          const p = percentiles(value.got.latencies);
          return { ...p, received: value.got.received, expected: total * shape.perTenant, cpu, published: value.published };
        };

        const results: Record<string, unknown> = {};
        for (const path of ['relay', 'store'] as const) {
          ctx.log(`latency ${shape.id} ${path}: warm-up`);
          await measure(path, `${shape.id}-${path}-warm`, Math.min(2000, durationMs));
          const runs = [];
          for (let i = 0; i < ctx.runs; i++) {
            const run = await measure(path, `${shape.id}-${path}-${i}`, durationMs);
            runs.push(run);
            ctx.log(
              `latency ${shape.id} ${path}: run ${i + 1}/${ctx.runs}: p50/p99/p999 ${show(run)}, max ${fmtMs(run.max)}; ${fmtCount(run.received)} of ${fmtCount(run.expected)} received; cpu ${JSON.stringify(run.cpu)}`,
            );
          }
          const quoted = medianOf(runs);
          results[path] = { quoted, runs };
          const disturbed = runs.some((r) => (r.cpu.other ?? 0) > DISTURBED_CORES);
          const delivered = `${fmtCount(RATE * shape.perTenant)} msgs/s`;
          rows.push(
            path === 'relay'
              ? {
                  id: `latency.${shape.id}.end-to-end`,
                  measure: `latency p50 / p99 / p999, POST → client, ${fmtCount(RATE)} events/s, ${shape.label} (${delivered})`,
                  unit: 'latency',
                  tenantcast: quoted.p99,
                  text: { tenantcast: show(quoted) },
                  target: 'p99 ≤ 5 ms',
                  met: quoted.p99 <= 5,
                  disturbed,
                }
              : {
                  id: `latency.${shape.id}.gateway`,
                  measure: `latency p50 / p99 / p999, Redis write → client (gateway only), ${shape.label}`,
                  unit: 'latency',
                  tenantcast: quoted.p99,
                  text: { tenantcast: show(quoted) },
                  disturbed,
                },
          );
        }
        details[shape.id] = { ...shape, results };
        await pool.stop();
      }
      return { rows, details };
    } finally {
      await redis.stop();
    }
  },
};
