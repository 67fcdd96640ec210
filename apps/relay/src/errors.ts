import { isRedisUnavailable, StorageError } from '@tenantcast/server';

/** Every error the relay answers with, in the style of Fastify's `FST_ERR_*`. */
export type RelayErrorCode =
  | 'TC_ERR_UNAUTHORIZED'
  | 'TC_ERR_TOKEN_INVALID'
  | 'TC_ERR_FORBIDDEN_SCOPE'
  | 'TC_ERR_FORBIDDEN_TENANT'
  | 'TC_ERR_BAD_REQUEST'
  | 'TC_ERR_VALIDATION'
  | 'TC_ERR_INVALID_JSON'
  | 'TC_ERR_INVALID_HEADER'
  | 'TC_ERR_MIXED_TENANTS'
  | 'TC_ERR_BAD_TENANT_ID'
  | 'TC_ERR_BAD_OFFSET'
  | 'TC_ERR_BAD_LIMIT'
  | 'TC_ERR_SIGNATURE_INVALID'
  | 'TC_ERR_NOT_FOUND'
  | 'TC_ERR_QLIK_DISABLED'
  | 'TC_ERR_METHOD_NOT_ALLOWED'
  | 'TC_ERR_OFFSET_EXPIRED'
  | 'TC_ERR_PAYLOAD_TOO_LARGE'
  | 'TC_ERR_UNSUPPORTED_MEDIA_TYPE'
  | 'TC_ERR_RATE_LIMITED'
  | 'TC_ERR_INTERNAL'
  | 'TC_ERR_REDIS_UNAVAILABLE'
  | 'TC_ERR_NOT_REPLICATED'
  | 'TC_ERR_SHUTTING_DOWN';

/** Code → HTTP status and the default message, which says what to change. */
export const RELAY_ERRORS: Record<RelayErrorCode, { status: number; message: string }> = {
  TC_ERR_UNAUTHORIZED: { status: 401, message: 'Send a token as "Authorization: Bearer <token>".' },
  TC_ERR_TOKEN_INVALID: { status: 401, message: 'The token is not valid; mint a new HS256 token signed with TENANTCAST_SECRET.' },
  TC_ERR_FORBIDDEN_SCOPE: { status: 403, message: 'The token lacks the scope this call needs.' },
  TC_ERR_FORBIDDEN_TENANT: { status: 403, message: 'The token does not grant this tenant.' },
  TC_ERR_BAD_REQUEST: { status: 400, message: 'The request is malformed.' },
  TC_ERR_VALIDATION: { status: 400, message: 'The event is not a valid CloudEvent; see details for each path to fix.' },
  TC_ERR_INVALID_JSON: { status: 400, message: 'The body is not valid JSON.' },
  TC_ERR_INVALID_HEADER: { status: 400, message: 'A ce-* header is malformed.' },
  TC_ERR_MIXED_TENANTS: { status: 400, message: "A batch holds one tenant's events; send one batch per tenant." },
  TC_ERR_BAD_TENANT_ID: { status: 400, message: 'Tenant ids must match ^[A-Za-z0-9._-]{1,128}$.' },
  TC_ERR_BAD_OFFSET: { status: 400, message: 'An offset is a stream entry id such as 1700000000000-0, or 0 for the start.' },
  TC_ERR_BAD_LIMIT: { status: 400, message: '"limit" must be a whole number from 1 to 1000.' },
  TC_ERR_SIGNATURE_INVALID: { status: 401, message: 'The Qlik-Signature header does not match the body; check QLIK_WEBHOOK_SECRET.' },
  TC_ERR_NOT_FOUND: { status: 404, message: 'No such route; see the README for the API.' },
  TC_ERR_QLIK_DISABLED: { status: 404, message: 'The Qlik webhook endpoint is off; set QLIK_WEBHOOK_SECRET to turn it on.' },
  TC_ERR_METHOD_NOT_ALLOWED: { status: 405, message: 'This route does not take that method.' },
  TC_ERR_OFFSET_EXPIRED: {
    status: 410,
    message: 'Events after this offset were trimmed by retention; restart from offset 0 (the oldest retained event) and reconcile.',
  },
  TC_ERR_PAYLOAD_TOO_LARGE: { status: 413, message: 'The body is over the size limit; send smaller batches.' },
  TC_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message:
      'Send a CloudEvent: structured (application/cloudevents+json), batched (application/cloudevents-batch+json), or binary (ce-* headers).',
  },
  TC_ERR_RATE_LIMITED: { status: 429, message: 'The tenant is over its rate limit; retry after the time in Retry-After.' },
  TC_ERR_INTERNAL: { status: 500, message: 'Internal error; it has been logged.' },
  TC_ERR_REDIS_UNAVAILABLE: { status: 503, message: 'Redis is unavailable; retry after the time in Retry-After.' },
  TC_ERR_NOT_REPLICATED: {
    status: 503,
    message:
      'The events are stored, but not yet on the replicas REDIS_WAIT_REPLICAS requires; retry after Retry-After (the retry is deduped).',
  },
  TC_ERR_SHUTTING_DOWN: { status: 503, message: 'The relay is shutting down; retry against another instance.' },
};

