/**
 * (1) Ingest: events/s through POST /v1/events, single events and batches of 100, against a
 * hand-rolled relay (bench/peers/bare-relay.ts: node:http + one ioredis XADD pipeline, no auth,
 * validation or dedupe; issue #21) measured in the same runs, and against the ceiling of raw
 * ioredis pipelined XADD into the same Redis. With `--baseline DIR`, that checkout's relay too.
 */
import { mintToken } from '@tenantcast/sdk/tokens';
import { fmtRate } from '../lib/format.ts';
import { startRedis } from '../lib/redis.ts';
import { Worker } from '../lib/rpc.ts';
import { BENCH_SECRET, KEY_PREFIX, startServer } from '../lib/servers.ts';
import { median } from '../lib/stats.ts';
import { type BenchContext, DISTURBED_CORES, type Row, type Scenario, withCpu } from '../lib/types.ts';
import type { HttpLoadParams, HttpLoadResult } from '../load/http-load.ts';

/** An HTTP ingest server under test. */
interface IngestTarget {
  name: 'tenantcast' | 'bare' | 'baseline';
  port: number;
  pid: number;
  stop(): Promise<void>;
}

interface TargetResult {
  runs: Array<HttpLoadResult & { eventsPerSecond: number; requestsPerSecond: number; cpu: Record<string, number> }>;
  eventsPerSecond: number;
  requestsPerSecond: number;
  /** Some run had other work above DISTURBED_CORES. */
  disturbed: boolean;
}

/** Microseconds of CPU per event of a process that used `cores` at `eventsPerSecond`. */
const perEvent = (cores: number, eventsPerSecond: number) => ((cores / eventsPerSecond) * 1e6).toFixed(1);

const BARE = 'hand-rolled relay: node:http + XADD pipeline';

async function startTargets(ctx: BenchContext, redisUrl: string): Promise<IngestTarget[]> {
  const relay = await startServer('relay', redisUrl, { label: 'ingest-relay', profile: ctx.profile });
  const bare = await Worker.start('bare-relay', 'bench/peers/bare-relay.ts', { args: [redisUrl, KEY_PREFIX] });
  const targets: IngestTarget[] = [
    { name: 'tenantcast', port: relay.port, pid: relay.pid, stop: () => relay.stop() },
    { name: 'bare', port: (bare.info as { port: number }).port, pid: bare.pid, stop: () => bare.stop() },
  ];
  if (ctx.baseline !== undefined) {
    const base = await startServer('relay', redisUrl, { label: 'ingest-relay-baseline', profile: ctx.profile, root: ctx.baseline });
    targets.push({ name: 'baseline', port: base.port, pid: base.pid, stop: () => base.stop() });
  }
  return targets;
}

