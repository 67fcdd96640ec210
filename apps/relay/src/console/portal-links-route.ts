import type { FastifyInstance } from 'fastify';
import { claimsOf } from '../auth/require-token.ts';
import type { RelayContext } from '../context.ts';
import { onlyFields, parseJson, requireAdmin } from '../webhooks/endpoint-requests.ts';
import { consoleBase } from './console-origins.ts';
import { CONSOLE_PATH } from './console-routes.ts';
import { mintPortalToken, portalLinkLifetime } from './portal-token.ts';

type TenantRoute = { Params: { tenantid: string } };

/**
 * `POST /v1/tenants/{t}/portal-links` `{"expiresInSeconds"?}` → 201 `{"url","expiresAt"}`: a link
 * that opens the console signed in for tenant `t` only. The caller needs `admin` over `t` (checked
 * before the body is read). The token rides in the URL's fragment, which browsers never send to a
 * server, so it stays out of access logs and proxies; the console drops it from the address bar.
 */
export function registerPortalLinksRoute(app: FastifyInstance, ctx: RelayContext): void {
  app.post<TenantRoute>('/v1/tenants/:tenantid/portal-links', { onRequest: requireAdmin(ctx) }, async (request, reply) => {
    const tenant = request.params.tenantid;
    const body = parseJson(request);
    onlyFields(body, ['expiresInSeconds'], 'a portal link');
    const lifetime = portalLinkLifetime(body.expiresInSeconds, ctx.config.authMaxTokenLifetimeSeconds);
    const { token, expiresAt } = await mintPortalToken(ctx, tenant, claimsOf(request).sub, lifetime);
    const url = `${consoleBase(ctx.config, request)}${CONSOLE_PATH}#token=${token}`;
    return reply.code(201).header('cache-control', 'no-store').send({ url, expiresAt });
  });
}
