import { type RedisCluster, startRedisCluster } from './redis-cluster.ts';
import { type RedisServer, type RedisServerOptions, startRedisServer } from './redis-server.ts';

/** Where apps under test find Redis: the two config options every app reads. */
export interface RedisConnection {
  redisUrl: string;
  /** Seed nodes when it is a cluster; empty for one server. */
  redisClusterNodes: string[];
}

/** A Redis of a test's own, one server or a cluster, to hand to startRelay and startGateway. */
export interface TestRedis extends RedisConnection {
  readonly kind: 'single' | 'cluster';
  /** The server, when `kind` is single. */
  readonly server?: RedisServer;
  /** The cluster, when `kind` is cluster. */
  readonly cluster?: RedisCluster;
  stop(): Promise<void>;
}

/** Which Redis `startTestRedis` starts: `cluster` when TENANTCAST_TEST_REDIS=cluster (as `pnpm test:cluster` sets), else one server. */
export function testRedisKind(): 'single' | 'cluster' {
  return process.env.TENANTCAST_TEST_REDIS === 'cluster' ? 'cluster' : 'single';
}

/** Which Redis `startTestRedis` starts, and how a single server persists. */
export interface TestRedisOptions extends RedisServerOptions {
  /** Default `testRedisKind()`. */
  kind?: 'single' | 'cluster';
}

/**
 * Starts the Redis a suite runs against: one redis-server by default, or a local 3-master,
 * 3-replica cluster under `pnpm test:cluster`, so that the same suite checks both.
 */
export async function startTestRedis(options: TestRedisOptions = {}): Promise<TestRedis> {
  const { kind = testRedisKind(), ...serverOptions } = options;
  if (kind === 'cluster') {
    const cluster = await startRedisCluster();
    return { kind, cluster, redisUrl: `redis://${cluster.nodes[0]}`, redisClusterNodes: cluster.nodes, stop: () => cluster.stop() };
  }
  const server = await startRedisServer(serverOptions);
  return { kind, server, redisUrl: server.url, redisClusterNodes: [], stop: () => server.stop() };
}

/** A Redis URL or a connection (a TestRedis fits), as the apps' test fixtures take it. */
export function toConnection(redis: string | RedisConnection): RedisConnection {
  return typeof redis === 'string'
    ? { redisUrl: redis, redisClusterNodes: [] }
    : { redisUrl: redis.redisUrl, redisClusterNodes: redis.redisClusterNodes };
}
