import {
  type Cleanup,
  closeAll,
  type RedisServer,
  type RedisServerOptions,
  startRedisServer,
  testToken,
  useFixture,
} from '@tenantcast/testkit';
import type { GatewayConfig } from '../config.ts';
import { type EventWriter, type EventWriterOptions, startEventWriter } from './event-writer.ts';
import { startGateway, type TestGateway } from './start-gateway.ts';

/** A redis-server of the suite's own, a writer of events on it, and a gateway reading them. Read the parts inside tests and hooks. */
export interface GatewayFixture {
  readonly redis: RedisServer;
  /** Stores events as the relay does, on the gateway's key prefix. */
  readonly writer: EventWriter;
  readonly gateway: TestGateway;
  /** Subscribes (and publishes) to every tenant. */
  readonly token: string;
  /** Starts another gateway on the same Redis, on the writer's key prefix unless `overrides` says otherwise; closed after test `t`. */
  startGateway(t: Cleanup, overrides?: Partial<GatewayConfig>): Promise<TestGateway>;
  /** Starts another writer on the same Redis, on a key prefix of its own unless `options` gives one; closed after test `t`. */
  startWriter(t: Cleanup, options?: EventWriterOptions): Promise<EventWriter>;
}

export interface GatewayFixtureOptions {
  /** How the redis-server persists (AOF); default as `startRedisServer`. */
  redis?: RedisServerOptions;
  gateway?: Partial<GatewayConfig>;
}

/**
 * Starts a redis-server, a writer and a gateway on it; `close()` closes the gateway, the writer,
 * then Redis. For a test of its own (register `close` with `t.after`); a suite uses `useGateway`.
 */
export async function startGatewayWithRedis(options: GatewayFixtureOptions = {}): Promise<GatewayFixture & { close(): Promise<void> }> {
  const redis = await startRedisServer(options.redis);
  let writer: EventWriter | undefined;
  let gateway: TestGateway | undefined;
  // Apps go before the Redis they use.
  const close = () =>
    closeAll(
      () => gateway?.close(),
      () => writer?.close(),
      () => redis.stop(),
    );
  try {
    writer = await startEventWriter(redis.url);
    gateway = await startGateway(redis.url, { keyPrefix: writer.keyPrefix, ...options.gateway });
  } catch (error) {
    // A redis-server left running would keep the test process alive.
    await close();
    throw error;
  }
  const keyPrefix = writer.keyPrefix;
  return {
    redis,
    writer,
    gateway,
    token: await testToken(),
    async startGateway(t, overrides = {}) {
      const other = await startGateway(redis.url, { keyPrefix, ...overrides });
      t.after(() => other.close());
      return other;
    },
    async startWriter(t, writerOptions = {}) {
      const other = await startEventWriter(redis.url, writerOptions);
      t.after(() => other.close());
      return other;
    },
    close,
  };
}

/**
 * `startGatewayWithRedis` for the calling file or describe block: starts in its `before` hook, closes
 * in its `after` hook (see testkit's `useFixture`).
 */
export function useGateway(options: GatewayFixtureOptions = {}): GatewayFixture {
  return useFixture('useGateway()', async (onClose) => {
    const started = await startGatewayWithRedis(options);
    onClose(() => started.close());
    return started;
  });
}
