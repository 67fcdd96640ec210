import { hostname } from 'node:os';
import type { RedisClient } from '@tenantcast/server';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { type DeliveryJob, type DeliveryJobData, deliveryJob } from './delivery-job.ts';
import type { DeliveryLog, QueuedDelivery } from './delivery-log.ts';
import { DISPATCH_GROUP, type WebhookStore } from './endpoint-store.ts';
import { OutstandingDeliveries } from './outstanding.ts';
import { isSystemEvent, wantsSystemEvent } from './system-events.ts';

export interface DispatcherOptions {
  /** A connection of its own: XREADGROUP blocks it. */
  redis: RedisClient;
  queue: Queue<DeliveryJobData>;
  webhooks: WebhookStore;
  /** Each tenant's deliveries not yet finished. */
  outstanding: OutstandingDeliveries;
  /** Where each delivery is recorded as pending when its job is queued. */
  log: DeliveryLog;
  /**
   * A tenant with this many deliveries outstanding is not read until some finish: its new events
   * wait in its stream (subject to its retention), not as jobs in the Redis every tenant shares.
   */
  maxOutstanding: number;
  logger: Logger;
  /** Entries per read. */
  batch: number;
  /** Entries a dead dispatcher read but did not acknowledge are taken over after this idle time, in ms. */
  claimIdleMs: number;
  /**
   * On Redis Cluster each tenant's stream lives in its own slot, and one XREADGROUP cannot span
   * slots: streams are then read one by one (concurrently), and polled every `pollMs` when idle.
   */
  cluster: boolean;
  /** Idle poll interval on a cluster, in ms. Default 100. */
  pollMs?: number;
}

/** How often the dispatcher counts its tenants' deliveries outstanding again, in ms. */
const BACKLOG_RECOUNT_MS = 250;

/** Stream reads in flight at once on a cluster. */
const READS_IN_FLIGHT = 256;

type StreamReply = Array<[string, Array<[string, string[]]>]> | null;

/**
 * Turns stored events into delivery jobs. It reads each tenant's stream with a consumer group,
 * matches every entry against the tenant's endpoints, adds one job per (endpoint, event) with an id
 * derived from both, and acknowledges the entries only once the jobs exist. A dispatcher that dies
 * in between leaves its entries pending; a live one claims them after `claimIdleMs` and dispatches
 * them again, and the job ids make that add nothing twice.
 *
 * It is fair to tenants in two ways: a tenant with `maxOutstanding` deliveries not yet finished is
 * skipped until some finish (its backlog stays in its stream), and each job's priority is its
 * tenant's backlog (delivery-job.ts), so that the queue serves tenants in turn, not in arrival order.
 */
export class Dispatcher {
  readonly #options: DispatcherOptions;
  readonly #consumer = `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  readonly #grouped = new Set<string>();
  readonly #abort = new AbortController();
  #running: Promise<void> | undefined;
  #lastClaim = 0;
  /** Whether this consumer may hold entries it read but did not acknowledge (a dispatch failed). */
  #ownPending = false;
  /** Where a missing group starts: the stream's end at first; its start after a group was lost. */
  #regroupFrom: '$' | '0' = '$';

  constructor(options: DispatcherOptions) {
    this.#options = options;
  }

  start(): void {
    this.#running ??= this.#loop();
  }

