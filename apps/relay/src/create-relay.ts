import { createRegistry, type EventRegistry } from '@tenantcast/sdk';
import {
  bounded,
  closeRedis,
  connectRedis,
  createRedis,
  describeRedis,
  isCluster,
  redisTarget,
  runSteps,
  StreamAppender,
  StreamReader,
} from '@tenantcast/server';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import pino, { type Logger } from 'pino';
import type { RelayConfig } from './config.ts';
import type { RelayContext } from './context.ts';
import { registerDashboard } from './dashboard/dashboard.ts';
import { createDeliveryServices } from './delivery/delivery-services.ts';
import { RelayError, toRelayError } from './errors.ts';
import { registerHistoryRoute } from './history/history-route.ts';
import { registerEventsRoute } from './ingest/events-route.ts';
import { registerQlikRoute } from './ingest/qlik-route.ts';
import { SingleAppends } from './ingest/single-appends.ts';
import { createRelayMetrics } from './ops/metrics.ts';
import { registerOpsRoutes } from './ops/ops-routes.ts';
import { registerWebhooksRoutes } from './webhooks/webhooks-route.ts';

export interface RelayDeps {
  /** A logger; default a pino JSON logger at `config.logLevel`. */
  logger?: Logger;
  /** An event registry; default the SDK's (Qlik's types), strict when `config.strictEventTypes`. */
  registry?: EventRegistry<any>;
}

/** A relay that is built but may not listen yet. */
export interface Relay {
  /** Starts listening; resolves with the bound address, e.g. `http://127.0.0.1:8080`. */
  listen(): Promise<string>;
  /** Stops: refuses new requests with 503, drains those in flight, quits Redis. Idempotent. */
  close(): Promise<void>;
  /** The Fastify instance, for `inject` in tests. */
  readonly app: FastifyInstance;
}

/** How long `listen` waits for Redis before it serves anyway (and answers 503 until Redis is up). */
const REDIS_BOOT_WAIT_MS = 3000;

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
  const appender = new StreamAppender(redis, {
    keyPrefix: config.keyPrefix,
    streamMaxLen: config.streamMaxLen,
    streamMaxAgeSeconds: config.streamMaxAgeSeconds,
    dedupeWindowSeconds: config.dedupeWindowSeconds,
    // Own properties only: a tenant named like an Object member ("toString") must not find one.
    rateLimitFor: (tenant) =>
      Object.hasOwn(config.rateLimitTenants, tenant) ? config.rateLimitTenants[tenant]! : config.rateLimitPerSecond,
    pubsub: isCluster(target) ? 'sharded' : 'classic',
    waitReplicas: config.redisWaitReplicas,
    waitTimeoutMs: config.redisWaitTimeoutMs,
  });
  const delivery = createDeliveryServices(config, redis, logger, metrics);
  const reader = new StreamReader(redis, { keyPrefix: config.keyPrefix });
  const ctx: RelayContext = { config, redis, appender, reader, singleAppends: new SingleAppends(appender), registry, metrics, delivery };

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: config.bodyLimit,
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

  app.setErrorHandler((error, request, reply) => {
    let relayError = toRelayError(error);
    if ((error as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      relayError = new RelayError(
        'TC_ERR_PAYLOAD_TOO_LARGE',
        `The body is over the relay's limit of ${config.bodyLimit} bytes (RELAY_BODY_LIMIT_BYTES); send smaller batches.`,
      );
    }
    metrics.requestsRejected.inc({ code: relayError.code });
    if (relayError.status >= 500) request.log.error({ err: error, url: request.url }, relayError.message);
    else request.log.debug({ code: relayError.code, url: request.url }, relayError.message);
    if (relayError.retryAfter !== undefined) reply.header('retry-after', String(relayError.retryAfter));
    // RFC 6750 §3: tell a client without a valid token how to authenticate (not for Qlik signatures).
    if (relayError.code === 'TC_ERR_UNAUTHORIZED') reply.header('www-authenticate', 'Bearer realm="tenantcast"');
    if (relayError.code === 'TC_ERR_TOKEN_INVALID') reply.header('www-authenticate', 'Bearer realm="tenantcast", error="invalid_token"');
    return reply.code(relayError.status).send(relayError.toBody());
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new RelayError(
      'TC_ERR_NOT_FOUND',
      `No route ${request.method} ${request.url.split('?')[0]}; the API is POST /v1/events, GET /v1/tenants/{tenantid}/events, /v1/tenants/{tenantid}/webhooks, POST /v1/qlik/webhook, and the dashboard at /admin/queues.`,
    );
    metrics.requestsRejected.inc({ code: error.code });
    return reply.code(404).send(error.toBody());
  });

  let state: 'created' | 'running' | 'closing' | 'closed' = 'created';
  let closing: Promise<void> | undefined;

  // While closing, answers end their connection, so that kept-alive sockets do not hold shutdown up.
  app.addHook('onSend', async (_request, reply) => {
    if (state === 'closing') reply.header('connection', 'close');
  });

  registerEventsRoute(app, ctx);
  registerHistoryRoute(app, ctx);
  registerQlikRoute(app, ctx);
  registerWebhooksRoutes(app, ctx);
  void app.register(async (scope) => registerDashboard(scope, ctx));
  registerOpsRoutes(app, ctx, () => state === 'closing' || state === 'closed');

  return {
    app,
    async listen() {
      if (state !== 'created') throw new Error(`Relay.listen() called while ${state}; create a new relay.`);
      state = 'running';
      if (!(await connectRedis(redis, REDIS_BOOT_WAIT_MS))) {
        logger.warn({ redis: describeRedis(target) }, 'Redis is not reachable yet; answering 503 until it is');
      }
      const address = await app.listen({ port: config.port, host: config.host });
      if (config.deliveryMode === 'embedded') delivery.startWorkers();
      logger.info({ address }, 'relay listening');
      return address;
    },
    close() {
      closing ??= (async () => {
        state = 'closing';
        await runSteps(
          [
            [
              'stop HTTP',
              async () => {
                await bounded(app.close(), config.shutdownTimeoutMs);
                // Whatever is still open after the drain (a stuck upload, say) is cut.
                app.server.closeAllConnections();
              },
            ],
            ['stop deliveries', () => delivery.close()],
            ['quit Redis', () => closeRedis(redis)],
          ],
          logger,
        );
        state = 'closed';
      })();
      return closing;
    },
  };
}
