import { isTenantId } from '@tenantcast/sdk';
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The relay's configuration, parsed once at boot. */
export const RelayConfigSchema = Type.Object(
  {
    /** Redis to store streams in. Default redis://127.0.0.1:6379. */
    redisUrl: Type.String({ minLength: 1, default: 'redis://127.0.0.1:6379' }),
    /** Prefix of every Redis key and channel; must not contain braces. Default `tc:`. */
    keyPrefix: Type.String({ pattern: '^[^{}]*$', maxLength: 64, default: 'tc:' }),
    /** HS256 key for tokens: the string's UTF-8 bytes. Required, at least 16 characters. */
    secret: Type.String({ minLength: 16 }),
    /** Port to listen on; 0 picks a free one. Default 8080. */
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
    /** Interface to listen on. Default 0.0.0.0. */
    host: Type.String({ minLength: 1, default: '0.0.0.0' }),
    /** Largest request body in bytes. Default 1 MiB. */
    bodyLimit: Type.Integer({ minimum: 65536, default: 1024 * 1024 }),
    /** Most entries kept per tenant stream (approximate trim); 0 keeps any number. Default 100,000. */
    streamMaxLen: Type.Integer({ minimum: 0, default: 100_000 }),
    /** Oldest entry kept per tenant stream, in seconds; 0 keeps any age. Default 7 days. */
    streamMaxAgeSeconds: Type.Integer({ minimum: 0, default: 7 * 24 * 3600 }),
    /** How long a (source, id) pair is remembered for dedupe, in seconds. Default 24 h. */
    dedupeWindowSeconds: Type.Integer({ minimum: 1, default: 24 * 3600 }),
    /** Events per second per tenant; 0 turns limiting off. Default 1,000,000. */
    rateLimitPerSecond: Type.Integer({ minimum: 0, default: 1_000_000 }),
    /** Per-tenant overrides of the rate limit. Default none. */
    rateLimitTenants: Type.Record(Type.String(), Type.Integer({ minimum: 0 }), { default: {} }),
    /** Refuse event types without a registered schema. Default false. */
    strictEventTypes: Type.Boolean({ default: false }),
    /** Key of Qlik's webhook signatures; the Qlik endpoint is off without it. */
    qlikWebhookSecret: Type.Optional(Type.String({ minLength: 1 })),
    /** pino log level. Default info. */
    logLevel: Type.Union(
      LOG_LEVELS.map((l) => Type.Literal(l)),
      { default: 'info' },
    ),
    /** How long shutdown waits for requests in flight, in ms. Default 10,000. */
    shutdownTimeoutMs: Type.Integer({ minimum: 0, default: 10_000 }),
  },
  { additionalProperties: false },
);

export type RelayConfig = Static<typeof RelayConfigSchema>;

const validator = Compile(RelayConfigSchema);

/** Which environment variable sets which option, for error messages and for `configFromEnv`. */
const ENV_NAMES: Record<keyof RelayConfig, string> = {
  redisUrl: 'REDIS_URL',
  keyPrefix: 'REDIS_KEY_PREFIX',
  secret: 'TENANTCAST_SECRET',
  port: 'RELAY_PORT',
  host: 'RELAY_HOST',
  bodyLimit: 'RELAY_BODY_LIMIT_BYTES',
  streamMaxLen: 'STREAM_MAX_LEN',
  streamMaxAgeSeconds: 'STREAM_MAX_AGE_SECONDS',
  dedupeWindowSeconds: 'DEDUPE_WINDOW_SECONDS',
  rateLimitPerSecond: 'RATE_LIMIT_EVENTS_PER_SECOND',
  rateLimitTenants: 'RATE_LIMIT_TENANTS',
  strictEventTypes: 'STRICT_EVENT_TYPES',
  qlikWebhookSecret: 'QLIK_WEBHOOK_SECRET',
  logLevel: 'LOG_LEVEL',
  shutdownTimeoutMs: 'SHUTDOWN_TIMEOUT_MS',
};

/** Thrown at boot when the configuration is wrong; the message names the variable to fix. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const INTEGER_KEYS = new Set<keyof RelayConfig>([
  'port',
  'bodyLimit',
  'streamMaxLen',
  'streamMaxAgeSeconds',
  'dedupeWindowSeconds',
  'rateLimitPerSecond',
  'shutdownTimeoutMs',
]);

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

/** Reads the relay's options from environment variables (the only place that knows their names). */
export function configFromEnv(env: NodeJS.ProcessEnv): Partial<Record<keyof RelayConfig, unknown>> {
  const out: Partial<Record<keyof RelayConfig, unknown>> = {};
  for (const [key, name] of Object.entries(ENV_NAMES) as Array<[keyof RelayConfig, string]>) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    if (INTEGER_KEYS.has(key)) out[key] = /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
    else if (key === 'strictEventTypes') out[key] = raw === 'true' ? true : raw === 'false' ? false : raw;
    else if (key === 'rateLimitTenants') out[key] = parseTenantLimits(raw);
    else out[key] = raw;
  }
  return out;
}

/** Applies defaults and validates; throws a ConfigError naming the variable to fix. */
export function loadConfig(input: Partial<Record<keyof RelayConfig, unknown>>): RelayConfig {
  const withDefaults: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(RelayConfigSchema.properties)) {
    const value = (input as Record<string, unknown>)[key];
    withDefaults[key] = value !== undefined ? value : structuredClone((schema as { default?: unknown }).default);
    if (withDefaults[key] === undefined) delete withDefaults[key];
  }
  for (const key of Object.keys(input))
    if (!(key in RelayConfigSchema.properties)) withDefaults[key] = (input as Record<string, unknown>)[key];
  if (validator.Check(withDefaults)) return withDefaults as RelayConfig;
  const problems = [...validator.Errors(withDefaults)].map((e) => {
    const key = e.instancePath.split('/')[1] as keyof RelayConfig | undefined;
    const name = key && ENV_NAMES[key] ? `${ENV_NAMES[key]} (${key})` : e.instancePath || 'config';
    if (e.keyword === 'required') {
      const missing = (e.params as { requiredProperties?: string[] }).requiredProperties?.[0] ?? '';
      const env = ENV_NAMES[missing as keyof RelayConfig];
      return `${env ? `${env} (${missing})` : missing} is required`;
    }
    if (e.keyword === 'additionalProperties') {
      return `unknown option ${(e.params as { additionalProperties?: string[] }).additionalProperties?.join(', ')}`;
    }
    if (key === 'logLevel') return `${name} must be one of ${LOG_LEVELS.join(', ')}`;
    if (e.keyword === 'boolean') return '';
    return `${name} ${e.message}`;
  });
  const unique = [...new Set(problems.filter(Boolean))].slice(0, 5);
  throw new ConfigError(`Invalid relay configuration: ${unique.join('; ')}.`);
}
