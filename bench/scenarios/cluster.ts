/**
 * (7) Redis Cluster (issue #7): ingest and fan-out on a local cluster of 3 masters and 3 replicas,
 * against the same load on one redis-server, both measured in this scenario, run by run in turn
 * (single, cluster, single, cluster…), so that other work on a shared machine weighs on both alike.
 *
 * - Ingest: one relay with REDIS_CLUSTER_NODES; POST /v1/events in batches of 100 (and single-event
 *   requests) rotating over 12 tenants, 4 on each master, against a relay on one redis-server
 *   taking the same requests.
 * - Fan-out: two gateways on the cluster, the clients of each tenant alternating between them (one
 *   tenant × 2,000 clients: 1,000 per gateway; 100 tenants × 10 clients, spread over the shards by
 *   their slots), fed by the publisher as a relay on a cluster writes (SPUBLISH); against one
 *   gateway on one redis-server with the same clients. Delivered msgs/s as in the fan-out scenario.
 *
 * Every process's CPU share is in the details (`cpu`, 1.0 = one core), and the figures to size a
 * deployment with (`capacity`): msgs/s per gateway core, events/s per relay core, events/s per
 * master core. On a 2-core machine six redis-servers, the gateways or the relay and the load share
 * two cores: the cluster cannot beat one Redis here; what it shows is that it works and what a
 * gateway and a shard cost.
 */
import { mintToken } from '@tenantcast/sdk/tokens';
import { startRedisCluster } from '@tenantcast/testkit';
import { Redis } from 'ioredis';
import { register } from '../lib/cleanup.ts';
import { ClientPool } from '../lib/clients.ts';
import { fmtBytes, fmtCount, fmtRate } from '../lib/format.ts';
import { type BenchRedis, startRedis } from '../lib/redis.ts';
import { Worker } from '../lib/rpc.ts';
import { BENCH_SECRET, KEY_PREFIX, type ServerProcess, startServer } from '../lib/servers.ts';
import { median } from '../lib/stats.ts';
import { type BenchContext, DISTURBED_CORES, type Row, type Scenario, withCpu } from '../lib/types.ts';
import type { HttpLoadParams, HttpLoadResult } from '../load/http-load.ts';
import type { PublishParams, PublishResult } from '../load/publisher.ts';
import { memoryMeasurements } from './fanout.ts';

const MASTERS = 3;
const GATEWAYS = 2;
const SINGLE = 'one redis-server';

/** A redis-server of the cluster, named by its role: master1…3 in slot order, replicaN of masterN. */
interface ClusterMember {
  name: string;
  address: string;
  pid: number;
  role: 'master' | 'replica';
}

interface BenchCluster {
  /** `host:port` of every node: REDIS_CLUSTER_NODES. */
  nodes: string[];
  /** A node's URL, for REDIS_URL (which the apps ignore when given the nodes). */
  url: string;
  members: ClusterMember[];
  /** The master (by name) that serves each tenant's keys. */
  mastersOf(tenants: readonly string[]): Promise<string[]>;
  stop(): Promise<void>;
}

function clusterEnv(cluster: BenchCluster): Record<string, string> {
  return { REDIS_CLUSTER_NODES: cluster.nodes.join(',') };
}

async function withNode<T>(address: string, use: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(`redis://${address}`, { maxRetriesPerRequest: 1 });
  try {
    return await use(client);
  } finally {
    client.disconnect();
  }
}

