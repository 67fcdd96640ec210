import {
  type Cleanup,
  type OnClose,
  type RedisServer,
  type RedisServerOptions,
  startFixture,
  startRedisServer,
  useFixture,
} from '@tenantcast/testkit';
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
export function startRelayWithRedis(
  overrides: Partial<RelayConfig> = {},
  options: RelayFixtureOptions = {},
): Promise<RelayFixture & { close(): Promise<void> }> {
  return startFixture((onClose) => startParts(onClose, overrides, options));
}

/** `startRelayWithRedis` for the calling file or describe block (see testkit's `useFixture`). */
export function useRelay(overrides: Partial<RelayConfig> = {}, options: RelayFixtureOptions = {}): RelayFixture {
  return useFixture('useRelay()', (onClose) => startParts(onClose, overrides, options));
}

async function startParts(onClose: OnClose, overrides: Partial<RelayConfig>, options: RelayFixtureOptions): Promise<RelayFixture> {
  const redis = await startRedisServer(options.redis);
  onClose(() => redis.stop());
  const relay = await startRelay(redis.url, overrides);
  onClose(() => relay.close());
  return {
    redis,
    relay,
    token: await relay.token(),
    async startRelay(t, more = {}) {
      const other = await startRelay(redis.url, more);
      t.after(() => other.close());
      return other;
    },
  };
}
