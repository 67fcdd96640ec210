import type { GatewayConfig } from '@tenantcast/gateway/config';
import type { RelayConfig } from '@tenantcast/relay/config';
import { startGateway, type TestGateway } from './gateway.ts';
import { type RedisServer, startRedisServer } from './redis-server.ts';
import { startRelay, type TestRelay } from './relay.ts';

/** A redis-server, a relay and a gateway sharing it, and an all-tenants publish+subscribe token. */
export interface TestStack {
  redis: RedisServer;
  relay: TestRelay;
  gateway: TestGateway;
  token: string;
  /** Closes the gateway, then the relay, then Redis: apps go before the Redis they use. */
  close(): Promise<void>;
}

/** Starts the whole product on free ports, for tests that span the relay and the gateway. */
export async function startStack(overrides: { relay?: Partial<RelayConfig>; gateway?: Partial<GatewayConfig> } = {}): Promise<TestStack> {
  const redis = await startRedisServer();
  const relay = await startRelay(redis.url, overrides.relay);
  const gateway = await startGateway(redis.url, { keyPrefix: relay.config.keyPrefix, ...overrides.gateway });
  const token = await relay.token({});
  return {
    redis,
    relay,
    gateway,
    token,
    async close() {
      try {
        await gateway.close();
        await relay.close();
      } finally {
        await redis.stop();
      }
    },
  };
}
