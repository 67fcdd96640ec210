import { ConfigError, defineConfig, LogLevel, parseClusterNodes, RedisClusterNodes } from '@tenantcast/server';
import Type, { type Static } from 'typebox';

export { ConfigError };

/** The gateway's configuration, parsed once at boot. */
export const GatewayConfigSchema = Type.Object(
  {
    /** Redis the relay stores streams in. Default redis://127.0.0.1:6379. */
    redisUrl: Type.String({ minLength: 1, default: 'redis://127.0.0.1:6379' }),
    /** Seed nodes of a Redis Cluster (`host:port`, comma-separated); when set, used instead of the URL. Default none. */
    redisClusterNodes: RedisClusterNodes,
    /** Prefix of every Redis key and channel; the relay's. Default `tc:`. */
    keyPrefix: Type.String({ pattern: '^[^{}]*$', maxLength: 64, default: 'tc:' }),
    /** HS256 key for tokens, the relay's. Required, at least 16 characters. */
    secret: Type.String({ minLength: 16 }),
    /** Port to listen on; 0 picks a free one. Default 8081. */
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8081 }),
    /** Interface to listen on. Default 0.0.0.0. */
    host: Type.String({ minLength: 1, default: '0.0.0.0' }),
    /** Most connections (or multiplexed subscriptions) per tenant on one gateway. Default 20,000. */
    maxConnectionsPerTenant: Type.Integer({ minimum: 1, default: 20_000 }),
    /** Bytes queued for one connection before it is closed as a slow consumer (4008). Default 8 MiB. */
    maxBufferedBytes: Type.Integer({ minimum: 65_536, default: 8 * 1024 * 1024 }),
    /** Largest frame a client may send, in bytes. Default 64 KiB. */
    maxPayload: Type.Integer({ minimum: 1024, default: 64 * 1024 }),
    /** Ping interval in ms; a peer that misses a pong by the next ping is closed. Default 30,000. */
    heartbeatMs: Type.Integer({ minimum: 100, default: 30_000 }),
    /** `enforce` refuses browser upgrades whose Origin the tenant's web integrations do not allow. Default off. */
    originPolicy: Type.Union([Type.Literal('off'), Type.Literal('enforce')], { default: 'off' }),
    /** Events per page when a client catches up from the stream. Default 1,000. */
    catchUpPageSize: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 }),
    /** Subscriptions one multiplexed connection may hold. Default 100. */
    maxSubscriptionsPerConnection: Type.Integer({ minimum: 1, default: 100 }),
    /** pino log level. Default info. */
    logLevel: LogLevel,
    /** How long shutdown waits for clients to close after 1001, in ms. Default 10,000. */
    shutdownTimeoutMs: Type.Integer({ minimum: 0, default: 10_000 }),
  },
  { additionalProperties: false },
);

export type GatewayConfig = Static<typeof GatewayConfigSchema>;

const gatewayConfig = defineConfig({
  app: 'gateway',
  schema: GatewayConfigSchema,
  env: {
    redisUrl: 'REDIS_URL',
    redisClusterNodes: 'REDIS_CLUSTER_NODES',
    keyPrefix: 'REDIS_KEY_PREFIX',
    secret: 'TENANTCAST_SECRET',
    port: 'GATEWAY_PORT',
    host: 'GATEWAY_HOST',
    maxConnectionsPerTenant: 'GATEWAY_MAX_CONNECTIONS_PER_TENANT',
    maxBufferedBytes: 'GATEWAY_MAX_BUFFERED_BYTES',
    maxPayload: 'GATEWAY_MAX_PAYLOAD_BYTES',
    heartbeatMs: 'GATEWAY_HEARTBEAT_MS',
    originPolicy: 'GATEWAY_ORIGIN_POLICY',
    catchUpPageSize: 'GATEWAY_CATCH_UP_PAGE_SIZE',
    maxSubscriptionsPerConnection: 'GATEWAY_MAX_SUBSCRIPTIONS_PER_CONNECTION',
    logLevel: 'LOG_LEVEL',
    shutdownTimeoutMs: 'SHUTDOWN_TIMEOUT_MS',
  },
  parse: { redisClusterNodes: parseClusterNodes },
});

/** Reads the gateway's options from environment variables. */
export const configFromEnv = (env: Record<string, string | undefined>): Partial<GatewayConfig> => gatewayConfig.fromEnv(env);

/** Applies defaults and validates; throws a ConfigError naming the variable to fix. */
export const loadConfig = (input: Partial<GatewayConfig>): GatewayConfig => gatewayConfig.load(input);
