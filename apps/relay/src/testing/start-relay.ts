import type { MintTokenOptions } from '@tenantcast/sdk/tokens';
import { type RedisConnection, testAppOptions, testToken, uniqueKeyPrefix } from '@tenantcast/testkit';
import { loadConfig, type RelayConfig } from '../config.ts';
import { createRelay, type Relay, type RelayDeps } from '../create-relay.ts';

/** A relay listening on a free port of 127.0.0.1. */
export interface TestRelay {
  relay: Relay;
  url: string;
  /** Base URL of the metrics listener (GET /metrics), on a free port of 127.0.0.1. */
  metricsUrl: string;
  config: RelayConfig;
  /** Mints a token for this relay: by default one that publishes and subscribes to every tenant. */
  token(options?: Partial<MintTokenOptions>): Promise<string>;
  close(): Promise<void>;
}

/** Starts a relay against `redis` (a URL, or a TestRedis), with a unique key prefix unless one is given. */
export async function startRelay(
  redis: string | RedisConnection,
  overrides: Partial<RelayConfig> = {},
  deps: RelayDeps = {},
): Promise<TestRelay> {
  const config = loadConfig({ ...testAppOptions(redis), keyPrefix: uniqueKeyPrefix(), ...overrides });
  const relay = createRelay(config, deps);
  const url = await relay.listen();
  return {
    relay,
    url,
    metricsUrl: relay.metricsUrl!,
    config,
    token: (options) => testToken(options, config.secret),
    close: () => relay.close(),
  };
}
