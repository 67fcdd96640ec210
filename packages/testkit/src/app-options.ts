import { type RedisConnection, toConnection } from './test-redis.ts';
import { TEST_SECRET } from './tokens.ts';

/** The options every app under test starts with: `redis`, the test secret, free ports of 127.0.0.1 (public and metrics), no logs, a short shutdown. */
export function testAppOptions(redis: string | RedisConnection) {
  return {
    ...toConnection(redis),
    secret: TEST_SECRET,
    port: 0,
    host: '127.0.0.1',
    metricsPort: 0,
    metricsHost: '127.0.0.1',
    logLevel: 'silent' as const,
    shutdownTimeoutMs: 2000,
  };
}
