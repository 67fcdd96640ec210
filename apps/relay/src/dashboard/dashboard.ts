import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import type { RelayContext } from '../context.ts';
import { requireOperator } from './dashboard-auth.ts';
import { requireSameOrigin } from './same-origin.ts';

/** Where the operator dashboard is served. */
export const DASHBOARD_PATH = '/admin/queues';

/** The dashboard's pages must not be framed by another site (clickjacking): both the old header and CSP's. */
const NO_FRAMING = { 'x-frame-options': 'DENY', 'content-security-policy': "frame-ancestors 'none'" };

/**
 * bull-board at /admin/queues, where operators see failed deliveries and retry them. Guarded: a
 * token with `admin` scope over every tenant (`tenants: ["*"]`), as Bearer or as the basic-auth password.
 * Writes from other sites are refused and no page of it may be framed.
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
    // bull-board's routes answer errors with a handler of their own, so refusals are sent from here.
    scope.addHook('onRequest', async (request, reply) => {
      try {
        requireSameOrigin(request);
        await requireOperator(request, ctx.tokens);
      } catch (error) {
        return ctx.refuse(error, request, reply);
      }
    });
    // On every answer of the scope, refusals included.
    scope.addHook('onSend', async (_request, reply) => {
      reply.headers(NO_FRAMING);
    });
    await scope.register(serverAdapter.registerPlugin() as never, { prefix: DASHBOARD_PATH });
  });
}
