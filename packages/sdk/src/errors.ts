/**
 * WebSocket close codes of the gateway, documented in docs/protocol.md. 1000–1015 are RFC 6455's
 * (§7.4.1); 4000–4999 are the application's own.
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
  /** Multiplexed mode: a refresh token that does not verify (signature, expiry, issuer, audience, lifetime). */
  TokenInvalid: 4002,
  /** Multiplexed mode: a refresh token without the `subscribe` scope. */
  ForbiddenScope: 4003,
  /** Multiplexed mode: a refresh token that does not grant the tenant of an open subscription. */
  ForbiddenTenant: 4004,
  /** Multiplexed mode: a refresh token for another subject (`sub`) than the connection's. */
  SubjectChanged: 4005,
  /** The client fell too far behind (its send buffer overflowed): reconnect and resume from its last offset. */
  SlowConsumer: 4008,
  /** The resume offset is older than retention: events were trimmed; restart from 0 or from live. */
  OffsetExpired: 4010,
  /** The resume offset is past the stream's end (Redis lost events it had handed out); restart from 0 or from live, and reconcile. */
  OffsetAhead: 4011,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** What the table says of one code. */
export interface ErrorSpec {
  /** The HTTP status a server answers with; absent for errors never answered as an HTTP status (raised by the SDK, or ending a stream). */
  readonly status?: number;
  /** The WebSocket close code a gateway closes a connection with for it, where it has one. */
  readonly close?: CloseCode;
  /** The default message: what to change, not only what broke. */
  readonly message: string;
}

/**
 * Every `TC_ERR_*` code of tenantcast, once: its HTTP status, its close code where it has one, and
 * its default message. The relay, the gateway and the SDK all read this table (Fastify keeps all of
 * its errors in one `lib/errors.js` the same way). A thrown error may carry a more precise message.
 */
