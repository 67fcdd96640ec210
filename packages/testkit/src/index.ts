export { type RelayFixture, type StackFixture, useRelay, useStack } from './fixtures.ts';
export { startGateway, type TestGateway } from './gateway.ts';
export { type RedisCluster, type RedisClusterOptions, startRedisCluster } from './redis-cluster.ts';
export { freePort, type RedisServer, type RedisServerOptions, startRedisServer } from './redis-server.ts';
export { startRelay, TEST_SECRET, type TestRelay } from './relay.ts';
export { startStack, type TestStack } from './stack.ts';
export { type RedisConnection, startTestRedis, type TestRedis, testRedisKind } from './test-redis.ts';
export { sleep, until } from './wait.ts';
