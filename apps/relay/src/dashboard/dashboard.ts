import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { ServiceError } from '@tenantcast/server';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { closeUnreadBody } from '../auth/require-token.ts';
import type { RelayContext } from '../context.ts';
import { requireOperator } from './dashboard-auth.ts';
import { requireSameOrigin } from './same-origin.ts';

/** Where the operator dashboard is served. */
export const DASHBOARD_PATH = '/admin/queues';

/**
 * bull-board's (9.10.1) writes that take a JSON body: adding a job, editing a job's data, delay or
 * priority, and the queue's concurrency, rate limit and schedulers. They are off: a delivery job is
 * made from a stored event (its id is endpoint_offset, its webhook-id follows from the event), so a
 * job made or edited by hand would send what was never stored, or under another webhook-id, which
 * receivers dedupe on (Standard Webhooks); replay (POST /v1/tenants/{t}/webhooks/{id}/replay) sends
 * stored events again. Retry, Retry all, clean, promote, pause and resume take no body and stay on.
 */
const JSON_WRITES = new Set([
  'POST /api/queues/:queueName/add',
  'PATCH /api/queues/:queueName/:jobId/update-data',
  'PATCH /api/queues/:queueName/:jobId/delay',
  'PATCH /api/queues/:queueName/:jobId/priority',
  'PUT /api/queues/:queueName/concurrency',
  'PUT /api/queues/:queueName/rate-limit',
  'PATCH /api/queues/:queueName/job-schedulers/:schedulerId',
]);

/** The dashboard's pages must not be framed by another site (clickjacking): both the old header and CSP's. */
const NO_FRAMING = { 'x-frame-options': 'DENY', 'content-security-policy': "frame-ancestors 'none'" };

/**
 * bull-board at /admin/queues, where operators see failed deliveries and retry them. Guarded: a
 * token with `admin` scope over every tenant (`tenants: ["*"]`), as Bearer or as the basic-auth password.
 * Writes from other sites are refused, no page of it may be framed, and bull-board's JSON writes are off.
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
        refuseJsonWrites(request);
      } catch (error) {
        closeUnreadBody(request, reply);
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

function refuseJsonWrites(request: FastifyRequest): void {
  const route = `${request.method} ${(request.routeOptions.url ?? '').slice(DASHBOARD_PATH.length)}`;
  if (!JSON_WRITES.has(route)) return;
  // An empty Allow: the resource takes no method, "disabled by configuration" (RFC 9110 §10.2.1).
  throw new ServiceError(
    'TC_ERR_METHOD_NOT_ALLOWED',
    'The dashboard does not add jobs or edit them: deliveries are made from stored events. Retry a failed job, or replay events with POST /v1/tenants/{tenantid}/webhooks/{id}/replay.',
    { headers: { allow: '' } },
  );
}
