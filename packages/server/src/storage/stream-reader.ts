import { ServiceError } from '../errors.ts';
import type { RedisClient } from '../redis.ts';
import { type TenantKeys, tenantKeys } from './keys.ts';
import { compareOffsets, LAST_OFFSET } from './offsets.ts';

/** One entry read back from a tenant's stream. */
export interface StreamEntry {
  offset: string;
  /** The event as stored: structured-mode JSON text. */
  json: string;
}

export interface StreamReaderOptions {
  keyPrefix: string;
}

/**
 * The read side of the per-tenant streams: paged reads that never skip trimmed events in silence,
 * the last offset, and the tenant's allowed browser origins. Needs nothing that only writers use.
 */
export class StreamReader {
  readonly #redis: RedisClient;
  readonly #keyPrefix: string;

  constructor(redis: RedisClient, options: StreamReaderOptions) {
    this.#redis = redis;
    this.#keyPrefix = options.keyPrefix;
  }

  /** The keys of `tenant`. */
  keys(tenant: string): TenantKeys {
    return tenantKeys(this.#keyPrefix, tenant);
  }

  /**
   * Up to `limit` entries just before `before` (exclusive; `end` for the stream's last ones), oldest
   * first, and whether older ones remain: paging back through what the stream holds (what retention
   * trimmed is simply not there any more, so no gap check applies).
   */
  async readBefore(tenant: string, before: string | 'end', limit: number): Promise<{ entries: StreamEntry[]; more: boolean }> {
    const end = before === 'end' ? '+' : `(${before}`;
    const rows = (await this.#redis.xrevrange(this.keys(tenant).stream, end, '-', 'COUNT', limit + 1)) as Array<[string, string[]]>;
    const entries = rows
      .slice(0, limit)
      .reverse()
      .map(([offset, fields]) => ({ offset, json: fieldOf(fields, 'e') ?? 'null' }));
    return { entries, more: rows.length > limit };
  }

  /** The event stored at `offset`, as JSON text; undefined when the stream no longer holds it (trimmed, or lost). */
  async entry(tenant: string, offset: string): Promise<string | undefined> {
    const rows = (await this.#redis.xrange(this.keys(tenant).stream, offset, offset)) as Array<[string, string[]]>;
    return rows[0] === undefined ? undefined : fieldOf(rows[0][1], 'e');
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
   * Reads up to `limit` entries after `after` (exclusive; `0` reads from the oldest retained entry).
   * Never skips events in silence: throws TC_ERR_OFFSET_EXPIRED when entries after `after` have been
   * trimmed, and TC_ERR_OFFSET_AHEAD when `after` is past the stream's last offset (see `ReadOptions`).
   */
  async read(tenant: string, after: string, limit: number, options: ReadOptions = {}): Promise<{ entries: StreamEntry[]; more: boolean }> {
    const { until = '+', pastEnd = 'refuse', handedOut = false } = options;
    const { stream } = this.keys(tenant);
    // Nothing can follow the largest id, and XRANGE refuses it as an exclusive start.
    if (after === LAST_OFFSET) {
      const last = pastEnd === 'refuse' ? await this.lastOffset(tenant) : LAST_OFFSET;
      if (last !== LAST_OFFSET) throw pastTheEnd(tenant, after, last);
      return { entries: [], more: false };
    }
    const start = after === '0' ? '-' : `(${after}`;
    // One transaction, so that the retention and end checks see the stream as the range read does.
    const [oldest, range, info] = (await this.#redis
      .multi()
      .xrange(stream, '-', '+', 'COUNT', 1)
      .xrange(stream, start, until, 'COUNT', limit + 1)
      .xinfo('STREAM', stream)
      .exec()) as [[Error | null, Array<[string, string[]]>], [Error | null, Array<[string, string[]]>], [Error | null, string[]]];
    if (oldest[0] !== null) throw oldest[0];
    if (range[0] !== null) throw range[0];
    const rows = range[1];
    if (after !== '0') {
      // XINFO fails on a stream that does not exist: one Redis lost, or never written.
      const infoFields = info[0] === null ? info[1] : undefined;
      const last = (infoFields === undefined ? undefined : fieldOf(infoFields, 'last-generated-id')) ?? '0-0';
      if (pastEnd === 'refuse' && compareOffsets(after, last) > 0) throw pastTheEnd(tenant, after, last);
      assertNotTrimmed(tenant, after, oldest[1][0], infoFields);
      // The entry after one that the stream held names it as its predecessor ('p', see the append script).
      const predecessor = handedOut && rows[0] !== undefined ? fieldOf(rows[0][1], 'p') : undefined;
      if (predecessor !== undefined && compareOffsets(predecessor, after) < 0) {
        throw offsetAhead(
          `Tenant "${tenant}"'s stream no longer holds offset ${after} (its next entry follows ${predecessor}): Redis lost events`,
        );
      }
    }
    const entries: StreamEntry[] = [];
    for (const [offset, fields] of rows.slice(0, limit)) entries.push({ offset, json: fieldOf(fields, 'e') ?? 'null' });
    return { entries, more: rows.length > limit };
  }
}

/** How `StreamReader.read` reads, and what it refuses. */
export interface ReadOptions {
  /** The last offset to read, inclusive. Default `+`, the end of the stream. */
  until?: string;
  /**
   * What an `after` past the stream's last offset means: `refuse` (the default) throws
   * TC_ERR_OFFSET_AHEAD, since events stored later with lower ids would be skipped in silence;
   * `empty` reads nothing, for bounds that are times rather than offsets a client was handed.
   */
  pastEnd?: 'refuse' | 'empty';
  /**
   * `after` is an offset the stream itself handed out (a fan-out hub's head): throw
   * TC_ERR_OFFSET_AHEAD too when the stream no longer holds it, that is when the entry after it
   * names an earlier predecessor (Redis lost data and was written again).
   */
  handedOut?: boolean;
}

/** TC_ERR_OFFSET_AHEAD, saying `why` and what to do. */
function offsetAhead(why: string): ServiceError {
  return new ServiceError('TC_ERR_OFFSET_AHEAD', `${why}; subscribe again with after=0 or without after, and reconcile.`);
}

/** TC_ERR_OFFSET_AHEAD: `after` is past the stream's last offset, `last`. */
function pastTheEnd(tenant: string, after: string, last: string): ServiceError {
  return offsetAhead(
    `Offset ${after} is past the last offset of tenant "${tenant}"'s stream, ${last} (Redis lost events, or the offset is not one it handed out)`,
  );
}

/**
 * Throws TC_ERR_OFFSET_EXPIRED when retention trimmed an entry after `after`: the oldest retained
 * entry names its predecessor in field `p`, so the check is exact. An emptied stream is checked
 * against its last generated id.
 */
function assertNotTrimmed(tenant: string, after: string, oldest: [string, string[]] | undefined, info: string[] | undefined): void {
  let lostUpTo: string | undefined;
  if (oldest !== undefined) {
    const predecessor = fieldOf(oldest[1], 'p') ?? '0-0';
    if (compareOffsets(predecessor, after) > 0) lostUpTo = predecessor;
  } else {
    const last = info === undefined ? undefined : fieldOf(info, 'last-generated-id');
    if (last !== undefined && compareOffsets(last, after) > 0) lostUpTo = last;
  }
  if (lostUpTo !== undefined) {
    throw new ServiceError(
      'TC_ERR_OFFSET_EXPIRED',
      `Events after offset ${after} of tenant "${tenant}" were trimmed by retention (up to ${lostUpTo}); restart from offset 0 and reconcile.`,
    );
  }
}

/** A field of a flat `[name, value, name, value, …]` reply. */
function fieldOf(flat: readonly unknown[], name: string): string | undefined {
  for (let i = 0; i + 1 < flat.length; i += 2) if (flat[i] === name) return flat[i + 1] as string;
  return undefined;
}
