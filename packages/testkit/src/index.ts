export { testAppOptions } from './app-options.ts';
export { makeEvent } from './cloud-events.ts';
export { closeAll, type OnClose, startFixture, useFixture, useRedisServer } from './fixture.ts';
export { startIdentityProvider, type TestAlgorithm, type TestIdentityProvider } from './identity-provider.ts';
export { uniqueKeyPrefix, uniqueTenant } from './ids.ts';
export { metricValue, scrapeMetric, scrapeMetrics } from './metrics.ts';
export { TSX_NODE_ARGS } from './node-args.ts';
export { type Accepted, publish, publishOne } from './publish.ts';
export { type RedisCluster, type RedisClusterOptions, startRedisCluster } from './redis-cluster.ts';
export { freePort, type RedisServer, type RedisServerOptions, startRedisServer } from './redis-server.ts';
export { openStream, type StreamMessage, type StreamOptions, type StreamRefusal, streamRefusal, TestStream } from './sse-clients.ts';
export { type RedisConnection, startTestRedis, type TestRedis, type TestRedisOptions, testRedisKind, toConnection } from './test-redis.ts';
export { TEST_SECRET, testToken } from './tokens.ts';
export { sleep, until, within } from './wait.ts';
export {
  assertRefusal,
  type Cleanup,
  type ConnectOptions,
  connect,
  type Delivered,
  type PlainQuery,
  plainUrl,
  type Refusal,
  refusal,
  TestClient,
} from './ws-clients.ts';
