import { readFileSync } from 'node:fs';
import type { DeliveryAttemptInfo, DeliveryInfo, DeliveryStatus } from '@tenantcast/sdk';
import { type RedisClient, tenantKeys } from '@tenantcast/server';
import type { DeliveryResult } from './deliver.ts';
import { webhookId } from './delivery-job.ts';

const recordAttemptLua = readFileSync(new URL('./commands/record-attempt-5.lua', import.meta.url), 'utf8');
const trimLua = readFileSync(new URL('./commands/trim-delivery-log-4.lua', import.meta.url), 'utf8');

type RecordAttempt = (...args: Array<string | number>) => Promise<number>;
type TrimLog = (...args: Array<string | number>) => Promise<number>;

/** Where a delivery stands, what it is and its attempts: the API's shapes, which the SDK declares once. */
export type { DeliveryStatus };
export type Delivery = DeliveryInfo;
export type DeliveryAttempt = DeliveryAttemptInfo;
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'succeeded', 'failed'];

/** A delivery as it is queued: by the dispatcher, a replay, or a retry. */
export interface QueuedDelivery {
  endpointId: string;
  offset: string;
  eventId?: string | undefined;
  eventType?: string | undefined;
}

/** Where a delivery stands after an attempt (or a failure without one). */
export interface AfterAttempt {
  status: DeliveryStatus;
  lastStatus: number | null;
  lastError: string | null;
  /** When the next attempt is due, in ms, for a delivery that will be retried. */
  nextAttemptAt?: number;
}

export interface DeliveryLogOptions {
  /** How long a delivery is kept after its last change, in seconds (WEBHOOK_LOG_RETENTION_SECONDS). */
  retentionSeconds: number;
  /** The most deliveries kept per endpoint; the oldest go first (WEBHOOK_LOG_MAX_PER_ENDPOINT). */
  maxPerEndpoint: number;
}

/** Attempts kept per delivery: the last 20. */
export const ATTEMPTS_KEPT = 20;
/** Deliveries the cap drops per trim call (the rest on the next writes). */
const DROPS_PER_TRIM = 1000;

/** The keys of one endpoint's log, all in the tenant's slot. */
export function deliveryLogKeys(prefix: string, tenant: string, endpointId: string) {
  const base = `${tenantKeys(prefix, tenant).deliveryLog}${endpointId}:`;
  return {
    /** Prefix of the delivery hashes; the offset follows it. */
    records: base,
    record: (offset: string) => `${base}${offset}`,
    /** Indexes: offset -> time of the delivery's last change, in ms. */
    all: `${base}all`,
    pending: `${base}pending`,
    succeeded: `${base}succeeded`,
    failed: `${base}failed`,
  };
}

/** A text on one line, at most `max` characters. */
function oneLine(text: string, max: number): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, max);
}

/**
 * What an attempt's outcome reads as, on one line, for the log, the job's failure reason on the
 * dashboard, and the exhausted system event: `HTTP 500: <start of body>`, `timeout after 15000 ms`,
 * `refused: <why>` (an address webhooks may not reach), `no answer: <network error>`.
 */
export function describeAttempt(result: Pick<DeliveryResult, 'status' | 'snippet' | 'permanent' | 'timedOutAfterMs'>): string {
  const text = oneLine(result.snippet, 300);
  if (result.status > 0) return `HTTP ${result.status}${text ? `: ${text}` : ''}`;
  if (result.timedOutAfterMs !== undefined) return `timeout after ${result.timedOutAfterMs} ms`;
  return result.permanent ? `refused: ${text}` : `no answer: ${text}`;
}

/**
 * An attempt as its hash field holds it: `[at in ms, status, durationMs, error, responseBody]`.
 * Short, so that a delivery whose answers had no body stays in Redis's compact hash encoding
 * (listpack: values up to 64 bytes), several times smaller than a hash table.
 */
export function encodeAttempt(attempt: DeliveryAttempt): string {
  return JSON.stringify([Date.parse(attempt.at), attempt.status, attempt.durationMs, attempt.error, attempt.responseBody]);
}

/** An attempt from its hash field. */
export function decodeAttempt(text: string): DeliveryAttempt {
  const [at, status, durationMs, error, responseBody] = JSON.parse(text) as [number, number | null, number, string | null, string | null];
  return { at: new Date(at).toISOString(), status, durationMs, error, responseBody };
}

/** The attempt entry of a delivery result. */
export function attemptEntry(result: DeliveryResult, error: string | null): DeliveryAttempt {
  const answered = result.status > 0;
  return {
    at: new Date(Date.now() - result.durationMs).toISOString(),
    status: answered ? result.status : null,
    durationMs: Math.round(result.durationMs),
    error,
    responseBody: answered ? result.snippet : null,
  };
}

