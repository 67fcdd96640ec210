import { ConfigError, configFromEnv, type GatewayConfig, loadConfig } from './config.ts';
import { createGateway } from './create-gateway.ts';

/** The gateway process: the only place that reads the environment, listens and handles signals. */
let config: GatewayConfig;
try {
  config = loadConfig(configFromEnv(process.env));
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(78); // EX_CONFIG
  }
  throw error;
}

const gateway = createGateway(config);
await gateway.listen();

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    gateway.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
