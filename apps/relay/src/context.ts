import type { EventRegistry } from '@tenantcast/sdk';
import type { EventStore, RedisClient } from '@tenantcast/server';
import type { RelayConfig } from './config.ts';
import type { DeliveryServices } from './delivery/delivery-services.ts';
import type { SingleAppends } from './ingest/single-appends.ts';
import type { RelayMetrics } from './ops/metrics.ts';

/** What the relay's routes share. */
export interface RelayContext {
  config: RelayConfig;
  redis: RedisClient;
  store: EventStore;
  singleAppends: SingleAppends;
  registry: EventRegistry<any>;
  metrics: RelayMetrics;
  delivery: DeliveryServices;
}