/** testkit's cluster, registered for cleanup, with each node's role and pid. */
async function startBenchCluster(): Promise<BenchCluster> {
  const cluster = await startRedisCluster({ masters: MASTERS, replicas: 1 });
  const pids: number[] = [];
  const unregister = register({
    stop: () => cluster.stop(),
    kill: () => {
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
      }
    },
  });
  const stop = async () => {
    unregister();
    await cluster.stop();
  };
  try {
    type SlotRange = [number, number, [string, number, string?], ...unknown[]];
    const ranges = (await withNode(cluster.nodes[0]!, (c) => c.call('CLUSTER', 'SLOTS'))) as SlotRange[];
    ranges.sort((a, b) => a[0] - b[0]);
    // Masters by their first slot; replicas after their master (from INFO: CLUSTER SLOTS may not list them yet).
    const masterNames = new Map<string, string>();
    for (const [, , [host, port]] of ranges) {
      const address = `${host}:${port}`;
      if (!masterNames.has(address)) masterNames.set(address, `master${masterNames.size + 1}`);
    }
    const members: ClusterMember[] = [];
    for (const address of cluster.nodes) {
      const info = await withNode(address, (c) => c.info());
      const pid = Number(/process_id:(\d+)/.exec(info)?.[1] ?? 0);
      pids.push(pid);
      const master = /master_host:(\S+)\s+master_port:(\d+)/.exec(info);
      const of = master ? masterNames.get(`${master[1]}:${master[2]}`) : undefined;
      if (masterNames.has(address)) members.push({ address, pid, name: masterNames.get(address)!, role: 'master' });
      else members.push({ address, pid, name: of ? of.replace('master', 'replica') : `replica-${address}`, role: 'replica' });
    }
    members.sort((a, b) => a.name.localeCompare(b.name));
    const masterOfSlot = (slot: number): string => {
      const range = ranges.find(([from, to]) => slot >= from && slot <= to);
      return range ? masterNames.get(`${range[2][0]}:${range[2][1]}`)! : 'none';
    };
    return {
      nodes: cluster.nodes,
      url: `redis://${cluster.nodes[0]}`,
      members,
      mastersOf: (tenants) =>
        withNode(cluster.nodes[0]!, async (c) => {
          const pipeline = c.pipeline();
          for (const tenant of tenants) pipeline.call('CLUSTER', 'KEYSLOT', `{${tenant}}`);
          const replies = (await pipeline.exec()) ?? [];
          return replies.map(([error, slot]) => {
            if (error) throw error;
            return masterOfSlot(Number(slot));
          });
        }),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** `perMaster` tenants `<prefix><n>` for each master, in turn master1, master2, master3, master1… */
async function tenantsOnEveryShard(cluster: BenchCluster, prefix: string, perMaster: number): Promise<string[]> {
  const candidates = Array.from({ length: 40 * perMaster * MASTERS }, (_, i) => `${prefix}${i}`);
  const masters = await cluster.mastersOf(candidates);
  const byMaster = new Map<string, string[]>();
  candidates.forEach((tenant, i) => {
    const list = byMaster.get(masters[i]!) ?? [];
    if (list.length < perMaster) list.push(tenant);
    byMaster.set(masters[i]!, list);
  });
  const lists = [...byMaster.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, list]) => list);
  if (lists.length < MASTERS || lists.some((l) => l.length < perMaster)) throw new Error('could not spread tenants over every shard');
  return Array.from({ length: perMaster * MASTERS }, (_, i) => lists[i % MASTERS]![Math.floor(i / MASTERS)]!);
}

/** Tenants per master. */
async function spread(cluster: BenchCluster, tenants: readonly string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const master of await cluster.mastersOf(tenants)) counts[master] = (counts[master] ?? 0) + 1;
  return counts;
}

/** The pids of every redis-server of the cluster, by name. */
function clusterPids(cluster: BenchCluster): Record<string, number> {
  return Object.fromEntries(cluster.members.map((m) => [m.name, m.pid]));
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** Sums the CPU shares of the processes whose names start with `prefix`. */
function sumCpu(cpu: Record<string, number>, prefix: string): number {
  return round2(
    Object.entries(cpu)
      .filter(([k]) => k.startsWith(prefix))
      .reduce((n, [, v]) => n + v, 0),
  );
}

/**
 * Shares summed by role: masters, replicas, gateways, client processes; `all` is every process of
 * the run plus `other` (the rest of the machine): how much of the two cores were busy.
 */
function cpuTotals(cpu: Record<string, number>): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const [prefix, name] of [
    ['master', 'masters'],
    ['replica', 'replicas'],
    ['gateway', 'gateways'],
    ['clients', 'clients'],
  ] as const) {
    if (Object.keys(cpu).some((k) => k.startsWith(prefix))) totals[name] = sumCpu(cpu, prefix);
  }
  totals.all = round2(Object.values(cpu).reduce((n, v) => n + v, 0));
  return totals;
}

