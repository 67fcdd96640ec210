import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorCode, TokenClaims } from '@tenantcast/sdk';
import { isOffset, requireScope, requireTenant, ServiceError, type TokenVerifier, toServiceError } from '@tenantcast/server';
import type { Logger } from 'pino';
import { eventStreamId } from '../frames/event-stream.ts';
import type { SessionHost } from '../protocol/session-host.ts';
import { onTokenExpiry } from '../protocol/token-expiry.ts';
import { parseUpgrade } from '../upgrade/parse-upgrade.ts';
import { refuseRequest } from '../upgrade/refuse.ts';
import { EventStream } from './event-stream.ts';

/** What Server-Sent Events streams need from the gateway. */
export interface EventStreamsOptions {
  /** Streams are refused with 503 unless the gateway is running. */
  lifecycle: { readonly running: boolean };
  /** The one verifier (Authorization header, or `token` in the query for EventSource). */
  tokens: Pick<TokenVerifier, 'authenticateUpgrade'>;
  /** Admission, the start offset and the fan-out, as WebSocket sessions have them. */
  host: SessionHost;
  /** Bytes queued for one stream before it is ended as a slow consumer (GATEWAY_MAX_BUFFERED_BYTES). */
  maxBufferedBytes: number;
  /** Interval of the heartbeat comments (GATEWAY_SSE_HEARTBEAT_MS). */
  heartbeatMs: number;
  /** Counts a stream ended as a slow consumer. */
  onSlow(): void;
  /** Counts a stream refused before it started. */
  onRefused(error: ServiceError): void;
  logger: Pick<Logger, 'error'>;
}

const EVENTS_PATH = /^\/v1\/tenants\/[^/]*\/events$/;

/**
 * Who may read a refusal or a stream: any origin, as the WebSocket endpoints' plain answers
 * (ops/ops-routes.ts): no credentials are involved (the token is in a header or the URL the page
 * sent, never a cookie), and a page refused by the origin policy must read that refusal too.
 */
const READABLE_ANYWHERE = { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'Retry-After' };

const STREAM_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  // Proxies that buffer answers (nginx) would hold events back.
  'x-accel-buffering': 'no',
  ...READABLE_ANYWHERE,
};

/**
 * A browser's CORS preflight for an event stream with `Authorization` (the SDK sends the token
 * there, so that it stays out of URLs that proxies log) or `Last-Event-ID`: allowed from any
 * origin, as the stream itself is; cached by the browser for 10 minutes.
 */
const PREFLIGHT_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET',
  'access-control-allow-headers': 'authorization, last-event-id, accept',
  'access-control-max-age': '600',
};

/** Whether a request is a CORS preflight for `/v1/tenants/{t}/events`. */
function isPreflight(request: IncomingMessage): boolean {
  return (
    request.method === 'OPTIONS' &&
    request.headers['access-control-request-method'] !== undefined &&
    EVENTS_PATH.test((request.url ?? '/').split('?')[0]!)
  );
}

/** Whether a request asks for a Server-Sent Events stream: a GET of `/v1/tenants/{t}/events` that accepts `text/event-stream`. */
export function isEventStreamRequest(request: IncomingMessage): boolean {
  if (request.method !== 'GET') return false;
  const accept = request.headers.accept;
  if (accept === undefined || !accept.split(',').some((type) => type.split(';')[0]!.trim().toLowerCase() === 'text/event-stream'))
    return false;
  return EVENTS_PATH.test((request.url ?? '/').split('?')[0]!);
}

/** `Last-Event-ID` (what EventSource sends when it reconnects), checked as an offset; undefined when absent. */
function lastEventId(request: IncomingMessage): string | undefined {
  const header = request.headers['last-event-id'];
  const id = Array.isArray(header) ? header[0] : header;
  if (id === undefined || id === '') return undefined;
  if (!isOffset(id)) {
    throw new ServiceError(
      'TC_ERR_BAD_OFFSET',
      `Last-Event-ID is "${id.slice(0, 64)}"; send the id of the last event received (a relayoffset such as 1700000000000-0), or 0.`,
    );
  }
  return id;
}

