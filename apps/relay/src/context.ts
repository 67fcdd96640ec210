import type { EventRegistry } from '@tenantcast/sdk';
import type { RedisClient, StreamAppender, StreamReader, TokenVerifier } from '@tenantcast/server';
import type { RelayConfig } from './config.ts';
import type { Refuse } from './errors.ts';
import type { SingleAppends } from './ingest/single-appends.ts';
import type { RelayMetrics } from './ops/metrics.ts';
import type { DeliveryServices } from './webhooks/delivery-services.ts';

/** What the relay's routes share. */
export interface RelayContext {
  config: RelayConfig;
  redis: RedisClient;
  /** Writes events: dedupe, rate limit, replicas wait. */
  appender: StreamAppender;
  /** Reads events back: history, replay. */
  reader: StreamReader;
  singleAppends: SingleAppends;
  registry: EventRegistry<any>;
  /** Checks every credential of the API and the dashboard. */
  tokens: TokenVerifier;
  metrics: RelayMetrics;
  /** Answers a refusal: the one path of every error body, and the rejection metric. */
  refuse: Refuse;
  delivery: DeliveryServices;
}
