import { isTenantId } from '@tenantcast/sdk';
import { ConfigError, checkServerOptions, defineConfig, serverOptions, serverOptionsEnv, serverOptionsParse } from '@tenantcast/server';
import Type, { type Static } from 'typebox';

export { ConfigError };

/** The relay's configuration, parsed once at boot. */
export const RelayConfigSchema = Type.Object(
  {
    ...serverOptions({ port: 8080, metricsPort: 9080, maxConnections: 10_000 }),
    /** Replicas that must have an event before the relay answers 202 (Redis WAIT); 0 answers once the master has it. Default 0. */
    redisWaitReplicas: Type.Integer({ minimum: 0, maximum: 16, default: 0 }),
    /** How long the relay waits for those replicas, in ms, before answering 503 (the retry is deduped). Default 1,000. */
    redisWaitTimeoutMs: Type.Integer({ minimum: 1, maximum: 60_000, default: 1000 }),
    /** Largest request body in bytes. Default 1 MiB. */
    bodyLimit: Type.Integer({ minimum: 65536, default: 1024 * 1024 }),
    /** Most entries kept per tenant stream (approximate trim); 0 keeps any number. Default 100,000. */
    streamMaxLen: Type.Integer({ minimum: 0, default: 100_000 }),
    /** Oldest entry kept per tenant stream, in seconds; 0 keeps any age. Default 7 days. */
    streamMaxAgeSeconds: Type.Integer({ minimum: 0, default: 7 * 24 * 3600 }),
    /** How long a (source, id) pair is remembered for dedupe, in seconds. Default 24 h. */
    dedupeWindowSeconds: Type.Integer({ minimum: 1, default: 24 * 3600 }),
    /**
     * Events per second per tenant; 0 turns limiting off. Default 2,000: what one tenant may cost the
     * others. A 2-core relay stores about 80,000 events a second in batches (14,000 single-event
     * requests), and a stored event holds the Redis every tenant shares for about 8 µs; 2,000 a second
     * keep a tenant at its limit to about 2 % of that Redis, and other tenants' p99 within 3x of
     * quiet (docs/RELIABILITY.md, "Noisy neighbour"). Events are spread evenly (GCRA): a tenant sends
     * at most one full batch at once.
     */
    rateLimitPerSecond: Type.Integer({ minimum: 0, default: 2000 }),
    /** Per-tenant overrides of the rate limit. Default none. */
    rateLimitTenants: Type.Record(Type.String(), Type.Integer({ minimum: 0 }), { default: {} }),
    /**
     * Most events in one batch (refused with 413 past it). A batch is one atomic script call, which
     * holds Redis for every tenant about 8 µs an event: 500 keep a call to about 4 ms. Default 500.
     */
    maxBatchEvents: Type.Integer({ minimum: 1, default: 500 }),
    /**
     * Most bytes of events' JSON in one script call: a batch or a single event over it is refused
     * with 413. Redis copies an event several times in the call (about 10 ms a MiB): 256 KiB keep
     * a call to about 3 ms. Default 256 KiB.
     */
    maxBatchBytes: Type.Integer({ minimum: 65536, default: 256 * 1024 }),
    /** Refuse event types without a registered schema. Default false. */
    strictEventTypes: Type.Boolean({ default: false }),
    /** Key of Qlik's webhook signatures; the Qlik endpoint is off without it. */
    qlikWebhookSecret: Type.Optional(Type.String({ minLength: 1 })),
    /** `embedded` runs the webhook dispatcher and workers in the relay; `off` leaves them to `start:delivery` processes. */
    deliveryMode: Type.Union([Type.Literal('embedded'), Type.Literal('off')], { default: 'embedded' }),
    /** Delay before each webhook retry, in ms; attempts = its length + 1. Default about a day, as Svix's. */
    webhookRetrySchedule: Type.Array(Type.Integer({ minimum: 0 }), {
      minItems: 0,
      maxItems: 50,
      default: [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000],
    }),
    /** Retry 4xx answers other than 408, 410 and 429. Default true. */
    webhookRetry4xx: Type.Boolean({ default: true }),
    /** Timeout of one delivery, in ms. Default 15,000. */
    webhookTimeoutMs: Type.Integer({ minimum: 100, default: 15_000 }),
    /** Deliver to loopback, private and link-local addresses (local development, tests). Default false. */
    webhookAllowPrivate: Type.Boolean({ default: false }),
    /** DNS servers for webhook host names (`ip` or `ip:port`, comma-separated); default the system's. */
    webhookDnsServers: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
    /** How long a DNS query for a webhook host may take, in ms; past it the attempt fails and is retried. Default 5,000. */
    webhookDnsTimeoutMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 5000 }),
    /** Failed attempts in a row (no answer, 5xx, 408) after which an endpoint's deliveries wait for a cooldown. Default 5. */
    webhookCircuitFailures: Type.Integer({ minimum: 1, default: 5 }),
    /** The first cooldown of an endpoint that kept failing, in ms; doubled after each failed probe, up to 10 minutes. Default 30,000. */
    webhookCircuitCooldownMs: Type.Integer({ minimum: 100, default: 30_000 }),
    /** How long every attempt to an endpoint may fail before it is disabled (reason `failing`), in seconds; one success resets it. Default 5 days, as Svix's. */
    webhookDisableAfterSeconds: Type.Integer({ minimum: 1, default: 432_000 }),
    /** Most webhook endpoints per tenant; a create past it is refused with 409. Default 50. */
    webhookMaxEndpoints: Type.Integer({ minimum: 1, default: 50 }),
    /** Deliveries in flight per process. Default 50. */
    webhookConcurrency: Type.Integer({ minimum: 1, default: 50 }),
    /** Deliveries in flight per endpoint per process. Default 4. */
    webhookEndpointConcurrency: Type.Integer({ minimum: 1, default: 4 }),
    /**
     * Deliveries in flight per tenant per process. Default 10: a fifth of the default 50 slots, so
     * that it takes five tenants whose endpoints all hang to fill a process, not one.
     */
    webhookTenantConcurrency: Type.Integer({ minimum: 1, default: 10 }),
    /**
     * Webhook deliveries a tenant may have outstanding (waiting, running or waiting for a retry).
     * At the cap, its new events wait in its stream and replays answer 429. Default 10,000: a few
     * MiB of Redis per tenant (jobs hold references, about 500 bytes each).
     */
    webhookMaxOutstandingPerTenant: Type.Integer({ minimum: 1, default: 10_000 }),
    /** Most deliveries one replay call queues; a larger range answers `complete: false` and where to go on. Default 1,000. */
    webhookReplayMaxEvents: Type.Integer({ minimum: 1, maximum: 100_000, default: 1000 }),
    /** How long a delivery's lock lasts, in ms: a dead worker's jobs run again after at most about twice this. Default 30,000. */
    webhookLockMs: Type.Integer({ minimum: 500, default: 30_000 }),
    /** Idle time, in ms, after which a dead dispatcher's unacknowledged entries are taken over. Default 30,000. */
    dispatchClaimIdleMs: Type.Integer({ minimum: 100, default: 30_000 }),
    /** How long the delivery log keeps a delivery after its last change, in seconds. Default 7 days, as Qlik Cloud's webhooks. */
    webhookLogRetentionSeconds: Type.Integer({ minimum: 1, default: 7 * 24 * 3600 }),
    /**
     * Most deliveries the log keeps per endpoint; the oldest go first. Default 10,000: about 9 MiB of
     * Redis for an endpoint whose deliveries took one attempt each (about 900 bytes a delivery,
     * BENCHMARKS.md), so that an endpoint with a million deliveries a day costs the Redis every
     * tenant shares a bounded amount (docs/webhooks.md, "Delivery log").
     */
    webhookLogMaxPerEndpoint: Type.Integer({ minimum: 1, default: 10_000 }),
    /**
     * The relay's public base URL as browsers reach it (`https://events.example`), which portal links
     * start with; default the origin of the request that made the link (its Host header). Set it behind a proxy.
     */
    consoleUrl: Type.Optional(Type.String({ minLength: 1 })),
    /** The gateway the console subscribes through (`ws://` or `wss://`); default the request's host name on port 8081, the gateway's default. */
    consoleGatewayUrl: Type.Optional(Type.String({ minLength: 1 })),
    /** The built console the relay serves at /console/; default apps/console/dist beside the relay's package. */
    consoleDir: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);

