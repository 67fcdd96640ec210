import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { ServiceError, toServiceError } from '@tenantcast/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { closeUnreadBody } from './auth/require-token.ts';
import type { RelayConfig } from './config.ts';
import type { RelayMetrics } from './ops/metrics.ts';

/**
 * Turns anything the relay meets into a ServiceError, in one place: ServiceErrors pass through,
 * Fastify's own client errors keep their 4xx meaning (a body over `bodyLimit` names the limit and its
 * variable), Redis outages become 503, the rest 500.
 */
export function toRelayError(error: unknown, bodyLimit: number): ServiceError {
  if (error instanceof ServiceError) return error;
  const e = error as { code?: string; statusCode?: number; message?: string } | null;
  if (e?.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || e?.statusCode === 413) {
    return new ServiceError(
      'TC_ERR_PAYLOAD_TOO_LARGE',
      `The body is over the relay's limit of ${bodyLimit} bytes (RELAY_BODY_LIMIT_BYTES); send smaller batches.`,
      { cause: error },
    );
  }
  if (e?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || e?.statusCode === 415) {
    return new ServiceError('TC_ERR_UNSUPPORTED_MEDIA_TYPE', undefined, { cause: error });
  }
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new ServiceError('TC_ERR_BAD_REQUEST', e.message || undefined, { cause: error });
  }
  return toServiceError(error);
}

/** Answers a refusal; what every refusal of the relay goes through. */
export type Refuse = (error: unknown, request: FastifyRequest, reply: FastifyReply) => FastifyReply;

/**
 * Every refusal of the relay leaves through the function this makes: a thrown error (a route's, a
 * hook's, Fastify's) and an unknown route alike are normalized by `toRelayError`, counted in the
 * rejection metric, logged (5xx as errors), and answered with the error's status, headers and JSON
 * body. No route writes an error body itself.
 */
export function createRefuse(metrics: Pick<RelayMetrics, 'requestsRejected'>, bodyLimit: number): Refuse {
  return (error, request, reply) => {
    const refusal = toRelayError(error, bodyLimit);
    metrics.requestsRejected.inc({ code: refusal.code });
    // The path alone: a query string may carry a token (`?token=`), and logs outlive tokens.
    if (refusal.status >= 500) request.log.error({ err: error, method: request.method, path: pathOf(request.url) }, refusal.message);
    else request.log.debug({ code: refusal.code, method: request.method, path: pathOf(request.url) }, refusal.message);
    if (refusal.retryAfter !== undefined) reply.header('retry-after', String(refusal.retryAfter));
    reply.headers(refusal.headers);
    return reply.code(refusal.status).send(refusal.toBody());
  };
}

/** A request's path without its query string, for logs and messages. */
export function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

function notFound(request: FastifyRequest): ServiceError {
  return new ServiceError(
    'TC_ERR_NOT_FOUND',
    `No route ${request.method} ${pathOf(request.url)}; the API (GET /openapi.json describes it) is POST /v1/events, GET /v1/tenants/{tenantid}/events, /v1/tenants/{tenantid}/webhooks, POST /v1/qlik/webhook, the dashboard at /admin/queues, and the console at /console/.`,
  );
}

/**
 * Sends the relay's errors and unknown routes through `refuse`. An unknown route is refused in
 * `onRequest`, before Fastify would read its body, as a route's token check is.
 */
export function registerErrorHandlers(app: FastifyInstance, refuse: Refuse): void {
  app.setErrorHandler(refuse);
  app.addHook('onRequest', (request, reply, done) => {
    if (!request.is404) return done();
    closeUnreadBody(request, reply);
    done(notFound(request));
  });
  app.setNotFoundHandler((request, reply) => refuse(notFound(request), request, reply));
}

/** What Node's HTTP parser refuses before there is a request to route: a timeout, headers over 16 KiB, malformed HTTP. */
function clientRefusal(error: { code?: string }, config: Pick<RelayConfig, 'headersTimeoutMs' | 'requestTimeoutMs'>): ServiceError {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return new ServiceError(
      'TC_ERR_REQUEST_TIMEOUT',
      `The request did not arrive in time: the headers must arrive within ${config.headersTimeoutMs} ms (RELAY_HEADERS_TIMEOUT_MS), the whole request within ${config.requestTimeoutMs} ms (RELAY_REQUEST_TIMEOUT_MS); send it without pauses, then retry.`,
    );
  }
  if (error.code === 'HPE_HEADER_OVERFLOW') return new ServiceError('TC_ERR_HEADERS_TOO_LARGE');
  return new ServiceError('TC_ERR_BAD_REQUEST', 'The request is not valid HTTP/1.1; see RFC 9112.');
}

/**
 * Fastify's `clientErrorHandler`: Node's refusals before routing answer from the same table as
 * every other refusal, in the same JSON body, are counted in the same metric, and close the
 * connection (Node's `requestTimeout` and `headersTimeout` end here: a slow body is cut).
 */
export function createClientErrorHandler(
  metrics: Pick<RelayMetrics, 'requestsRejected'>,
  config: Pick<RelayConfig, 'headersTimeoutMs' | 'requestTimeoutMs'>,
): (error: Error & { code?: string }, socket: Duplex) => void {
  return (error, socket) => {
    // A reset connection has nobody left to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const refusal = clientRefusal(error, config);
    metrics.requestsRejected.inc({ code: refusal.code });
    if (socket.writable) {
      const body = JSON.stringify(refusal.toBody());
      socket.write(
        `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  };
}