export const ERRORS = {
  // Credentials (401) and grants (403).
  TC_ERR_UNAUTHORIZED: { status: 401, message: 'Send a token as "Authorization: Bearer <token>".' },
  TC_ERR_TOKEN_INVALID: {
    status: 401,
    close: CloseCode.TokenInvalid,
    message: 'The token is not valid; mint a new HS256 token signed with TENANTCAST_SECRET.',
  },
  // A refresh (multiplexed mode) may not change who is connected: that is a new connection's job.
  TC_ERR_TOKEN_SUBJECT: {
    status: 403,
    close: CloseCode.SubjectChanged,
    message:
      'A refresh token must carry the connection\'s subject ("sub"); to connect as another subject, open a new connection with its token.',
  },
  TC_ERR_SIGNATURE_INVALID: { status: 401, message: 'The Qlik-Signature header does not match the body; check QLIK_WEBHOOK_SECRET.' },
  // The gateway ends a connection or an event stream with it when the token's `exp` passes (close 4001, or an SSE error event); a request with an expired token gets TC_ERR_TOKEN_INVALID.
  TC_ERR_TOKEN_EXPIRED: {
    status: 401,
    close: CloseCode.TokenExpired,
    message: 'The token expired; reconnect with a fresh token, resuming from the last offset.',
  },
  TC_ERR_FORBIDDEN_SCOPE: { status: 403, close: CloseCode.ForbiddenScope, message: 'The token lacks the scope this call needs.' },
  TC_ERR_FORBIDDEN_TENANT: { status: 403, close: CloseCode.ForbiddenTenant, message: 'The token does not grant this tenant.' },
  TC_ERR_FORBIDDEN_ORIGIN: {
    status: 403,
    message: "The page's Origin is not in the tenant's web integrations' validOrigins; add it to a web integration.",
  },
  TC_ERR_CROSS_SITE: {
    status: 403,
    message:
      'The dashboard refuses changes sent from another site (Origin or Sec-Fetch-Site); open the dashboard itself, or send the request without those headers, as curl does.',
  },

  // Malformed requests (400).
  TC_ERR_BAD_REQUEST: { status: 400, message: 'The request is malformed.' },
  TC_ERR_VALIDATION: { status: 400, message: 'The event is not a valid CloudEvent; see details for each path to fix.' },
  TC_ERR_INVALID_JSON: { status: 400, message: 'The body is not valid JSON.' },
  TC_ERR_INVALID_HEADER: { status: 400, message: 'A ce-* header is malformed.' },
  TC_ERR_MIXED_TENANTS: { status: 400, message: "A batch holds one tenant's events; send one batch per tenant." },
  TC_ERR_BAD_TENANT_ID: { status: 400, message: 'Tenant ids must match ^[A-Za-z0-9._-]{1,128}$.' },
  TC_ERR_BAD_OFFSET: { status: 400, message: 'An offset is a stream entry id such as 1700000000000-0, or 0 for the start.' },
  TC_ERR_BAD_LIMIT: { status: 400, message: '"limit" must be a whole number from 1 to 1000.' },
  TC_ERR_BAD_FILTER: { status: 400, message: '"filters" must be a JSON array of filters as docs/protocol.md describes.' },
  TC_ERR_BAD_SUBPROTOCOL: {
    status: 400,
    message: 'Offer the subprotocol of the endpoint: cloudevents.json on /v1/tenants/{tenantid}/events, tenantcast.v1 on /v1/connect.',
  },
  TC_ERR_BAD_HANDSHAKE: {
    status: 400,
    message: 'Send a WebSocket handshake as RFC 6455 describes (Upgrade: websocket, Sec-WebSocket-Version: 13), as WebSocket clients do.',
  },

  // Routes and resources.
  TC_ERR_NOT_FOUND: { status: 404, message: 'No such route; see the README for the API.' },
  TC_ERR_QLIK_DISABLED: { status: 404, message: 'The Qlik webhook endpoint is off; set QLIK_WEBHOOK_SECRET to turn it on.' },
  TC_ERR_METHOD_NOT_ALLOWED: { status: 405, message: 'This route does not take that method.' },
  TC_ERR_OFFSET_EXPIRED: {
    status: 410,
    close: CloseCode.OffsetExpired,
    message: 'Events after this offset were trimmed by retention; restart from offset 0 (the oldest retained event) and reconcile.',
  },
  // 409 Conflict (RFC 9110 §15.5.10): the offset is well formed (else 400) but conflicts with the stream's
  // current state, as 410 says of a trimmed one; 416 belongs to the Range header.
  TC_ERR_OFFSET_AHEAD: {
    status: 409,
    close: CloseCode.OffsetAhead,
    message:
      "The offset is past the stream's last event (Redis lost events, or the offset is not one it handed out); subscribe again with after=0 or without after, and reconcile.",
  },
  // 408 (RFC 9110 §15.5.9): the server closes the connection; a client may send the request again.
  TC_ERR_REQUEST_TIMEOUT: {
    status: 408,
    message: 'The request did not arrive in time; send the headers and the whole body without pauses, then retry.',
  },
  // 409 Conflict: the request is valid, but the tenant's endpoints are at their cap (its current
  // state); it succeeds once one is deleted. Waiting does not help, so not 429.
  TC_ERR_TOO_MANY_ENDPOINTS: {
    status: 409,
    message: 'The tenant has as many webhook endpoints as it may (WEBHOOK_MAX_ENDPOINTS_PER_TENANT); delete one first.',
  },
  TC_ERR_PAYLOAD_TOO_LARGE: { status: 413, message: 'The body is over the size limit; send smaller batches.' },
  TC_ERR_BATCH_TOO_LARGE: {
    status: 413,
    message:
      'The batch holds more events or bytes than one write may (RELAY_MAX_BATCH_EVENTS, RELAY_MAX_BATCH_BYTES); send smaller batches. Nothing was stored.',
  },
  TC_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message:
      'Send a CloudEvent: structured (application/cloudevents+json), batched (application/cloudevents-batch+json), or binary (ce-* headers).',
  },
  TC_ERR_HEADERS_TOO_LARGE: { status: 431, message: "The request's headers are over 16 KiB; send fewer or shorter headers." },

  // Limits (429) and availability (5xx).
  TC_ERR_RATE_LIMITED: { status: 429, message: 'The tenant is over its rate limit; retry after the time in Retry-After.' },
  TC_ERR_TOO_MANY_DELIVERIES: {
    status: 429,
    message: 'The tenant has as many webhook deliveries outstanding as it may; retry after the time in Retry-After.',
  },
  TC_ERR_TOO_MANY_CONNECTIONS: {
    status: 429,
    message: 'The tenant has as many connections on this gateway as it may (GATEWAY_MAX_CONNECTIONS_PER_TENANT); retry later or elsewhere.',
  },
  // No status: a stream that fell behind is ended after it started (close 4008, or an SSE error event), never refused.
  TC_ERR_SLOW_CONSUMER: {
    close: CloseCode.SlowConsumer,
    message:
      'The client read too slowly and its send buffer overflowed (GATEWAY_MAX_BUFFERED_BYTES); reconnect and resume from the last offset.',
  },
  TC_ERR_INTERNAL: { status: 500, close: CloseCode.InternalError, message: 'Internal error; it has been logged.' },
  TC_ERR_REDIS_UNAVAILABLE: {
    status: 503,
    close: CloseCode.TryAgainLater,
    message: 'Redis is unavailable; retry after the time in Retry-After.',
  },
  TC_ERR_KEYS_UNAVAILABLE: {
    status: 503,
    close: CloseCode.TryAgainLater,
    message:
      "The identity provider's signing keys (AUTH_JWKS_URLS) could not be fetched, and none is cached yet; retry after the time in Retry-After.",
  },
  TC_ERR_NOT_REPLICATED: {
    status: 503,
    message:
      'The events are stored, but not yet on the replicas REDIS_WAIT_REPLICAS requires; retry after Retry-After (the retry is deduped).',
  },
  TC_ERR_SHUTTING_DOWN: {
    status: 503,
    close: CloseCode.GoingAway,
    message: 'The server is shutting down; retry against another instance.',
  },

  // Raised by the SDK itself, never answered by a server.
  TC_ERR_UNKNOWN_TYPE: { message: 'The event type has no registered schema; register it, or turn strict mode off.' },
  TC_ERR_TYPE_REGISTERED: { message: 'The event type is registered already; register each type once.' },
  TC_ERR_PUBLISH_FAILED: { message: 'The relay could not be reached or kept failing; the event may not be stored: publish it again.' },
  TC_ERR_PUBLISH_REJECTED: { message: 'The relay refused the event; see the message and details for what to fix.' },
  TC_ERR_REQUEST_FAILED: { message: 'The relay refused the request; see the message for what to fix.' },
  TC_ERR_SUBSCRIBE_REFUSED: { message: 'The gateway refused the subscription; see the message for what to fix.' },
  TC_ERR_WEBHOOK_SIGNATURE: { message: 'The webhook signature does not verify; check the endpoint secret and the raw body.' },
  TC_ERR_BAD_OPTIONS: { message: 'An option is invalid; see the message for which one.' },
} as const satisfies Record<string, ErrorSpec>;

