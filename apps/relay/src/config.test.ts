import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, configFromEnv, loadConfig } from './config.ts';

const secret = 'a-long-enough-secret';

describe('relay configuration', () => {
  test('defaults apply when only the secret is set', () => {
    const config = loadConfig(configFromEnv({ TENANTCAST_SECRET: secret }));
    assert.equal(config.redisUrl, 'redis://127.0.0.1:6379');
    assert.equal(config.port, 8080);
    assert.equal(config.bodyLimit, 1024 * 1024);
    assert.equal(config.keyPrefix, 'tc:');
    assert.equal(config.metricsPort, 9080);
    assert.equal(config.metricsHost, '127.0.0.1', 'metrics are on loopback unless set');
    assert.equal(config.authMaxTokenLifetimeSeconds, 24 * 3600);
    assert.equal(config.authAllowNoExp, false);
    // Limits a 2-core relay honours (docs/RELIABILITY.md, "Noisy neighbour").
    assert.equal(config.rateLimitPerSecond, 2000);
    assert.equal(config.maxBatchEvents, 500);
    assert.equal(config.maxBatchBytes, 256 * 1024);
    assert.equal(config.webhookMaxEndpoints, 50);
  });

  test('environment variables map to options', () => {
    const config = loadConfig(
      configFromEnv({
        TENANTCAST_SECRET: secret,
        REDIS_URL: 'redis://example:6380',
        RELAY_PORT: '9000',
        RELAY_HOST: '127.0.0.1',
        STREAM_MAX_LEN: '5',
        STRICT_EVENT_TYPES: 'true',
        RATE_LIMIT_TENANTS: 'acme=10, globex=20',
        RELAY_MAX_BATCH_EVENTS: '100',
        RELAY_MAX_BATCH_BYTES: '131072',
        WEBHOOK_MAX_ENDPOINTS_PER_TENANT: '7',
        QLIK_WEBHOOK_SECRET: 'q',
        RELAY_METRICS_PORT: '9100',
        RELAY_METRICS_HOST: '0.0.0.0',
        AUTH_ISSUER: 'https://auth.example',
        AUTH_AUDIENCE: 'tenantcast',
        AUTH_MAX_TOKEN_LIFETIME_SECONDS: '600',
        AUTH_ALLOW_NO_EXP: 'true',
      }),
    );
    assert.equal(config.redisUrl, 'redis://example:6380');
    assert.equal(config.port, 9000);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.streamMaxLen, 5);
    assert.equal(config.strictEventTypes, true);
    assert.deepEqual(config.rateLimitTenants, { acme: 10, globex: 20 });
    assert.equal(config.maxBatchEvents, 100);
    assert.equal(config.maxBatchBytes, 131072);
    assert.equal(config.webhookMaxEndpoints, 7);
    assert.equal(config.qlikWebhookSecret, 'q');
    assert.equal(config.metricsPort, 9100);
    assert.equal(config.metricsHost, '0.0.0.0');
    assert.equal(config.authIssuer, 'https://auth.example');
    assert.equal(config.authAudience, 'tenantcast');
    assert.equal(config.authMaxTokenLifetimeSeconds, 600);
    assert.equal(config.authAllowNoExp, true);
  });

  for (const [env, message] of [
    [{}, /TENANTCAST_SECRET \(secret\) is required/],
    [{ TENANTCAST_SECRET: 'short' }, /TENANTCAST_SECRET .* fewer than 16/],
    [{ TENANTCAST_SECRET: secret, RELAY_PORT: 'http' }, /RELAY_PORT \(port\) must be integer/],
    [{ TENANTCAST_SECRET: secret, RELAY_PORT: '70000' }, /RELAY_PORT/],
    [{ TENANTCAST_SECRET: secret, LOG_LEVEL: 'loud' }, /LOG_LEVEL \(logLevel\) must be one of/],
    [{ TENANTCAST_SECRET: secret, STRICT_EVENT_TYPES: 'yes' }, /STRICT_EVENT_TYPES/],
    [{ TENANTCAST_SECRET: secret, REDIS_KEY_PREFIX: 'a{b}' }, /REDIS_KEY_PREFIX/],
    [{ TENANTCAST_SECRET: secret, RELAY_BODY_LIMIT_BYTES: '1000' }, /RELAY_BODY_LIMIT_BYTES/],
    [{ TENANTCAST_SECRET: secret, RATE_LIMIT_TENANTS: 'acme:5' }, /RATE_LIMIT_TENANTS: "acme:5" must be tenant=eventsPerSecond/],
    [
      { TENANTCAST_SECRET: secret, REDIS_CLUSTER_NODES: 'node-a,node-b:7000' },
      /REDIS_CLUSTER_NODES \(redisClusterNodes\) must be host:port seed nodes/,
    ],
    [{ TENANTCAST_SECRET: secret, REDIS_WAIT_REPLICAS: '-1' }, /REDIS_WAIT_REPLICAS/],
    [{ TENANTCAST_SECRET: secret, RELAY_METRICS_PORT: 'nine' }, /RELAY_METRICS_PORT/],
    [{ TENANTCAST_SECRET: secret, AUTH_MAX_TOKEN_LIFETIME_SECONDS: 'long' }, /AUTH_MAX_TOKEN_LIFETIME_SECONDS/],
    [{ TENANTCAST_SECRET: secret, RELAY_REQUEST_TIMEOUT_MS: '0' }, /RELAY_REQUEST_TIMEOUT_MS/],
    [{ TENANTCAST_SECRET: secret, RELAY_MAX_CONNECTIONS: 'many' }, /RELAY_MAX_CONNECTIONS \(maxConnections\) must be integer/],
    [
      { TENANTCAST_SECRET: secret, RELAY_REQUEST_TIMEOUT_MS: '5000' },
      /RELAY_HEADERS_TIMEOUT_MS \(10000\) must not exceed RELAY_REQUEST_TIMEOUT_MS \(5000\)/,
    ],
  ] as const) {
    test(`refuses ${JSON.stringify(env)} with a message naming the variable`, () => {
      assert.throws(
        () => loadConfig(configFromEnv(env)),
        (error: Error) => error instanceof ConfigError && message.test(error.message),
      );
    });
  }

  test('REDIS_CLUSTER_NODES: comma-separated seed nodes, blanks ignored; REDIS_WAIT_REPLICAS sets the replicas a 202 waits for', () => {
    const config = loadConfig(
      configFromEnv({
        TENANTCAST_SECRET: secret,
        REDIS_CLUSTER_NODES: ' 10.0.0.1:7000, redis-2.internal:7001,,redis://user:pw@10.0.0.3:7002 ',
        REDIS_WAIT_REPLICAS: '1',
      }),
    );
    assert.deepEqual(config.redisClusterNodes, ['10.0.0.1:7000', 'redis-2.internal:7001', 'redis://user:pw@10.0.0.3:7002']);
    assert.equal(config.redisWaitReplicas, 1);
    assert.equal(config.redisWaitTimeoutMs, 1000);
    const single = loadConfig(configFromEnv({ TENANTCAST_SECRET: secret }));
    assert.deepEqual(single.redisClusterNodes, []);
    assert.equal(single.redisWaitReplicas, 0);
  });

  test('timeouts and the connection cap: production defaults, each set by its variable', () => {
    const defaults = loadConfig(configFromEnv({ TENANTCAST_SECRET: secret }));
    assert.deepEqual(
      [defaults.requestTimeoutMs, defaults.headersTimeoutMs, defaults.keepAliveTimeoutMs, defaults.maxConnections],
      [30_000, 10_000, 72_000, 10_000],
    );
    const set = loadConfig(
      configFromEnv({
        TENANTCAST_SECRET: secret,
        RELAY_REQUEST_TIMEOUT_MS: '2000',
        RELAY_HEADERS_TIMEOUT_MS: '1000',
        RELAY_KEEP_ALIVE_TIMEOUT_MS: '5000',
        RELAY_MAX_CONNECTIONS: '100',
      }),
    );
    assert.deepEqual([set.requestTimeoutMs, set.headersTimeoutMs, set.keepAliveTimeoutMs, set.maxConnections], [2000, 1000, 5000, 100]);
  });

  test('the console: CONSOLE_URL, CONSOLE_GATEWAY_URL and CONSOLE_DIR, unset by default, URLs checked at boot', () => {
    const defaults = loadConfig(configFromEnv({ TENANTCAST_SECRET: secret }));
    assert.deepEqual([defaults.consoleUrl, defaults.consoleGatewayUrl, defaults.consoleDir], [undefined, undefined, undefined]);
    const set = loadConfig(
      configFromEnv({
        TENANTCAST_SECRET: secret,
        CONSOLE_URL: 'https://events.example/tc',
        CONSOLE_GATEWAY_URL: 'wss://gw.example',
        CONSOLE_DIR: '/srv/console',
      }),
    );
    assert.deepEqual(
      [set.consoleUrl, set.consoleGatewayUrl, set.consoleDir],
      ['https://events.example/tc', 'wss://gw.example', '/srv/console'],
    );
    for (const [name, value] of [
      ['CONSOLE_GATEWAY_URL', 'http://gw.example'],
      ['CONSOLE_GATEWAY_URL', 'gw.example:8081'],
      ['CONSOLE_GATEWAY_URL', 'wss://gw.example/?token=x'],
      ['CONSOLE_URL', 'ws://events.example'],
      ['CONSOLE_URL', 'https://user:pw@events.example'],
    ] as const) {
      assert.throws(
        () => loadConfig(configFromEnv({ TENANTCAST_SECRET: secret, [name]: value })),
        (error: Error) => error instanceof ConfigError && error.message.startsWith(`${name}: "${value}" must be a`),
        `${name}=${value}`,
      );
    }
  });

  test('unknown options are refused', () => {
    assert.throws(() => loadConfig({ secret, bogus: true } as never), /unknown option bogus/);
  });
});
