import { after, before } from 'node:test';
import type { GatewayConfig } from '@tenantcast/gateway/config';
import type { RelayConfig } from '@tenantcast/relay/config';
import { startGateway, type TestGateway } from './gateway.ts';
import { type RedisServer, startRedisServer } from './redis-server.ts';
import { startRelay, type TestRelay } from './relay.ts';

// Suite-wide setup in one line: the parts start in the suite's `before` hook, not when the file is
// loaded, so they are read through getters that fail loudly when read too early.
// At a file's top level Node 20 starts `before` hooks as they are registered, without waiting for one
// another: another top-level `before` cannot build on the parts. Inside a describe, hooks run in turn.

/** What `useRelay` hands back. Read the parts inside tests and hooks: they exist once the suite's `before` hook has run. */
export interface RelayFixture {
  readonly redis: RedisServer;
  readonly relay: TestRelay;
  /** Publishes and subscribes to every tenant. */
  readonly token: string;
}

/** What `useStack` hands back: `useRelay`'s parts and a gateway on the same streams. */
export interface StackFixture extends RelayFixture {
  readonly gateway: TestGateway;
}

/**
 * Starts a redis-server and a relay on it in a `before` hook of the calling file or describe block,
 * mints an all-tenants token, and closes the relay, then Redis, in an `after` hook.
 */
export function useRelay(overrides: Partial<RelayConfig> = {}): RelayFixture {
  return startInHooks('useRelay()', overrides, undefined);
}

/**
 * `useRelay` plus a gateway on the relay's key prefix: the whole product for the calling file or
 * describe block. Closes the gateway, the relay, then Redis.
 */
export function useStack(overrides: { relay?: Partial<RelayConfig>; gateway?: Partial<GatewayConfig> } = {}): StackFixture {
  return startInHooks('useStack()', overrides.relay ?? {}, overrides.gateway ?? {});
}

interface Started {
  redis?: RedisServer;
  relay?: TestRelay;
  gateway?: TestGateway;
  token?: string;
}

/** Registers the hooks; no gateway when `gatewayOverrides` is undefined. */
function startInHooks(
  fixture: string,
  relayOverrides: Partial<RelayConfig>,
  gatewayOverrides: Partial<GatewayConfig> | undefined,
): Fixture {
  const started: Started = {};
  // Each part is kept as soon as it is up, so that a failed start still closes what did start
  // (a redis-server left running would keep the test process alive).
  before(async () => {
    started.redis = await startRedisServer();
    started.relay = await startRelay(started.redis.url, relayOverrides);
    if (gatewayOverrides !== undefined) {
      started.gateway = await startGateway(started.redis.url, { keyPrefix: started.relay.config.keyPrefix, ...gatewayOverrides });
    }
    started.token = await started.relay.token({});
  });
  // Apps go before the Redis they use.
  after(() => closeInTurn([() => started.gateway?.close(), () => started.relay?.close(), () => started.redis?.stop()]));
  return new Fixture(fixture, started);
}

/** The parts as the hooks leave them; useRelay's has no gateway to read. */
class Fixture implements StackFixture {
  readonly #name: string;
  readonly #started: Started;

  constructor(name: string, started: Started) {
    this.#name = name;
    this.#started = started;
  }

  get redis(): RedisServer {
    return this.#read('redis');
  }

  get relay(): TestRelay {
    return this.#read('relay');
  }

  get gateway(): TestGateway {
    return this.#read('gateway');
  }

  get token(): string {
    return this.#read('token');
  }

  #read<K extends keyof Started>(part: K): NonNullable<Started[K]> {
    const value = this.#started[part];
    if (value === undefined) {
      throw new Error(
        `${this.#name}: ${part} is not started. Read it inside a test or a hook: it starts in the suite's before hook (check that the hook did not fail).`,
      );
    }
    return value as NonNullable<Started[K]>;
  }
}

/** Runs every close in turn even when one throws, so that Redis still stops; then throws what failed. */
async function closeInTurn(closes: Array<() => Promise<void> | undefined>): Promise<void> {
  const errors: unknown[] = [];
  for (const close of closes) {
    try {
      await close();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} parts of the fixture failed to close`);
}
