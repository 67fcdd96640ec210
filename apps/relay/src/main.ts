import { exitOnSignal, loadOrExit } from '@tenantcast/server';
import { configFromEnv, loadConfig } from './config.ts';
import { createRelay } from './create-relay.ts';

/** The relay process: the only place that reads the environment, listens and handles signals. */
const config = loadOrExit(() => loadConfig(configFromEnv(process.env)));
const relay = createRelay(config);
await relay.listen();
exitOnSignal(
  () => relay.close(),
  (signal) => relay.app.log.info({ signal }, 'shutting down'),
);
