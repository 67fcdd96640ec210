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
export { dedupeHash } from './storage/dedupe.ts';
export { type TenantKeys, tenantKeys, webhookTenantsKey } from './storage/keys.ts';
export { compareOffsets, isOffset, LAST_OFFSET } from './storage/offsets.ts';
export { StorageError, type StorageErrorCode } from './storage/storage-error.ts';
export { type AppendResult, type StoredEventInput, StreamAppender, type StreamAppenderOptions } from './storage/stream-appender.ts';
export { type StreamEntry, StreamReader, type StreamReaderOptions } from './storage/stream-reader.ts';
