import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { compareOffsets } from '@tenantcast/sdk';
import type { RedisClient } from '../redis.ts';
import { type TenantKeys, tenantKeys } from './keys.ts';
import { StorageError } from './storage-error.ts';

export { compareOffsets };

const appendEventsLua = readFileSync(new URL('./commands/append-events-5.lua', import.meta.url), 'utf8');

const OFFSET_PATTERN = /^(?:0|(\d{1,20})-(\d{1,20}))$/;
const UINT64_MAX = 2n ** 64n - 1n;
const LAST_OFFSET = `${UINT64_MAX}-${UINT64_MAX}`;

/** Whether `value` is a stream entry id (`<ms>-<seq>`, both 64-bit unsigned) or `0` for "before the first entry". */
export function isOffset(value: string): boolean {
  const match = OFFSET_PATTERN.exec(value);
  if (match === null) return false;
  return match[1] === undefined || (BigInt(match[1]) <= UINT64_MAX && BigInt(match[2]!) <= UINT64_MAX);
}

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

/** One entry read back from a tenant's stream. */
export interface StreamEntry {
  offset: string;
  /** The event as stored: structured-mode JSON text. */
  json: string;
}

export interface EventStoreOptions {
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
 * The dedupe identity of an event: a digest of (`source`, `id`), so that keys stay short whatever
 * the attributes' length. The pair is hashed as its JSON text, which is unambiguous: JSON escapes
 * every separator, control character and lone surrogate, so different pairs never share an input.
 */
export function dedupeHash(source: string, id: string): string {
  return createHash('sha256')
    .update(JSON.stringify([source, id]))
    .digest('base64url');
}

/** Per-tenant Redis Streams: atomic, deduped appends and paged reads. */
export class EventStore {
  readonly #redis: RedisClient & { tcAppendEvents?: AppendEvents };
  readonly #options: EventStoreOptions;

  constructor(redis: RedisClient, options: EventStoreOptions) {
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
   * Throws TC_ERR_RATE_LIMITED, with nothing written, when the tenant is over its limit.
   */
  async append(tenant: string, events: readonly StoredEventInput[]): Promise<AppendResult[]> {
    if (events.length === 0) return [];
    const keys = this.keys(tenant);
    const limit = this.#options.rateLimitFor(tenant);
    if (limit > 0 && events.length > limit) {
      // No wait would let this batch through, so it is not a 429: the caller must split it.
      throw new StorageError(
        'TC_ERR_BATCH_OVER_RATE',
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
      throw new StorageError(
        'TC_ERR_RATE_LIMITED',
        `Tenant "${tenant}" is over its rate limit of ${limit} events per second; retry after the time in Retry-After.`,
        Math.max(1, Math.ceil(Number(reply[1]) / 1000)),
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
      throw new StorageError(
        'TC_ERR_NOT_REPLICATED',
        `The events are stored, but only ${acked} of the ${replicas} replicas required (REDIS_WAIT_REPLICAS) confirmed them within ${this.#options.waitTimeoutMs ?? 1000} ms; retry: the retry is deduped.`,
        1,
      );
    }
    return reply;
  }

  /** The offset of the tenant's last entry, even when retention emptied the stream; `0-0` for none. */
  async lastOffset(tenant: string): Promise<string> {
    const { stream } = this.keys(tenant);
    // One transaction: a stream created between two separate reads would look emptied.
    const [last, info] = (await this.#redis.multi().xrevrange(stream, '+', '-', 'COUNT', 1).xinfo('STREAM', stream).exec()) as [
      [Error | null, Array<[string, string[]]>],
      [Error | null, string[]],
    ];
    if (last[0] !== null) throw last[0];
    if (last[1][0] !== undefined) return last[1][0][0];
    return (info[0] === null ? fieldOf(info[1], 'last-generated-id') : undefined) ?? '0-0';
  }

  /** The allowed browser origins of the tenant: the union of its web integrations' `validOrigins`. */
  async origins(tenant: string): Promise<string[]> {
    const values = await this.#redis.hvals(this.keys(tenant).origins);
    const all = new Set<string>();
    for (const value of values) {
      try {
        for (const origin of JSON.parse(value) as unknown[]) if (typeof origin === 'string') all.add(origin);
      } catch {
        // A value that is not JSON was not written by the relay; it grants nothing.
      }
    }
    return [...all];
  }

  /**
   * Reads up to `limit` entries after `after` (exclusive; `0` reads from the oldest retained entry),
   * up to `until` (inclusive) when given.
   * Throws TC_ERR_OFFSET_EXPIRED when entries after `after` have been trimmed, so that a reader
   * never skips events in silence.
   */
  async read(tenant: string, after: string, limit: number, until = '+'): Promise<{ entries: StreamEntry[]; more: boolean }> {
    const { stream } = this.keys(tenant);
    // Nothing can follow the largest id, and XRANGE refuses it as an exclusive start.
    if (after === LAST_OFFSET) return { entries: [], more: false };
    const start = after === '0' ? '-' : `(${after}`;
    // One transaction, so that the retention check sees the stream as the range read does.
    const [oldest, range, info] = (await this.#redis
      .multi()
      .xrange(stream, '-', '+', 'COUNT', 1)
      .xrange(stream, start, until, 'COUNT', limit + 1)
      .xinfo('STREAM', stream)
      .exec()) as [[Error | null, Array<[string, string[]]>], [Error | null, Array<[string, string[]]>], [Error | null, string[]]];
    if (oldest[0] !== null) throw oldest[0];
    if (range[0] !== null) throw range[0];
    if (after !== '0') this.#assertNotTrimmed(tenant, after, oldest[1][0], info[0] === null ? info[1] : undefined);
    const rows = range[1];
    const entries: StreamEntry[] = [];
    for (const [offset, fields] of rows.slice(0, limit)) entries.push({ offset, json: fieldOf(fields, 'e') ?? 'null' });
    return { entries, more: rows.length > limit };
  }

  /**
   * Throws TC_ERR_OFFSET_EXPIRED when retention trimmed an entry after `after`: the oldest retained
   * entry names its predecessor in field `p`, so the check is exact. An emptied stream is checked
   * against its last generated id.
   */
  #assertNotTrimmed(tenant: string, after: string, oldest: [string, string[]] | undefined, info: string[] | undefined): void {
    let lostUpTo: string | undefined;
    if (oldest !== undefined) {
      const predecessor = fieldOf(oldest[1], 'p') ?? '0-0';
      if (compareOffsets(predecessor, after) > 0) lostUpTo = predecessor;
    } else {
      const last = info === undefined ? undefined : fieldOf(info, 'last-generated-id');
      if (last !== undefined && compareOffsets(last, after) > 0) lostUpTo = last;
    }
    if (lostUpTo !== undefined) {
      throw new StorageError(
        'TC_ERR_OFFSET_EXPIRED',
        `Events after offset ${after} of tenant "${tenant}" were trimmed by retention (up to ${lostUpTo}); restart from offset 0 and reconcile.`,
      );
    }
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

/** A field of a flat `[name, value, name, value, …]` reply. */
function fieldOf(flat: readonly unknown[], name: string): string | undefined {
  for (let i = 0; i + 1 < flat.length; i += 2) if (flat[i] === name) return flat[i + 1] as string;
  return undefined;
}
