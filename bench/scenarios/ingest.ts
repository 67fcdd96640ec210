/**
 * (1) Ingest: events/s through POST /v1/events, single events and batches of 100, against the
 * ceiling of raw ioredis pipelined XADD into the same Redis.
 */
import { mintToken } from '@tenantcast/sdk/tokens';
import { fmtRate } from '../lib/format.ts';
import { startRedis } from '../lib/redis.ts';
import { Worker } from '../lib/rpc.ts';
import { BENCH_SECRET, KEY_PREFIX, startServer } from '../lib/servers.ts';
import { median } from '../lib/stats.ts';
import { type BenchContext, type Row, type Scenario, withCpu } from '../lib/types.ts';
import type { HttpLoadParams, HttpLoadResult } from '../load/http-load.ts';

export const ingest: Scenario = {
  id: 'ingest',
  title: 'Ingest: POST /v1/events vs raw pipelined XADD',
  async run(ctx: BenchContext) {
    const durationMs = ctx.quick ? 2000 : 3000;
    const redis = await startRedis();
    const details: Record<string, unknown> = { durationMs };
    const rows: Row[] = [];
    try {
      const rpid = redis.pid;
      const relay = await startServer('relay', redis.url, { label: 'ingest-relay', profile: ctx.profile });
      const load = await Worker.start('http-load', 'bench/load/http-load.ts');
      const token = await mintToken({ sub: 'bench', scope: 'publish', tenants: ['ingest'] }, BENCH_SECRET);
      const measure = async (label: string, batch: number, connections: number) => {
        const params = (run: string, ms: number): HttpLoadParams => ({
          port: relay.port,
          token,
          tenant: 'ingest',
          batch,
          connections,
          durationMs: ms,
          run,
        });
        ctx.log(`${label}: warm-up`);
        await load.call<HttpLoadResult>('run', params(`${label}-warm`, Math.min(1500, durationMs)), 60_000);
        const runs = [];
        for (let i = 0; i < ctx.runs; i++) {
          const { value, cpu } = await withCpu({ relay: relay.pid, redis: rpid, load: load.pid }, () =>
            load.call<HttpLoadResult>('run', params(`${label}-${i}`, durationMs), 60_000),
          );
          const eventsPerSecond = (value.events / value.elapsedMs) * 1000;
          runs.push({ ...value, eventsPerSecond, requestsPerSecond: (value.requests / value.elapsedMs) * 1000, cpu });
          ctx.log(
            `${label}: run ${i + 1}/${ctx.runs}: ${fmtRate(eventsPerSecond)} events, cpu ${JSON.stringify(cpu)}, statuses ${JSON.stringify(value.statuses)}`,
          );
        }
        return {
          runs,
          eventsPerSecond: median(runs.map((r) => r.eventsPerSecond)),
          requestsPerSecond: median(runs.map((r) => r.requestsPerSecond)),
        };
      };
      const single = await measure('single', 1, 32);
      const batch = await measure('batch', 100, 8);
      await load.stop();
      await relay.stop();

      // Two client processes: ioredis spends more CPU per command than Redis does, and one would measure itself.
      const xadd = await Promise.all(
        [0, 1].map((i) => Worker.start(`xadd-ceiling-${i}`, 'bench/load/xadd-ceiling.ts', { args: [redis.url] })),
      );
      const stream = `${KEY_PREFIX}{ceiling}:events`;
      const xaddRun = async (ms: number) => {
        const results = await Promise.all(
          xadd.map((w) => w.call<{ events: number; elapsedMs: number }>('run', { stream, durationMs: ms, pipeline: 200, inFlight: 2 })),
        );
        return { events: results.reduce((n, r) => n + r.events, 0), elapsedMs: ms };
      };
      ctx.log('XADD ceiling: warm-up');
      await xaddRun(Math.min(1500, durationMs));
      const ceilingRuns = [];
      for (let i = 0; i < ctx.runs; i++) {
        const { value, cpu } = await withCpu({ redis: rpid, load0: xadd[0]!.pid, load1: xadd[1]!.pid }, () => xaddRun(durationMs));
        const eventsPerSecond = (value.events / value.elapsedMs) * 1000;
        ceilingRuns.push({ ...value, eventsPerSecond, cpu });
        ctx.log(`XADD ceiling: run ${i + 1}/${ctx.runs}: ${fmtRate(eventsPerSecond)} events, cpu ${JSON.stringify(cpu)}`);
      }
      await Promise.all(xadd.map((w) => w.stop()));
      const ceiling = median(ceilingRuns.map((r) => r.eventsPerSecond));
      Object.assign(details, { single, batch, ceiling: { runs: ceilingRuns, eventsPerSecond: ceiling } });

      rows.push({
        id: 'ingest.single',
        measure: 'ingest, single-event requests (events/s = requests/s)',
        unit: 'rate',
        tenantcast: single.requestsPerSecond,
        ceiling,
        ceilingName: 'raw pipelined XADD',
        ceilingRatio: single.eventsPerSecond / ceiling,
        target: '≥ 10,000 requests/s',
        met: single.requestsPerSecond >= 10_000,
      });
      rows.push({
        id: 'ingest.batch',
        measure: 'ingest, batches of 100 (events/s)',
        unit: 'rate',
        tenantcast: batch.eventsPerSecond,
        ceiling,
        ceilingName: 'raw pipelined XADD',
        ceilingRatio: batch.eventsPerSecond / ceiling,
        target: '≥ 50,000 events/s',
        met: batch.eventsPerSecond >= 50_000,
      });
    } finally {
      await redis.stop();
    }
    return { rows, details };
  },
};