/** One item of an error's `details`. */
export interface ErrorDetail {
  index?: number;
  path: string;
  message: string;
}

/** An error the relay answers with. */
export class RelayError extends Error {
  override readonly name = 'RelayError';
  readonly code: RelayErrorCode;
  readonly status: number;
  readonly details: ErrorDetail[];
  /** Seconds for a Retry-After header, where the client should wait. */
  readonly retryAfter: number | undefined;

  constructor(code: RelayErrorCode, message?: string, options: { details?: ErrorDetail[]; retryAfter?: number; cause?: unknown } = {}) {
    super(message ?? RELAY_ERRORS[code].message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = RELAY_ERRORS[code].status;
    this.details = options.details ?? [];
    this.retryAfter = options.retryAfter;
  }

  /** The JSON body: `{"error":{"code","message","details"}}`. */
  toBody(): { error: { code: RelayErrorCode; message: string; details?: ErrorDetail[] } } {
    return { error: { code: this.code, message: this.message, ...(this.details.length > 0 ? { details: this.details } : {}) } };
  }
}

/** Messages of ioredis errors that mean Redis cannot be reached right now. */

/**
 * Turns anything thrown into a RelayError, in one place: RelayErrors pass through, storage refusals
 * map to their status (a batch over the tenant's rate is 413: no wait would let it pass), Fastify's own
 * client errors keep their 4xx status, Redis outages become 503, the rest 500.
 */
export function toRelayError(error: unknown): RelayError {
  if (error instanceof RelayError) return error;
  if (error instanceof StorageError) {
    if (error.code === 'TC_ERR_BATCH_OVER_RATE') return new RelayError('TC_ERR_PAYLOAD_TOO_LARGE', error.message, { cause: error });
    return new RelayError(error.code, error.message, { retryAfter: error.retryAfter, cause: error });
  }
  const e = error as { code?: string; statusCode?: number; message?: string; name?: string };
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new RelayError('TC_ERR_PAYLOAD_TOO_LARGE', undefined, { cause: error });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new RelayError('TC_ERR_UNSUPPORTED_MEDIA_TYPE', undefined, { cause: error });
  }
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    if (e.statusCode === 413) return new RelayError('TC_ERR_PAYLOAD_TOO_LARGE', undefined, { cause: error });
    if (e.statusCode === 415) return new RelayError('TC_ERR_UNSUPPORTED_MEDIA_TYPE', undefined, { cause: error });
    return new RelayError('TC_ERR_BAD_REQUEST', e.message ?? RELAY_ERRORS.TC_ERR_BAD_REQUEST.message, { cause: error });
  }
  if (isRedisUnavailable(error)) {
    return new RelayError('TC_ERR_REDIS_UNAVAILABLE', undefined, { retryAfter: 1, cause: error });
  }
  return new RelayError('TC_ERR_INTERNAL', undefined, { cause: error });
}
