import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { TenantcastError, verifyToken } from '@tenantcast/sdk';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RelayContext } from '../context.ts';

/** Where the operator dashboard is served. */
export const DASHBOARD_PATH = '/admin/queues';

/** The token of a dashboard request: `Authorization: Bearer <token>`, or the basic-auth password (any user name). */
function tokenOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization ?? '';
  const bearer = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  if (bearer) return bearer[1];
  const basic = /^Basic[ ]+(\S+)\s*$/i.exec(header);
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) : undefined;
  }
  return undefined;
}

function deny(reply: FastifyReply, status: 401 | 403, message: string): FastifyReply {
  // A browser shows its login prompt on a Basic challenge; the password is an admin token.
  if (status === 401) reply.header('www-authenticate', 'Basic realm="tenantcast dashboard: password = admin token", charset="UTF-8"');
  return reply.code(status).send({ error: { code: status === 401 ? 'TC_ERR_UNAUTHORIZED' : 'TC_ERR_FORBIDDEN_SCOPE', message } });
}

/**
 * bull-board at /admin/queues, where operators see failed deliveries and retry them. Guarded: a
 * token with `admin` scope over every tenant (`tenants: ["*"]`), as Bearer or as the basic-auth password.
 */
export async function registerDashboard(app: FastifyInstance, ctx: RelayContext): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: [new BullMQAdapter(ctx.delivery.queue)],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'tenantcast deliveries' } },
  });
  await app.register(async (scope) => {
    scope.addHook('onRequest', async (request, reply) => {
      const token = tokenOf(request);
      if (token === undefined)
        return deny(reply, 401, 'Sign in: any user name, and an admin token (scope admin, tenants ["*"]) as the password.');
      try {
        const claims = await verifyToken(token, ctx.config.secret);
        if (!claims.scopes.has('admin') || claims.tenants !== '*') {
          return deny(reply, 403, 'The dashboard needs a token with scope "admin" over every tenant (tenants: ["*"]).');
        }
      } catch (error) {
        if (error instanceof TenantcastError) return deny(reply, 401, error.message);
        throw error;
      }
    });
    await scope.register(serverAdapter.registerPlugin() as never, { prefix: DASHBOARD_PATH });
  });
}
