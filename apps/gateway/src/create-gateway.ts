import { createServer, type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode, type TokenClaims } from '@tenantcast/sdk';
import {
  closeRedis,
  connectRedis,
  createRedis,
  describeRedis,
  hs256Keys,
  isCluster,
  Lifecycle,
  redisTarget,
  requireScope,
  requireTenant,
  ServiceError,
  StreamReader,
  TokenVerifier,
  toServiceError,
} from '@tenantcast/server';
import pino, { type Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import { Admission } from './admission/admission.ts';
import type { GatewayConfig } from './config.ts';
import { Fanout } from './fanout/fanout.ts';
import type { Subscriber } from './fanout/subscriber.ts';
import { createGatewayMetrics } from './ops/metrics.ts';
import { opsRoutes } from './ops/ops-routes.ts';
import { Connection } from './protocol/connection.ts';
import { Heartbeat } from './protocol/heartbeat.ts';
import { MultiplexedSession, type SessionHost } from './protocol/multiplexed-session.ts';
import { plainSubscriber } from './protocol/plain-session.ts';
import { parseUpgrade, type UpgradeTarget } from './upgrade/parse-upgrade.ts';

export interface GatewayDeps {
  /** A logger; default a pino JSON logger at `config.logLevel`. */
  logger?: Logger;
}

/** A gateway that is built but may not listen yet. */
export interface Gateway {
  /** Starts listening; resolves with the base URL, e.g. `http://127.0.0.1:8081`. */
  listen(): Promise<string>;
  /** Stops: refuses upgrades with 503, closes clients with 1001, drops subscriptions, quits Redis. Idempotent. */
  close(): Promise<void>;
}

/** Listeners shared by every connection (`this` is the socket): no closure per connection. */
function destroyOnError(this: Duplex): void {
  this.destroy();
}
function ignore(): void {}

/**
 * Builds the gateway: WebSocket fan-out of each tenant's stored events, filtered, with gap-free
 * resume by offset, plain CloudEvents mode and tenantcast's multiplexed mode.
 * @example
 * const gateway = createGateway(loadConfig(configFromEnv(process.env)));
 * console.log(await gateway.listen());
 */
export function createGateway(config: GatewayConfig, deps: GatewayDeps = {}): Gateway {
  const logger = deps.logger ?? pino({ level: config.logLevel, base: { app: 'gateway' } });
  const target = redisTarget(config);
  const redis = createRedis(target, logger);
  // Subscriber mode takes a connection of its own (on a cluster, one per master, for SSUBSCRIBE);
  // ioredis subscribes again by itself after a reconnect or a failover.
  const subscriberRedis = createRedis(target, logger, {
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    commandTimeout: undefined,
    shardedSubscriber: true,
  });
  const store = new StreamReader(redis, { keyPrefix: config.keyPrefix });
  const tokens = new TokenVerifier(hs256Keys(config.secret));
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.maxPayload,
    clientTracking: true,
    // Answer with the subprotocol chosen, as the CloudEvents WebSocket binding says; none if none was offered.
    handleProtocols: (_offered, request) => (request as IncomingMessage & { tcSubprotocol?: string }).tcSubprotocol ?? false,
  });
  const fanout: Fanout = new Fanout({
    store,
    subscriber: subscriberRedis,
    pubsub: isCluster(target) ? 'sharded' : 'classic',
    pageSize: config.catchUpPageSize,
    onFanout: (ms) => metrics.fanoutSeconds.observe(ms / 1000),
    onSent: (messages) => metrics.messagesOut.inc(messages),
    onError: (error) => logger.warn({ err: error }, 'fan-out task failed; it will be retried'),
  });
  const metrics = createGatewayMetrics(
    () => fanout.tenants(),
    () => wss.clients.size,
  );

  const lifecycle = new Lifecycle('Gateway', logger);
  const heartbeat = new Heartbeat(wss.clients, config.heartbeatMs);

  const admission = new Admission({
    maxPerTenant: config.maxConnectionsPerTenant,
    originPolicy: config.originPolicy,
    origins: (tenant) => store.origins(tenant),
  });
  const admit = (tenant: string, origin: string | undefined) => admission.admit(tenant, origin);
  const release = (tenant: string) => admission.release(tenant);

  const host: SessionHost = {
    admit,
    release,
    lastOffset: (tenant) => store.lastOffset(tenant),
    subscribe: (tenant, subscriber) => fanout.subscribe(tenant, subscriber),
    unsubscribe: (tenant, subscriber) => fanout.unsubscribe(tenant, subscriber),
    onError: (error) => logger.error({ err: error }, 'subscription failed'),
  };

  // What ws refuses itself (a handshake that is not RFC 6455's: method, Upgrade, Sec-WebSocket-Key
  // or -Version) is answered like every other refusal, in JSON, instead of ws's text/html.
  wss.on('wsClientError', (error: Error, socket: Duplex, request: IncomingMessage) => {
    const notGet = request.method !== 'GET';
    refuse(
      socket,
      notGet
        ? new ServiceError('TC_ERR_METHOD_NOT_ALLOWED', `A WebSocket upgrade is a GET request, not ${request.method}.`, {
            headers: { Allow: 'GET' },
          })
        : new ServiceError(
            'TC_ERR_BAD_HANDSHAKE',
            `${error.message}: send a WebSocket handshake as RFC 6455 describes (Upgrade: websocket, Sec-WebSocket-Version: 13, a Sec-WebSocket-Key of 16 bytes in base64), as WebSocket clients do.`,
            { headers: { 'Sec-WebSocket-Version': '13' } },
          ),
    );
  });

  function refuse(socket: Duplex, error: ServiceError): void {
    metrics.upgradesRefused.inc({ code: error.code });
    const body = JSON.stringify(error.toBody());
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      ...(error.retryAfter === undefined ? {} : { 'Retry-After': error.retryAfter }),
      ...error.headers,
      Connection: 'close',
    };
    const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
    socket.end(`HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\n${lines.join('')}\r\n${body}`);
  }

  /** Everything checked before the 101: a refused upgrade gets an HTTP status and never a socket. */
  async function prepare(request: IncomingMessage, url: URL): Promise<{ target: UpgradeTarget; claims: TokenClaims; start?: string }> {
    if (!lifecycle.running)
      throw new ServiceError('TC_ERR_SHUTTING_DOWN', 'The gateway is shutting down; connect to another instance.', { retryAfter: 1 });
    const target = parseUpgrade(request, url);
    const claims = await tokens.authenticateUpgrade(request.headers, url.searchParams);
    requireScope(claims, 'subscribe', 'Subscribing');
    if (target.mode === 'multiplexed') return { target, claims };
    requireTenant(claims, target.tenant);
    await admit(target.tenant, request.headers.origin);
    try {
      if (target.after === undefined) return { target, claims, start: await store.lastOffset(target.tenant) };
      // Refuse an expired offset now, with 410, rather than after the 101.
      await store.read(target.tenant, target.after, 1);
      return { target, claims, start: target.after };
    } catch (error) {
      release(target.tenant);
      throw error;
    }
  }

  function onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', destroyOnError);
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://gateway');
    } catch {
      refuse(socket, new ServiceError('TC_ERR_BAD_REQUEST', 'The request target is not a valid URL.'));
      return;
    }
    prepare(request, url).then(
      ({ target, claims, start }) => {
        (request as IncomingMessage & { tcSubprotocol?: string }).tcSubprotocol = target.subprotocol;
        // A plain upgrade was counted in by admit(); if the handshake never completes (the socket
        // went away, or ws refused a malformed handshake), count it out again. The listener goes
        // once the handshake is done, so that the socket does not keep the upgrade request.
        const unopened = target.mode === 'plain' ? releaseOnClose(target.tenant) : undefined;
        if (unopened) socket.once('close', unopened);
        const origin = request.headers.origin;
        wss.handleUpgrade(request, socket, head, (ws) => {
          if (unopened) socket.off('close', unopened);
          if (target.mode === 'plain') openPlain(ws, target, claims, start!);
          else openMultiplexed(ws, claims, origin);
        });
      },
      (error: unknown) => {
        const gatewayError = toServiceError(error);
        if (gatewayError.status >= 500) logger.error({ err: error }, 'upgrade failed');
        refuse(socket, gatewayError);
      },
    );
  }

  function releaseOnClose(tenant: string): () => void {
    return () => release(tenant);
  }

  const countSlow = () => metrics.slowConsumers.inc();
  const onClientError = (error: Error) => logger.debug({ err: error }, 'client socket error');

  /** Closes the connection when its token expires (4001). */
  function expireWith(connection: Connection, claims: TokenClaims): void {
    if (claims.exp === undefined) return;
    const ms = claims.exp * 1000 - Date.now();
    // setTimeout holds 2^31-1 ms at most; a longer-lived token is left to the next reconnect.
    if (ms > 2 ** 31 - 1) return;
    const timer = setTimeout(
      () => connection.close(CloseCode.TokenExpired, 'token expired: reconnect with a fresh token'),
      Math.max(0, ms),
    );
    connection.ws.once('close', () => clearTimeout(timer));
  }

  function track(ws: WebSocket): Connection {
    const connection = new Connection(ws, config.maxBufferedBytes, countSlow);
    heartbeat.watch(ws);
    ws.on('error', onClientError);
    return connection;
  }

  function openPlain(ws: WebSocket, target: Extract<UpgradeTarget, { mode: 'plain' }>, claims: TokenClaims, start: string): void {
    const connection = track(ws);
    expireWith(connection, claims);
    const subscriber: Subscriber = plainSubscriber(connection, start, target.predicate);
    let released = false;
    const end = () => {
      if (released) return;
      released = true;
      fanout.unsubscribe(target.tenant, subscriber);
      release(target.tenant);
    };
    ws.on('close', end);
    // Plain mode only sends; what a client sends is read and dropped.
    ws.on('message', ignore);
    fanout.subscribe(target.tenant, subscriber).catch((error: unknown) => {
      const gatewayError = toServiceError(error);
      if (gatewayError.code === 'TC_ERR_OFFSET_EXPIRED')
        connection.close(CloseCode.OffsetExpired, 'resume offset expired: events were trimmed; reconnect without after, or with after=0');
      else if (gatewayError.code === 'TC_ERR_REDIS_UNAVAILABLE')
        connection.close(CloseCode.TryAgainLater, 'Redis unavailable: reconnect after a backoff and resume');
      else {
        logger.error({ err: error }, 'subscription failed');
        connection.close(CloseCode.InternalError, 'internal error: reconnect and resume');
      }
      end();
    });
  }

  function openMultiplexed(ws: WebSocket, claims: TokenClaims, origin: string | undefined): void {
    const connection = track(ws);
    expireWith(connection, claims);
    const session = new MultiplexedSession(connection, claims, origin, host, config.maxSubscriptionsPerConnection);
    ws.on('message', (data, isBinary) => session.onMessage(data as Buffer, isBinary));
    ws.on('close', () => session.closeAll());
  }

  const server = createServer(
    opsRoutes({
      lifecycle,
      redisReady: () => redis.status === 'ready' && subscriberRedis.status === 'ready',
      registry: metrics.registry,
      logger,
    }),
  );
  server.on('upgrade', onUpgrade);

  return {
    async listen() {
      lifecycle.start();
      const [commands, subscriptions] = await Promise.all([connectRedis(redis), connectRedis(subscriberRedis)]);
      if (!commands || !subscriptions)
        logger.warn({ redis: describeRedis(target) }, 'Redis is not reachable yet; refusing upgrades with 503 until it is');
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => resolve());
      });
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : config.port;
      const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
      logger.info({ address: url }, 'gateway listening');
      return url;
    },
    close() {
      heartbeat.stop();
      return lifecycle.close(() => [
        ['stop accepting', async () => server.close()],
        [
          'close clients with 1001',
          async () => {
            for (const ws of wss.clients) ws.close(CloseCode.GoingAway, 'gateway shutting down: reconnect and resume');
            const deadline = Date.now() + config.shutdownTimeoutMs;
            while (wss.clients.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
            for (const ws of wss.clients) ws.terminate();
            server.closeAllConnections();
          },
        ],
        ['drop subscriptions', () => fanout.close()],
        ['quit Redis', () => Promise.all([closeRedis(redis), closeRedis(subscriberRedis)])],
      ]);
    },
  };
}
