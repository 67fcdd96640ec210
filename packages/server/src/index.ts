export { ConfigError, type ConfigLoader, type ConfigSpec, defineConfig, LOG_LEVELS, LogLevel } from './config.ts';
export { bounded, exitOnSignal, isRedisUnavailable, loadOrExit, runSteps, type StepLogger } from './lifecycle.ts';
export { closeRedis, connectRedis, createRedis, type RedisLogger, redactRedisUrl } from './redis.ts';
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
