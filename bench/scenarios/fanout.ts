/**
 * (2) Fan-out: messages delivered per second from one server process to WebSocket clients, for
 * tenantcast's gateway, the Socket.IO peer and the bare ws ceiling, in three shapes:
 * one tenant with 2,000 clients, one tenant with 10,000 clients, 1,000 tenants with 10 clients each.
 *
 * A run publishes a burst of events (as the relay would, see bench/load/publisher.ts) and measures
 * from the first publish to the last message received by any client: delivered ÷ that time.
 * Load processes (bench/load/ws-clients.ts) hold the clients, apart from the server under test.
 * The 10,000-client case also records the server's RSS with its clients idle, for (4) memory.
 */
import { ClientPool } from '../lib/clients.ts';
import { sleep } from '../lib/clock.ts';
import { fmtBytes, fmtCount, fmtRate } from '../lib/format.ts';
import { startRedis } from '../lib/redis.ts';
import { median } from '../lib/stats.ts';
import { startTarget, TARGET_NAMES, type TargetKind } from '../lib/targets.ts';
import { type BenchContext, DISTURBED_CORES, type Row, type Scenario, withCpu } from '../lib/types.ts';

export interface FanoutCase {
  id: string;
  measure: string;
  tenants: number;
  clientsPerTenant: number;
  /** Events per tenant in one measured run. */
  eventsPerTenant: number;
  target?: string;
  met?: (tc: number, peer: number, ceiling: number) => boolean;
  /** Record the idle RSS per connection, for (4) memory. */
  measuresMemory?: boolean;
  /** Also run the gateway's Server-Sent Events (a row of its own, beside the WebSocket one). */
  sse?: boolean;
}

export interface MemoryMeasurement {
  clients: number;
  baselineRss: number;
  idleRss: number;
  perConnection: number;
}

/** Idle RSS measured by the 10,000-client case, by target; the memory scenario reports it. */
export const memoryMeasurements = new Map<TargetKind, MemoryMeasurement>();

const KINDS: TargetKind[] = ['tenantcast', 'socketio', 'ws'];

/** The servers to run: the three unless --targets says otherwise; with --baseline, the baseline's gateway right after this one's. */
export function selectedKinds(ctx: BenchContext): TargetKind[] {
  const kinds = ctx.targets === undefined ? KINDS : KINDS.filter((k) => ctx.targets!.includes(k));
  if (ctx.baseline === undefined) return kinds;
  const at = kinds.indexOf('tenantcast');
  return at < 0 ? ['tenantcast-baseline', ...kinds] : [...kinds.slice(0, at + 1), 'tenantcast-baseline', ...kinds.slice(at + 1)];
}

export function fanoutCases(quick: boolean): FanoutCase[] {
  return [
    {
      id: 'fanout.one-tenant-2000',
      measure: 'fan-out, 1 tenant × 2,000 clients (msgs/s)',
      tenants: 1,
      clientsPerTenant: 2000,
      eventsPerTenant: quick ? 150 : 300,
      target: '≥ 500k msgs/s, ≥ 3× peer, ≥ 0.5× ceiling',
      met: (tc, peer, ceiling) => tc >= 500_000 && tc >= 3 * peer && tc >= 0.5 * ceiling,
      sse: true,
    },
    {
      id: 'fanout.one-tenant-10000',
      measure: 'fan-out, 1 tenant × 10,000 clients (msgs/s)',
      tenants: 1,
      clientsPerTenant: 10_000,
      eventsPerTenant: quick ? 30 : 60,
      measuresMemory: true,
    },
    {
      id: 'fanout.tenants-1000x10',
      measure: 'fan-out, 1,000 tenants × 10 clients (msgs/s)',
      tenants: 1000,
      clientsPerTenant: 10,
      eventsPerTenant: quick ? 30 : 60,
    },
  ];
}

