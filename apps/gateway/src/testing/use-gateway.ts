import {
  type Cleanup,
  type OnClose,
  type RedisServer,
  type RedisServerOptions,
  startFixture,
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
export function startGatewayWithRedis(options: GatewayFixtureOptions = {}): Promise<GatewayFixture & { close(): Promise<void> }> {
  return startFixture((onClose) => startParts(onClose, options));
}

/** `startGatewayWithRedis` for the calling file or describe block (see testkit's `useFixture`). */
export function useGateway(options: GatewayFixtureOptions = {}): GatewayFixture {
  return useFixture('useGateway()', (onClose) => startParts(onClose, options));
}

async function startParts(onClose: OnClose, options: GatewayFixtureOptions): Promise<GatewayFixture> {
  const redis = await startRedisServer(options.redis);
  onClose(() => redis.stop());
  const writer = await startEventWriter(redis.url);
  onClose(() => writer.close());
  const { keyPrefix } = writer;
  const gateway = await startGateway(redis.url, { keyPrefix, ...options.gateway });
  onClose(() => gateway.close());
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
  };
}
