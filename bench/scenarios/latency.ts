/**
 * (3) Latency: publish → client receive, p50 / p90 / p99 / p999, open loop (each event carries the
 * time it was due, so waiting counts), tenantcast and the Socket.IO peer measured in the same run,
 * back to back, at the same shapes and rates:
 * - 200 tenants × 5 clients, 1,000 tenants × 1 and 100 tenants × 10 at 1,000 events/s in all (issue #21);
 * - 1,000 tenants × 1 and 100 tenants × 10 at 5,000 events/s.
 * Publishers (bench/scenarios/latency-paths.ts): `post`, a single-event POST /v1/events per event;
 * `sdk`, the SDK's RelayClient (its batching included; `sdk-node` over `createNodeFetch`); `store`, the events written into Redis as
 * the relay writes them (gateway only); `socketio`, `io.to(room).emit` on a second Socket.IO node.
 * With --baseline, the relay, gateway and SDK of that checkout too (`post-baseline`, `sdk-baseline`).
 */
import { fmtCount, fmtMs, fmtRatio } from '../lib/format.ts';
import { startRedis } from '../lib/redis.ts';
import { medianPercentiles, type Percentiles } from '../lib/stats.ts';
import { type BenchContext, DISTURBED_CORES, type Row, type Scenario } from '../lib/types.ts';
import { LatencyRig, type Path, type PathRun } from './latency-paths.ts';

export interface Shape {
  id: string;
  tenants: number;
  perTenant: number;
  label: string;
}

const SHAPES: Record<string, Shape> = {
  '200x5': { id: '200x5', tenants: 200, perTenant: 5, label: '200 tenants × 5 clients' },
  '1000x1': { id: '1000x1', tenants: 1000, perTenant: 1, label: '1,000 tenants × 1 client' },
  '100x10': { id: '100x10', tenants: 100, perTenant: 10, label: '100 tenants × 10 clients' },
};

/** Each point is a shape at a rate of events/s (in all, over the tenants). */
const POINTS = [
  { shape: SHAPES['200x5']!, rate: 1000 },
  { shape: SHAPES['1000x1']!, rate: 1000 },
  { shape: SHAPES['100x10']!, rate: 1000 },
  { shape: SHAPES['1000x1']!, rate: 5000 },
  { shape: SHAPES['100x10']!, rate: 5000 },
];

const PATH_NAMES: Record<Path, string> = {
  post: 'POST → client',
  sdk: 'SDK RelayClient → client',
  'sdk-node': 'SDK RelayClient over createNodeFetch → client',
  store: 'Redis write → client (gateway only)',
  socketio: 'Socket.IO emit → client',
  'post-baseline': 'POST → client, --baseline',
  'sdk-baseline': 'SDK RelayClient → client, --baseline',
};

export const show = (p: Percentiles) => `${fmtMs(p.p50)} / ${fmtMs(p.p90)} / ${fmtMs(p.p99)} / ${fmtMs(p.p999)}`;
const pointId = (p: (typeof POINTS)[number]) => `${p.shape.id}@${p.rate}`;

function selectedPaths(ctx: BenchContext): Path[] {
  const all: Path[] = ['post', 'sdk', 'sdk-node', 'store', 'socketio'];
  const paths = ctx.targets === undefined ? all : all.filter((p) => ctx.targets!.includes(p));
  if (ctx.baseline !== undefined) {
    if (paths.includes('post')) paths.splice(paths.indexOf('post') + 1, 0, 'post-baseline');
    if (paths.includes('sdk')) paths.splice(paths.indexOf('sdk') + 1, 0, 'sdk-baseline');
  }
  return paths;
}

