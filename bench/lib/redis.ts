import { type RedisServer, startRedisServer } from '@tenantcast/testkit';
import { register } from './cleanup.ts';
import { redisPid } from './types.ts';

export type BenchRedis = RedisServer & { pid: number };

/** A redis-server of the scenario's own (testkit's: a free port, no persistence), with its pid. */
export async function startRedis(): Promise<BenchRedis> {
  const redis = await startRedisServer();
  const pid = await redisPid(redis);
  const stop = () => redis.stop();
  const unregister = register({
    stop,
    kill: () => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    },
  });
  return {
    ...redis,
    port: redis.port,
    url: redis.url,
    pid,
    async stop() {
      unregister();
      await stop();
    },
  };
}
