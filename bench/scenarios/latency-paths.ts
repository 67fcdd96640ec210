/**
 * The processes of the latency scenario and the way each publisher path is measured: the relay and
 * the gateway (and the --baseline checkout's), the Socket.IO peer's two nodes, the publishers, and
 * a pool of clients per server. Servers and publishers live for the whole scenario; clients for a shape.
 */
import { join } from 'node:path';
import { mintToken } from '@tenantcast/sdk/tokens';
import { ClientPool } from '../lib/clients.ts';
import { fmtCount } from '../lib/format.ts';
import type { OpenLoopResult } from '../lib/open-loop.ts';
import { RESULTS_DIR } from '../lib/paths.ts';
import type { BenchRedis } from '../lib/redis.ts';
import { Worker } from '../lib/rpc.ts';
import { BENCH_SECRET, KEY_PREFIX, type ServerProcess, startServer } from '../lib/servers.ts';
import { type Percentiles, percentiles } from '../lib/stats.ts';
import { type FanoutTarget, startTarget } from '../lib/targets.ts';
import { type BenchContext, withCpu } from '../lib/types.ts';
import type { LatencyPublishParams } from '../load/latency-publisher.ts';
import type { PublishResult } from '../load/publisher.ts';
import type { SdkPublishParams } from '../load/sdk-publisher.ts';
import type { Shape } from './latency.ts';

export type Path = 'post' | 'sdk' | 'sdk-node' | 'store' | 'socketio' | 'post-baseline' | 'sdk-baseline';

export interface PathRun {
  latency: Percentiles;
  /** Publisher-side hops, due time first (ms): sent, answered (202 / promise), notified (`--hops`). */
  hops: Record<string, Percentiles>;
  received: number;
  expected: number;
  cpu: Record<string, number>;
  statuses?: Record<string, number>;
}

interface Stack {
  relay: ServerProcess;
  gateway: ServerProcess;
  post: Worker;
  sdk: Worker;
  pool?: ClientPool;
}

export class LatencyRig {
  readonly #ctx: BenchContext;
  readonly #redis: BenchRedis;
  #stack: Stack | undefined;
  #baseline: Stack | undefined;
  #store: Worker | undefined;
  #peer: FanoutTarget | undefined;
  #peerPool: ClientPool | undefined;
  #tenants: string[] = [];
  #publishToken = '';
  #subscribeToken = '';

  private constructor(ctx: BenchContext, redis: BenchRedis) {
    this.#ctx = ctx;
    this.#redis = redis;
  }

  static async start(ctx: BenchContext, redis: BenchRedis, paths: Path[]): Promise<LatencyRig> {
    const rig = new LatencyRig(ctx, redis);
    rig.#publishToken = await mintToken({ sub: 'bench', scope: 'publish', tenants: ['*'] }, BENCH_SECRET);
    rig.#subscribeToken = await mintToken({ sub: 'bench', scope: 'subscribe', tenants: ['*'] }, BENCH_SECRET);
    if (paths.some((p) => p === 'post' || p === 'sdk' || p === 'sdk-node' || p === 'store')) rig.#stack = await rig.#startStack(undefined);
    if (paths.some((p) => p.endsWith('-baseline'))) rig.#baseline = await rig.#startStack(ctx.baseline!);
    if (paths.includes('store'))
      rig.#store = await Worker.start('publisher', 'bench/load/publisher.ts', { args: ['tenantcast', redis.url, KEY_PREFIX] });
    if (paths.includes('socketio'))
      rig.#peer = await startTarget('socketio', redis.url, { label: 'latency-socketio', profile: ctx.profile });
    return rig;
  }