export interface CaseResult {
  rate: number;
  runs: Array<{
    msgsPerSecond: number;
    received: number;
    expected: number;
    elapsedMs: number;
    publishMs: number;
    cpu: Record<string, number>;
  }>;
  connect: { connected: number; failed: number; ms: number; errors: Record<string, number> };
  memory?: MemoryMeasurement;
}

/** Connects the clients of a case to a fresh server of `kind`; runs `body`; stops everything. */
export async function withClients<T>(
  ctx: BenchContext,
  kind: TargetKind,
  c: Pick<FanoutCase, 'id' | 'tenants' | 'clientsPerTenant'>,
  body: (args: {
    target: Awaited<ReturnType<typeof startTarget>>;
    pool: ClientPool;
    tenants: string[];
    redisPid: number;
    connect: CaseResult['connect'];
    baselineRss: number;
  }) => Promise<T>,
): Promise<T> {
  const redis = await startRedis();
  try {
    const target = await startTarget(kind, redis.url, {
      label: `${c.id}-${kind}`,
      profile: ctx.profile,
      ...(ctx.baseline ? { baseline: ctx.baseline } : {}),
    });
    const baselineRss = target.rss();
    const pool = await ClientPool.start(2);
    try {
      const tenants = Array.from({ length: c.tenants }, (_, i) => `t${i}`);
      const urls: string[] = [];
      for (let k = 0; k < c.clientsPerTenant; k++) for (const tenant of tenants) urls.push(target.url(tenant));
      ctx.log(`${c.id} ${kind}: connecting ${fmtCount(urls.length)} clients`);
      const connect = await pool.connect(urls, {
        protocol: target.protocol,
        ...(target.token ? { token: target.token } : {}),
        concurrency: 50,
        timeoutMs: 30_000,
      });
      ctx.log(
        `${c.id} ${kind}: ${fmtCount(connect.connected)} connected in ${(connect.ms / 1000).toFixed(1)} s${
          connect.failed ? `, ${connect.failed} failed: ${JSON.stringify(connect.errors)}` : ''
        }`,
      );
      if (connect.connected === 0) throw new Error(`${c.id} ${kind}: no client connected: ${JSON.stringify(connect.errors)}`);
      await target.settle();
      return await body({ target, pool, tenants, redisPid: redis.pid, connect, baselineRss });
    } finally {
      await pool.stop();
      await target.stop();
    }
  } finally {
    await redis.stop();
  }
}

/** Idle RSS once connections are in: the lowest of a few samples after a pause. */
export async function idleRss(rss: () => number, pauseMs: number): Promise<number> {
  await sleep(pauseMs);
  let low = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) {
    low = Math.min(low, rss());
    await sleep(200);
  }
  return low;
}

async function runCase(ctx: BenchContext, kind: TargetKind, c: FanoutCase): Promise<CaseResult> {
  return withClients(ctx, kind, c, async ({ target, pool, tenants, redisPid, connect, baselineRss }) => {
    let memory: MemoryMeasurement | undefined;
    if (c.measuresMemory) {
      const idle = await idleRss(() => target.rss(), ctx.quick ? 1000 : 3000);
      memory = { clients: connect.connected, baselineRss, idleRss: idle, perConnection: (idle - baselineRss) / connect.connected };
      memoryMeasurements.set(kind, memory);
      ctx.log(
        `${c.id} ${kind}: idle RSS ${fmtBytes(idle)} (baseline ${fmtBytes(baselineRss)}): ${fmtBytes(memory.perConnection)} per connection`,
      );
    }
    const burst = async (label: string, eventsPerTenant: number) => {
      await pool.arm(eventsPerTenant);
      const expected = eventsPerTenant * connect.connected;
      const pids: Record<string, number> = { server: target.pid, redis: redisPid, ...target.helperPids };
      pool.workers.forEach((w, i) => {
        pids[`clients${i}`] = w.pid;
      });
      const { value, cpu } = await withCpu(pids, async () => {
        const published = await target.publish({ tenants, perTenant: eventsPerTenant, batch: 10, inFlight: 4, run: label });
        const got = await pool.wait(ctx.quick ? 60_000 : 120_000);
        return { published, got };
      });
      const { published, got } = value;
      const elapsedMs = got.received > 0 ? got.lastAt - published.startAt : Number.NaN;
      const msgsPerSecond = (got.received / elapsedMs) * 1000;
      if (got.timedOut)
        ctx.log(
          `${c.id} ${kind}: ${label}: only ${fmtCount(got.received)} of ${fmtCount(expected)} messages arrived (${got.closed} clients closed)`,
        );
      return { msgsPerSecond, received: got.received, expected, elapsedMs, publishMs: published.endAt - published.startAt, cpu };
    };
    ctx.log(`${c.id} ${kind}: warm-up`);
    await burst('warm', Math.max(10, Math.round(c.eventsPerTenant / 4)));
    const runs = [];
    for (let i = 0; i < ctx.runs; i++) {
      const run = await burst(`run${i}`, c.eventsPerTenant);
      runs.push(run);
      ctx.log(
        `${c.id} ${kind}: run ${i + 1}/${ctx.runs}: ${fmtRate(run.msgsPerSecond)} (${fmtCount(run.received)} msgs in ${run.elapsedMs.toFixed(0)} ms; cpu ${JSON.stringify(run.cpu)})`,
      );
    }
    return { rate: median(runs.map((r) => r.msgsPerSecond)), runs, connect, ...(memory ? { memory } : {}) };
  });
}