export const ingest: Scenario = {
  id: 'ingest',
  title: 'Ingest: POST /v1/events vs a hand-rolled relay and raw pipelined XADD',
  async run(ctx: BenchContext) {
    const durationMs = ctx.quick ? 2000 : 3000;
    const redis = await startRedis();
    const details: Record<string, unknown> = { durationMs };
    const rows: Row[] = [];
    try {
      const rpid = redis.pid;
      const targets = await startTargets(ctx, redis.url);
      const load = await Worker.start('http-load', 'bench/load/http-load.ts');
      const token = await mintToken({ sub: 'bench', scope: 'publish', tenants: ['ingest'] }, BENCH_SECRET);
      /** Each run measures every target in turn, back to back, so that they share the machine's state. */
      const measure = async (label: string, batch: number, connections: number): Promise<Record<string, TargetResult>> => {
        const params = (target: IngestTarget, run: string, ms: number): HttpLoadParams => ({
          port: target.port,
          token,
          tenant: 'ingest',
          batch,
          connections,
          durationMs: ms,
          run: `${target.name}-${run}`,
        });
        const out: Record<string, TargetResult> = {};
        for (const target of targets) {
          ctx.log(`${label} ${target.name}: warm-up`);
          await load.call<HttpLoadResult>('run', params(target, `${label}-warm`, Math.min(1500, durationMs)), 60_000);
          out[target.name] = { runs: [], eventsPerSecond: 0, requestsPerSecond: 0, disturbed: false };
        }
        for (let i = 0; i < ctx.runs; i++) {
          for (const target of targets) {
            const { value, cpu } = await withCpu({ server: target.pid, redis: rpid, load: load.pid }, () =>
              load.call<HttpLoadResult>('run', params(target, `${label}-${i}`, durationMs), 60_000),
            );
            const eventsPerSecond = (value.events / value.elapsedMs) * 1000;
            const result = out[target.name]!;
            result.runs.push({ ...value, eventsPerSecond, requestsPerSecond: (value.requests / value.elapsedMs) * 1000, cpu });
            if (cpu.other! > DISTURBED_CORES) result.disturbed = true;
            ctx.log(
              `${label} ${target.name}: run ${i + 1}/${ctx.runs}: ${fmtRate(eventsPerSecond)} events, cpu ${JSON.stringify(cpu)}, ` +
                `µs of CPU per event: server ${perEvent(cpu.server!, eventsPerSecond)}, redis ${perEvent(cpu.redis!, eventsPerSecond)}; statuses ${JSON.stringify(value.statuses)}`,
            );
          }
        }
        for (const result of Object.values(out)) {
          result.eventsPerSecond = median(result.runs.map((r) => r.eventsPerSecond));
          result.requestsPerSecond = median(result.runs.map((r) => r.requestsPerSecond));
        }
        return out;
      };
      // `--cases batch` (or `single`) measures one shape only, e.g. for a profile of batches alone.
      const wanted = (shape: string) => ctx.cases === undefined || ctx.cases.some((c) => shape.includes(c));
      const single = wanted('single') ? await measure('single', 1, 32) : undefined;
      const batch = wanted('batch') ? await measure('batch', 100, 8) : undefined;
      await load.stop();
      for (const target of targets) await target.stop();

      const ceiling = await xaddCeiling(ctx, redis.url, rpid, durationMs);
      Object.assign(details, { single, batch, ceiling });

      if (single !== undefined)
        rows.push({
          id: 'ingest.single',
          measure: 'ingest, single-event requests (events/s = requests/s)',
          unit: 'rate',
          tenantcast: single.tenantcast!.requestsPerSecond,
          ceiling: ceiling.eventsPerSecond,
          ceilingName: 'raw pipelined XADD',
          ceilingRatio: single.tenantcast!.eventsPerSecond / ceiling.eventsPerSecond,
          target: '≥ 10,000 requests/s',
          met: single.tenantcast!.requestsPerSecond >= 10_000,
          disturbed: single.tenantcast!.disturbed,
        });
      if (batch !== undefined)
        rows.push({
          id: 'ingest.batch',
          measure: 'ingest, batches of 100 (events/s)',
          unit: 'rate',
          tenantcast: batch.tenantcast!.eventsPerSecond,
          ceiling: ceiling.eventsPerSecond,
          ceilingName: 'raw pipelined XADD',
          ceilingRatio: batch.tenantcast!.eventsPerSecond / ceiling.eventsPerSecond,
          target: '≥ 50,000 events/s',
          met: batch.tenantcast!.eventsPerSecond >= 50_000,
          disturbed: batch.tenantcast!.disturbed,
        });
      for (const [shape, results] of [
        ['single', single],
        ['batch', batch],
      ] as const) {
        if (results === undefined) continue;
        const bare = results.bare!;
        const measured = [['tenantcast', 'tenantcast relay'] as const, ['baseline', 'the --baseline checkout’s relay'] as const];
        for (const [name, who] of measured) {
          const own = results[name];
          if (own === undefined) continue;
          rows.push({
            id: `ingest.${shape}.bare${name === 'baseline' ? '.baseline' : ''}`,
            measure: `ingest, ${shape === 'single' ? 'single-event requests' : 'batches of 100'}, ${who} vs a hand-rolled relay (events/s)`,
            unit: 'rate',
            tenantcast: own.eventsPerSecond,
            ceiling: bare.eventsPerSecond,
            ceilingName: BARE,
            ceilingRatio: own.eventsPerSecond / bare.eventsPerSecond,
            ...(shape === 'batch' && name === 'tenantcast'
              ? { target: '≥ 0.8× the hand-rolled relay', met: own.eventsPerSecond >= 0.8 * bare.eventsPerSecond }
              : {}),
            disturbed: own.disturbed || bare.disturbed,
          });
        }
      }
    } finally {
      await redis.stop();
    }
    return { rows, details };
  },
};

/** Two client processes of raw XADD pipelines: ioredis spends more CPU per command than Redis does, and one would measure itself. */
async function xaddCeiling(ctx: BenchContext, redisUrl: string, rpid: number, durationMs: number) {
  const xadd = await Promise.all([0, 1].map((i) => Worker.start(`xadd-ceiling-${i}`, 'bench/load/xadd-ceiling.ts', { args: [redisUrl] })));
  const stream = `${KEY_PREFIX}{ceiling}:events`;
  const xaddRun = async (ms: number) => {
    const results = await Promise.all(
      xadd.map((w) => w.call<{ events: number; elapsedMs: number }>('run', { stream, durationMs: ms, pipeline: 200, inFlight: 2 })),
    );
    return { events: results.reduce((n, r) => n + r.events, 0), elapsedMs: ms };
  };
  ctx.log('XADD ceiling: warm-up');
  await xaddRun(Math.min(1500, durationMs));
  const runs = [];
  for (let i = 0; i < ctx.runs; i++) {
    const { value, cpu } = await withCpu({ redis: rpid, load0: xadd[0]!.pid, load1: xadd[1]!.pid }, () => xaddRun(durationMs));
    const eventsPerSecond = (value.events / value.elapsedMs) * 1000;
    runs.push({ ...value, eventsPerSecond, cpu });
    ctx.log(`XADD ceiling: run ${i + 1}/${ctx.runs}: ${fmtRate(eventsPerSecond)} events, cpu ${JSON.stringify(cpu)}`);
  }
  await Promise.all(xadd.map((w) => w.stop()));
  return { runs, eventsPerSecond: median(runs.map((r) => r.eventsPerSecond)) };
}