  /** Stops after the read in progress (at most one BLOCK period). */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#running;
  }

  async #loop(): Promise<void> {
    const { logger } = this.#options;
    while (!this.#abort.signal.aborted) {
      try {
        await this.#step();
      } catch (error) {
        if (this.#abort.signal.aborted) break;
        this.#ownPending = true;
        // A stream or its group can vanish (a Redis restarted without persistence, a failover that
        // lost unreplicated writes): make every group again rather than fail on it for ever.
        // A group made again starts at the stream's first entry: what the stream holds then was
        // written after the loss, and nothing is skipped.
        if (/NOGROUP/.test((error as Error).message)) {
          this.#grouped.clear();
          this.#regroupFrom = '0';
        }
        logger.warn({ err: error }, 'dispatch failed; retrying');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  async #step(): Promise<void> {
    const { webhooks } = this.#options;
    const tenants = await webhooks.tenants();
    if (tenants.length === 0) {
      await new Promise((r) => setTimeout(r, 250));
      return;
    }
    for (const tenant of tenants) {
      if (this.#grouped.has(tenant)) continue;
      await webhooks.ensureGroup(tenant, this.#regroupFrom);
      this.#grouped.add(tenant);
    }
    await this.#countBacklogs(tenants);
    const open = tenants.filter((tenant) => (this.#backlogs.get(tenant) ?? 0) < this.#options.maxOutstanding);
    if (open.length === 0) {
      await this.#pause(250);
      return;
    }
    if (Date.now() - this.#lastClaim > Math.min(5000, this.#options.claimIdleMs)) {
      this.#lastClaim = Date.now();
      for (const tenant of open) await this.#claim(tenant);
    }
    const streams = open.map((t) => webhooks.keys(t).stream);
    // After a failure, this consumer's own unacknowledged entries ('0') come first: they would
    // otherwise wait claimIdleMs for XAUTOCLAIM. Then new entries ('>').
    const from = this.#ownPending ? '0' : '>';
    const reply = this.#options.cluster ? await this.#readEach(streams, from) : await this.#readAll(streams, from);
    if (from === '0' && reply.every(([, entries]) => entries.length === 0)) this.#ownPending = false;
    for (const [stream, entries] of reply) {
      const tenant = open[streams.indexOf(stream)];
      if (tenant !== undefined && entries.length > 0) await this.#dispatch(tenant, stream, entries);
    }
  }

  /** One read of every stream, blocking up to a second for new entries. */
  async #readAll(streams: string[], from: '>' | '0'): Promise<NonNullable<StreamReply>> {
    const reply = (await this.#options.redis.xreadgroup(
      'GROUP',
      DISPATCH_GROUP,
      this.#consumer,
      'COUNT',
      this.#options.batch,
      'BLOCK',
      1000,
      'STREAMS',
      ...streams,
      ...streams.map(() => from),
    )) as StreamReply;
    return reply ?? [];
  }

  /** A read per stream (a cluster's streams are in different slots), then a pause if none had anything. */
  async #readEach(streams: string[], from: '>' | '0'): Promise<NonNullable<StreamReply>> {
    const { redis, batch } = this.#options;
    const out: NonNullable<StreamReply> = [];
    for (let i = 0; i < streams.length; i += READS_IN_FLIGHT) {
      const replies = await Promise.all(
        streams
          .slice(i, i + READS_IN_FLIGHT)
          .map(
            (stream) =>
              redis.xreadgroup('GROUP', DISPATCH_GROUP, this.#consumer, 'COUNT', batch, 'STREAMS', stream, from) as Promise<StreamReply>,
          ),
      );
      for (const reply of replies) if (reply !== null) out.push(...reply);
    }
    if (from === '>' && out.every(([, entries]) => entries.length === 0)) await this.#pause(this.#options.pollMs ?? 100);
    return out;
  }

  /** Waits `ms`, or less if the dispatcher stops. */
  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const signal = this.#abort.signal;
      signal.addEventListener('abort', done, { once: true });
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
    });
  }

  /** Takes over entries another dispatcher read but did not acknowledge in time. */
  async #claim(tenant: string): Promise<void> {
    const { redis, webhooks, batch, claimIdleMs } = this.#options;
    const stream = webhooks.keys(tenant).stream;
    let cursor = '0-0';
    do {
      const [next, entries] = (await redis.xautoclaim(stream, DISPATCH_GROUP, this.#consumer, claimIdleMs, cursor, 'COUNT', batch)) as [
        string,
        Array<[string, string[]] | null>,
      ];
      const live = entries.filter((e): e is [string, string[]] => e !== null);
      if (live.length > 0) await this.#dispatch(tenant, stream, live);
      cursor = next;
    } while (cursor !== '0-0' && !this.#abort.signal.aborted);
  }

  /** Each tenant's deliveries outstanding, as last counted, plus the jobs this dispatcher added since. */
  readonly #backlogs = new Map<string, number>();
  #countedAt = 0;

  /**
   * Counts the tenants' backlogs again, at most every BACKLOG_RECOUNT_MS: one round trip per
   * tenant (a pipeline on one Redis) per read would grow with the tenants, at every read. Between
   * counts a tenant may pass its cap by what one read adds (`batch` entries × its endpoints).
   */
  async #countBacklogs(tenants: string[]): Promise<void> {
    if (Date.now() - this.#countedAt < BACKLOG_RECOUNT_MS && tenants.every((tenant) => this.#backlogs.has(tenant))) return;
    const counts = await this.#options.outstanding.counts(tenants);
    this.#backlogs.clear();
    tenants.forEach((tenant, i) => {
      this.#backlogs.set(tenant, counts[i]!);
    });
    this.#countedAt = Date.now();
  }

  async #dispatch(tenant: string, stream: string, entries: Array<[string, string[]]>): Promise<void> {
    const { redis, queue, webhooks, outstanding, log } = this.#options;
    const endpoints = await webhooks.compiled(tenant);
    const backlog = this.#backlogs.get(tenant) ?? (await outstanding.count(tenant));
    const jobs: DeliveryJob[] = [];
    const logged: QueuedDelivery[] = [];
    for (const [offset, fields] of entries) {
      const at = fields.indexOf('e');
      const json = at >= 0 ? fields[at + 1] : undefined;
      if (json === undefined) continue;
      const storedAt = Number(offset.split('-')[0]);
      let event: Record<string, unknown> | undefined;
      for (const endpoint of endpoints) {
        // An endpoint gets the events stored after it was registered.
        if (storedAt < endpoint.createdAtMs) continue;
        event ??= JSON.parse(json) as Record<string, unknown>;
        if (!endpoint.matches(event)) continue;
        if (isSystemEvent(event.type) && !wantsSystemEvent(endpoint, event)) continue;
        const eventType = typeof event.type === 'string' ? event.type : undefined;
        jobs.push(deliveryJob(tenant, endpoint.id, offset, backlog + jobs.length, undefined, { eventType, url: endpoint.url }));
        logged.push({ endpointId: endpoint.id, offset, eventId: typeof event.id === 'string' ? event.id : undefined, eventType });
      }
    }
    if (jobs.length > 0) {
      // Counted first: a crash in between leaves a count that expires, never a job that is not counted.
      await outstanding.add(
        tenant,
        jobs.map((job) => OutstandingDeliveries.member(job.data.endpointId, job.data.offset, false)),
      );
      // Logged before the jobs exist, so that a worker's first attempt never lands before its `pending`.
      await log.queued(tenant, logged);
      await queue.addBulk(jobs);
      this.#backlogs.set(tenant, backlog + jobs.length);
    }
    // Acknowledged only now that the jobs exist: a crash before this leaves the entries pending.
    await redis.xack(stream, DISPATCH_GROUP, ...entries.map(([offset]) => offset));
  }
}
