import { readFileSync } from 'node:fs';
import type { RedisClient } from '@tenantcast/server';
import { type Delivery, type DeliveryAttempt, type DeliveryStatus, decodeAttempt, deliveryLogKeys } from './delivery-log.ts';

const pageLua = readFileSync(new URL('./commands/page-deliveries-1.lua', import.meta.url), 'utf8');

type PageIndex = (key: string, score: string, member: string, count: number) => Promise<string[]>;

/** The fields of a delivery's hash that the API shows (its attempts are `attempt:<n>` fields besides). */
const FIELDS = [
  'id',
  'endpointId',
  'offset',
  'eventId',
  'eventType',
  'status',
  'attempts',
  'createdAt',
  'lastAttemptAt',
  'nextAttemptAt',
  'lastStatus',
  'lastError',
] as const;

/** Where a page of the log ends: the last delivery it showed, and that delivery's score then. */
export interface DeliveryCursor {
  score: number;
  offset: string;
}

/** One page of deliveries, newest first, and the cursor of the next (null at the end). */
export interface DeliveryPage {
  deliveries: Delivery[];
  next: DeliveryCursor | null;
}

/** Pages read at most per request when deliveries that expired leave gaps in a page. */
const MAX_READS = 5;

/** A delivery from its hash's fields, in FIELDS order. */
function toDelivery(values: Array<string | null>): Delivery | undefined {
  const [id, endpointId, offset, eventId, eventType, status, attempts, createdAt, lastAttemptAt, nextAttemptAt, lastStatus, lastError] =
    values;
  if (id == null || endpointId == null || offset == null || status == null) return undefined;
  return {
    id,
    endpointId,
    offset,
    eventId: eventId ?? null,
    eventType: eventType ?? null,
    status: status as DeliveryStatus,
    attempts: Number(attempts ?? 0),
    createdAt: createdAt ?? '',
    lastAttemptAt: lastAttemptAt ?? null,
    nextAttemptAt: nextAttemptAt ?? null,
    lastStatus: lastStatus == null ? null : Number(lastStatus),
    lastError: lastError ?? null,
  };
}

/**
 * The webhook delivery log, read side (delivery-log.ts writes it): a delivery by its offset (one
 * HGETALL), and pages of an endpoint's deliveries by status, newest first, through the sorted set
 * of that status (a script finds the cursor's rank and reads the page in one step), then the
 * page's hashes in one pipeline: a page costs O(log n + page), whatever the log's size.
 */
export class DeliveryLogReader {
  readonly #redis: RedisClient & { tcPageDeliveries?: PageIndex };
  readonly #prefix: string;

  constructor(redis: RedisClient, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
    if (!('tcPageDeliveries' in redis)) redis.defineCommand('tcPageDeliveries', { numberOfKeys: 1, lua: pageLua });
  }

  /** One delivery with its attempt log, oldest attempt first; undefined when the log has none (never, or expired). */
  async get(tenant: string, endpointId: string, offset: string): Promise<(Delivery & { attemptLog: DeliveryAttempt[] }) | undefined> {
    const hash = await this.#redis.hgetall(deliveryLogKeys(this.#prefix, tenant, endpointId).record(offset));
    const delivery = toDelivery(FIELDS.map((field) => hash[field] ?? null));
    if (delivery === undefined) return undefined;
    const attemptLog = Object.entries(hash)
      .filter(([field]) => field.startsWith('attempt:'))
      .map(([field, json]) => [Number(field.slice('attempt:'.length)), decodeAttempt(json)] as const)
      .sort((a, b) => a[0] - b[0])
      .map(([, attempt]) => attempt);
    return { ...delivery, attemptLog };
  }

  /** A page of an endpoint's deliveries of one status (or all), newest change first, after `cursor`. */
  async page(
    tenant: string,
    endpointId: string,
    status: DeliveryStatus | undefined,
    limit: number,
    cursor?: DeliveryCursor,
  ): Promise<DeliveryPage> {
    const keys = deliveryLogKeys(this.#prefix, tenant, endpointId);
    const index = keys[status ?? 'all'];
    const deliveries: Delivery[] = [];
    let after = cursor;
    for (let read = 0; read < MAX_READS; read++) {
      const want = limit - deliveries.length;
      // One more than wanted, to know whether a next page exists.
      const flat = await this.#redis.tcPageDeliveries!(
        index,
        after === undefined ? '' : String(after.score),
        after?.offset ?? '',
        want + 1,
      );
      const members: DeliveryCursor[] = [];
      for (let i = 0; i < flat.length; i += 2) members.push({ offset: flat[i]!, score: Number(flat[i + 1]) });
      const shown = members.slice(0, want);
      const pipeline = this.#redis.pipeline();
      for (const member of shown) pipeline.hmget(keys.record(member.offset), ...FIELDS);
      const replies = shown.length === 0 ? [] : ((await pipeline.exec()) ?? []);
      for (const [error, values] of replies) {
        if (error) throw error;
        // A delivery whose hash expired (unchanged for longer than the retention) is left out.
        const delivery = toDelivery(values as Array<string | null>);
        if (delivery !== undefined) deliveries.push(delivery);
      }
      if (members.length <= want) return { deliveries, next: null };
      after = shown.at(-1)!;
      if (deliveries.length >= limit) return { deliveries, next: after };
    }
    return { deliveries, next: after ?? null };
  }
}
