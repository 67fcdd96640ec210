export {
  ConfigError,
  type ConfigLoader,
  type ConfigSpec,
  defineConfig,
  LOG_LEVELS,
  LogLevel,
  parseClusterNodes,
  RedisClusterNodes,
} from './config.ts';
export { bounded, exitOnSignal, isRedisUnavailable, loadOrExit, runSteps, type StepLogger } from './lifecycle.ts';
export {
  closeRedis,
  connectRedis,
  createRedis,
  describeRedis,
  isCluster,
  type RedisClient,
  type RedisClientOptions,
  type RedisLogger,
  type RedisTarget,
  redactRedisUrl,
  redisTarget,
} from './redis.ts';
export {
  type AppendResult,
  compareOffsets,
  dedupeHash,
  EventStore,
  type EventStoreOptions,
  isOffset,
  type StoredEventInput,
  type StreamEntry,
} from './storage/event-store.ts';
export { type TenantKeys, tenantKeys, webhookTenantsKey } from './storage/keys.ts';
export { StorageError, type StorageErrorCode } from './storage/storage-error.ts';
