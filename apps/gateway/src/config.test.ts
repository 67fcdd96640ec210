import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, configFromEnv, loadConfig } from './config.ts';

const secret = 'a-long-enough-secret';

describe('gateway configuration', () => {
  test('defaults apply when only the secret is set', () => {
    const config = loadConfig(configFromEnv({ TENANTCAST_SECRET: secret }));
    assert.equal(config.secret, secret);
    assert.equal(config.redisUrl, 'redis://127.0.0.1:6379');
    assert.equal(config.keyPrefix, 'tc:');
    assert.equal(config.port, 8081);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.originPolicy, 'off');
    assert.equal(config.logLevel, 'info');
    assert.equal(config.heartbeatMs, 30_000);
    assert.equal(config.maxPayload, 64 * 1024);
    assert.equal(config.catchUpPageSize, 1000);
    assert.equal(config.maxSubscriptionsPerConnection, 100);
    assert.equal(config.shutdownTimeoutMs, 10_000);
    assert.equal(config.metricsPort, 9081);
    assert.equal(config.metricsHost, '127.0.0.1', 'metrics are on loopback unless set');
    assert.equal(config.metricsMaxTenants, 100);
    assert.equal(config.authIssuer, undefined);
    assert.equal(config.authAudience, undefined);
    assert.equal(config.authMaxTokenLifetimeSeconds, 24 * 3600);
    assert.equal(config.authAllowNoExp, false);
  });

  test('the default limits let 10,000 clients of one tenant connect and a healthy client have 1 MiB in flight', () => {
    const config = loadConfig({ secret });
    assert.ok(config.maxConnectionsPerTenant >= 10_000, `maxConnectionsPerTenant is ${config.maxConnectionsPerTenant}`);
    assert.ok(config.maxBufferedBytes > 1024 * 1024, `maxBufferedBytes is ${config.maxBufferedBytes}`);
  });

  test('every environment variable maps to its option', () => {
    const config = loadConfig(
      configFromEnv({
        TENANTCAST_SECRET: secret,
        REDIS_URL: 'redis://example:6380/2',
        REDIS_CLUSTER_NODES: '10.0.0.1:7000,10.0.0.2:7000',
        REDIS_KEY_PREFIX: 'staging:',
        GATEWAY_PORT: '9001',
        GATEWAY_HOST: '127.0.0.1',
        GATEWAY_MAX_CONNECTIONS_PER_TENANT: '50000',
        GATEWAY_MAX_BUFFERED_BYTES: '1048576',
        GATEWAY_MAX_PAYLOAD_BYTES: '2048',
        GATEWAY_HEARTBEAT_MS: '5000',
        GATEWAY_SSE_HEARTBEAT_MS: '2500',
        GATEWAY_ORIGIN_POLICY: 'enforce',
        GATEWAY_CATCH_UP_PAGE_SIZE: '200',
        GATEWAY_MAX_SUBSCRIPTIONS_PER_CONNECTION: '10',
        GATEWAY_TOKEN_EXPIRY_WARNING_SECONDS: '60',
        LOG_LEVEL: 'warn',
        SHUTDOWN_TIMEOUT_MS: '0',
        GATEWAY_METRICS_PORT: '9002',
        GATEWAY_METRICS_HOST: '10.0.0.5',
        GATEWAY_METRICS_MAX_TENANTS: '20',
        AUTH_ISSUER: 'https://auth.example',
        AUTH_AUDIENCE: 'tenantcast',
        AUTH_MAX_TOKEN_LIFETIME_SECONDS: '3600',
        AUTH_ALLOW_NO_EXP: 'true',
        AUTH_JWKS_URLS: 'https://idp.example/.well-known/jwks.json, https://other.example/keys',
        AUTH_ALGORITHMS: 'RS256,PS256',
        AUTH_JWKS_COOLDOWN_MS: '1000',
        AUTH_JWKS_TIMEOUT_MS: '2000',
        AUTH_JWKS_MAX_AGE_MS: '60000',
        AUTH_TENANTS_CLAIM: 'https://qlik.example/tenants',
        AUTH_SCOPE_CLAIM: 'scp',
        AUTH_DEFAULT_SCOPE: 'none',
        GATEWAY_REQUEST_TIMEOUT_MS: '20000',
        GATEWAY_HEADERS_TIMEOUT_MS: '5000',
        GATEWAY_KEEP_ALIVE_TIMEOUT_MS: '61000',
        GATEWAY_MAX_CONNECTIONS: '250000',
      }),
    );
    assert.deepEqual(config, {
      secret,
      redisUrl: 'redis://example:6380/2',
      redisClusterNodes: ['10.0.0.1:7000', '10.0.0.2:7000'],
      keyPrefix: 'staging:',
      port: 9001,
      host: '127.0.0.1',
      maxConnectionsPerTenant: 50_000,
      maxBufferedBytes: 1_048_576,
      maxPayload: 2048,
      heartbeatMs: 5000,
      sseHeartbeatMs: 2500,
      originPolicy: 'enforce',
      catchUpPageSize: 200,
      maxSubscriptionsPerConnection: 10,
      tokenExpiryWarningSeconds: 60,
      logLevel: 'warn',
      shutdownTimeoutMs: 0,
      metricsPort: 9002,
      metricsHost: '10.0.0.5',
      metricsMaxTenants: 20,
      authIssuer: 'https://auth.example',
      authAudience: 'tenantcast',
      authMaxTokenLifetimeSeconds: 3600,
      authAllowNoExp: true,
      authJwksUrls: ['https://idp.example/.well-known/jwks.json', 'https://other.example/keys'],
      authAlgorithms: ['RS256', 'PS256'],
      authJwksCooldownMs: 1000,
      authJwksTimeoutMs: 2000,
      authJwksMaxAgeMs: 60_000,
      authTenantsClaim: 'https://qlik.example/tenants',
      authScopeClaim: 'scp',
      authDefaultScope: 'none',
      requestTimeoutMs: 20_000,
      headersTimeoutMs: 5000,
      keepAliveTimeoutMs: 61_000,
      maxConnections: 250_000,
    });
  });

  test('empty variables count as unset', () => {
    const config = loadConfig(configFromEnv({ TENANTCAST_SECRET: secret, GATEWAY_PORT: '', GATEWAY_ORIGIN_POLICY: '' }));
    assert.equal(config.port, 8081);
    assert.equal(config.originPolicy, 'off');
  });

  for (const [env, message] of [
    [{}, /TENANTCAST_SECRET \(secret\) is required/],
    [{ TENANTCAST_SECRET: 'short' }, /TENANTCAST_SECRET/],
    [{ GATEWAY_PORT: 'http' }, /GATEWAY_PORT \(port\)/],
    [{ GATEWAY_PORT: '70000' }, /GATEWAY_PORT/],
    [{ GATEWAY_PORT: '-1' }, /GATEWAY_PORT/],
    [{ REDIS_KEY_PREFIX: 'a{b}' }, /REDIS_KEY_PREFIX/],
    [{ AUTH_ALGORITHMS: 'RS256,HS256' }, /AUTH_ALGORITHMS \(authAlgorithms\) must name algorithms among RS256/],
    [{ AUTH_JWKS_URLS: 'idp.example/jwks' }, /AUTH_JWKS_URLS \(authJwksUrls\) must be http\(s\) URLs/],
    [{ AUTH_DEFAULT_SCOPE: 'admin' }, /AUTH_DEFAULT_SCOPE/],
    [{ AUTH_JWKS_URLS: 'https://idp.example/jwks' }, /AUTH_JWKS_URLS needs AUTH_AUDIENCE/],
    [{ AUTH_JWKS_COOLDOWN_MS: '0' }, /AUTH_JWKS_COOLDOWN_MS/],
    [{ GATEWAY_MAX_CONNECTIONS_PER_TENANT: '0' }, /GATEWAY_MAX_CONNECTIONS_PER_TENANT/],
    [{ GATEWAY_MAX_CONNECTIONS_PER_TENANT: 'many' }, /GATEWAY_MAX_CONNECTIONS_PER_TENANT/],
    [{ GATEWAY_MAX_BUFFERED_BYTES: '1000' }, /GATEWAY_MAX_BUFFERED_BYTES/],
    [{ GATEWAY_MAX_PAYLOAD_BYTES: '10' }, /GATEWAY_MAX_PAYLOAD_BYTES/],
    [{ GATEWAY_HEARTBEAT_MS: '10' }, /GATEWAY_HEARTBEAT_MS/],
    [{ GATEWAY_HEARTBEAT_MS: '1.5' }, /GATEWAY_HEARTBEAT_MS/],
    [{ GATEWAY_ORIGIN_POLICY: 'strict' }, /GATEWAY_ORIGIN_POLICY/],
    [{ GATEWAY_CATCH_UP_PAGE_SIZE: '0' }, /GATEWAY_CATCH_UP_PAGE_SIZE/],
    [{ GATEWAY_CATCH_UP_PAGE_SIZE: '100000' }, /GATEWAY_CATCH_UP_PAGE_SIZE/],
    [{ GATEWAY_MAX_SUBSCRIPTIONS_PER_CONNECTION: '0' }, /GATEWAY_MAX_SUBSCRIPTIONS_PER_CONNECTION/],
    [{ GATEWAY_TOKEN_EXPIRY_WARNING_SECONDS: '0' }, /GATEWAY_TOKEN_EXPIRY_WARNING_SECONDS/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL \(logLevel\) must be one of/],
    [{ SHUTDOWN_TIMEOUT_MS: '-5' }, /SHUTDOWN_TIMEOUT_MS/],
    [{ GATEWAY_METRICS_PORT: '70000' }, /GATEWAY_METRICS_PORT/],
    [{ GATEWAY_METRICS_MAX_TENANTS: '-1' }, /GATEWAY_METRICS_MAX_TENANTS/],
    [{ AUTH_MAX_TOKEN_LIFETIME_SECONDS: '0' }, /AUTH_MAX_TOKEN_LIFETIME_SECONDS/],
    [{ AUTH_ALLOW_NO_EXP: 'yes' }, /AUTH_ALLOW_NO_EXP/],
  ] as const) {
    const full = 'TENANTCAST_SECRET' in env ? env : { TENANTCAST_SECRET: secret, ...env };
    const shown = Object.keys(env).length === 0 ? 'no TENANTCAST_SECRET' : JSON.stringify(env);
    test(`refuses ${shown} with a message naming the variable`, () => {
      assert.throws(
        () => loadConfig(configFromEnv(Object.keys(env).length === 0 ? {} : full)),
        (error: Error) => error instanceof ConfigError && message.test(error.message),
      );
    });
  }

  test('unknown options are refused', () => {
    assert.throws(
      () => loadConfig({ secret, bogus: true } as never),
      (error: Error) => error instanceof ConfigError && /bogus/.test(error.message),
    );
  });
});