  async #startStack(root: string | undefined): Promise<Stack> {
    const which = root === undefined ? '' : '-baseline';
    const options = (label: string) => ({ label, profile: this.#ctx.profile, ...(root ? { root } : {}) });
    const relay = await startServer('relay', this.#redis.url, options(`latency-relay${which}`));
    const gateway = await startServer('gateway', this.#redis.url, options(`latency-gateway${which}`));
    const args = [this.#redis.url, KEY_PREFIX];
    // --profile profiles the publishers too: the SDK's own cost is part of what a user meets.
    const profiled = (label: string) =>
      this.#ctx.profile ? ['--cpu-prof', '--cpu-prof-dir', join(RESULTS_DIR, 'profiles', `${label}${which}`)] : [];
    const post = await Worker.start(`latency-publisher${which}`, 'bench/load/latency-publisher.ts', {
      args,
      nodeFlags: profiled('latency-publisher'),
    });
    const sdkModule = root === undefined ? [] : [join(root, 'packages/sdk/dist/index.js')];
    const sdk = await Worker.start(`sdk-publisher${which}`, 'bench/load/sdk-publisher.ts', {
      args: [...args, ...sdkModule],
      nodeFlags: profiled('sdk-publisher'),
    });
    return { relay, gateway, post, sdk };
  }

  /** Connects the clients of a shape to every server measured. */
  async connect(shape: Shape): Promise<void> {
    this.#tenants = Array.from({ length: shape.tenants }, (_, i) => `lat${shape.id}-${i}`);
    const urls = (base: string) => {
      const list: string[] = [];
      for (let k = 0; k < shape.perTenant; k++) for (const t of this.#tenants) list.push(base.replace('TENANT', t));
      return list;
    };
    const open = async (name: string, protocol: 'tenantcast' | 'socketio', list: string[], token?: string) => {
      const pool = await ClientPool.start(2);
      this.#ctx.log(`latency ${shape.id}: connecting ${fmtCount(list.length)} ${name} clients`);
      const r = await pool.connect(list, { protocol, concurrency: 50, timeoutMs: 30_000, ...(token ? { token } : {}) });
      if (r.failed > 0) this.#ctx.log(`latency ${shape.id}: ${r.failed} ${name} clients failed: ${JSON.stringify(r.errors)}`);
      return pool;
    };
    for (const stack of [this.#stack, this.#baseline]) {
      if (stack === undefined) continue;
      const ws = stack.gateway.url.replace(/^http/, 'ws');
      stack.pool = await open(
        stack === this.#baseline ? 'baseline gateway' : 'gateway',
        'tenantcast',
        urls(`${ws}/v1/tenants/TENANT/events?token=${this.#subscribeToken}`),
      );
    }
    if (this.#peer !== undefined) {
      this.#peerPool = await open('Socket.IO', 'socketio', urls(this.#peer.url('TENANT')), this.#peer.token);
      await this.#peer.settle();
    }
  }

  async disconnect(): Promise<void> {
    for (const pool of [this.#stack?.pool, this.#baseline?.pool, this.#peerPool]) await pool?.stop();
    if (this.#stack) this.#stack.pool = undefined;
    if (this.#baseline) this.#baseline.pool = undefined;
    this.#peerPool = undefined;
  }

  /** One open-loop run of `ms` at `rate` events/s over the shape's tenants, through `path`. */
  async measure(path: Path, shape: Shape, rate: number, label: string, ms: number): Promise<PathRun> {
    const stack = path.endsWith('-baseline') ? this.#baseline! : this.#stack;
    const pool = path === 'socketio' ? this.#peerPool! : stack!.pool!;
    const total = Math.round((rate * ms) / 1000);
    await pool.arm(total / shape.tenants, total * shape.perTenant);
    const pids: Record<string, number> = { redis: this.#redis.pid };
    if (path === 'socketio') {
      pids.server = this.#peer!.pid;
      pids.publisher = this.#peer!.helperPids.publisher!;
    } else {
      pids.relay = stack!.relay.pid;
      pids.gateway = stack!.gateway.pid;
      pids.publisher = path === 'store' ? this.#store!.pid : path.startsWith('sdk') ? stack!.sdk.pid : stack!.post.pid;
    }
    pool.workers.forEach((w, i) => {
      pids[`clients${i}`] = w.pid;
    });
    const open = { tenants: this.#tenants, eventsPerSecond: rate, durationMs: ms, run: label };
    const hops = this.#ctx.hops === true;
    const { value, cpu } = await withCpu(pids, async () => {
      let published: OpenLoopResult | PublishResult;
      if (path === 'socketio') published = await this.#peer!.publishAtRate!(open);
      else if (path === 'store')
        published = await this.#store!.call<PublishResult>(
          'publish',
          {
            tenants: this.#tenants,
            perTenant: total / shape.tenants,
            batch: 1,
            inFlight: 1,
            run: label,
            stamp: true,
            writesPerSecond: rate,
          },
          ms + 60_000,
        );
      else if (path.startsWith('sdk'))
        published = await stack!.sdk.call<OpenLoopResult>(
          'publish',
          {
            ...open,
            url: stack!.relay.url,
            token: this.#publishToken,
            hops,
            transport: path === 'sdk-node' ? 'node' : 'fetch',
          } satisfies SdkPublishParams,
          ms + 60_000,
        );
      else
        published = await stack!.post.call<OpenLoopResult>(
          'publish',
          { ...open, port: stack!.relay.port, token: this.#publishToken, connections: 64, hops } satisfies LatencyPublishParams,
          ms + 60_000,
        );
      const got = await pool.wait(30_000);
      return { published, got };
    });
    const published = value.published as Partial<OpenLoopResult>;
    const hopStats: Record<string, Percentiles> = {};
    for (const name of ['sendLag', 'answer', 'notified'] as const) {
      const samples = published[name];
      if (samples !== undefined && samples.length > 0) hopStats[name] = percentiles([samples]);
    }
    return {
      latency: percentiles(value.got.latencies),
      hops: hopStats,
      received: value.got.received,
      expected: total * shape.perTenant,
      cpu,
      ...(published.statuses ? { statuses: published.statuses } : {}),
    };
  }

  async stop(): Promise<void> {
    await this.disconnect();
    for (const stack of [this.#stack, this.#baseline]) {
      if (stack === undefined) continue;
      await stack.post.stop();
      await stack.sdk.stop();
      await stack.gateway.stop();
      await stack.relay.stop();
    }
    await this.#store?.stop();
    await this.#peer?.stop();
  }
}
