import { ServiceError, toServiceError } from '@tenantcast/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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
    if (refusal.status >= 500) request.log.error({ err: error, url: request.url }, refusal.message);
    else request.log.debug({ code: refusal.code, url: request.url }, refusal.message);
    if (refusal.retryAfter !== undefined) reply.header('retry-after', String(refusal.retryAfter));
    reply.headers(refusal.headers);
    return reply.code(refusal.status).send(refusal.toBody());
  };
}

/** Sends the relay's errors and unknown routes through `refuse`. */
export function registerErrorHandlers(app: FastifyInstance, refuse: Refuse): void {
  app.setErrorHandler(refuse);
  app.setNotFoundHandler((request, reply) =>
    refuse(
      new ServiceError(
        'TC_ERR_NOT_FOUND',
        `No route ${request.method} ${request.url.split('?')[0]}; the API is POST /v1/events, GET /v1/tenants/{tenantid}/events, /v1/tenants/{tenantid}/webhooks, POST /v1/qlik/webhook, and the dashboard at /admin/queues.`,
      ),
      request,
      reply,
    ),
  );
}
