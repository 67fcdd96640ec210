import { ConfigError, checkServerOptions, defineConfig, serverOptions, serverOptionsEnv, serverOptionsParse } from '@tenantcast/server';
import Type, { type Static } from 'typebox';

export { ConfigError };

/** The gateway's configuration, parsed once at boot. */
export const GatewayConfigSchema = Type.Object(
  {
    ...serverOptions({ port: 8081, metricsPort: 9081, maxConnections: 100_000 }),
    /** Most connections (or multiplexed subscriptions) per tenant on one gateway. Default 20,000. */
    maxConnectionsPerTenant: Type.Integer({ minimum: 1, default: 20_000 }),
    /** Bytes queued for one connection before it is closed as a slow consumer (4008). Default 8 MiB. */
    maxBufferedBytes: Type.Integer({ minimum: 65_536, default: 8 * 1024 * 1024 }),
    /** Largest frame a client may send, in bytes. Default 64 KiB. */
    maxPayload: Type.Integer({ minimum: 1024, default: 64 * 1024 }),
    /** Ping interval in ms; a peer that misses a pong by the next ping is closed. Default 30,000. */
    heartbeatMs: Type.Integer({ minimum: 100, default: 30_000 }),
    /** Interval in ms of the heartbeat comments on Server-Sent Events streams, which keep proxies from closing idle ones. Default 15,000. */
    sseHeartbeatMs: Type.Integer({ minimum: 100, default: 15_000 }),
    /** `enforce` refuses browser upgrades whose Origin the tenant's web integrations do not allow. Default off. */
    originPolicy: Type.Union([Type.Literal('off'), Type.Literal('enforce')], { default: 'off' }),
    /** Events per page when a client catches up from the stream. Default 1,000. */
    catchUpPageSize: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 }),
    /** Subscriptions one multiplexed connection may hold. Default 100. */
    maxSubscriptionsPerConnection: Type.Integer({ minimum: 1, default: 100 }),
    /**
     * Seconds before a token's `exp` at which a multiplexed connection is sent `{"op":"expiring"}`, so
     * that its client refreshes in time; at most half the token's remaining life. Default 30.
     */
    tokenExpiryWarningSeconds: Type.Integer({ minimum: 1, maximum: 3600, default: 30 }),
    /** Tenants with a series of their own in the subscriptions metric (the most subscribed); the rest are summed as "(other)". Default 100. */
    metricsMaxTenants: Type.Integer({ minimum: 0, maximum: 10_000, default: 100 }),
  },
  { additionalProperties: false },
);

export type GatewayConfig = Static<typeof GatewayConfigSchema>;

const gatewayConfig = defineConfig({
  app: 'gateway',
  schema: GatewayConfigSchema,
  env: {
    ...serverOptionsEnv('GATEWAY'),
    maxConnectionsPerTenant: 'GATEWAY_MAX_CONNECTIONS_PER_TENANT',
    maxBufferedBytes: 'GATEWAY_MAX_BUFFERED_BYTES',
    maxPayload: 'GATEWAY_MAX_PAYLOAD_BYTES',
    heartbeatMs: 'GATEWAY_HEARTBEAT_MS',
    sseHeartbeatMs: 'GATEWAY_SSE_HEARTBEAT_MS',
    originPolicy: 'GATEWAY_ORIGIN_POLICY',
    catchUpPageSize: 'GATEWAY_CATCH_UP_PAGE_SIZE',
    maxSubscriptionsPerConnection: 'GATEWAY_MAX_SUBSCRIPTIONS_PER_CONNECTION',
    metricsMaxTenants: 'GATEWAY_METRICS_MAX_TENANTS',
    tokenExpiryWarningSeconds: 'GATEWAY_TOKEN_EXPIRY_WARNING_SECONDS',
  },
  parse: serverOptionsParse,
});

/** Reads the gateway's options from environment variables. */
export const configFromEnv = (env: Record<string, string | undefined>): Partial<GatewayConfig> => gatewayConfig.fromEnv(env);

/** Applies defaults and validates; throws a ConfigError naming the variable to fix. */
export function loadConfig(input: Partial<GatewayConfig>): GatewayConfig {
  const config = gatewayConfig.load(input);
  checkServerOptions(config, 'GATEWAY');
  return config;
}