/**
 * The webhook delivery log, written side: one hash per (endpoint, event) in the tenant's slot,
 * kept `retentionSeconds` after its last change, and per endpoint four sorted sets (every delivery,
 * and one per status) scored by the time of that change, so that listing by status and reading by
 * id never scan. Status moves are atomic (MULTI for queued ones, a script for attempts). The sets
 * are trimmed by time and by `maxPerEndpoint` on every queued batch, so that an endpoint with a
 * million deliveries a day holds a bounded log. The read side is delivery-log-reader.ts.
 */
export class DeliveryLog {
  readonly #redis: RedisClient & { tcRecordAttempt?: RecordAttempt; tcTrimDeliveryLog?: TrimLog };
  readonly #prefix: string;
  readonly #options: DeliveryLogOptions;

  constructor(redis: RedisClient, prefix: string, options: DeliveryLogOptions) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#options = options;
    if (!('tcRecordAttempt' in redis)) redis.defineCommand('tcRecordAttempt', { numberOfKeys: 5, lua: recordAttemptLua });
    if (!('tcTrimDeliveryLog' in redis)) redis.defineCommand('tcTrimDeliveryLog', { numberOfKeys: 4, lua: trimLua });
  }

  /** The keys of one endpoint's log. */
  keys(tenant: string, endpointId: string): ReturnType<typeof deliveryLogKeys> {
    return deliveryLogKeys(this.#prefix, tenant, endpointId);
  }

  /**
   * Records deliveries as pending (queued for their first attempt, or again by a retry or replay),
   * a whole batch in one MULTI: the dispatcher queues thousands a second. A delivery the log has
   * keeps its creation time, attempts and attempt log. Then trims each endpoint's log.
   */
  async queued(tenant: string, deliveries: readonly QueuedDelivery[]): Promise<void> {
    if (deliveries.length === 0) return;
    const now = Date.now();
    const iso = new Date(now).toISOString();
    const ttl = this.#options.retentionSeconds;
    const endpoints = new Map<string, ReturnType<typeof deliveryLogKeys>>();
    const multi = this.#redis.multi();
    for (const delivery of deliveries) {
      let keys = endpoints.get(delivery.endpointId);
      if (keys === undefined) {
        keys = this.keys(tenant, delivery.endpointId);
        endpoints.set(delivery.endpointId, keys);
      }
      const record = keys.record(delivery.offset);
      const fields: Record<string, string> = {
        id: webhookId(tenant, delivery.offset),
        endpointId: delivery.endpointId,
        offset: delivery.offset,
        status: 'pending',
        nextAttemptAt: iso,
      };
      if (delivery.eventId !== undefined) fields.eventId = delivery.eventId.slice(0, 256);
      if (delivery.eventType !== undefined) fields.eventType = delivery.eventType.slice(0, 256);
      multi
        .hsetnx(record, 'createdAt', iso)
        .hsetnx(record, 'attempts', 0)
        .hset(record, fields)
        .expire(record, ttl)
        .zrem(keys.succeeded, delivery.offset)
        .zrem(keys.failed, delivery.offset)
        .zadd(keys.pending, now, delivery.offset)
        .zadd(keys.all, now, delivery.offset);
    }
    for (const keys of endpoints.values()) for (const set of [keys.all, keys.pending, keys.succeeded, keys.failed]) multi.expire(set, ttl);
    const replies = (await multi.exec()) ?? [];
    const failed = replies.find(([error]) => error !== null);
    if (failed) throw failed[0];
    for (const endpointId of endpoints.keys()) await this.trim(tenant, endpointId);
  }

  /** Records an attempt (or, `attempt` undefined, a failure without one) and where the delivery stands after it. */
  async attempt(
    tenant: string,
    endpointId: string,
    offset: string,
    attempt: DeliveryAttempt | undefined,
    after: AfterAttempt,
  ): Promise<void> {
    const keys = this.keys(tenant, endpointId);
    const now = Date.now();
    await this.#redis.tcRecordAttempt!(
      keys.record(offset),
      keys.all,
      keys.pending,
      keys.succeeded,
      keys.failed,
      now,
      new Date(now).toISOString(),
      this.#options.retentionSeconds,
      after.status,
      attempt === undefined ? '' : encodeAttempt(attempt),
      after.lastStatus ?? '',
      after.lastError ?? '',
      after.nextAttemptAt === undefined ? '' : new Date(after.nextAttemptAt).toISOString(),
      ATTEMPTS_KEPT,
      webhookId(tenant, offset),
      endpointId,
      offset,
    );
  }

  /** Drops what is older than the retention from an endpoint's indexes, and the oldest deliveries past the cap. Returns how many the cap dropped. */
  async trim(tenant: string, endpointId: string): Promise<number> {
    const keys = this.keys(tenant, endpointId);
    const oldest = Date.now() - this.#options.retentionSeconds * 1000;
    return this.#redis.tcTrimDeliveryLog!(
      keys.all,
      keys.pending,
      keys.succeeded,
      keys.failed,
      oldest,
      this.#options.maxPerEndpoint,
      keys.records,
      DROPS_PER_TRIM,
    );
  }
}
