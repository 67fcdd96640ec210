import { ServiceError } from '@tenantcast/server';
import type { FastifyInstance } from 'fastify';
import type { RelayContext } from '../context.ts';
import { recordAccepted } from './events-route.ts';
import { parseCloudEventsRequest } from './http-binding.ts';
import { ingestEvents } from './ingest-events.ts';
import { normalizeQlikEvent, verifyQlikSignature } from './qlik-webhook.ts';

/**
 * `POST /v1/qlik/webhook`: a target for Qlik Cloud webhooks. Qlik cannot send a token, so the
 * `Qlik-Signature` over the raw body authenticates the call; it may then publish to any tenant.
 */
export function registerQlikRoute(app: FastifyInstance, ctx: RelayContext): void {
  app.post('/v1/qlik/webhook', async (request, reply) => {
    const secret = ctx.config.qlikWebhookSecret;
    if (secret === undefined) throw new ServiceError('TC_ERR_QLIK_DISABLED');
    const body = (request.body as Buffer | undefined) ?? Buffer.alloc(0);
    const signature = request.headers['qlik-signature'];
    verifyQlikSignature(body, Array.isArray(signature) ? signature[0] : signature, secret);
    // Qlik posts application/json; read it as the binding's JSON-structured mode, then normalize.
    const parsed = parseCloudEventsRequest(
      { ...request.headers, 'content-type': request.headers['content-type'] ?? 'application/json' },
      body,
      { legacyJson: true },
    );
    const result = await ingestEvents({ ...parsed, events: parsed.events.map(normalizeQlikEvent) }, () => true, ctx);
    recordAccepted(ctx, result.accepted);
    return reply.code(202).send(result);
  });
}
