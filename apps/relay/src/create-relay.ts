import { createRegistry, type EventRegistry } from '@tenantcast/sdk';
import {
  bounded,
  capConnections,
  closeRedis,
  connectRedis,
  createRedis,
  createTokenVerifier,
  describeRedis,
  httpLimitOptions,
  Lifecycle,
  MetricsListener,
  redisTarget,
  StreamReader,
} from '@tenantcast/server';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import pino, { type Logger } from 'pino';
import { registerTokenChecks } from './auth/require-token.ts';
import { registerWhoAmIRoute } from './auth/whoami-route.ts';
import type { RelayConfig } from './config.ts';
import { registerConsole } from './console/console-routes.ts';
import { registerPortalLinksRoute } from './console/portal-links-route.ts';
import type { RelayContext } from './context.ts';
import { registerDashboard } from './dashboard/dashboard.ts';
import { createClientErrorHandler, createRefuse, pathOf, registerErrorHandlers } from './errors.ts';
import { registerHistoryRoute } from './history/history-route.ts';
import { createAppender } from './ingest/appender.ts';
import { registerEventsRoute } from './ingest/events-route.ts';
import { registerQlikRoute } from './ingest/qlik-route.ts';
import { SingleAppends } from './ingest/single-appends.ts';
import { registerDocsRoutes, registerOpenApi } from './openapi/register-openapi.ts';
import { createRelayMetrics } from './ops/metrics.ts';
import { registerOpsRoutes } from './ops/ops-routes.ts';
import { registerDeliveriesRoutes } from './webhooks/deliveries-route.ts';
import { createDeliveryServices } from './webhooks/delivery-services.ts';
import { registerWebhooksRoutes } from './webhooks/endpoints-route.ts';

export interface RelayDeps {
  /** A logger; default a pino JSON logger at `config.logLevel`. */
  logger?: Logger;
  /** An event registry; default the SDK's (Qlik's types), strict when `config.strictEventTypes`. */
  registry?: EventRegistry<any>;
}

/** A relay that is built but may not listen yet. */
export interface Relay {
  /** Starts listening, and the metrics listener too; resolves with the public address, e.g. `http://127.0.0.1:8080`. */
  listen(): Promise<string>;
  /** The metrics listener's base URL (`GET /metrics`), e.g. `http://127.0.0.1:9080`, once listening. */
  readonly metricsUrl: string | undefined;
  /** Stops: refuses new requests with 503, drains those in flight, quits Redis. Idempotent. */
  close(): Promise<void>;
  /** The Fastify instance, for `inject` in tests. */
  readonly app: FastifyInstance;
}

/**
 * Builds the relay: HTTP ingest into per-tenant Redis Streams, history, and the Qlik webhook.
 * @example
 * const relay = createRelay(loadConfig(configFromEnv(process.env)));
 * console.log(await relay.listen());
 */
export function createRelay(config: RelayConfig, deps: RelayDeps = {}): Relay {
  const logger = deps.logger ?? pino({ level: config.logLevel, base: { app: 'relay' } });
  const target = redisTarget(config);
  const redis = createRedis(target, logger);

  const metrics = createRelayMetrics();
  const registry = deps.registry ?? createRegistry({ strict: config.strictEventTypes });
  const appender = createAppender(config, redis);
  const delivery = createDeliveryServices(config, redis, logger, metrics, appender);
  const reader = new StreamReader(redis, { keyPrefix: config.keyPrefix });
  const ctx: RelayContext = {
    config,
    redis,
    appender,
    reader,
    singleAppends: new SingleAppends(appender),
    registry,
    tokens: createTokenVerifier(config, logger),
    metrics,
    refuse: createRefuse(metrics, config.bodyLimit),
    delivery,
  };

  const app = Fastify({
    // Fastify's own `req` serializer logs the URL whole; a query string may carry a token.
    loggerInstance: logger.child({}, { serializers: { req: requestWithoutQuery } }) as FastifyBaseLogger,
    bodyLimit: config.bodyLimit,
    ...httpLimitOptions(config),
    clientErrorHandler: createClientErrorHandler(metrics, config),
    // Tenant ids reach 128 characters and webhook ids 35; Fastify's default cap on a path parameter is 100.
    routerOptions: { maxParamLength: 256 },
    // One log line per request would dominate at ingest rates; errors are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });

  // Bodies are read raw: the mode decides how to parse them, and the Qlik signature covers the bytes.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  capConnections(app.server, config, metrics.connectionsDropped);
  registerTokenChecks(app);
  registerErrorHandlers(app, ctx.refuse);

  const lifecycle = new Lifecycle('Relay', logger);

  // While closing, answers end their connection, so that kept-alive sockets do not hold shutdown up.
  app.addHook('onSend', async (_request, reply) => {
    if (lifecycle.state === 'closing') reply.header('connection', 'close');
  });

  // The OpenAPI document is made from the routes as they are added: its plugin loads first, then the routes.
  registerOpenApi(app);
  app.after(() => registerRoutes(app, ctx, () => lifecycle.state === 'closing' || lifecycle.state === 'closed'));
  const metricsListener = new MetricsListener({
    port: config.metricsPort,
    host: config.metricsHost,
    registry: metrics.registry,
    beforeScrape: () => metrics.redisUp.set(redis.status === 'ready' ? 1 : 0),
    logger,
  });

  return {
    app,
    get metricsUrl() {
      return metricsListener.url;
    },
    async listen() {
      lifecycle.start();
      if (!(await connectRedis(redis))) {
        logger.warn({ redis: describeRedis(target) }, 'Redis is not reachable yet; answering 503 until it is');
      }
      const address = await app.listen({ port: config.port, host: config.host });
      const metricsAddress = await metricsListener.listen();
      if (config.deliveryMode === 'embedded') delivery.startWorkers();
      logger.info({ address, metrics: metricsAddress }, 'relay listening');
      return address;
    },
    close() {
      return lifecycle.close(() => [
        [
          'stop HTTP',
          async () => {
            await bounded(app.close(), config.shutdownTimeoutMs);
            // Whatever is still open after the drain (a stuck upload, say) is cut.
            app.server.closeAllConnections();
          },
        ],
        ['stop deliveries', () => delivery.close()],
        ['stop metrics', () => metricsListener.close()],
        ['quit Redis', () => closeRedis(redis)],
      ]);
    },
  };
}

/** What a log line says of a request: never its query string, which may carry a token. */
function requestWithoutQuery(request: { method: string; url: string }): { method: string; path: string } {
  return { method: request.method, path: pathOf(request.url) };
}

/** Every route of the relay's public listener, feature by feature (each folder registers its own). */
function registerRoutes(app: FastifyInstance, ctx: RelayContext, isClosing: () => boolean): void {
  registerEventsRoute(app, ctx);
  registerHistoryRoute(app, ctx);
  registerWhoAmIRoute(app, ctx);
  registerQlikRoute(app, ctx);
  registerWebhooksRoutes(app, ctx);
  registerDeliveriesRoutes(app, ctx);
  registerPortalLinksRoute(app, ctx);
  void app.register(async (scope) => registerDashboard(scope, ctx));
  void app.register(async (scope) => registerConsole(scope, ctx));
  registerOpsRoutes(app, ctx, isClosing);
  registerDocsRoutes(app);
}
