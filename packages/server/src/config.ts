import Type, { type Static, type TObject, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { CLUSTER_NODE_PATTERN } from './redis.ts';

/** Thrown at boot when the configuration is wrong; the message names the variable to fix. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** pino's levels, shared by every app's `LOG_LEVEL`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The `LOG_LEVEL` option's schema. */
export const LogLevel = Type.Union(
  [
    Type.Literal('fatal'),
    Type.Literal('error'),
    Type.Literal('warn'),
    Type.Literal('info'),
    Type.Literal('debug'),
    Type.Literal('trace'),
    Type.Literal('silent'),
  ],
  { default: 'info' },
);

/** How an app's options are read: the schema (with defaults) and the environment variable of each. */
export interface ConfigSpec<S extends TObject> {
  /** The app's name, for messages. */
  app: string;
  schema: S;
  /** Option → the environment variable that sets it. */
  env: { [K in keyof Static<S>]-?: string };
  /** Readers for options whose text is not a plain string, integer or boolean. */
  parse?: { [K in keyof Static<S>]?: (raw: string) => unknown };
}

/** The configuration of one app: read from the environment, defaulted and validated once at boot. */
export interface ConfigLoader<S extends TObject> {
  /** Reads the options that the environment sets (by their variable names). */
  fromEnv(env: Record<string, string | undefined>): Partial<Static<S>>;
  /** Applies defaults and validates; throws a ConfigError naming the variable to fix. */
  load(input: Partial<Static<S>>): Static<S>;
}

function typeOf(schema: TSchema): string | undefined {
  return (schema as { type?: string }).type;
}

/**
 * Defines an app's configuration. Each option is one line of doc comment and a default in the
 * schema; unknown options are refused; a failure names the environment variable.
 */
export function defineConfig<S extends TObject>(spec: ConfigSpec<S>): ConfigLoader<S> {
  const validator = Compile(spec.schema);
  const properties = spec.schema.properties as Record<string, TSchema>;
  const envNames = spec.env as Record<string, string>;
  const parsers = (spec.parse ?? {}) as Record<string, (raw: string) => unknown>;

  function describe(key: string | undefined): string {
    return key !== undefined && envNames[key] ? `${envNames[key]} (${key})` : (key ?? 'config');
  }

  return {
    fromEnv(env) {
      const out: Record<string, unknown> = {};
      for (const [key, name] of Object.entries(envNames)) {
        const raw = env[name];
        if (raw === undefined || raw === '') continue;
        const schema = properties[key]!;
        const parse = parsers[key];
        if (parse !== undefined) out[key] = parse(raw);
        else if (typeOf(schema) === 'integer') out[key] = /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
        else if (typeOf(schema) === 'boolean') out[key] = raw === 'true' ? true : raw === 'false' ? false : raw;
        else out[key] = raw;
      }
      return out as Partial<Static<S>>;
    },

    load(input) {
      const value: Record<string, unknown> = {};
      for (const [key, schema] of Object.entries(properties)) {
        const given = (input as Record<string, unknown>)[key];
        const fallback = (schema as { default?: unknown }).default;
        if (given !== undefined) value[key] = given;
        else if (fallback !== undefined) value[key] = structuredClone(fallback);
      }
      for (const key of Object.keys(input)) if (!(key in properties)) value[key] = (input as Record<string, unknown>)[key];
      if (validator.Check(value)) return value as Static<S>;

      const problems = [...validator.Errors(value)].map((e) => {
        const key = e.instancePath.split('/')[1];
        if (e.keyword === 'required') {
          const missing = (e.params as { requiredProperties?: string[] }).requiredProperties ?? [];
          return missing.map((m) => `${describe(m)} is required`).join('; ');
        }
        if (e.keyword === 'additionalProperties') {
          return `unknown option ${(e.params as { additionalProperties?: string[] }).additionalProperties?.join(', ')}`;
        }
        if (e.keyword === 'boolean') return '';
        if (key === 'logLevel') return `${describe(key)} must be one of ${LOG_LEVELS.join(', ')}`;
        if (key === 'authAlgorithms')
          return `${describe(key)} must name algorithms among ${JWKS_ALGORITHMS.join(', ')}, separated by commas (HS256 is TENANTCAST_SECRET's)`;
        if (key === 'authJwksUrls') return `${describe(key)} must be http(s) URLs separated by commas`;
        if (key === 'redisClusterNodes')
          return `${describe(key)} must be host:port seed nodes separated by commas, e.g. "10.0.0.1:7000,10.0.0.2:7000"`;
        return `${describe(key)} ${e.message}`;
      });
      const unique = [...new Set(problems.filter(Boolean))].slice(0, 5);
      throw new ConfigError(`Invalid ${spec.app} configuration: ${unique.join('; ')}.`);
    },
  };
}

/** The algorithms a JWKS key may sign with (AUTH_ALGORITHMS): jose's asymmetric JWS algorithms. */
export const JWKS_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;
const JwksAlgorithm = Type.Union(JWKS_ALGORITHMS.map((alg) => Type.Literal(alg)));

/**
 * The `REDIS_CLUSTER_NODES` option's schema: seed nodes of a Redis Cluster, `host:port` (or
 * `redis://user:password@host:port`); empty for one Redis at `REDIS_URL`.
 */
export const RedisClusterNodes = Type.Array(Type.String({ pattern: CLUSTER_NODE_PATTERN }), { default: [] });

/** Reads a comma-separated list (`REDIS_CLUSTER_NODES`, `AUTH_JWKS_URLS`), spaces allowed. */
export function parseList(raw: string): string[] {
  return raw
    .split(',')
    .map((node) => node.trim())
    .filter((node) => node !== '');
}

/**
 * The options every tenantcast server takes (relay, gateway, delivery), declared once: each app
 * spreads this into its schema. Only the ports' defaults differ.
 */
export function serverOptions(defaults: { port: number; metricsPort: number; maxConnections: number }) {
  return {
    /** Redis to store streams in (one server). Default redis://127.0.0.1:6379. */
    redisUrl: Type.String({ minLength: 1, default: 'redis://127.0.0.1:6379' }),
    /** Seed nodes of a Redis Cluster (`host:port`, comma-separated); when set, used instead of the URL. Default none. */
    redisClusterNodes: RedisClusterNodes,
    /** Prefix of every Redis key and channel, the same for every app; must not contain braces. Default `tc:`. */
    keyPrefix: Type.String({ pattern: '^[^{}]*$', maxLength: 64, default: 'tc:' }),
    /** HS256 key for tokens: the string's UTF-8 bytes, the same for every app. Required, at least 16 characters. */
    secret: Type.String({ minLength: 16 }),
    /** The HS256 key before the current one, accepted for verification only while a secret is rotated. Default none. */
    secretPrevious: Type.Optional(Type.String({ minLength: 16 })),
    /** Port to listen on; 0 picks a free one. */
    port: Type.Integer({ minimum: 0, maximum: 65535, default: defaults.port }),
    /** Interface to listen on. Default 0.0.0.0. */
    host: Type.String({ minLength: 1, default: '0.0.0.0' }),
    /** pino log level. Default info. */
    logLevel: LogLevel,
    /** How long shutdown waits for work in flight (requests; clients closing after 1001), in ms. Default 10,000. */
    shutdownTimeoutMs: Type.Integer({ minimum: 0, default: 10_000 }),
    /** Port of the metrics listener (`GET /metrics`), apart from the public one; 0 picks a free one. */
    metricsPort: Type.Integer({ minimum: 0, maximum: 65535, default: defaults.metricsPort }),
    /** Interface of the metrics listener: loopback, so that only the host (or its scraper) reads it. Default 127.0.0.1. */
    metricsHost: Type.String({ minLength: 1, default: '127.0.0.1' }),
    /** The `iss` every token must carry, HS256 and JWKS-signed alike; when unset, any issuer (or none). Default none. */
    authIssuer: Type.Optional(Type.String({ minLength: 1 })),
    /** An audience every token's `aud` must name; when unset, any audience (or none). Default none. */
    authAudience: Type.Optional(Type.String({ minLength: 1 })),
    /** The longest a token may live, `exp` − `iat`, in seconds; longer-lived tokens are refused. Default 24 h. */
    authMaxTokenLifetimeSeconds: Type.Integer({ minimum: 1, default: 24 * 3600 }),
    /** Accept tokens without `exp` (they never expire). Default false. */
    authAllowNoExp: Type.Boolean({ default: false }),
    /** JWKS URLs of identity providers whose tokens are accepted (comma-separated); none: HS256 tokens only. Default none. */
    authJwksUrls: Type.Array(Type.String({ pattern: '^https?://' }), { default: [] }),
    /** The algorithms a JWKS key may sign with: asymmetric ones only (HS256 is the secret's). Default RS256, ES256, EdDSA. */
    authAlgorithms: Type.Array(JwksAlgorithm, { minItems: 1, default: ['RS256', 'ES256', 'EdDSA'] }),
    /** Least time between two fetches of one JWKS, for an unknown `kid` or after a failed fetch, in ms; at least 1,000. Default 30,000. */
    authJwksCooldownMs: Type.Integer({ minimum: 1000, default: 30_000 }),
    /** Longest a JWKS fetch may take, in ms. Default 5,000. */
    authJwksTimeoutMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 5_000 }),
    /** JWKS keys older than this are fetched again in the background (cached ones keep verifying), in ms. Default 600,000. */
    authJwksMaxAgeMs: Type.Integer({ minimum: 1000, default: 600_000 }),
    /** The claim of a JWKS-signed token that holds its tenant ids (a name, or a dotted path). Default `tenants`. */
    authTenantsClaim: Type.String({ minLength: 1, default: 'tenants' }),
    /** The claim of a JWKS-signed token that holds its scopes (a space-separated string or an array). Default `scope`. */
    authScopeClaim: Type.String({ minLength: 1, default: 'scope' }),
    /** The scopes of a JWKS-signed token that carries none of tenantcast's (space-separated), or `none`. Default `subscribe`. */
    authDefaultScope: Type.String({ pattern: '^(none|(publish|subscribe)( (publish|subscribe))*)$', default: 'subscribe' }),
    /** Longest a whole request (headers and body) may take to arrive, in ms; then 408 and the connection closes. Default 30,000. */
    requestTimeoutMs: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 30_000 }),
    /** Longest a request's headers may take to arrive (also a new connection's first), in ms; at most the request timeout. Default 10,000. */
    headersTimeoutMs: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 10_000 }),
    /** How long an idle kept-alive connection stays open, in ms. Default 72,000 (longer than load balancers' 60 s). */
    keepAliveTimeoutMs: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 72_000 }),
    /** Most connections open at once (WebSockets included); more are closed on arrival and counted. */
    maxConnections: Type.Integer({ minimum: 1, default: defaults.maxConnections }),
  };
}

