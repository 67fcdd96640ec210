import type { FastifyInstance } from 'fastify';
import type { RelayContext } from '../context.ts';
import { checkDescription, checkFilters, checkUrl, endpointOf, onlyFields, parseJson, requireAdmin, view } from './endpoint-requests.ts';
import { registerEndpointUpdateRoutes } from './endpoint-update-route.ts';
import { registerReplayRoute } from './replay-route.ts';

/**
 * The per-tenant webhook API, for tokens with `admin` scope over the tenant:
 * `POST|GET /v1/tenants/{t}/webhooks` and `GET|DELETE /v1/tenants/{t}/webhooks/{id}`; PATCH and the
 * secret's rotation are endpoint-update-route.ts's, replay replay-route.ts's.
 */
export function registerWebhooksRoutes(app: FastifyInstance, ctx: RelayContext): void {
  registerReplayRoute(app, ctx);
  registerEndpointUpdateRoutes(app, ctx);
  const { webhooks } = ctx.delivery;
  const onRequest = requireAdmin(ctx);

  app.post<{ Params: { tenantid: string } }>('/v1/tenants/:tenantid/webhooks', { onRequest }, async (request, reply) => {
    const tenant = request.params.tenantid;
    const body = parseJson(request);
    onlyFields(body, ['url', 'filters', 'description'], 'an endpoint');
    const url = checkUrl(body.url, ctx.config.webhookAllowPrivate);
    const filters = checkFilters(body.filters);
    const input = { url, filters, description: checkDescription(body.description) };
    const endpoint = await webhooks.create(tenant, input, ctx.config.webhookMaxEndpoints);
    return reply.code(201).send(view(endpoint, true));
  });

  app.get<{ Params: { tenantid: string } }>('/v1/tenants/:tenantid/webhooks', { onRequest }, async (request) => {
    const tenant = request.params.tenantid;
    return { webhooks: (await webhooks.list(tenant)).map((e) => view(e, false)) };
  });

  app.get<{ Params: { tenantid: string; id: string } }>('/v1/tenants/:tenantid/webhooks/:id', { onRequest }, async (request) => {
    const tenant = request.params.tenantid;
    return view(await endpointOf(ctx, tenant, request.params.id), true);
  });

  app.delete<{ Params: { tenantid: string; id: string } }>('/v1/tenants/:tenantid/webhooks/:id', { onRequest }, async (request, reply) => {
    const tenant = request.params.tenantid;
    await endpointOf(ctx, tenant, request.params.id);
    await webhooks.delete(tenant, request.params.id);
    return reply.code(204).send();
  });
}
