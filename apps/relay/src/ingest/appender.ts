import { isCluster, type RedisClient, redisTarget, StreamAppender } from '@tenantcast/server';
import type { RelayConfig } from '../config.ts';

/** The relay's writer of events, configured once for the API and for delivery processes (whose system events it stores). */
export function createAppender(config: RelayConfig, redis: RedisClient): StreamAppender {
  return new StreamAppender(redis, {
    keyPrefix: config.keyPrefix,
    streamMaxLen: config.streamMaxLen,
    streamMaxAgeSeconds: config.streamMaxAgeSeconds,
    dedupeWindowSeconds: config.dedupeWindowSeconds,
    // Own properties only: a tenant named like an Object member ("toString") must not find one.
    rateLimitFor: (tenant) =>
      Object.hasOwn(config.rateLimitTenants, tenant) ? config.rateLimitTenants[tenant]! : config.rateLimitPerSecond,
    maxBatchEvents: config.maxBatchEvents,
    maxBatchBytes: config.maxBatchBytes,
    pubsub: isCluster(redisTarget(config)) ? 'sharded' : 'classic',
    waitReplicas: config.redisWaitReplicas,
    waitTimeoutMs: config.redisWaitTimeoutMs,
  });
}
