import type { GatewayConfig } from '@tenantcast/gateway/config';
import { startGateway, type TestGateway } from '@tenantcast/gateway/testing';
import type { RelayConfig } from '@tenantcast/relay/config';
import { startRelay, type TestRelay } from '@tenantcast/relay/testing';
import { closeAll, startTestRedis, type TestRedis, type TestRedisOptions, useFixture } from '@tenantcast/testkit';

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
  return startParts(options, false);
}

/** Starts the whole product on free ports, for tests that span the relay and the gateway. */
export function startStack(options: StackOptions = {}): Promise<TestStack> {
  return startParts(options, true) as Promise<TestStack>;
}

/**
 * `startStack` for the calling file or describe block: starts in its `before` hook, closes in its
 * `after` hook (see testkit's `useFixture`).
 */
export function useStack(options: StackOptions = {}): Omit<TestStack, 'close'> {
  return useFixture('useStack()', async (onClose) => {
    const stack = await startStack(options);
    onClose(() => stack.close());
    return stack;
  });
}

/** `startRelayStack` for the calling file or describe block (see `useStack`). */
export function useRelayStack(options: Omit<StackOptions, 'gateway'> = {}): Omit<RelayStack, 'close'> {
  return useFixture('useRelayStack()', async (onClose) => {
    const stack = await startRelayStack(options);
    onClose(() => stack.close());
    return stack;
  });
}

async function startParts(options: StackOptions, withGateway: boolean): Promise<RelayStack & { gateway?: TestGateway }> {
  const redis = await startTestRedis(options.redis);
  let relay: TestRelay | undefined;
  let gateway: TestGateway | undefined;
  const close = () =>
    closeAll(
      () => gateway?.close(),
      () => relay?.close(),
      () => redis.stop(),
    );
  try {
    relay = await startRelay(redis, options.relay);
    if (withGateway) gateway = await startGateway(redis, { keyPrefix: relay.config.keyPrefix, ...options.gateway });
    const token = await relay.token();
    return { redis, relay, token, close, ...(gateway === undefined ? {} : { gateway }) };
  } catch (error) {
    // A redis-server left running would keep the test process alive.
    await close();
    throw error;
  }
}
