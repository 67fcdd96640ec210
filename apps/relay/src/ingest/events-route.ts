import type { FastifyInstance } from 'fastify';
import { authenticate, requireScope } from '../auth/authenticate.ts';
import type { RelayContext } from '../context.ts';
import { parseCloudEventsRequest } from './http-binding.ts';
import { ingestEvents } from './ingest-events.ts';

/** `POST /v1/events`: the CloudEvents HTTP binding, for tokens with `publish` scope. */
export function registerEventsRoute(app: FastifyInstance, ctx: RelayContext): void {
  app.post('/v1/events', async (request, reply) => {
    const started = performance.now();
    const claims = await authenticate(request.headers, ctx.config.secret);
    requireScope(claims, 'publish');
    const parsed = parseCloudEventsRequest(request.headers, request.body as Buffer | undefined, { rawHeaders: request.raw.rawHeaders });
    const body = await ingestEvents(parsed, (tenant) => claims.tenants === '*' || claims.tenants.has(tenant), ctx);
    recordAccepted(ctx, body.accepted);
    ctx.metrics.ingestSeconds.observe({ mode: parsed.batch ? 'batch' : 'single' }, (performance.now() - started) / 1000);
    return reply.code(202).send(body);
  });
}

/** Counts stored and duplicate events. */
export function recordAccepted(ctx: RelayContext, accepted: ReadonlyArray<{ duplicate: boolean }>): void {
  let duplicates = 0;
  for (const a of accepted) if (a.duplicate) duplicates++;
  if (accepted.length > duplicates) ctx.metrics.eventsStored.inc({ result: 'stored' }, accepted.length - duplicates);
  if (duplicates > 0) ctx.metrics.eventsStored.inc({ result: 'duplicate' }, duplicates);
}
