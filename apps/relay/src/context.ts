import type { EventRegistry } from '@tenantcast/sdk';
import type { EventStore } from '@tenantcast/server';
import type { Redis } from 'ioredis';
import type { RelayConfig } from './config.ts';
import type { DeliveryServices } from './delivery/delivery-services.ts';
import type { RelayMetrics } from './ops/metrics.ts';

/** What the relay's routes share. */
export interface RelayContext {
  config: RelayConfig;
  redis: Redis;
  store: EventStore;
  registry: EventRegistry<any>;
  metrics: RelayMetrics;
  delivery: DeliveryServices;
}
