import { readFileSync } from 'node:fs';
import { ServiceError } from '../errors.ts';
import type { RedisClient } from '../redis.ts';
import { dedupeHash } from './dedupe.ts';
import { type TenantKeys, tenantKeys } from './keys.ts';
import { RateGate } from './rate-gate.ts';

const appendEventsLua = readFileSync(new URL('./commands/append-events-5.lua', import.meta.url), 'utf8');

/** What to store: the event's dedupe identity and its serialized form. */
export interface StoredEventInput {
  source: string;
  id: string;
  json: string;
  /**
   * A web integration's allowed origins, learned from this event: a list to set, or null to
   * forget them. Applied only if the event is new.
   */
  origins?: { integration: string; origins: readonly string[] | null };
}

/** Where an event was stored. */
export interface AppendResult {
  offset: string;
  duplicate: boolean;
}

export interface StreamAppenderOptions {
  keyPrefix: string;
  streamMaxLen: number;
  streamMaxAgeSeconds: number;
  dedupeWindowSeconds: number;
  /** Events per second for `tenant`; 0 means no limit. */
  rateLimitFor(tenant: string): number;
  /**
   * Most events in one append, that is one script call, which holds Redis for every tenant (about
   * 7 µs an event on a 2-core machine). Default none.
   */
  maxBatchEvents?: number;
  /** Most bytes of events' JSON in one append (about 7 ms a MiB). Default none. */
  maxBatchBytes?: number;
  /** How live notifications go out: `classic` PUBLISH on one Redis, `sharded` SPUBLISH on a cluster. Default classic. */
  pubsub?: 'classic' | 'sharded';
  /**
   * Replicas that must have an append before it counts as done (Redis WAIT); 0 for none. When
   * fewer confirm within `waitTimeoutMs`, append throws TC_ERR_NOT_REPLICATED: the events are
   * stored on the master, and a retry is deduped.
   */
  waitReplicas?: number;
  waitTimeoutMs?: number;
}

type AppendEvents = (
  stream: string,
  dedupePrefix: string,
  ratePrefix: string,
  origins: string,
  live: string,
  ...argv: Array<string | number>
) => Promise<Array<string | number>>;

/**
 * The write side of the per-tenant streams: one script call per append checks the rate limit,
 * dedupes (see `dedupe.ts`), adds, trims and notifies the gateways, atomically; then waits for
 * replicas when asked to.
 */
export class StreamAppender {
  readonly #redis: RedisClient & { tcAppendEvents?: AppendEvents };
  readonly #options: StreamAppenderOptions;
  readonly #gate = new RateGate();

  constructor(redis: RedisClient, options: StreamAppenderOptions) {
    this.#redis = redis;
    this.#options = options;
    if (!('tcAppendEvents' in redis)) redis.defineCommand('tcAppendEvents', { numberOfKeys: 5, lua: appendEventsLua });
  }

  /** The keys of `tenant`. */
  keys(tenant: string): TenantKeys {
    return tenantKeys(this.#options.keyPrefix, tenant);
  }

  /** What one append may hold: `maxBatchEvents` and `maxBatchBytes` (Infinity where there is no cap). */
  get batchLimits(): { events: number; bytes: number } {
    return { events: this.#options.maxBatchEvents ?? Infinity, bytes: this.#options.maxBatchBytes ?? Infinity };
  }

  /**
   * Throws TC_ERR_BATCH_TOO_LARGE when `count` events, of `bytes` bytes of JSON in all, are more
   * than one append may take. A batch is one script call so that it is stored whole or not at all
   * (a batch split over several calls could be half stored when Redis fails between them); the cap
   * bounds how long that call holds Redis for every other tenant.
   */
  checkBatch(count: number, bytes = 0): void {
    const { events: maxEvents, bytes: maxBytes } = this.batchLimits;
    if (count > maxEvents) {
      throw new ServiceError(
        'TC_ERR_BATCH_TOO_LARGE',
        `A batch of ${count} events is over the relay's limit of ${maxEvents} events per batch (RELAY_MAX_BATCH_EVENTS); send batches of at most ${maxEvents}. Nothing was stored.`,
      );
    }
    if (bytes > maxBytes) {
      throw new ServiceError(
        'TC_ERR_BATCH_TOO_LARGE',
        `${count === 1 ? 'The event is' : `The ${count} events are`} ${bytes} bytes of JSON, over the relay's limit of ${maxBytes} bytes per write (RELAY_MAX_BATCH_BYTES); send ${count === 1 ? 'a smaller event' : 'smaller batches'}. Nothing was stored.`,
      );
    }
  }

  /**
   * Throws TC_ERR_RATE_LIMITED, without a call to Redis, when this process knows that `count` more
   * events of `tenant` would be over its limit (Redis refused it lately: see `RateGate`). `append`
   * checks it too; a caller checks it early, to refuse before costlier work (parsing, validating).
   */
  checkRate(tenant: string, count = 1): void {
    this.#checkLimit(tenant, count);
    const waitMs = this.#gate.waitFor(tenant, count);
    if (waitMs > 0) throw this.#rateLimited(tenant, waitMs);
  }

  /**
   * The tenant's limit (events per second, 0 for none) and burst: the most events it may send at
   * once, the largest batch it may send (`maxBatchEvents`), or a second's worth when that is less.
   * Throws TC_ERR_BATCH_TOO_LARGE for a batch over the tenant's limit: no wait would let it through.
   */
  #checkLimit(tenant: string, count: number): { limit: number; burst: number } {
    const limit = this.#options.rateLimitFor(tenant);
    if (limit > 0 && count > limit) {
      // Not a 429 but a 413: the caller must split the batch.
      throw new ServiceError(
        'TC_ERR_BATCH_TOO_LARGE',
        `A batch of ${count} events is over tenant "${tenant}"'s limit of ${limit} events per second; send batches of at most ${limit}. Nothing was stored.`,
      );
    }
    return { limit, burst: Math.min(limit, this.batchLimits.events) };
  }

  #rateLimited(tenant: string, waitMs: number): ServiceError {
    return new ServiceError(
      'TC_ERR_RATE_LIMITED',
      `Tenant "${tenant}" is over its rate limit of ${this.#options.rateLimitFor(tenant)} events per second; retry after the time in Retry-After.`,
      { retryAfter: Math.max(1, Math.ceil(waitMs / 1000)) },
    );
  }

