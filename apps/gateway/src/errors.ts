import { isRedisUnavailable } from '@tenantcast/server';

/**
 * WebSocket close codes the gateway uses, documented in docs/protocol.md. 1000–1015 are RFC 6455's;
 * 4000–4999 are the application's own.
 */
export const CloseCode = {
  /** The client closed, or the gateway closed a subscription it no longer serves. */
  Normal: 1000,
  /** The gateway is shutting down: reconnect (to another instance) and resume from the last offset. */
  GoingAway: 1001,
  /** A client frame was over the gateway's maxPayload. */
  MessageTooBig: 1009,
  /** An unexpected error in the gateway; reconnect and resume. */
  InternalError: 1011,
  /** Redis is unavailable; reconnect after a backoff and resume. */
  TryAgainLater: 1013,
  /** Multiplexed mode: a client message that is not valid JSON of the protocol. */
  BadMessage: 4000,
  /** The token expired: reconnect with a fresh one. */
  TokenExpired: 4001,
  /** The client fell too far behind (its send buffer overflowed): reconnect and resume from its last offset. */
  SlowConsumer: 4008,
  /** The resume offset is older than retention: events were trimmed; restart from 0 or from live. */
  OffsetExpired: 4010,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Every error code the gateway answers an upgrade, or a multiplexed request, with. */
export type GatewayErrorCode =
  | 'TC_ERR_UNAUTHORIZED'
  | 'TC_ERR_TOKEN_INVALID'
  | 'TC_ERR_FORBIDDEN_SCOPE'
  | 'TC_ERR_FORBIDDEN_TENANT'
  | 'TC_ERR_FORBIDDEN_ORIGIN'
  | 'TC_ERR_BAD_TENANT_ID'
  | 'TC_ERR_BAD_FILTER'
  | 'TC_ERR_BAD_OFFSET'
  | 'TC_ERR_BAD_SUBPROTOCOL'
  | 'TC_ERR_BAD_REQUEST'
  | 'TC_ERR_BAD_HANDSHAKE'
  | 'TC_ERR_METHOD_NOT_ALLOWED'
  | 'TC_ERR_NOT_FOUND'
  | 'TC_ERR_OFFSET_EXPIRED'
  | 'TC_ERR_TOO_MANY_CONNECTIONS'
  | 'TC_ERR_REDIS_UNAVAILABLE'
  | 'TC_ERR_SHUTTING_DOWN'
  | 'TC_ERR_INTERNAL';

/** Code → HTTP status of a refused upgrade. */
export const GATEWAY_STATUS: Record<GatewayErrorCode, number> = {
  TC_ERR_UNAUTHORIZED: 401,
  TC_ERR_TOKEN_INVALID: 401,
  TC_ERR_FORBIDDEN_SCOPE: 403,
  TC_ERR_FORBIDDEN_TENANT: 403,
  TC_ERR_FORBIDDEN_ORIGIN: 403,
  TC_ERR_BAD_TENANT_ID: 400,
  TC_ERR_BAD_FILTER: 400,
  TC_ERR_BAD_OFFSET: 400,
  TC_ERR_BAD_SUBPROTOCOL: 400,
  TC_ERR_BAD_REQUEST: 400,
  TC_ERR_BAD_HANDSHAKE: 400,
  TC_ERR_METHOD_NOT_ALLOWED: 405,
  TC_ERR_NOT_FOUND: 404,
  TC_ERR_OFFSET_EXPIRED: 410,
  TC_ERR_TOO_MANY_CONNECTIONS: 429,
  TC_ERR_REDIS_UNAVAILABLE: 503,
  TC_ERR_SHUTTING_DOWN: 503,
  TC_ERR_INTERNAL: 500,
};

/** A refusal: an HTTP status before the upgrade, or an error message in multiplexed mode. */
export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  readonly code: GatewayErrorCode;
  readonly status: number;
  readonly details: unknown[];

  constructor(code: GatewayErrorCode, message: string, options: { details?: unknown[]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = GATEWAY_STATUS[code];
    this.details = options.details ?? [];
  }

  /** The JSON body: `{"error":{"code","message","details"?}}`. */
  toBody(): { error: { code: GatewayErrorCode; message: string; details?: unknown[] } } {
    return { error: { code: this.code, message: this.message, ...(this.details.length > 0 ? { details: this.details } : {}) } };
  }
}

/** Turns anything thrown into a GatewayError, in one place: Redis outages are 503, the rest 500. */
export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  const e = error as { code?: string; message?: string; name?: string };
  if (e?.code === 'TC_ERR_OFFSET_EXPIRED' && typeof e.message === 'string')
    return new GatewayError('TC_ERR_OFFSET_EXPIRED', e.message, { cause: error });
  if (isRedisUnavailable(error)) {
    return new GatewayError('TC_ERR_REDIS_UNAVAILABLE', 'Redis is unavailable; reconnect after a backoff.', { cause: error });
  }
  return new GatewayError('TC_ERR_INTERNAL', 'Internal error; it has been logged.', { cause: error });
}
