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
// Before the workers start and "running" is logged: a signal that comes then must find its handler
// (without one, SIGTERM kills the process at once: a CI run's test sent it just after the log line).
exitOnSignal(
  async () => {
    await delivery.close();
    await closeRedis(redis);
  },
  (signal) => logger.info({ signal }, 'shutting down'),
);
delivery.startWorkers();
logger.info('delivery workers running');