  /**
   * Appends one tenant's events atomically, in order. Events already stored within the dedupe
   * window (same source and id) are not stored again: their result holds the first copy's offset.
   * Throws TC_ERR_RATE_LIMITED, with nothing written, when the tenant is over its limit, and
   * TC_ERR_BATCH_TOO_LARGE when the batch is over a cap of one append (`checkBatch`) or over the
   * tenant's limit alone (no wait would let it through).
   */
  async append(tenant: string, events: readonly StoredEventInput[]): Promise<AppendResult[]> {
    if (events.length === 0) return [];
    let bytes = 0;
    const maxBytes = this.#options.maxBatchBytes;
    if (maxBytes !== undefined) {
      // A UTF-16 code unit is at most 3 bytes of UTF-8: under the cap by that bound, no event needs encoding to count.
      let units = 0;
      for (const event of events) units += event.json.length;
      if (units * 3 > maxBytes) for (const event of events) bytes += Buffer.byteLength(event.json);
      else bytes = units;
    }
    this.checkBatch(events.length, bytes);
    const keys = this.keys(tenant);
    const { limit, burst } = this.#checkLimit(tenant, events.length);
    const reserved = limit > 0 ? events.length : 0;
    if (reserved > 0) {
      const waitMs = this.#gate.reserve(tenant, reserved, limit, burst);
      if (waitMs > 0) throw this.#rateLimited(tenant, waitMs);
    }
    const argv: Array<string | number> = [
      this.#options.pubsub === 'sharded' ? 'SPUBLISH' : 'PUBLISH',
      this.#options.streamMaxLen,
      this.#options.streamMaxAgeSeconds * 1000,
      this.#options.dedupeWindowSeconds,
      limit,
      burst,
    ];
    for (const event of events) argv.push(dedupeHash(event.source, event.id), event.json, originsOp(event));
    const sentAt = performance.now();
    let reply: Array<string | number>;
    try {
      reply = await this.#appendAndWait(keys, argv);
    } catch (error) {
      // Not written (or, for TC_ERR_NOT_REPLICATED, written: its share of the limit is taken).
      if (!(error instanceof ServiceError && error.code === 'TC_ERR_NOT_REPLICATED')) this.#gate.release(tenant, reserved);
      throw error;
    }
    if (reply[0] === 'rate') {
      this.#gate.refused(tenant, limit, burst, sentAt, Number(reply[2]));
      throw this.#rateLimited(tenant, Number(reply[1]));
    }
    // {'ok', flags, offset…}: flags has a '1' for each duplicate (append-events-5.lua).
    const flags = String(reply[1]);
    const results: AppendResult[] = new Array(events.length);
    for (let i = 0; i < events.length; i++) results[i] = { offset: String(reply[i + 2]), duplicate: flags.charCodeAt(i) === 49 };
    return results;
  }

  /**
   * Runs the append script and, when replicas are required, WAIT in the same pipeline: it goes to
   * the master that ran the script (on a cluster, the pipeline's slot decides the node).
   */
  async #appendAndWait(keys: TenantKeys, argv: Array<string | number>): Promise<Array<string | number>> {
    const replicas = this.#options.waitReplicas ?? 0;
    const keyArgs = [keys.stream, keys.dedupePrefix, keys.ratePrefix, keys.origins, keys.live] as const;
    if (replicas === 0) return this.#redis.tcAppendEvents!(...keyArgs, ...argv);
    const pipeline = this.#redis.pipeline() as ReturnType<RedisClient['pipeline']> & {
      tcAppendEvents(...args: Array<string | number>): unknown;
    };
    pipeline.tcAppendEvents(...keyArgs, ...argv);
    pipeline.wait(replicas, this.#options.waitTimeoutMs ?? 1000);
    const [[appendError, reply], [waitError, acked]] = (await pipeline.exec()) as [
      [Error | null, Array<string | number>],
      [Error | null, number],
    ];
    if (appendError !== null) throw appendError;
    // A rate-limited append wrote nothing: there is nothing to wait for.
    if (reply[0] === 'rate') return reply;
    if (waitError !== null) throw waitError;
    if (acked < replicas) {
      throw new ServiceError(
        'TC_ERR_NOT_REPLICATED',
        `The events are stored, but only ${acked} of the ${replicas} replicas required (REDIS_WAIT_REPLICAS) confirmed them within ${this.#options.waitTimeoutMs ?? 1000} ms; retry: the retry is deduped.`,
        { retryAfter: 1 },
      );
    }
    return reply;
  }
}

/** The origins op of the append script for one event. */
function originsOp(event: StoredEventInput): string {
  if (event.origins === undefined) return '';
  const { integration, origins } = event.origins;
  // The id is JSON-quoted, so it holds no raw newline and the first newline separates the list.
  const field = JSON.stringify(integration);
  return origins === null ? `D${field}` : `S${field}\n${JSON.stringify(origins)}`;
}
