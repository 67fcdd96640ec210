import { compileFilters } from '@tenantcast/sdk';
import { compareOffsets } from '@tenantcast/server';
import type { FastifyInstance } from 'fastify';
import type { RelayContext } from '../context.ts';
import { type DeliveryJob, deliveryJob } from './delivery-job.ts';
import { bound, endpointOf, parseJson, requireAdmin } from './endpoint-requests.ts';

type EndpointRoute = { Params: { tenantid: string; id: string } };

/** Most events one replay enqueues; a larger range is refused with a message to narrow it. */
const MAX_REPLAY = 10_000;

/**
 * `POST /v1/tenants/{t}/webhooks/{id}/replay` `{"after"?,"since"?,"until"?}`: delivers stored events
 * to an endpoint again, each under its own webhook-id, through the same delivery jobs as dispatch.
 */
export function registerReplayRoute(app: FastifyInstance, ctx: RelayContext): void {
  const { queue } = ctx.delivery;
  const onRequest = requireAdmin(ctx);
  app.post<EndpointRoute>('/v1/tenants/:tenantid/webhooks/:id/replay', { onRequest }, async (request, reply) => {
    const tenant = request.params.tenantid;
    const endpoint = await endpointOf(ctx, tenant, request.params.id);
    const body = parseJson(request);
    const after = bound(body.after, 'after');
    const since = bound(body.since, 'since');
    const until = bound(body.until, 'until');
    // Stream ids start with their time in ms, so a time bound is an id bound.
    let cursor = after ?? (since === undefined ? '0' : `${Math.max(0, Number(since) - 1)}-18446744073709551615`);
    const end = until === undefined ? '+' : `${until}-18446744073709551615`;
    const replay = globalThis.crypto.randomUUID().slice(0, 8);
    const matches = compileFilters(endpoint.filters);
    let enqueued = 0;
    while (enqueued < MAX_REPLAY) {
      // A bound past the last event (a `since` time, say) reads as the end: nothing to replay.
      const page = await ctx.reader.read(tenant, cursor, 500, { until: end, pastEnd: 'empty' });
      const jobs: DeliveryJob[] = [];
      for (const entry of page.entries) {
        if (compareOffsets(entry.offset, cursor) <= 0) continue;
        cursor = entry.offset;
        if (!matches(JSON.parse(entry.json))) continue;
        jobs.push(deliveryJob(tenant, endpoint.id, entry.offset, entry.json, replay));
      }
      if (jobs.length > 0) await queue.addBulk(jobs.slice(0, MAX_REPLAY - enqueued));
      enqueued += Math.min(jobs.length, MAX_REPLAY - enqueued);
      if (!page.more) break;
    }
    return reply.code(202).send({ replay, enqueued, last: cursor === '0' ? null : cursor });
  });
}
