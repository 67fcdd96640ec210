import { exitOnSignal, loadOrExit } from '@tenantcast/server';
import { configFromEnv, loadConfig } from './config.ts';
import { createRelay } from './create-relay.ts';

/** The relay process: the only place that reads the environment, listens and handles signals. */
const config = loadOrExit(() => loadConfig(configFromEnv(process.env)));
const relay = createRelay(config);
// Before anything is logged as ready: a signal that comes then must find its handler (without one,
// SIGTERM kills the process at once, with no drain).
exitOnSignal(
  () => relay.close(),
  (signal) => relay.app.log.info({ signal }, 'shutting down'),
);
await relay.listen();