/** Per-run figures divided by a CPU share, as a median: "how much per core". */
function perCore(
  runs: ReadonlyArray<{ rate: number; cpu: Record<string, number> }>,
  share: (cpu: Record<string, number>) => number,
): number {
  return Math.round(median(runs.map((r) => r.rate / share(r.cpu))));
}

function disturbedBy(runs: ReadonlyArray<{ cpu: Record<string, number> }>): boolean {
  return runs.some((r) => (r.cpu.other ?? 0) > DISTURBED_CORES);
}

interface Side<Run> {
  single: Run[];
  cluster: Run[];
}

// ——— Ingest ———

interface IngestRun {
  rate: number;
  requestsPerSecond: number;
  statuses: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  cpu: Record<string, number>;
  totals: Record<string, number>;
}

async function ingestPart(ctx: BenchContext, cluster: BenchCluster, redis: BenchRedis, rows: Row[], details: Record<string, unknown>) {
  const durationMs = ctx.quick ? 1500 : 2500;
  const tenants = await tenantsOnEveryShard(cluster, 'ingest-', 4);
  const token = await mintToken({ sub: 'bench', scope: 'publish', tenants }, BENCH_SECRET);
  const shapes = [
    {
      id: 'cluster.ingest.batch',
      label: 'batch',
      batch: 100,
      connections: 8,
      measure: `cluster (${MASTERS} shards, 1 relay): ingest, batches of 100, ${tenants.length} tenants (events/s)`,
    },
    {
      id: 'cluster.ingest.single',
      label: 'single',
      batch: 1,
      connections: 32,
      measure: `cluster (${MASTERS} shards, 1 relay): ingest, single-event requests, ${tenants.length} tenants (events/s)`,
    },
  ].filter((s) => ctx.cases === undefined || ctx.cases.some((part) => s.id.includes(part)));
  if (shapes.length === 0) return;
  const [single, onCluster] = await Promise.all([
    startServer('relay', redis.url, { label: 'cluster-ingest-relay-single', profile: ctx.profile }),
    startServer('relay', cluster.url, { label: 'cluster-ingest-relay-cluster', profile: ctx.profile, env: clusterEnv(cluster) }),
  ]);
  const load = await Worker.start('http-load', 'bench/load/http-load.ts');
  try {
    const relays = { single, cluster: onCluster };
    const pids = {
      single: { relay: single.pid, redis: redis.pid, load: load.pid },
      cluster: { relay: onCluster.pid, load: load.pid, ...clusterPids(cluster) },
    };
    for (const shape of shapes) {
      const params = (side: 'single' | 'cluster', run: string, ms: number): HttpLoadParams => ({
        port: relays[side].port,
        token,
        tenant: tenants[0]!,
        tenants,
        batch: shape.batch,
        connections: shape.connections,
        durationMs: ms,
        run,
      });
      const runs: Side<IngestRun> = { single: [], cluster: [] };
      for (const side of ['single', 'cluster'] as const) {
        ctx.log(`ingest ${shape.label} ${side}: warm-up`);
        await load.call<HttpLoadResult>('run', params(side, `${shape.label}-warm`, Math.min(1000, durationMs)), 60_000);
      }
      for (let i = 0; i < ctx.runs; i++) {
        for (const side of ['single', 'cluster'] as const) {
          const { value, cpu } = await withCpu(pids[side], () =>
            load.call<HttpLoadResult>('run', params(side, `${shape.label}-${i}`, durationMs), 60_000),
          );
          const run: IngestRun = {
            rate: (value.events / value.elapsedMs) * 1000,
            requestsPerSecond: (value.requests / value.elapsedMs) * 1000,
            statuses: value.statuses,
            p50Ms: value.p50Ms,
            p99Ms: value.p99Ms,
            cpu,
            totals: cpuTotals(cpu),
          };
          runs[side].push(run);
          ctx.log(
            `ingest ${shape.label} ${side}: run ${i + 1}/${ctx.runs}: ${fmtRate(run.rate)} events, cpu ${JSON.stringify(cpu)}, statuses ${JSON.stringify(value.statuses)}`,
          );
        }
      }
      const rate = { single: median(runs.single.map((r) => r.rate)), cluster: median(runs.cluster.map((r) => r.rate)) };
      const capacity = {
        relayEventsPerCore: { single: perCore(runs.single, (c) => c.relay!), cluster: perCore(runs.cluster, (c) => c.relay!) },
        /** Events/s per core of Redis: the single server's, and the masters' together (each event goes to one master). */
        redisEventsPerCore: { single: perCore(runs.single, (c) => c.redis!), cluster: perCore(runs.cluster, (c) => sumCpu(c, 'master')) },
        /** Replica CPU per master CPU: what replication adds to a shard. */
        replicaPerMasterCpu: round2(median(runs.cluster.map((r) => sumCpu(r.cpu, 'replica') / sumCpu(r.cpu, 'master')))),
        /** This run's rate on each shard (the tenants are spread evenly). */
        eventsPerShard: Math.round(rate.cluster / MASTERS),
      };
      ctx.log(`ingest ${shape.label}: cluster ${fmtRate(rate.cluster)}, single ${fmtRate(rate.single)}; ${JSON.stringify(capacity)}`);
      details[shape.id] = {
        tenants,
        spread: await spread(cluster, tenants),
        batch: shape.batch,
        connections: shape.connections,
        durationMs,
        eventsPerSecond: rate,
        capacity,
        runs,
      };
      rows.push({
        id: shape.id,
        measure: shape.measure,
        unit: 'rate',
        tenantcast: rate.cluster,
        ceiling: rate.single,
        ceilingName: SINGLE,
        ceilingRatio: rate.cluster / rate.single,
        disturbed: disturbedBy([...runs.single, ...runs.cluster]),
      });
    }
  } finally {
    await load.stop();
    await Promise.all([single.stop(), onCluster.stop()]);
  }
}

