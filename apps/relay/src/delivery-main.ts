import { closeRedis, connectRedis, createRedis, exitOnSignal, loadOrExit, redisTarget } from '@tenantcast/server';
import pino from 'pino';
import { configFromEnv, loadConfig } from './config.ts';
import { createAppender } from './ingest/appender.ts';
import { createRelayMetrics } from './ops/metrics.ts';
import { createDeliveryServices } from './webhooks/delivery-services.ts';

/**
 * A delivery process: the webhook dispatcher and workers without the HTTP API, for scaling them
 * apart from ingest (run the relay with WEBHOOK_DELIVERY=off). Any number can run side by side.
 */
const config = loadOrExit(() => loadConfig(configFromEnv(process.env)));
const logger = pino({ level: config.logLevel, base: { app: 'delivery' } });
const redis = createRedis(redisTarget(config), logger);
await connectRedis(redis);
const delivery = createDeliveryServices(config, redis, logger, createRelayMetrics(), createAppender(config, redis));
delivery.startWorkers();
logger.info('delivery workers running');
exitOnSignal(
  async () => {
    await delivery.close();
    await closeRedis(redis);
  },
  (signal) => logger.info({ signal }, 'shutting down'),
);
