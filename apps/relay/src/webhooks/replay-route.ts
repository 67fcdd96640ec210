import type { FastifyInstance } from 'fastify';
import type { RelayContext } from '../context.ts';
import { bound, endpointOf, parseJson, requireAdmin } from './endpoint-requests.ts';
import { replay } from './replay.ts';

type EndpointRoute = { Params: { tenantid: string; id: string } };

/**
 * `POST /v1/tenants/{t}/webhooks/{id}/replay` `{"after"?,"since"?,"until"?}`: delivers stored events
 * to an endpoint again, each under its own webhook-id, through the same delivery jobs as dispatch.
 *
 * The caps and the merging are replay.ts's.
 */
export function registerReplayRoute(app: FastifyInstance, ctx: RelayContext): void {
  const replayDeps = ctx.delivery.replay;
  const onRequest = requireAdmin(ctx);
  app.post<EndpointRoute>('/v1/tenants/:tenantid/webhooks/:id/replay', { onRequest }, async (request, reply) => {
    const tenant = request.params.tenantid;
    const endpoint = await endpointOf(ctx, tenant, request.params.id);
    const body = parseJson(request);
    const after = bound(body.after, 'after');
    const since = bound(body.since, 'since');
    const until = bound(body.until, 'until');
    // Stream ids start with their time in ms, so a time bound is an id bound.
    const range = {
      after: after ?? (since === undefined ? '0' : `${Math.max(0, Number(since) - 1)}-18446744073709551615`),
      until: until === undefined ? '+' : `${until}-18446744073709551615`,
    };
    const answer = await replay(replayDeps, tenant, endpoint, range);
    return reply.code(202).send(answer);
  });
}
