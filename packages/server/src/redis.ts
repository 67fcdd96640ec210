import { Cluster, type ClusterNode, Redis, type RedisOptions } from 'ioredis';

/** A connection to Redis: one server, or a Redis Cluster (whose client follows MOVED, ASK and failovers). */
export type RedisClient = Redis | Cluster;

/** Where Redis is: a URL, or the seed nodes of a Redis Cluster (then the URL is ignored). */
export interface RedisTarget {
  /** `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
  url: string;
  /** `host:port` (or `redis://user:password@host:port`) of some cluster nodes; empty for one server. */
  clusterNodes: readonly string[];
}

/** The part of a logger the Redis connection uses. */
export interface RedisLogger {
  warn(object: object, message: string): void;
  info(message: string): void;
}

/** How a connection behaves; each default suits request handling (fail fast, no resends). */
export interface RedisClientOptions {
  lazyConnect?: boolean;
  /** Queue commands while disconnected instead of failing them at once. Default false. */
  enableOfflineQueue?: boolean;
  /** Retries of a command whose connection dropped; null retries for ever (BullMQ workers). Default 1. */
  maxRetriesPerRequest?: number | null;
  /** A command not answered within this many ms fails; undefined for blocking commands. Default 5,000. */
  commandTimeout?: number | undefined;
  /** A connection for SSUBSCRIBE in cluster mode (ioredis's sharded subscribers, one per master). */
  shardedSubscriber?: boolean;
}

const STOP_RECONNECTING = Symbol('tenantcast.stopReconnecting');
type Reconnectable = RedisClient & { [STOP_RECONNECTING]?: () => void };

/** Whether the target is a Redis Cluster. */
export function isCluster(target: RedisTarget): boolean {
  return target.clusterNodes.length > 0;
}

/**
 * A Redis connection for a server's requests. By default it fails fast while Redis is down (no
 * offline queue), so that callers answer 503 with Retry-After instead of waiting, and ioredis
 * reconnects by itself. A command whose connection dropped is not resent behind the caller's back
 * (it fails, at the latest after its command timeout): the caller retries, and the relay's dedupe
 * makes that safe. Connections that retry for ever (`maxRetriesPerRequest: null`) resend instead.
 * Connection errors are logged once per outage.
 * On a cluster, the client learns the slot map from the seed nodes, follows MOVED and ASK, and
 * refreshes the map when a master fails over.
 */
export function createRedis(target: RedisTarget, logger: RedisLogger, options: RedisClientOptions = {}): RedisClient {
  const maxRetriesPerRequest = options.maxRetriesPerRequest === undefined ? 1 : options.maxRetriesPerRequest;
  // One switch for the client and every duplicate of it (BullMQ duplicates the worker's for its
  // blocking reads, and closes that one its own way): the retry strategies are shared functions,
  // so that once closeRedis() turns it off, no copy reconnects behind a closed app.
  const reconnect = { on: true };
  const backoff = (times: number) => (reconnect.on ? Math.min(100 * times, 2000) : null);
  const perConnection: RedisOptions = {
    retryStrategy: backoff,
    enableOfflineQueue: options.enableOfflineQueue ?? false,
    maxRetriesPerRequest,
    // Without resending, ioredis drops the commands that were in flight when the connection fell:
    // their promises never settle. A connection that fails commands after a retry has its command
    // timeout to settle them; one that retries for ever (BullMQ's) must resend them, or its caller
    // waits for ever (a worker took no job again after a failover).
    autoResendUnfulfilledCommands: maxRetriesPerRequest === null,
    commandTimeout: 'commandTimeout' in options ? options.commandTimeout : 5000,
  };
  const redis: RedisClient = isCluster(target)
    ? new Cluster(target.clusterNodes.map(clusterNode), {
        lazyConnect: options.lazyConnect ?? true,
        enableOfflineQueue: perConnection.enableOfflineQueue,
        // Writes and reads go to masters: a replica's copy may lag, and resume must not miss entries.
        scaleReads: 'master',
        shardedSubscribers: options.shardedSubscriber ?? false,
        // A failover takes the cluster a few seconds: keep refreshing the slot map meanwhile.
        retryDelayOnFailover: 200,
        retryDelayOnClusterDown: 300,
        retryDelayOnTryAgain: 100,
        maxRedirections: 16,
        clusterRetryStrategy: backoff,
        // A master that died and came back as a replica must be reachable again for its slots.
        clusterNodeRetryStrategy: backoff,
        redisOptions: { ...perConnection, ...credentials(target.clusterNodes[0]!) },
      })
    : new Redis(target.url, { lazyConnect: options.lazyConnect ?? true, ...perConnection });
  (redis as Reconnectable)[STOP_RECONNECTING] = () => {
    reconnect.on = false;
  };
  const where = describeRedis(target);
  let down = false;
  redis.on('error', (error) => {
    if (!down) logger.warn({ err: error, redis: where }, 'Redis connection error; retrying');
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.info('Redis connection is back');
    down = false;
  });
  return redis;
}

