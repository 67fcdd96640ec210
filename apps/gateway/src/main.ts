import { exitOnSignal, loadOrExit } from '@tenantcast/server';
import pino from 'pino';
import { configFromEnv, loadConfig } from './config.ts';
import { createGateway } from './create-gateway.ts';

/** The gateway process: the only place that reads the environment, listens and handles signals. */
const config = loadOrExit(() => loadConfig(configFromEnv(process.env)));
const logger = pino({ level: config.logLevel, base: { app: 'gateway' } });
const gateway = createGateway(config, { logger });
// Before anything is logged as ready: a signal that comes then must find its handler (without one,
// SIGTERM kills the process at once, with no drain).
exitOnSignal(
  () => gateway.close(),
  (signal) => logger.info({ signal }, 'shutting down'),
);
await gateway.listen();