// ——— Fan-out ———

/** Gateways on one Redis or on the cluster, with the publisher that feeds them. */
interface Deployment {
  side: 'single' | 'cluster';
  gateways: ServerProcess[];
  publisher: Worker;
  /** Gateways, publisher and redis-servers, for CPU accounting. */
  pids: Record<string, number>;
  stop(): Promise<void>;
}

async function startDeployment(
  ctx: BenchContext,
  side: 'single' | 'cluster',
  redisUrl: string,
  gateways: number,
  redisPids: Record<string, number>,
  cluster?: BenchCluster,
): Promise<Deployment> {
  const env = { GATEWAY_MAX_CONNECTIONS_PER_TENANT: '50000', ...(cluster ? clusterEnv(cluster) : {}) };
  const servers = await Promise.all(
    Array.from({ length: gateways }, (_, i) =>
      startServer('gateway', redisUrl, { label: `cluster-fanout-gateway-${side}-${i + 1}`, profile: ctx.profile, env }),
    ),
  );
  const publisher = await Worker.start(`publisher-${side}`, 'bench/load/publisher.ts', {
    args: ['tenantcast', redisUrl, KEY_PREFIX, ...(cluster ? [cluster.nodes.join(',')] : [])],
  });
  const pids: Record<string, number> = { publisher: publisher.pid, ...redisPids };
  servers.forEach((g, i) => {
    pids[`gateway${i + 1}`] = g.pid;
  });
  return {
    side,
    gateways: servers,
    publisher,
    pids,
    async stop() {
      await publisher.stop();
      await Promise.all(servers.map((g) => g.stop()));
    },
  };
}

