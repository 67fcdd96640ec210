import { compileFilters, type Filter } from '@tenantcast/sdk';
import { compareOffsets, ServiceError, type StreamReader } from '@tenantcast/server';
import type { Queue } from 'bullmq';
import { type DeliveryJobData, deliveryJob } from './delivery-job.ts';
import type { DeliveryLog, QueuedDelivery } from './delivery-log.ts';
import { OutstandingDeliveries } from './outstanding.ts';
import { isSystemEvent, wantsSystemEvent } from './system-events.ts';

/** How long a tenant at its cap of deliveries outstanding is asked to wait before replaying, in seconds. */
const FULL_RETRY_AFTER_S = 60;

/** What one replay call did. */
export interface ReplayAnswer {
  replay: string;
  /** Deliveries queued by this call. */
  enqueued: number;
  /** Matching events skipped because a replay of them to this endpoint is queued already (merged into it). */
  merged: number;
  /** The last offset this call went through (null when it went through none): call again with `after` = it, while `complete` is false. */
  last: string | null;
  /** Whether the call went through the whole range; false when it stopped at its cap per call or the tenant's cap. */
  complete: boolean;
}

/** What a replay reads from and writes to. */
export interface ReplayDeps {
  reader: StreamReader;
  queue: Queue<DeliveryJobData>;
  outstanding: OutstandingDeliveries;
  /** Where each replayed delivery is recorded as pending again. */
  log: DeliveryLog;
  /** WEBHOOK_REPLAY_MAX_EVENTS and WEBHOOK_MAX_OUTSTANDING_PER_TENANT. */
  limits: { maxEvents: number; maxOutstanding: number };
}

/** A range of a tenant's stream: after an offset (exclusive), up to an offset (inclusive, '+' for the end). */
export interface ReplayRange {
  after: string;
  until: string;
}

/**
 * Queues deliveries of the stored events of `range` that match the endpoint's filters, each under
 * its event's webhook-id: the replay API, and an endpoint enabled again from where it stopped.
 *
 * A replay costs the tenant, not the Redis every tenant shares: jobs hold references (a few hundred
 * bytes whatever the event's size); one call queues at most `maxEvents` and never takes the tenant
 * past `maxOutstanding` (429 once it is there; a call that stops at a cap answers `complete: false`
 * and the `last` offset to go on from); an event whose replay to the endpoint is queued already is
 * not queued again (two replays of one range merge).
 */
export async function replay(
  deps: ReplayDeps,
  tenant: string,
  endpoint: { id: string; filters: Filter[]; url?: string },
  range: ReplayRange,
): Promise<ReplayAnswer> {
  const { outstanding, queue } = deps;
  const backlog = await outstanding.count(tenant);
  const room = Math.min(deps.limits.maxEvents, deps.limits.maxOutstanding - backlog);
  if (room <= 0) {
    throw new ServiceError(
      'TC_ERR_TOO_MANY_DELIVERIES',
      `Tenant "${tenant}" has ${backlog} webhook deliveries outstanding, its cap (WEBHOOK_MAX_OUTSTANDING_PER_TENANT); replay again once some have finished.`,
      { retryAfter: FULL_RETRY_AFTER_S },
    );
  }
  let cursor = range.after;
  const answer: ReplayAnswer = { replay: globalThis.crypto.randomUUID().slice(0, 8), enqueued: 0, merged: 0, last: null, complete: true };
  const matches = compileFilters(endpoint.filters);
  while (answer.complete) {
    // A bound past the last event (a `since` time, say) reads as the end: nothing to replay.
    const page = await deps.reader.read(tenant, cursor, 500, { until: range.until, pastEnd: 'empty' });
    const offsets: string[] = [];
    const events = new Map<string, QueuedDelivery>();
    for (const entry of page.entries) {
      if (compareOffsets(entry.offset, cursor) <= 0) continue;
      if (answer.enqueued + offsets.length >= room) {
        answer.complete = false;
        break;
      }
      cursor = entry.offset;
      answer.last = cursor;
      const event = JSON.parse(entry.json) as { id?: unknown; type?: unknown; data?: unknown };
      if (!matches(event)) continue;
      // The dispatcher's rule for system events: only to endpoints that ask, never about themselves.
      if (isSystemEvent(event.type) && !wantsSystemEvent(endpoint, event)) continue;
      offsets.push(entry.offset);
      events.set(entry.offset, {
        endpointId: endpoint.id,
        offset: entry.offset,
        eventId: typeof event.id === 'string' ? event.id : undefined,
        eventType: typeof event.type === 'string' ? event.type : undefined,
      });
    }
    const added = await outstanding.add(
      tenant,
      offsets.map((offset) => OutstandingDeliveries.member(endpoint.id, offset, true)),
    );
    const fresh = offsets.filter((_, i) => added[i]);
    answer.merged += offsets.length - fresh.length;
    try {
      if (fresh.length > 0) {
        // Logged before the jobs exist, as the dispatcher does.
        await deps.log.queued(
          tenant,
          fresh.map((offset) => events.get(offset)!),
        );
        await queue.addBulk(
          fresh.map((offset, i) =>
            deliveryJob(tenant, endpoint.id, offset, backlog + answer.enqueued + i, answer.replay, {
              eventType: events.get(offset)!.eventType,
              url: endpoint.url,
            }),
          ),
        );
      }
    } catch (error) {
      // Not queued: not outstanding either, so that a replay called again queues them.
      await outstanding.remove(
        tenant,
        fresh.map((offset) => OutstandingDeliveries.member(endpoint.id, offset, true)),
      );
      throw error;
    }
    answer.enqueued += fresh.length;
    if (!page.more) break;
  }
  return answer;
}
