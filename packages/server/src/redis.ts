import { Redis, type RedisOptions } from 'ioredis';

/** The part of a logger the Redis connection uses. */
export interface RedisLogger {
  warn(object: object, message: string): void;
  info(message: string): void;
}

/**
 * A Redis connection for a server's requests. It fails fast while Redis is down (no offline queue),
 * so that callers answer 503 with Retry-After instead of waiting, and ioredis reconnects by itself.
 * A command whose connection dropped is not resent behind the caller's back: the caller retries, and
 * the relay's dedupe makes that safe. Connection errors are logged once per outage.
 */
export function createRedis(url: string, logger: RedisLogger, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    autoResendUnfulfilledCommands: false,
    commandTimeout: 5000,
    ...options,
  });
  let down = false;
  redis.on('error', (error) => {
    if (!down) logger.warn({ err: error, redis: redactRedisUrl(url) }, 'Redis connection error; retrying');
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.info('Redis connection is back');
    down = false;
  });
  return redis;
}

/** Connects, waiting up to `waitMs` for Redis; returns whether it is ready. Reconnection goes on regardless. */
export async function connectRedis(redis: Redis, waitMs: number): Promise<boolean> {
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

/** A Redis URL without its password, for logs. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.href;
  } catch {
    return '(unparseable Redis URL)';
  }
}

/**
 * Closes a connection for good: QUIT when it is up (bounded, in case Redis just died), then a
 * disconnect, which also stops ioredis from reconnecting when the QUIT reply never came.
 */
export async function closeRedis(redis: Redis, quitTimeoutMs = 1000): Promise<void> {
  // A socket that closes from now on (Redis died under us) must not schedule a reconnect.
  redis.options.retryStrategy = () => null;
  if (redis.status === 'ready') {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([redis.quit().catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, quitTimeoutMs)))]);
    clearTimeout(timer);
  }
  redis.disconnect();
}
