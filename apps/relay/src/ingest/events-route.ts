import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { claimsOf, closeUnreadBody, requireToken } from '../auth/require-token.ts';
import type { RelayContext } from '../context.ts';
import { parseCloudEventsRequest } from './http-binding.ts';
import { ingestEvents } from './ingest-events.ts';

/** The 202 answer's schema: Fastify serializes it with a serializer compiled once, in this key order. */
const ACCEPTED_SCHEMA = {
  type: 'object',
  required: ['accepted'],
  properties: {
    accepted: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'source', 'offset', 'duplicate'],
        properties: {
          id: { type: 'string' },
          source: { type: 'string' },
          offset: { type: 'string' },
          duplicate: { type: 'boolean' },
        },
      },
    },
  },
} as const;

/**
 * `POST /v1/events`: the CloudEvents HTTP binding, for tokens with `publish` scope. The token and its
 * scope are checked before the body is read; the tenants, named in the events, after parsing.
 */
export function registerEventsRoute(app: FastifyInstance, ctx: RelayContext): void {
  const seconds = { single: ctx.metrics.ingestSeconds.labels('single'), batch: ctx.metrics.ingestSeconds.labels('batch') };
  const onRequest = [
    requireToken(ctx.tokens, { scope: 'publish' }),
    // A token for one tenant names it before the body is read: one that Redis refused just now is
    // refused at once, without reading the body of a client that ignores Retry-After.
    async (request: FastifyRequest, reply: FastifyReply) => {
      const { tenants } = claimsOf(request);
      if (tenants === '*' || tenants.size !== 1) return;
      try {
        for (const only of tenants) ctx.appender.checkRate(only);
      } catch (error) {
        closeUnreadBody(request, reply);
        throw error;
      }
    },
  ];
  app.post('/v1/events', { onRequest, schema: { response: { 202: ACCEPTED_SCHEMA } } }, async (request, reply) => {
    const started = performance.now();
    const claims = claimsOf(request);
    const { tenants } = claims;
    const parsed = parseCloudEventsRequest(request.headers, request.body as Buffer | undefined, { rawHeaders: request.raw.rawHeaders });
    const body = await ingestEvents(parsed, tenants === '*' ? grantsAll : (tenant) => tenants.has(tenant), ctx);
    recordAccepted(ctx, body.accepted);
    (parsed.batch ? seconds.batch : seconds.single).observe((performance.now() - started) / 1000);
    return reply.code(202).send(body);
  });
}

function grantsAll(): boolean {
  return true;
}

/** Counts stored and duplicate events. */
export function recordAccepted(ctx: RelayContext, accepted: ReadonlyArray<{ duplicate: boolean }>): void {
  let duplicates = 0;
  for (const a of accepted) if (a.duplicate) duplicates++;
  if (accepted.length > duplicates) ctx.metrics.eventsStored.inc({ result: 'stored' }, accepted.length - duplicates);
  if (duplicates > 0) ctx.metrics.eventsStored.inc({ result: 'duplicate' }, duplicates);
}
