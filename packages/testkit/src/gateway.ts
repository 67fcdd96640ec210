import { type GatewayConfig, loadConfig } from '@tenantcast/gateway/config';
import { createGateway, type Gateway } from '@tenantcast/gateway/create-gateway';
import { type RedisConnection, toConnection } from './test-redis.ts';
import { TEST_SECRET } from './tokens.ts';

/** A gateway listening on a free port of 127.0.0.1. */
export interface TestGateway {
  gateway: Gateway;
  /** Base URL, http://127.0.0.1:<port>. */
  url: string;
  /** Base URL with the ws: scheme. */
  wsUrl: string;
  config: GatewayConfig;
  close(): Promise<void>;
}

/** Starts a gateway against `redis` (a URL, or a TestRedis); pass the relay's `keyPrefix` so that both see the same streams. */
export async function startGateway(redis: string | RedisConnection, overrides: Partial<GatewayConfig> = {}): Promise<TestGateway> {
  const config = loadConfig({
    ...toConnection(redis),
    secret: TEST_SECRET,
    port: 0,
    host: '127.0.0.1',
    logLevel: 'silent',
    shutdownTimeoutMs: 2000,
    ...overrides,
  });
  const gateway = createGateway(config);
  const url = await gateway.listen();
  return { gateway, url, wsUrl: url.replace(/^http/, 'ws'), config, close: () => gateway.close() };
}
