import { ConfigError, configFromEnv, loadConfig, type RelayConfig } from './config.ts';
import { createRelay } from './create-relay.ts';

/** The relay process: the only place that reads the environment, listens and handles signals. */
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

const relay = createRelay(config);
await relay.listen();

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    relay.app.log.info({ signal }, 'shutting down');
    relay.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