interface FanoutRun {
  rate: number;
  received: number;
  expected: number;
  elapsedMs: number;
  publishMs: number;
  cpu: Record<string, number>;
  totals: Record<string, number>;
}

interface FanoutCase {
  id: string;
  measure: string;
  tenants: string[];
  clientsPerTenant: number;
  eventsPerTenant: number;
  /** The publisher's writes in flight (10 events each). */
  inFlight: number;
}

/** Opens the clients of a case on a deployment: the clients of each tenant alternate between its gateways. */
async function connectClients(ctx: BenchContext, d: Deployment, c: FanoutCase) {
  const token = await mintToken({ sub: 'bench', scope: 'subscribe', tenants: ['*'] }, BENCH_SECRET);
  const bases = d.gateways.map((g) => g.url.replace(/^http/, 'ws'));
  const urls: string[] = [];
  for (let k = 0; k < c.clientsPerTenant; k++) {
    const base = bases[k % bases.length]!;
    for (const tenant of c.tenants) urls.push(`${base}/v1/tenants/${tenant}/events?token=${token}`);
  }
  const rssBefore = d.gateways.map((g) => g.rss());
  const pool = await ClientPool.start(2);
  ctx.log(`${c.id} ${d.side}: connecting ${fmtCount(urls.length)} clients to ${d.gateways.length} gateway(s)`);
  const connect = await pool.connect(urls, { protocol: 'tenantcast', concurrency: 50, timeoutMs: 30_000 });
  ctx.log(
    `${c.id} ${d.side}: ${fmtCount(connect.connected)} connected in ${(connect.ms / 1000).toFixed(1)} s${
      connect.failed ? `, ${connect.failed} failed: ${JSON.stringify(connect.errors)}` : ''
    }`,
  );
  if (connect.connected === 0) {
    await pool.stop();
    throw new Error(`${c.id} ${d.side}: no client connected: ${JSON.stringify(connect.errors)}`);
  }
  const rssAfter = d.gateways.map((g) => g.rss());
  ctx.log(`${c.id} ${d.side}: gateway RSS ${rssBefore.map(fmtBytes).join(', ')} → ${rssAfter.map(fmtBytes).join(', ')} (just connected)`);
  return { pool, connect, rss: { before: rssBefore, connected: rssAfter } };
}

async function burst(
  ctx: BenchContext,
  d: Deployment,
  pool: ClientPool,
  connected: number,
  c: FanoutCase,
  label: string,
  perTenant: number,
) {
  await pool.arm(perTenant);
  const expected = perTenant * connected;
  const pids: Record<string, number> = { ...d.pids };
  pool.workers.forEach((w, i) => {
    pids[`clients${i}`] = w.pid;
  });
  const params: PublishParams = { tenants: c.tenants, perTenant, batch: 10, inFlight: c.inFlight, run: `${c.id}-${label}` };
  const { value, cpu } = await withCpu(pids, async () => {
    const published = await d.publisher.call<PublishResult>('publish', params, 300_000);
    const got = await pool.wait(ctx.quick ? 60_000 : 120_000);
    return { published, got };
  });
  const { published, got } = value;
  const elapsedMs = got.received > 0 ? got.lastAt - published.startAt : Number.NaN;
  if (got.timedOut)
    ctx.log(
      `${c.id} ${d.side}: ${label}: only ${fmtCount(got.received)} of ${fmtCount(expected)} messages arrived (${got.closed} clients closed)`,
    );
  const run: FanoutRun = {
    rate: (got.received / elapsedMs) * 1000,
    received: got.received,
    expected,
    elapsedMs,
    publishMs: published.endAt - published.startAt,
    cpu,
    totals: cpuTotals(cpu),
  };
  return run;
}

