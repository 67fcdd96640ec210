export { ALL_TENANTS_SCOPE, type ClaimsMapping, claimAt, DEFAULT_CLAIMS_MAPPING, mapClaims } from './auth/claims-mapping.ts';
export { JwksKeys, type JwksOptions } from './auth/jwks-keys.ts';
export { keysByAlgorithm } from './auth/key-sources.ts';
export {
  basicOrBearerToken,
  bearerToken,
  createTokenVerifier,
  DEFAULT_TOKEN_POLICY,
  hs256Keys,
  type KeySource,
  requireScope,
  requireTenant,
  TOKEN_CACHE_SIZE,
  type TokenPolicy,
  TokenVerifier,
  type TokenVerifierConfig,
  tokenPolicy,
  upgradeToken,
} from './auth/token-verifier.ts';
export {
  ConfigError,
  type ConfigLoader,
  type ConfigSpec,
  checkServerOptions,
  defineConfig,
  LOG_LEVELS,
  LogLevel,
  parseList,
  RedisClusterNodes,
  serverOptions,
  serverOptionsEnv,
  serverOptionsParse,
} from './config.ts';
export {
  type ErrorBody,
  type ErrorDetail,
  type ServerErrorCode,
  ServiceError,
  type ServiceErrorOptions,
  toServiceError,
} from './errors.ts';
export { capConnections, type HttpLimits, httpLimitOptions, TIMEOUT_CHECK_INTERVAL_MS } from './http/http-limits.ts';
export {
  bounded,
  exitOnSignal,
  isRedisUnavailable,
  Lifecycle,
  type LifecycleState,
  loadOrExit,
  runSteps,
  type Step,
  type StepLogger,
} from './lifecycle.ts';
export { MetricsListener, type MetricsListenerOptions, type MetricsSource } from './ops/metrics-listener.ts';
export { OTHER_TENANTS, topTenants } from './ops/top-tenants.ts';
export {
  closeRedis,
  connectRedis,
  createRedis,
  describeRedis,
  isCluster,
  REDIS_BOOT_WAIT_MS,
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
export { type AppendResult, type StoredEventInput, StreamAppender, type StreamAppenderOptions } from './storage/stream-appender.ts';
export { type ReadOptions, type StreamEntry, StreamReader, type StreamReaderOptions } from './storage/stream-reader.ts';