export type RelayConfig = Static<typeof RelayConfigSchema>;

/** Parses `RATE_LIMIT_TENANTS`: `tenant=limit` pairs separated by commas. */
function parseTenantLimits(value: string): Record<string, number> {
  const limits: Record<string, number> = {};
  for (const pair of value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [tenant, limit] = pair.split('=');
    if (!isTenantId(tenant) || limit === undefined || !/^\d+$/.test(limit.trim())) {
      throw new ConfigError(`RATE_LIMIT_TENANTS: "${pair}" must be tenant=eventsPerSecond, e.g. "acme=500,globex=2000".`);
    }
    limits[tenant] = Number(limit.trim());
  }
  return limits;
}

/** Parses `WEBHOOK_RETRY_SCHEDULE`: delays in ms separated by commas, e.g. "10,20,40". */
function parseSchedule(value: string): number[] {
  const parts = value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (!parts.every((p) => /^\d+$/.test(p))) {
    throw new ConfigError(`WEBHOOK_RETRY_SCHEDULE: "${value}" must be delays in milliseconds separated by commas, e.g. "1000,5000,30000".`);
  }
  return parts.map(Number);
}

const relayConfig = defineConfig({
  app: 'relay',
  schema: RelayConfigSchema,
  env: {
    ...serverOptionsEnv('RELAY'),
    redisWaitReplicas: 'REDIS_WAIT_REPLICAS',
    redisWaitTimeoutMs: 'REDIS_WAIT_TIMEOUT_MS',
    bodyLimit: 'RELAY_BODY_LIMIT_BYTES',
    streamMaxLen: 'STREAM_MAX_LEN',
    streamMaxAgeSeconds: 'STREAM_MAX_AGE_SECONDS',
    dedupeWindowSeconds: 'DEDUPE_WINDOW_SECONDS',
    rateLimitPerSecond: 'RATE_LIMIT_EVENTS_PER_SECOND',
    rateLimitTenants: 'RATE_LIMIT_TENANTS',
    maxBatchEvents: 'RELAY_MAX_BATCH_EVENTS',
    maxBatchBytes: 'RELAY_MAX_BATCH_BYTES',
    strictEventTypes: 'STRICT_EVENT_TYPES',
    qlikWebhookSecret: 'QLIK_WEBHOOK_SECRET',
    deliveryMode: 'WEBHOOK_DELIVERY',
    webhookRetrySchedule: 'WEBHOOK_RETRY_SCHEDULE',
    webhookRetry4xx: 'WEBHOOK_RETRY_4XX',
    webhookTimeoutMs: 'WEBHOOK_TIMEOUT_MS',
    webhookAllowPrivate: 'WEBHOOK_ALLOW_PRIVATE',
    webhookDnsServers: 'WEBHOOK_DNS_SERVERS',
    webhookCircuitFailures: 'WEBHOOK_CIRCUIT_FAILURES',
    webhookCircuitCooldownMs: 'WEBHOOK_CIRCUIT_COOLDOWN_MS',
    webhookDisableAfterSeconds: 'WEBHOOK_DISABLE_AFTER_SECONDS',
    webhookDnsTimeoutMs: 'WEBHOOK_DNS_TIMEOUT_MS',
    webhookMaxEndpoints: 'WEBHOOK_MAX_ENDPOINTS_PER_TENANT',
    webhookConcurrency: 'WEBHOOK_CONCURRENCY',
    webhookEndpointConcurrency: 'WEBHOOK_ENDPOINT_CONCURRENCY',
    webhookTenantConcurrency: 'WEBHOOK_TENANT_CONCURRENCY',
    webhookMaxOutstandingPerTenant: 'WEBHOOK_MAX_OUTSTANDING_PER_TENANT',
    webhookReplayMaxEvents: 'WEBHOOK_REPLAY_MAX_EVENTS',
    dispatchClaimIdleMs: 'WEBHOOK_DISPATCH_CLAIM_IDLE_MS',
    webhookLockMs: 'WEBHOOK_LOCK_MS',
    webhookLogRetentionSeconds: 'WEBHOOK_LOG_RETENTION_SECONDS',
    webhookLogMaxPerEndpoint: 'WEBHOOK_LOG_MAX_PER_ENDPOINT',
    consoleUrl: 'CONSOLE_URL',
    consoleGatewayUrl: 'CONSOLE_GATEWAY_URL',
    consoleDir: 'CONSOLE_DIR',
  },
  parse: {
    rateLimitTenants: parseTenantLimits,
    webhookRetrySchedule: parseSchedule,
    webhookDnsServers: (value: string) =>
      value
        .split(',')
        .map((server) => server.trim())
        .filter(Boolean),
    ...serverOptionsParse,
  },
});

