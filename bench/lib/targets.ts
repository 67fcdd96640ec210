import { mintToken } from '@tenantcast/sdk/tokens';
import type { PublishParams, PublishResult } from '../load/publisher.ts';
import type { OpenLoopParams, OpenLoopResult } from './open-loop.ts';
import { readCpuMs } from './proc-stats.ts';
import { Worker } from './rpc.ts';
import { BENCH_SECRET, KEY_PREFIX, type ServerProcess, startServer } from './servers.ts';

/** A fan-out server under test, with the publisher that feeds it. */
export interface FanoutTarget {
  kind: TargetKind;
  /** What the load processes speak to it. */
  protocol: 'tenantcast' | 'socketio' | 'raw' | 'sse';
  /** Socket.IO's auth token. */
  token?: string;
  /** The process that holds the clients. */
  pid: number;
  /** Other processes of the target (publisher, second node), by name, for CPU accounting. */
  helperPids: Record<string, number>;
  url(tenant: string): string;
  publish(params: PublishParams): Promise<PublishResult>;
  /** The peer only: events at a steady rate, open loop (the latency scenario). */
  publishAtRate?(params: OpenLoopParams): Promise<OpenLoopResult>;
  /** Resolves once the server is subscribed to every tenant it has clients of. */
  settle(): Promise<void>;
  rss(): number;
  cpuMs(): number;
  stop(): Promise<void>;
}

export type TargetKind = 'tenantcast' | 'socketio' | 'ws' | 'tenantcast-baseline' | 'tenantcast-sse';

export const TARGET_NAMES: Record<TargetKind, string> = {
  tenantcast: 'tenantcast gateway',
  socketio: 'Socket.IO + redis-streams-adapter',
  ws: 'bare ws (prebuilt frame)',
  'tenantcast-baseline': 'tenantcast gateway of the --baseline checkout',
  'tenantcast-sse': 'tenantcast gateway, Server-Sent Events',
};

export interface TargetOptions {
  label: string;
  profile: boolean;
  /** More node flags for the server under test. */
  nodeFlags?: string[];
  /** The checkout whose gateway `tenantcast-baseline` runs. */
  baseline?: string;
}

export async function startTarget(kind: TargetKind, redisUrl: string, options: TargetOptions): Promise<FanoutTarget> {
  if (kind === 'tenantcast' || kind === 'tenantcast-baseline' || kind === 'tenantcast-sse') {
    if (kind === 'tenantcast-baseline' && options.baseline === undefined) throw new Error('tenantcast-baseline needs --baseline <dir>');
    const gateway: ServerProcess = await startServer('gateway', redisUrl, {
      label: options.label,
      profile: options.profile,
      ...(kind === 'tenantcast-baseline' ? { root: options.baseline! } : {}),
      ...(options.nodeFlags ? { nodeFlags: options.nodeFlags } : {}),
      env: { GATEWAY_MAX_CONNECTIONS_PER_TENANT: '50000' },
    });
    const publisher = await Worker.start('publisher', 'bench/load/publisher.ts', { args: ['tenantcast', redisUrl, KEY_PREFIX] });
    const token = await mintToken({ sub: 'bench', scope: 'subscribe', tenants: ['*'] }, BENCH_SECRET);
    const ws = gateway.url.replace(/^http/, 'ws');
    return {
      kind,
      protocol: kind === 'tenantcast-sse' ? 'sse' : 'tenantcast',
      pid: gateway.pid,
      helperPids: { publisher: publisher.pid },
      url: (tenant) => `${kind === 'tenantcast-sse' ? gateway.url : ws}/v1/tenants/${tenant}/events?token=${token}`,
      publish: (params) => publisher.call<PublishResult>('publish', params, 300_000),
      settle: async () => {},
      rss: () => gateway.rss(),
      cpuMs: () => gateway.cpuMs(),
      async stop() {
        await publisher.stop();
        await gateway.stop();
      },
    };
  }
  const profileFlags = [
    ...(options.nodeFlags ?? []),
    ...(options.profile ? ['--cpu-prof', '--cpu-prof-dir', `bench/results/profiles/${options.label}`] : []),
  ];
  if (kind === 'socketio') {
    const nodeA = await Worker.start('socketio-server', 'bench/peers/socketio-server.ts', {
      args: [redisUrl, BENCH_SECRET],
      nodeFlags: profileFlags,
    });
    const nodeB = await Worker.start('socketio-emitter', 'bench/peers/socketio-emitter.ts', { args: [redisUrl] });
    const token = await mintToken({ sub: 'bench', scope: 'subscribe', tenants: ['*'] }, BENCH_SECRET);
    const port = (nodeA.info as { port: number }).port;
    return {
      kind,
      protocol: 'socketio',
      token,
      pid: nodeA.pid,
      helperPids: { publisher: nodeB.pid },
      url: (tenant) => `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket&tenant=${tenant}`,
      publish: (params) => nodeB.call<PublishResult>('publish', params, 300_000),
      publishAtRate: (params) => nodeB.call<OpenLoopResult>('publishAtRate', params, params.durationMs + 60_000),
      settle: async () => {},
      rss: () => nodeA.rss(),
      cpuMs: () => readCpuMs(nodeA.pid),
      async stop() {
        await nodeB.stop();
        await nodeA.stop();
      },
    };
  }
  const server = await Worker.start('ws-ceiling', 'bench/peers/ws-ceiling.ts', { args: [redisUrl, KEY_PREFIX], nodeFlags: profileFlags });
  const publisher = await Worker.start('publisher', 'bench/load/publisher.ts', { args: ['redis', redisUrl, KEY_PREFIX] });
  const port = (server.info as { port: number }).port;
  return {
    kind,
    protocol: 'raw',
    pid: server.pid,
    helperPids: { publisher: publisher.pid },
    url: (tenant) => `ws://127.0.0.1:${port}/?tenant=${tenant}`,
    publish: (params) => publisher.call<PublishResult>('publish', params, 300_000),
    settle: async () => {
      await server.call('settle');
    },
    rss: () => server.rss(),
    cpuMs: () => readCpuMs(server.pid),
    async stop() {
      await publisher.stop();
      await server.stop();
    },
  };
}
