import { type Cleanup, closeAll, type RedisServer, type RedisServerOptions, startRedisServer, useFixture } from '@tenantcast/testkit';
import type { RelayConfig } from '../config.ts';
import { startRelay, type TestRelay } from './start-relay.ts';

/** A redis-server of the suite's own and a relay on it. Read the parts inside tests and hooks. */
export interface RelayFixture {
  readonly redis: RedisServer;
  readonly relay: TestRelay;
  /** Publishes and subscribes to every tenant. */
  readonly token: string;
  /** Starts another relay on the same Redis (its own key prefix unless one is given), closed after test `t`. */
  startRelay(t: Cleanup, overrides?: Partial<RelayConfig>): Promise<TestRelay>;
}

export interface RelayFixtureOptions {
  /** How the redis-server persists (AOF); default as `startRedisServer`. */
  redis?: RedisServerOptions;
}

/**
 * Starts a redis-server and a relay on it; `close()` closes the relay, then Redis. For a test of
 * its own (register `close` with `t.after`); a suite uses `useRelay`.
 */
export async function startRelayWithRedis(
  overrides: Partial<RelayConfig> = {},
  options: RelayFixtureOptions = {},
): Promise<RelayFixture & { close(): Promise<void> }> {
  const redis = await startRedisServer(options.redis);
  let relay: TestRelay | undefined;
  let token: string;
  try {
    relay = await startRelay(redis.url, overrides);
    token = await relay.token();
  } catch (error) {
    // A redis-server left running would keep the test process alive.
    await closeAll(
      () => relay?.close(),
      () => redis.stop(),
    );
    throw error;
  }
  const started = relay;
  return {
    redis,
    relay: started,
    token,
    async startRelay(t, more = {}) {
      const other = await startRelay(redis.url, more);
      t.after(() => other.close());
      return other;
    },
    // Apps go before the Redis they use.
    close: () =>
      closeAll(
        () => started.close(),
        () => redis.stop(),
      ),
  };
}

/**
 * `startRelayWithRedis` for the calling file or describe block: starts in its `before` hook, closes
 * in its `after` hook (see testkit's `useFixture`).
 */
export function useRelay(overrides: Partial<RelayConfig> = {}, options: RelayFixtureOptions = {}): RelayFixture {
  return useFixture('useRelay()', async (onClose) => {
    const started = await startRelayWithRedis(overrides, options);
    onClose(() => started.close());
    return started;
  });
}
