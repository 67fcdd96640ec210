import { ServiceError } from '@tenantcast/server';
import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import { closeUnreadBody } from '../auth/require-token.ts';
import type { RelayContext } from '../context.ts';
import { recordAccepted } from './events-route.ts';
import { parseCloudEventsRequest } from './http-binding.ts';
import { ingestEvents } from './ingest-events.ts';
import { normalizeQlikEvent, verifyQlikSignature } from './qlik-webhook.ts';

/**
 * `POST /v1/qlik/webhook`: a target for Qlik Cloud webhooks. Qlik cannot send a token, so the
 * `Qlik-Signature` over the raw body authenticates the call; it may then publish to any tenant. The
 * body is read under the relay's body limit and request timeout like any other; only a relay without
 * `QLIK_WEBHOOK_SECRET` refuses before reading it.
 */
export function registerQlikRoute(app: FastifyInstance, ctx: RelayContext): void {
  const secret = ctx.config.qlikWebhookSecret;
  const onRequest = requireQlikEnabled(secret !== undefined);
  app.post('/v1/qlik/webhook', { onRequest }, async (request, reply) => {
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

/** Refuses calls to a relay without `QLIK_WEBHOOK_SECRET` before their body is read: nothing could verify it. */
function requireQlikEnabled(enabled: boolean): onRequestHookHandler {
  return (request, reply, done) => {
    if (enabled) return done();
    closeUnreadBody(request, reply);
    done(new ServiceError('TC_ERR_QLIK_DISABLED'));
  };
}