/** Reads the relay's options from environment variables (the only place that knows their names). */
export const configFromEnv = (env: Record<string, string | undefined>): Partial<RelayConfig> => relayConfig.fromEnv(env);

/** Applies defaults and validates; throws a ConfigError naming the variable to fix. */
export function loadConfig(input: Partial<RelayConfig>): RelayConfig {
  const config = relayConfig.load(input);
  checkServerOptions(config, 'RELAY');
  checkBaseUrl(config.consoleUrl, 'CONSOLE_URL', ['http:', 'https:'], 'https://events.example');
  checkBaseUrl(config.consoleGatewayUrl, 'CONSOLE_GATEWAY_URL', ['ws:', 'wss:'], 'wss://gateway.example');
  return config;
}

/** Refuses a base URL of another scheme, or with credentials, a query or a fragment, which links and CSP cannot carry. */
function checkBaseUrl(value: string | undefined, name: string, schemes: readonly string[], example: string): void {
  if (value === undefined) return;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url === undefined || !schemes.includes(url.protocol) || url.username || url.password || url.search || url.hash) {
    throw new ConfigError(
      `${name}: "${value}" must be a ${schemes.map((s) => s.slice(0, -1)).join(' or ')} URL without credentials, query or fragment, e.g. "${example}".`,
    );
  }
}