/** Every error code of tenantcast, in the style of Fastify's `FST_ERR_*`. */
export type ErrorCode = keyof typeof ERRORS;

/** The codes a server answers with: those with an HTTP status. */
export type ServerErrorCode = { [K in ErrorCode]: (typeof ERRORS)[K] extends { status: number } ? K : never }[ErrorCode];

/** The codes the SDK raises. */
export type SdkErrorCode = ErrorCode;

/** One validation failure: `path` is a JSON Pointer into the checked value (RFC 6901). */
export interface ValidationIssue {
  /** Position of the event in a batch; absent for a single event. */
  index?: number;
  path: string;
  message: string;
}

/** Whether `code` is one of tenantcast's codes (a server of a newer version may answer others). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERRORS, code);
}

/** The one error class of the SDK; `code` says what went wrong, `details` carries validator output. */
export class TenantcastError extends Error {
  override readonly name = 'TenantcastError';
  readonly code: SdkErrorCode;
  /** HTTP status, where the error came from an HTTP answer of the relay or the gateway. */
  readonly status: number | undefined;
  readonly details: ValidationIssue[];

  constructor(code: SdkErrorCode, message?: string, options: { status?: number; details?: ValidationIssue[]; cause?: unknown } = {}) {
    super(message ?? ERRORS[code].message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
    this.details = options.details ?? [];
  }
}

/** Summarizes issues into one line that says what to fix, e.g. `/data/id: must be string`. */
export function describeIssues(issues: readonly ValidationIssue[], max = 3): string {
  const shown = issues.slice(0, max).map((i) => {
    const where = i.index === undefined ? i.path || '/' : `[${i.index}]${i.path}`;
    return `${where}: ${i.message}`;
  });
  const more = issues.length > max ? ` (and ${issues.length - max} more)` : '';
  return shown.join('; ') + more;
}
