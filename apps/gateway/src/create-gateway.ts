import { createServer, type Server } from 'node:http';
import { capConnections, createTokenVerifier, httpLimitOptions, Lifecycle, MetricsListener, StreamReader } from '@tenantcast/server';
import pino, { type Logger } from 'pino';
import { Admission } from './admission/admission.ts';
import type { GatewayConfig } from './config.ts';
import { Fanout } from './fanout/fanout.ts';
import { startOffset } from './fanout/resume.ts';
import { GatewayRedis } from './gateway-redis.ts';
import { createGatewayMetrics } from './ops/metrics.ts';
import { opsRoutes } from './ops/ops-routes.ts';
import { closeClients } from './protocol/close-clients.ts';
import { Heartbeat } from './protocol/heartbeat.ts';
import type { SessionHost } from './protocol/session-host.ts';
import { Sessions } from './protocol/sessions.ts';
import { EventStreams } from './sse/event-streams.ts';
import { Handshake } from './upgrade/handshake.ts';

export interface GatewayDeps {
  /** A logger; default a pino JSON logger at `config.logLevel`. */
  logger?: Logger;
}

/** A gateway that is built but may not listen yet. */
export interface Gateway {
  /** Starts listening, and the metrics listener too; resolves with the public base URL, e.g. `http://127.0.0.1:8081`. */
  listen(): Promise<string>;
  /** The metrics listener's base URL (`GET /metrics`), e.g. `http://127.0.0.1:9081`, once listening. */
  readonly metricsUrl: string | undefined;
  /** Stops: refuses upgrades with 503, closes clients with 1001, drops subscriptions, quits Redis. Idempotent. */
  close(): Promise<void>;
}

/**
 * Builds the gateway: WebSocket fan-out of each tenant's stored events, filtered, with gap-free
 * resume by offset, plain CloudEvents mode and tenantcast's multiplexed mode, and the same as
 * Server-Sent Events. It wires the parts (upgrade/, admission/, fanout/, protocol/, sse/, ops/) and
 * runs the lifecycle.
 * @example
 * const gateway = createGateway(loadConfig(configFromEnv(process.env)));
 * console.log(await gateway.listen());
 */
export function createGateway(config: GatewayConfig, deps: GatewayDeps = {}): Gateway {
  const logger = deps.logger ?? pino({ level: config.logLevel, base: { app: 'gateway' } });
  const redis = new GatewayRedis(config, logger);
  const store = new StreamReader(redis.commands, { keyPrefix: config.keyPrefix });
  const lifecycle = new Lifecycle('Gateway', logger);
  const fanout: Fanout = new Fanout({
    store,
    subscriber: redis.subscriber,
    pubsub: redis.pubsub,
    pageSize: config.catchUpPageSize,
    onFanout: (ms) => metrics.fanoutSeconds.observe(ms / 1000),
    onSent: (messages) => metrics.messagesOut.inc(messages),
    onError: (error) => logger.warn({ err: error }, 'fan-out task failed; it will be retried'),
  });
  const admission = new Admission({
    maxPerTenant: config.maxConnectionsPerTenant,
    originPolicy: config.originPolicy,
    origins: (tenant) => store.origins(tenant),
  });
  // One verifier for the upgrades, the refreshes of multiplexed connections and the event streams.
  const tokens = createTokenVerifier(config, logger);
  const handshake: Handshake = new Handshake({
    maxPayload: config.maxPayload,
    lifecycle,
    tokens,
    admission,
    store,
    onRefused: (error) => metrics.upgradesRefused.inc({ code: error.code }),
    logger,
    accept: (ws, accepted) => sessions.open(ws, accepted),
  });
  const metrics = createGatewayMetrics(
    () => fanout.tenants(),
    () => handshake.clients.size,
    config.metricsMaxTenants,
  );
  const metricsListener = new MetricsListener({ port: config.metricsPort, host: config.metricsHost, registry: metrics.registry, logger });
  const heartbeat = new Heartbeat(handshake.clients, config.heartbeatMs);
  const host = sessionHost(admission, store, fanout, logger);
  const sessions = new Sessions({
    host,
    heartbeat,
    maxBufferedBytes: config.maxBufferedBytes,
    maxSubscriptionsPerConnection: config.maxSubscriptionsPerConnection,
    tokens,
    tokenExpiryWarningSeconds: config.tokenExpiryWarningSeconds,
    onSlow: () => metrics.slowConsumers.inc(),
    onOpen: () => metrics.connectionsOpened.inc(),
    onRefresh: (outcome) => metrics.tokenRefreshes.inc({ outcome }),
    logger,
  });
  const eventStreams = new EventStreams({
    lifecycle,
    tokens,
    host,
    maxBufferedBytes: config.maxBufferedBytes,
    heartbeatMs: config.sseHeartbeatMs,
    onSlow: () => metrics.slowConsumers.inc(),
    onRefused: (error) => metrics.upgradesRefused.inc({ code: error.code }),
    logger,
  });
  const limits = httpLimitOptions(config);
  const server = createServer(
    limits.http,
    eventStreams.routes(
      opsRoutes({
        lifecycle,
        redisReady: () => redis.ready,
        probe: (request, url) => handshake.probe(request, url),
        logger,
      }),
    ),
  );
  server.keepAliveTimeout = limits.keepAliveTimeout;
  capConnections(server, config, metrics.connectionsDropped);
  server.on('upgrade', handshake.onUpgrade);

  return {
    get metricsUrl() {
      return metricsListener.url;
    },
    async listen() {
      lifecycle.start();
      await redis.connect();
      const url = await listenOn(server, config);
      const metricsAddress = await metricsListener.listen();
      logger.info({ address: url, metrics: metricsAddress }, 'gateway listening');
      return url;
    },
    close() {
      heartbeat.stop();
      return lifecycle.close(() => [
        ['stop accepting', async () => server.close()],
        [
          'close clients with 1001',
          async () => {
            eventStreams.close();
            await closeClients(handshake.clients, config.shutdownTimeoutMs);
            server.closeAllConnections();
          },
        ],
        ['drop subscriptions', () => fanout.close()],
        ['stop metrics', () => metricsListener.close()],
        ['quit Redis', () => redis.quit()],
      ]);
    },
  };
}

/** What the sessions (WebSocket and event streams alike) ask of the gateway: admission, the start offset, the fan-out. */
function sessionHost(admission: Admission, store: StreamReader, fanout: Fanout, logger: Logger): SessionHost {
  return {
    admit: (tenant, origin) => admission.admit(tenant, origin),
    release: (tenant) => admission.release(tenant),
    start: (tenant, after) => startOffset(store, tenant, after),
    subscribe: (tenant, subscriber) => fanout.subscribe(tenant, subscriber),
    unsubscribe: (tenant, subscriber) => fanout.unsubscribe(tenant, subscriber),
    onError: (error) => logger.error({ err: error }, 'subscription failed'),
  };
}

/** Listens on the configured port and host; resolves with the URL to reach it (loopback for 0.0.0.0). */
async function listenOn(server: Server, config: GatewayConfig): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  return `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
}