/**
 * The gateway's Server-Sent Events endpoint (docs/protocol.md, "Server-Sent Events"), for clients
 * that cannot open a WebSocket: `GET /v1/tenants/{t}/events` with `Accept: text/event-stream`. It
 * checks what an upgrade is checked for (running, path and query, token and scope, tenant,
 * admission, the resume offset) and refuses with an HTTP status and the shared error body before
 * the stream starts; then it joins the tenant's hub (fanout/) like a plain WebSocket subscription,
 * so resume by `Last-Event-ID` or `after` is gap-free, and ends a stream with `event: error` when
 * its token expires, it falls behind, its offset is trimmed, or the gateway shuts down.
 */
export class EventStreams {
  readonly #options: EventStreamsOptions;
  readonly #streams = new Set<EventStream>();
  readonly #timer: NodeJS.Timeout;

  constructor(options: EventStreamsOptions) {
    this.#options = options;
    this.#timer = setInterval(() => {
      for (const stream of this.#streams) stream.heartbeat();
    }, options.heartbeatMs);
    this.#timer.unref();
  }

  /** Open streams. */
  get size(): number {
    return this.#streams.size;
  }

  /** A request listener that serves event-stream requests and hands any other request to `next`, unchanged. */
  routes(next: (request: IncomingMessage, response: ServerResponse) => void): (request: IncomingMessage, response: ServerResponse) => void {
    return (request, response) => {
      if (isEventStreamRequest(request)) this.#serve(request, response);
      else if (isPreflight(request)) response.writeHead(204, PREFLIGHT_HEADERS).end();
      else next(request, response);
    };
  }

  /** Ends every stream with TC_ERR_SHUTTING_DOWN and stops the heartbeat. */
  close(): void {
    clearInterval(this.#timer);
    for (const stream of this.#streams) stream.end('TC_ERR_SHUTTING_DOWN');
  }

  #serve(request: IncomingMessage, response: ServerResponse): void {
    this.#open(request, response).catch((error: unknown) => {
      const refusal = toServiceError(error);
      if (refusal.status >= 500) this.#options.logger.error({ err: error }, 'event stream refused');
      this.#options.onRefused(refusal);
      if (!response.headersSent && !response.destroyed) refuseRequest(response, refusal, READABLE_ANYWHERE);
    });
  }

  /** Everything an upgrade is checked for, in its order; then the 200 and the stream. */
  async #open(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const { lifecycle, tokens, host } = this.#options;
    if (!lifecycle.running)
      throw new ServiceError('TC_ERR_SHUTTING_DOWN', 'The gateway is shutting down; connect to another instance.', { retryAfter: 1 });
    const url = new URL(request.url ?? '/', 'http://gateway');
    const target = parseUpgrade([], url);
    if (target.mode !== 'plain') throw new ServiceError('TC_ERR_NOT_FOUND');
    // EventSource sends the last id it got when it reconnects, with the URL it was made with: the id is the newer.
    const after = lastEventId(request) ?? target.after;
    const claims = await tokens.authenticateUpgrade(request.headers, url.searchParams);
    requireScope(claims, 'subscribe', 'Subscribing');
    requireTenant(claims, target.tenant);
    await host.admit(target.tenant, request.headers.origin);
    let start: string;
    try {
      start = await host.start(target.tenant, after);
    } catch (error) {
      host.release(target.tenant);
      throw error;
    }
    if (response.destroyed) {
      host.release(target.tenant);
      return;
    }
    const stream = new EventStream(response, target.tenant, start, target.predicate, this.#options.maxBufferedBytes, this.#options.onSlow);
    response.writeHead(200, STREAM_HEADERS);
    // Where the stream starts, as the last event id: a client that got no event yet resumes from there.
    response.write(eventStreamId(start));
    this.#follow(stream, response, claims);
  }

  /** Subscribes the stream to its tenant's hub until it ends: the client went away, or the gateway ended it. */
  #follow(stream: EventStream, response: ServerResponse, claims: TokenClaims): void {
    const { host } = this.#options;
    this.#streams.add(stream);
    const expiry = onTokenExpiry(claims.exp, () => stream.end('TC_ERR_TOKEN_EXPIRED'));
    let released = false;
    const done = () => {
      if (released) return;
      released = true;
      expiry.cancel();
      this.#streams.delete(stream);
      host.unsubscribe(stream.tenant, stream);
      host.release(stream.tenant);
    };
    response.once('close', done);
    host.subscribe(stream.tenant, stream).catch((error: unknown) => {
      const failure = toServiceError(error);
      if (failure.status >= 500 && failure.code !== 'TC_ERR_REDIS_UNAVAILABLE') host.onError(error);
      stream.end(failure.code as ErrorCode, failure.message);
      done();
    });
  }
}
