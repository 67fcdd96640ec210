import { ERRORS, type ServerErrorCode } from '@tenantcast/sdk';
import { isRedisUnavailable } from './lifecycle.ts';

export type { ServerErrorCode };

/** One item of an error's `details`: where in the request, and what to fix there. */
export interface ErrorDetail {
  index?: number;
  path: string;
  message: string;
}

/** The JSON body of every refusal: `{"error":{"code","message","details"?}}`. */
export interface ErrorBody {
  error: { code: ServerErrorCode; message: string; details?: unknown[] };
}

export interface ServiceErrorOptions {
  details?: readonly unknown[];
  /** Seconds for a Retry-After header, where the client should wait. */
  retryAfter?: number;
  /** Headers the answer carries besides the defaults of its status (a Basic challenge, say). */
  headers?: Readonly<Record<string, string>>;
  cause?: unknown;
}

/**
 * The one error class of the relay, the gateway and the storage they share: a code of the shared
 * table (`ERRORS` in the SDK), its HTTP status and close code from that table, and a message that
 * says what to fix (the table's default unless a more precise one is given).
 */
export class ServiceError extends Error {
  override readonly name = 'ServiceError';
  readonly code: ServerErrorCode;
  readonly status: number;
  readonly details: readonly unknown[];
  readonly retryAfter: number | undefined;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ServerErrorCode, message?: string, options: ServiceErrorOptions = {}) {
    super(message ?? ERRORS[code].message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = options.details ?? [];
    this.retryAfter = options.retryAfter;
    this.headers = options.headers ?? {};
  }

  /** The WebSocket close code of this error, where the table gives one. */
  get closeCode(): number | undefined {
    return (ERRORS[this.code] as { close?: number }).close;
  }

  /** The JSON body: `{"error":{"code","message","details"?}}`. */
  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.details.length > 0 ? { details: [...this.details] } : {}) } };
  }
}

/**
 * The part of turning anything thrown into a ServiceError that both apps share: ServiceErrors pass
 * through, Redis outages become 503 (with Retry-After 1), the rest 500. Each app calls this from its
 * own one normalizer, after mapping what only it can meet (Fastify's errors, for the relay).
 */
export function toServiceError(error: unknown): ServiceError {
  if (error instanceof ServiceError) return error;
  if (isRedisUnavailable(error)) return new ServiceError('TC_ERR_REDIS_UNAVAILABLE', undefined, { retryAfter: 1, cause: error });
  return new ServiceError('TC_ERR_INTERNAL', undefined, { cause: error });
}