export const fanout: Scenario = {
  id: 'fanout',
  title: 'Fan-out: delivered msgs/s, gateway vs Socket.IO peer vs bare ws',
  async run(ctx) {
    const rows: Row[] = [];
    const details: Record<string, unknown> = {};
    const cases = fanoutCases(ctx.quick).filter((c) => ctx.cases === undefined || ctx.cases.some((part) => c.id.includes(part)));
    for (const c of cases) {
      const results: Partial<Record<TargetKind, CaseResult>> = {};
      for (const kind of selectedKinds(ctx)) results[kind] = await runCase(ctx, kind, c);
      if (c.sse && (ctx.targets === undefined || ctx.targets.includes('sse')))
        results['tenantcast-sse'] = await runCase(ctx, 'tenantcast-sse', c);
      details[c.id] = { ...c, met: undefined, results };
      const disturbed = Object.values(results).some((r) => r.runs.some((run) => (run.cpu.other ?? 0) > DISTURBED_CORES));
      const tc = results.tenantcast?.rate ?? Number.NaN;
      const peer = results.socketio?.rate ?? Number.NaN;
      const ceiling = results.ws?.rate ?? Number.NaN;
      rows.push({
        id: c.id,
        measure: c.measure,
        unit: 'rate',
        tenantcast: tc,
        peer,
        ceiling,
        peerName: TARGET_NAMES.socketio,
        ceilingName: 'bare ws',
        peerRatio: tc / peer,
        ceilingRatio: tc / ceiling,
        ...(c.target && results.tenantcast ? { target: c.target, met: c.met!(tc, peer, ceiling) } : {}),
        disturbed,
      });
      const sse = results['tenantcast-sse'];
      if (sse !== undefined) {
        rows.push({
          id: `${c.id}.sse`,
          measure: c.measure.replace('fan-out,', 'fan-out over SSE,'),
          unit: 'rate',
          tenantcast: sse.rate,
          peer,
          ceiling,
          peerName: TARGET_NAMES.socketio,
          ceilingName: 'bare ws',
          peerRatio: sse.rate / peer,
          ceilingRatio: sse.rate / ceiling,
          disturbed,
        });
      }
      const baseline = results['tenantcast-baseline'];
      if (baseline !== undefined) {
        rows.push({
          id: `${c.id}.baseline`,
          measure: `${c.measure}, baseline (--baseline)`,
          unit: 'rate',
          tenantcast: baseline.rate,
          peer,
          ceiling,
          peerRatio: baseline.rate / peer,
          ceilingRatio: baseline.rate / ceiling,
          disturbed,
        });
      }
    }
    return { rows, details };
  },
};
