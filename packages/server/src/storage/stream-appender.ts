import { readFileSync } from 'node:fs';
import { ServiceError } from '../errors.ts';
import type { RedisClient } from '../redis.ts';
import { dedupeHash } from './dedupe.ts';
import { type TenantKeys, tenantKeys } from './keys.ts';

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

  constructor(redis: RedisClient, options: StreamAppenderOptions) {
    this.#redis = redis;
    this.#options = options;
    if (!('tcAppendEvents' in redis)) redis.defineCommand('tcAppendEvents', { numberOfKeys: 5, lua: appendEventsLua });
  }

  /** The keys of `tenant`. */
  keys(tenant: string): TenantKeys {
    return tenantKeys(this.#options.keyPrefix, tenant);
  }

  /**
   * Appends one tenant's events atomically, in order. Events already stored within the dedupe
   * window (same source and id) are not stored again: their result holds the first copy's offset.
   * Throws TC_ERR_RATE_LIMITED, with nothing written, when the tenant is over its limit, and
   * TC_ERR_PAYLOAD_TOO_LARGE when the batch alone is over it (no wait would let it through).
   */
  async append(tenant: string, events: readonly StoredEventInput[]): Promise<AppendResult[]> {
    if (events.length === 0) return [];
    const keys = this.keys(tenant);
    const limit = this.#options.rateLimitFor(tenant);
    if (limit > 0 && events.length > limit) {
      // No wait would let this batch through, so it is not a 429 but a 413: the caller must split it.
      throw new ServiceError(
        'TC_ERR_PAYLOAD_TOO_LARGE',
        `A batch of ${events.length} events is over tenant "${tenant}"'s limit of ${limit} events per second; send batches of at most ${limit}.`,
      );
    }
    const argv: Array<string | number> = [
      this.#options.pubsub === 'sharded' ? 'SPUBLISH' : 'PUBLISH',
      this.#options.streamMaxLen,
      this.#options.streamMaxAgeSeconds * 1000,
      this.#options.dedupeWindowSeconds,
      limit,
    ];
    for (const event of events) argv.push(dedupeHash(event.source, event.id), event.json, originsOp(event));
    const reply = await this.#appendAndWait(keys, argv);
    if (reply[0] === 'rate') {
      throw new ServiceError(
        'TC_ERR_RATE_LIMITED',
        `Tenant "${tenant}" is over its rate limit of ${limit} events per second; retry after the time in Retry-After.`,
        { retryAfter: Math.max(1, Math.ceil(Number(reply[1]) / 1000)) },
      );
    }
    const results: AppendResult[] = [];
    for (let i = 1; i < reply.length; i += 2) results.push({ offset: String(reply[i]), duplicate: Number(reply[i + 1]) === 1 });
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