async function fanoutPart(ctx: BenchContext, cluster: BenchCluster, redis: BenchRedis, rows: Row[], details: Record<string, unknown>) {
  const many = Array.from({ length: 100 }, (_, i) => `fan-${i}`);
  const cases: FanoutCase[] = [
    {
      id: 'cluster.fanout.one-tenant-2000',
      measure: `cluster (${MASTERS} shards, ${GATEWAYS} gateways): fan-out, one tenant, 2,000 clients (msgs/s)`,
      tenants: ['fan-one'],
      clientsPerTenant: 2000,
      eventsPerTenant: ctx.quick ? 300 : 600,
      inFlight: 4,
    },
    {
      id: 'cluster.fanout.tenants-100x10',
      measure: `cluster (${MASTERS} shards, ${GATEWAYS} gateways): fan-out, 100 tenants × 10 clients (msgs/s)`,
      tenants: many,
      clientsPerTenant: 10,
      eventsPerTenant: ctx.quick ? 150 : 300,
      // With 4 writes in flight the publisher, not the gateways, bounds this case (on the cluster most of all).
      inFlight: 16,
    },
  ].filter((c) => ctx.cases === undefined || ctx.cases.some((part) => c.id.includes(part)));
  if (cases.length === 0) return;
  ctx.log(`fan-out: starting 1 gateway on one redis-server and ${GATEWAYS} on the cluster`);
  const deployments = await Promise.all([
    startDeployment(ctx, 'single', redis.url, 1, { redis: redis.pid }),
    startDeployment(ctx, 'cluster', cluster.url, GATEWAYS, clusterPids(cluster), cluster),
  ]);
  try {
    for (const c of cases) {
      const opened: Array<Awaited<ReturnType<typeof connectClients>>> = [];
      try {
        for (const d of deployments) opened.push(await connectClients(ctx, d, c));
        for (const [j, d] of deployments.entries()) {
          ctx.log(`${c.id} ${d.side}: warm-up`);
          await burst(ctx, d, opened[j]!.pool, opened[j]!.connect.connected, c, 'warm', Math.max(10, Math.round(c.eventsPerTenant / 4)));
        }
        const runs: Side<FanoutRun> = { single: [], cluster: [] };
        for (let i = 0; i < ctx.runs; i++) {
          for (const [j, d] of deployments.entries()) {
            const run = await burst(ctx, d, opened[j]!.pool, opened[j]!.connect.connected, c, `run${i}`, c.eventsPerTenant);
            runs[d.side].push(run);
            ctx.log(
              `${c.id} ${d.side}: run ${i + 1}/${ctx.runs}: ${fmtRate(run.rate)} (${fmtCount(run.received)} msgs in ${run.elapsedMs.toFixed(0)} ms; cpu ${JSON.stringify(run.cpu)})`,
            );
          }
        }
        const rate = { single: median(runs.single.map((r) => r.rate)), cluster: median(runs.cluster.map((r) => r.rate)) };
        const capacity = {
          /** Delivered msgs/s per core of gateway (all gateways' CPU together). */
          gatewayMsgsPerCore: {
            single: perCore(runs.single, (cpu) => sumCpu(cpu, 'gateway')),
            cluster: perCore(runs.cluster, (cpu) => sumCpu(cpu, 'gateway')),
          },
          /** Redis CPU per delivered message is tiny: events are read once per gateway, not per client. */
          redisCores: {
            single: round2(median(runs.single.map((r) => r.cpu.redis!))),
            clusterMasters: round2(median(runs.cluster.map((r) => sumCpu(r.cpu, 'master')))),
            clusterReplicas: round2(median(runs.cluster.map((r) => sumCpu(r.cpu, 'replica')))),
          },
        };
        ctx.log(`${c.id}: cluster ${fmtRate(rate.cluster)}, single ${fmtRate(rate.single)}; ${JSON.stringify(capacity)}`);
        details[c.id] = {
          tenants: c.tenants.length,
          spread: await spread(cluster, c.tenants),
          clientsPerTenant: c.clientsPerTenant,
          eventsPerTenant: c.eventsPerTenant,
          connect: Object.fromEntries(deployments.map((d, j) => [d.side, opened[j]!.connect])),
          gatewayRss: Object.fromEntries(deployments.map((d, j) => [d.side, opened[j]!.rss])),
          msgsPerSecond: rate,
          capacity,
          runs,
        };
        rows.push({
          id: c.id,
          measure: c.measure,
          unit: 'rate',
          tenantcast: rate.cluster,
          ceiling: rate.single,
          ceilingName: `1 gateway, ${SINGLE}`,
          ceilingRatio: rate.cluster / rate.single,
          disturbed: disturbedBy([...runs.single, ...runs.cluster]),
        });
      } finally {
        await Promise.all(opened.map((o) => o.pool.stop()));
      }
    }
  } finally {
    await Promise.all(deployments.map((d) => d.stop()));
  }
}

