import { ServiceError } from '@tenantcast/server';
import type { FastifyInstance } from 'fastify';
import type { RelayContext } from '../context.ts';
import { checkFilters, checkUrl, endpointOf, parseJson, requireAdmin, view } from './endpoint-requests.ts';
import { registerReplayRoute } from './replay-route.ts';

/**
 * The per-tenant webhook API, for tokens with `admin` scope over the tenant:
 * `POST|GET /v1/tenants/{t}/webhooks` and `GET|DELETE /v1/tenants/{t}/webhooks/{id}`.
 */
export function registerWebhooksRoutes(app: FastifyInstance, ctx: RelayContext): void {
  registerReplayRoute(app, ctx);
  const { webhooks } = ctx.delivery;
  const onRequest = requireAdmin(ctx);

  app.post<{ Params: { tenantid: string } }>('/v1/tenants/:tenantid/webhooks', { onRequest }, async (request, reply) => {
    const tenant = request.params.tenantid;
    const body = parseJson(request);
    for (const key of Object.keys(body)) {
      if (!['url', 'filters', 'description'].includes(key)) {
        throw new ServiceError('TC_ERR_VALIDATION', `Unknown field "${key}"; an endpoint takes url, filters and description.`, {
          details: [{ path: `/${key}`, message: 'is not allowed' }],
        });
      }
    }
    const url = checkUrl(body.url, ctx.config.webhookAllowPrivate);
    const filters = checkFilters(body.filters);
    if (body.description !== undefined && (typeof body.description !== 'string' || body.description.length > 1024)) {
      throw new ServiceError('TC_ERR_VALIDATION', '"description" must be a string of at most 1024 characters.', {
        details: [{ path: '/description', message: 'must be string' }],
      });
    }
    const input = { url, filters, description: body.description as string | undefined };
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
