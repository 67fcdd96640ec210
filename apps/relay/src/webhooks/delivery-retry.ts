import { ServiceError } from '@tenantcast/server';
import type { Queue } from 'bullmq';
import { type DeliveryJobData, deliveryJob } from './delivery-job.ts';
import type { DeliveryLog, QueuedDelivery } from './delivery-log.ts';
import { OutstandingDeliveries } from './outstanding.ts';

/** How long a tenant at its cap of deliveries outstanding is asked to wait before retrying, in seconds (as for a replay). */
const FULL_RETRY_AFTER_S = 60;

/** What a retry writes to. */
export interface RetryDeps {
  queue: Queue<DeliveryJobData>;
  outstanding: OutstandingDeliveries;
  log: DeliveryLog;
  /** WEBHOOK_REPLAY_MAX_EVENTS and WEBHOOK_MAX_OUTSTANDING_PER_TENANT, as for a replay. */
  limits: { maxEvents: number; maxOutstanding: number };
}

/** How many deliveries one retry call may queue now: 429 when the tenant is at its cap. */
export async function retryRoom(deps: RetryDeps, tenant: string): Promise<number> {
  const backlog = await deps.outstanding.count(tenant);
  const room = Math.min(deps.limits.maxEvents, deps.limits.maxOutstanding - backlog);
  if (room <= 0) {
    throw new ServiceError(
      'TC_ERR_TOO_MANY_DELIVERIES',
      `Tenant "${tenant}" has ${backlog} webhook deliveries outstanding, its cap (WEBHOOK_MAX_OUTSTANDING_PER_TENANT); retry once some have finished.`,
      { retryAfter: FULL_RETRY_AFTER_S },
    );
  }
  return room;
}

/**
 * Sends logged deliveries again (a failed one, or a succeeded one resent), each under its event's
 * webhook-id, as a replay does: one replay job per delivery, counted against the tenant's
 * deliveries outstanding, and merged into a replay of it that is still queued (it is pending
 * already). Their log entries go back to `pending` and keep their attempts. The caller keeps
 * `deliveries` within `retryRoom`. Returns how many are pending now.
 */
export async function retryDeliveries(
  deps: RetryDeps,
  tenant: string,
  endpoint: { id: string; url: string },
  deliveries: readonly QueuedDelivery[],
): Promise<number> {
  if (deliveries.length === 0) return 0;
  const { outstanding, queue } = deps;
  const backlog = await outstanding.count(tenant);
  const members = deliveries.map((d) => OutstandingDeliveries.member(endpoint.id, d.offset, true));
  const added = await outstanding.add(tenant, members);
  const fresh = deliveries.filter((_, i) => added[i]);
  const retry = `retry-${globalThis.crypto.randomUUID().slice(0, 8)}`;
  try {
    // Logged before the jobs exist, as the dispatcher does.
    await deps.log.queued(tenant, deliveries);
    if (fresh.length > 0) {
      await queue.addBulk(
        fresh.map((d, i) => deliveryJob(tenant, endpoint.id, d.offset, backlog + i, retry, { eventType: d.eventType, url: endpoint.url })),
      );
    }
  } catch (error) {
    // Not queued: not outstanding either, so that the call made again queues them.
    await outstanding.remove(
      tenant,
      members.filter((_, i) => added[i]),
    );
    throw error;
  }
  return deliveries.length;
}
