import { type RedisConnection, testAppOptions } from '@tenantcast/testkit';
import { type GatewayConfig, loadConfig } from '../config.ts';
import { createGateway, type Gateway } from '../create-gateway.ts';

/** A gateway listening on a free port of 127.0.0.1. */
export interface TestGateway {
  gateway: Gateway;
  /** Base URL, http://127.0.0.1:<port>. */
  url: string;
  /** Base URL with the ws: scheme. */
  wsUrl: string;
  /** Base URL of the metrics listener (GET /metrics), on a free port of 127.0.0.1. */
  metricsUrl: string;
  config: GatewayConfig;
  close(): Promise<void>;
}

/** Starts a gateway against `redis` (a URL, or a TestRedis); pass the writer's or the relay's `keyPrefix` so that it reads their streams. */
export async function startGateway(redis: string | RedisConnection, overrides: Partial<GatewayConfig> = {}): Promise<TestGateway> {
  const config = loadConfig({ ...testAppOptions(redis), ...overrides });
  const gateway = createGateway(config);
  const url = await gateway.listen();
  return { gateway, url, wsUrl: url.replace(/^http/, 'ws'), metricsUrl: gateway.metricsUrl!, config, close: () => gateway.close() };
}
