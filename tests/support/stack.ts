import type { GatewayConfig } from '@tenantcast/gateway/config';
import { startGateway, type TestGateway } from '@tenantcast/gateway/testing';
import type { RelayConfig } from '@tenantcast/relay/config';
import { startRelay, type TestRelay } from '@tenantcast/relay/testing';
import { type OnClose, startFixture, startTestRedis, type TestRedis, type TestRedisOptions, useFixture } from '@tenantcast/testkit';

/** What a stack starts: its Redis (one server, or a cluster under `pnpm test:cluster`), and overrides of the apps' configuration. */
export interface StackOptions {
  redis?: TestRedisOptions;
  relay?: Partial<RelayConfig>;
  gateway?: Partial<GatewayConfig>;
}

/** A Redis of the caller's own and a relay on it, with an all-tenants publish+subscribe token. */
export interface RelayStack {
  redis: TestRedis;
  relay: TestRelay;
  token: string;
  /** Closes the apps, then Redis: apps go before the Redis they use. */
  close(): Promise<void>;
}

/** The whole product: a RelayStack and a gateway reading the relay's streams. */
export interface TestStack extends RelayStack {
  gateway: TestGateway;
}

/** Starts a Redis and a relay on it, on free ports. */
export function startRelayStack(options: Omit<StackOptions, 'gateway'> = {}): Promise<RelayStack> {
  return startFixture((onClose) => startParts(onClose, options, false));
}

/** Starts the whole product on free ports, for tests that span the relay and the gateway. */
export function startStack(options: StackOptions = {}): Promise<TestStack> {
  return startFixture((onClose) => startParts(onClose, options, true)) as Promise<TestStack>;
}

/**
 * `startStack` for the calling file or describe block: starts in its `before` hook, closes in its
 * `after` hook (see testkit's `useFixture`).
 */
export function useStack(options: StackOptions = {}): Omit<TestStack, 'close'> {
  return useFixture('useStack()', (onClose) => startParts(onClose, options, true)) as Omit<TestStack, 'close'>;
}

/** `startRelayStack` for the calling file or describe block (see `useStack`). */
export function useRelayStack(options: Omit<StackOptions, 'gateway'> = {}): Omit<RelayStack, 'close'> {
  return useFixture('useRelayStack()', (onClose) => startParts(onClose, options, false));
}

/** The parts, each closed in turn when the stack closes: the apps first, then the Redis they use. */
async function startParts(
  onClose: OnClose,
  options: StackOptions,
  withGateway: boolean,
): Promise<Omit<TestStack, 'close' | 'gateway'> & { gateway?: TestGateway }> {
  const redis = await startTestRedis(options.redis);
  onClose(() => redis.stop());
  const relay = await startRelay(redis, options.relay);
  onClose(() => relay.close());
  if (!withGateway) return { redis, relay, token: await relay.token() };
  const gateway = await startGateway(redis, { keyPrefix: relay.config.keyPrefix, ...options.gateway });
  onClose(() => gateway.close());
  return { redis, relay, gateway, token: await relay.token() };
}