/**
 * The figures to size a deployment with, from this run's cluster side: delivered msgs/s per gateway
 * core, events/s per relay core, events/s per master core and what the replicas add, and the RSS
 * per idle connection if the fan-out scenario measured it in the same invocation (else see the
 * memory row of BENCHMARKS.md).
 */
function capacitySummary(details: Record<string, unknown>): Record<string, unknown> {
  type Part = { capacity: Record<string, any> };
  const part = (id: string) => details[id] as Part | undefined;
  const memory = memoryMeasurements.get('tenantcast');
  return {
    gatewayMsgsPerCoreOneTenant: part('cluster.fanout.one-tenant-2000')?.capacity.gatewayMsgsPerCore.cluster ?? null,
    gatewayMsgsPerCore100x10: part('cluster.fanout.tenants-100x10')?.capacity.gatewayMsgsPerCore.cluster ?? null,
    relayEventsPerCoreBatched: part('cluster.ingest.batch')?.capacity.relayEventsPerCore.cluster ?? null,
    relayEventsPerCoreSingle: part('cluster.ingest.single')?.capacity.relayEventsPerCore.cluster ?? null,
    masterEventsPerCoreBatched: part('cluster.ingest.batch')?.capacity.redisEventsPerCore.cluster ?? null,
    replicaPerMasterCpuBatched: part('cluster.ingest.batch')?.capacity.replicaPerMasterCpu ?? null,
    eventsPerShardBatched: part('cluster.ingest.batch')?.capacity.eventsPerShard ?? null,
    rssPerIdleConnection: memory ? Math.round(memory.perConnection) : null,
  };
}

export const cluster: Scenario = {
  id: 'cluster',
  title: `Redis Cluster: ingest and fan-out on ${MASTERS} masters + ${MASTERS} replicas (${GATEWAYS} gateways) vs one redis-server`,
  async run(ctx) {
    const rows: Row[] = [];
    const details: Record<string, unknown> = {};
    ctx.log(`starting a Redis Cluster of ${MASTERS} masters and ${MASTERS} replicas`);
    const [benchCluster, redis] = await Promise.all([startBenchCluster(), startRedis()]);
    try {
      details.cluster = { nodes: benchCluster.members };
      ctx.log(`cluster up: ${benchCluster.members.map((m) => `${m.name} ${m.address}`).join(', ')}`);
      await ingestPart(ctx, benchCluster, redis, rows, details);
      await fanoutPart(ctx, benchCluster, redis, rows, details);
      details.capacity = capacitySummary(details);
      ctx.log(`capacity: ${JSON.stringify(details.capacity)}`);
    } finally {
      await Promise.all([benchCluster.stop(), redis.stop()]);
    }
    return { rows, details };
  },
};