/** `host:port` or `redis://…@host:port` → ioredis's node address. */
function clusterNode(node: string): ClusterNode {
  if (node.includes('://')) {
    const u = new URL(node);
    return { host: u.hostname, port: Number(u.port || 6379) };
  }
  const at = node.lastIndexOf(':');
  return { host: node.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(node.slice(at + 1)) };
}

/** The credentials and TLS of a `redis://` or `rediss://` seed node, which every cluster node shares. */
function credentials(node: string): RedisOptions {
  if (!node.includes('://')) return {};
  const u = new URL(node);
  return {
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** A `host:port` or `redis://…` cluster seed node, checked: what the config accepts. */
export const CLUSTER_NODE_PATTERN = '^(?:rediss?://[^\\s]+|(?:\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+):\\d{1,5})$';

/** How long a server waits for Redis at boot before it serves anyway (answering 503 until Redis is up). */
export const REDIS_BOOT_WAIT_MS = 3000;

/** Connects, waiting up to `waitMs` for Redis; returns whether it is ready. Reconnection goes on regardless. */
export async function connectRedis(redis: RedisClient, waitMs = REDIS_BOOT_WAIT_MS): Promise<boolean> {
  const ready = new Promise<void>((resolve) => {
    if (redis.status === 'ready') return resolve();
    redis.once('ready', () => resolve());
  });
  if (redis.status === 'wait') {
    redis.connect().catch(() => {
      // The error listener logs it; ioredis keeps reconnecting.
    });
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([ready, new Promise((resolve) => (timer = setTimeout(resolve, waitMs)))]);
  clearTimeout(timer);
  return redis.status === 'ready';
}

/** A Redis URL (or cluster node) without its password, for logs. */
export function redactRedisUrl(url: string): string {
  if (!url.includes('://')) return url;
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.href;
  } catch {
    return '(unparseable Redis URL)';
  }
}

/** Where a target is, for logs, without passwords. */
export function describeRedis(target: RedisTarget): string {
  return isCluster(target) ? `cluster ${target.clusterNodes.map(redactRedisUrl).join(',')}` : redactRedisUrl(target.url);
}

/**
 * Closes a connection for good: QUIT when it is up (bounded, in case Redis just died), then a
 * disconnect, which also stops ioredis from reconnecting when the QUIT reply never came.
 */
export async function closeRedis(redis: RedisClient, quitTimeoutMs = 1000): Promise<void> {
  // A socket that closes from now on (Redis died under us) must not schedule a reconnect, on this
  // client or on a duplicate of it.
  const stop = (redis as Reconnectable)[STOP_RECONNECTING];
  if (stop !== undefined) stop();
  else if (redis instanceof Cluster) redis.options.clusterRetryStrategy = () => null;
  else redis.options.retryStrategy = () => null;
  if (redis.status === 'ready') {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([redis.quit().catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, quitTimeoutMs)))]);
    clearTimeout(timer);
  }
  redis.disconnect();
}

/** The Redis an app's configuration names. */
export function redisTarget(config: { redisUrl: string; redisClusterNodes: readonly string[] }): RedisTarget {
  return { url: config.redisUrl, clusterNodes: config.redisClusterNodes };
}