/**
 * Checks what the schema cannot: the headers timeout within the request timeout (Node refuses it
 * too, with ERR_OUT_OF_RANGE naming no variable: the headers are part of the request).
 */
export function checkServerOptions(
  config: { headersTimeoutMs: number; requestTimeoutMs: number; authJwksUrls?: readonly string[]; authAudience?: string },
  app: 'RELAY' | 'GATEWAY',
): void {
  if (config.headersTimeoutMs > config.requestTimeoutMs) {
    throw new ConfigError(
      `Invalid ${app.toLowerCase()} configuration: ${app}_HEADERS_TIMEOUT_MS (${config.headersTimeoutMs}) must not exceed ${app}_REQUEST_TIMEOUT_MS (${config.requestTimeoutMs}).`,
    );
  }
  // An identity provider signs tokens for every application it serves: without an audience to
  // check, a token it issued for another application would be taken here.
  if ((config.authJwksUrls?.length ?? 0) > 0 && config.authAudience === undefined) {
    throw new ConfigError(
      `Invalid ${app.toLowerCase()} configuration: AUTH_JWKS_URLS needs AUTH_AUDIENCE, the audience your identity provider puts in tokens meant for tenantcast (docs/auth.md).`,
    );
  }
}

/** The server options' environment variables; `app` names the ports' and hosts' (`RELAY_PORT`, `GATEWAY_METRICS_HOST`). */
export function serverOptionsEnv(app: 'RELAY' | 'GATEWAY') {
  return {
    redisUrl: 'REDIS_URL',
    redisClusterNodes: 'REDIS_CLUSTER_NODES',
    keyPrefix: 'REDIS_KEY_PREFIX',
    secret: 'TENANTCAST_SECRET',
    secretPrevious: 'TENANTCAST_SECRET_PREVIOUS',
    port: `${app}_PORT`,
    host: `${app}_HOST`,
    logLevel: 'LOG_LEVEL',
    shutdownTimeoutMs: 'SHUTDOWN_TIMEOUT_MS',
    metricsPort: `${app}_METRICS_PORT`,
    metricsHost: `${app}_METRICS_HOST`,
    authIssuer: 'AUTH_ISSUER',
    authAudience: 'AUTH_AUDIENCE',
    authMaxTokenLifetimeSeconds: 'AUTH_MAX_TOKEN_LIFETIME_SECONDS',
    authAllowNoExp: 'AUTH_ALLOW_NO_EXP',
    authJwksUrls: 'AUTH_JWKS_URLS',
    authAlgorithms: 'AUTH_ALGORITHMS',
    authJwksCooldownMs: 'AUTH_JWKS_COOLDOWN_MS',
    authJwksTimeoutMs: 'AUTH_JWKS_TIMEOUT_MS',
    authJwksMaxAgeMs: 'AUTH_JWKS_MAX_AGE_MS',
    authTenantsClaim: 'AUTH_TENANTS_CLAIM',
    authScopeClaim: 'AUTH_SCOPE_CLAIM',
    authDefaultScope: 'AUTH_DEFAULT_SCOPE',
    requestTimeoutMs: `${app}_REQUEST_TIMEOUT_MS`,
    headersTimeoutMs: `${app}_HEADERS_TIMEOUT_MS`,
    keepAliveTimeoutMs: `${app}_KEEP_ALIVE_TIMEOUT_MS`,
    maxConnections: `${app}_MAX_CONNECTIONS`,
  } as const;
}

/** Readers of the server options whose text is not a plain string or number. */
export const serverOptionsParse = { redisClusterNodes: parseList, authJwksUrls: parseList, authAlgorithms: parseList } as const;
