import { closeRedis, connectRedis, createRedis } from '@tenantcast/server';
import pino from 'pino';
import { ConfigError, configFromEnv, loadConfig, type RelayConfig } from './config.ts';
import { createDeliveryServices } from './delivery/delivery-services.ts';
import { createRelayMetrics } from './ops/metrics.ts';

/**
 * A delivery process: the webhook dispatcher and workers without the HTTP API, for scaling them
 * apart from ingest (run the relay with WEBHOOK_DELIVERY=off). Any number can run side by side.
 */
let config: RelayConfig;
try {
  config = loadConfig(configFromEnv(process.env));
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(78); // EX_CONFIG
  }
  throw error;
}

const logger = pino({ level: config.logLevel, base: { app: 'delivery' } });
const redis = createRedis(config.redisUrl, logger);
await connectRedis(redis, 3000);
const delivery = createDeliveryServices(config, redis, logger, createRelayMetrics());
delivery.startWorkers();
logger.info('delivery workers running');

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'shutting down');
    delivery
      .close()
      .then(() => closeRedis(redis))
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  });
}
