/** Why the storage refused a read or a write; each app maps these to its own answer. */
export type StorageErrorCode =
  /** Retention trimmed events after the offset asked for. */
  | 'TC_ERR_OFFSET_EXPIRED'
  /** The tenant is over its events-per-second limit; `retryAfter` says when to retry. */
  | 'TC_ERR_RATE_LIMITED'
  /** A single write holds more events than the tenant's per-second limit: it can never pass whole. */
  | 'TC_ERR_BATCH_OVER_RATE'
  /** The write is on the master, but fewer replicas than REDIS_WAIT_REPLICAS confirmed it in time. */
  | 'TC_ERR_NOT_REPLICATED';

/** A refusal from the storage layer, with a message that says what to do. */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  readonly code: StorageErrorCode;
  /** Seconds to wait, for TC_ERR_RATE_LIMITED and TC_ERR_NOT_REPLICATED. */
  readonly retryAfter: number | undefined;

  constructor(code: StorageErrorCode, message: string, retryAfter?: number) {
    super(message);
    this.code = code;
    this.retryAfter = retryAfter;
  }
}