function rowsOf(point: (typeof POINTS)[number], results: Partial<Record<Path, { quoted: Percentiles; runs: PathRun[] }>>): Row[] {
  const rows: Row[] = [];
  const peer = results.socketio;
  const disturbed = Object.values(results).some((r) => r.runs.some((run) => (run.cpu.other ?? 0) > DISTURBED_CORES));
  const id = `latency.${point.shape.id}.${point.rate}`;
  const issueShape = point.shape.id === '200x5' && point.rate === 1000;
  for (const path of ['post', 'post-baseline', 'sdk', 'sdk-node', 'sdk-baseline', 'store'] as const) {
    const r = results[path];
    if (r === undefined) continue;
    const q = r.quoted;
    const versus = path !== 'store' && peer !== undefined;
    const target = path === 'store' ? undefined : `p50, p99 ≤ peer's${issueShape ? '; p99 ≤ 5 ms' : ''}`;
    rows.push({
      id: `${id}.${path}`,
      measure: `latency p50 / p90 / p99 / p999, ${PATH_NAMES[path]}, ${fmtCount(point.rate)} events/s, ${point.shape.label} (${fmtCount(point.rate * point.shape.perTenant)} msgs/s)`,
      unit: 'latency',
      tenantcast: q.p99,
      text: {
        tenantcast: show(q),
        ...(versus
          ? { peer: show(peer.quoted), peerRatio: `${fmtRatio(q.p50 / peer.quoted.p50)} / ${fmtRatio(q.p99 / peer.quoted.p99)}` }
          : {}),
      },
      ...(versus ? { peer: peer.quoted.p99, peerRatio: q.p99 / peer.quoted.p99, peerName: 'Socket.IO + redis-streams-adapter' } : {}),
      ...(target && versus
        ? {
            target,
            met: q.p50 <= peer.quoted.p50 && q.p99 <= peer.quoted.p99 && (!issueShape || q.p99 <= 5),
          }
        : {}),
      disturbed,
    });
  }
  if (peer !== undefined && rows.length === 0) {
    rows.push({
      id: `${id}.socketio`,
      measure: `latency p50 / p90 / p99 / p999, ${PATH_NAMES.socketio}, ${fmtCount(point.rate)} events/s, ${point.shape.label}`,
      unit: 'latency',
      tenantcast: null,
      peer: peer.quoted.p99,
      text: { peer: show(peer.quoted) },
      disturbed,
    });
  }
  return rows;
}

export const latency: Scenario = {
  id: 'latency',
  title: 'Latency: publish → receive, tenantcast (POST, SDK, gateway only) vs the Socket.IO peer, open loop',
  async run(ctx: BenchContext) {
    const durationMs = ctx.quick ? 3000 : 5000;
    const paths = selectedPaths(ctx);
    const points = POINTS.filter((p) => ctx.cases === undefined || ctx.cases.some((part) => pointId(p).includes(part)));
    const redis = await startRedis();
    const details: Record<string, unknown> = { durationMs, paths };
    const rows: Row[] = [];
    const rig = await LatencyRig.start(ctx, redis, paths);
    try {
      for (const shape of Object.values(SHAPES)) {
        const here = points.filter((p) => p.shape === shape);
        if (here.length === 0) continue;
        await rig.connect(shape);
        for (const point of here) {
          const results: Partial<Record<Path, { quoted: Percentiles; runs: PathRun[] }>> = {};
          const label = pointId(point);
          for (const path of paths) {
            ctx.log(`latency ${label} ${path}: warm-up`);
            await rig.measure(path, shape, point.rate, `${label}-${path}-warm`, Math.min(1500, durationMs));
          }
          // Runs interleave the paths, so that each is measured right after the others (A/B on a shared machine).
          const runs: Partial<Record<Path, PathRun[]>> = {};
          for (let i = 0; i < ctx.runs; i++) {
            for (const path of paths) {
              const run = await rig.measure(path, shape, point.rate, `${label}-${path}-${i}`, durationMs);
              runs[path] = [...(runs[path] ?? []), run];
              ctx.log(`latency ${label} ${path}: run ${i + 1}/${ctx.runs}: ${describeRun(run)}`);
            }
          }
          for (const path of paths) results[path] = { quoted: medianPercentiles(runs[path]!.map((r) => r.latency)), runs: runs[path]! };
          details[label] = { shape, rate: point.rate, results };
          rows.push(...rowsOf(point, results));
        }
        await rig.disconnect();
      }
      return { rows, details };
    } finally {
      await rig.stop();
      await redis.stop();
    }
  },
};

function describeRun(run: PathRun): string {
  const hops = Object.entries(run.hops)
    .map(([name, p]) => `${name} ${fmtMs(p.p50)}/${fmtMs(p.p99)}`)
    .join(', ');
  return `p50/p90/p99/p999 ${show(run.latency)}, max ${fmtMs(run.latency.max)}; ${fmtCount(run.received)} of ${fmtCount(run.expected)} received${
    hops ? `; hops p50/p99: ${hops}` : ''
  }; cpu ${JSON.stringify(run.cpu)}`;
}
