/**
 * A what-if, not product code: the gateway of apps/gateway/src/main.ts with one change, to measure
 * the optimization BENCHMARKS.md recommends before anyone makes it. `Connection.send` corks the
 * client's socket on its first frame of an event-loop turn and uncorks it on the next turn, so
 * that the frames one notification (or several read together) sends to a socket leave in one
 * writev instead of one per frame. Run by `pnpm bench -- --only fanout --targets tenantcast,tenantcast-corked`.
 */
import type { Duplex } from 'node:stream';
import { ConfigError, configFromEnv, type GatewayConfig, loadConfig } from '../../apps/gateway/src/config.ts';
import { createGateway } from '../../apps/gateway/src/create-gateway.ts';
import { Connection } from '../../apps/gateway/src/protocol/connection.ts';

const corked = new Set<Duplex>();
let flushScheduled = false;
const flush = () => {
  flushScheduled = false;
  for (const socket of corked) socket.uncork();
  corked.clear();
};

const send = Connection.prototype.send;
Connection.prototype.send = function corkedSend(this: Connection, data: Buffer | string): boolean {
  const socket = (this.ws as unknown as { _socket?: Duplex })._socket;
  if (socket !== undefined && !corked.has(socket) && !socket.destroyed) {
    socket.cork();
    corked.add(socket);
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  }
  return send.call(this, data);
};

let config: GatewayConfig;
try {
  config = loadConfig(configFromEnv(process.env));
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(78);
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
