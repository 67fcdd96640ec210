import { compileFilters } from '@tenantcast/sdk';
import { compareOffsets, ServiceError } from '@tenantcast/server';
import type { FastifyInstance } from 'fastify';
import type { RelayContext } from '../context.ts';
import { deliveryJob } from './delivery-job.ts';
import { bound, endpointOf, parseJson, requireAdmin } from './endpoint-requests.ts';
import { OutstandingDeliveries } from './outstanding.ts';

type EndpointRoute = { Params: { tenantid: string; id: string } };

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

/**
 * `POST /v1/tenants/{t}/webhooks/{id}/replay` `{"after"?,"since"?,"until"?}`: delivers stored events
 * to an endpoint again, each under its own webhook-id, through the same delivery jobs as dispatch.
 *
 * A replay costs the tenant, not the Redis every tenant shares: jobs hold references (a few hundred
 * bytes whatever the event's size); one call queues at most WEBHOOK_REPLAY_MAX_EVENTS and never
 * takes the tenant past WEBHOOK_MAX_OUTSTANDING_PER_TENANT (429 once it is there; a call that stops
 * at a cap answers `complete: false` and the `last` offset to go on from); an event whose replay to
 * the endpoint is queued already is not queued again (two replays of one range merge).
 */
export function registerReplayRoute(app: FastifyInstance, ctx: RelayContext): void {
  const { queue, outstanding } = ctx.delivery;
  const { webhookReplayMaxEvents, webhookMaxOutstandingPerTenant } = ctx.config;
  const onRequest = requireAdmin(ctx);
  app.post<EndpointRoute>('/v1/tenants/:tenantid/webhooks/:id/replay', { onRequest }, async (request, reply) => {
    const tenant = request.params.tenantid;
    const endpoint = await endpointOf(ctx, tenant, request.params.id);
    const body = parseJson(request);
    const after = bound(body.after, 'after');
    const since = bound(body.since, 'since');
    const until = bound(body.until, 'until');
    const backlog = await outstanding.count(tenant);
    const room = Math.min(webhookReplayMaxEvents, webhookMaxOutstandingPerTenant - backlog);
    if (room <= 0) {
      throw new ServiceError(
        'TC_ERR_TOO_MANY_DELIVERIES',
        `Tenant "${tenant}" has ${backlog} webhook deliveries outstanding, its cap (WEBHOOK_MAX_OUTSTANDING_PER_TENANT); replay again once some have finished.`,
        { retryAfter: FULL_RETRY_AFTER_S },
      );
    }
    // Stream ids start with their time in ms, so a time bound is an id bound.
    let cursor = after ?? (since === undefined ? '0' : `${Math.max(0, Number(since) - 1)}-18446744073709551615`);
    const end = until === undefined ? '+' : `${until}-18446744073709551615`;
    const answer: ReplayAnswer = { replay: globalThis.crypto.randomUUID().slice(0, 8), enqueued: 0, merged: 0, last: null, complete: true };
    const matches = compileFilters(endpoint.filters);
    while (answer.complete) {
      // A bound past the last event (a `since` time, say) reads as the end: nothing to replay.
      const page = await ctx.reader.read(tenant, cursor, 500, { until: end, pastEnd: 'empty' });
      const offsets: string[] = [];
      for (const entry of page.entries) {
        if (compareOffsets(entry.offset, cursor) <= 0) continue;
        if (answer.enqueued + offsets.length >= room) {
          answer.complete = false;
          break;
        }
        cursor = entry.offset;
        answer.last = cursor;
        if (matches(JSON.parse(entry.json))) offsets.push(entry.offset);
      }
      const added = await outstanding.add(
        tenant,
        offsets.map((offset) => OutstandingDeliveries.member(endpoint.id, offset, true)),
      );
      const fresh = offsets.filter((_, i) => added[i]);
      answer.merged += offsets.length - fresh.length;
      const members = fresh.map((offset) => OutstandingDeliveries.member(endpoint.id, offset, true));
      try {
        if (fresh.length > 0) {
          await queue.addBulk(
            fresh.map((offset, i) => deliveryJob(tenant, endpoint.id, offset, backlog + answer.enqueued + i, answer.replay)),
          );
        }
      } catch (error) {
        // Not queued: not outstanding either, so that a replay called again queues them.
        await outstanding.remove(tenant, members).catch(() => {});
        throw error;
      }
      answer.enqueued += fresh.length;
      if (!page.more) break;
    }
    return reply.code(202).send(answer);
  });
}
