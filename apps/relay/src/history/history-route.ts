import { isOffset, ServiceError } from '@tenantcast/server';
import type { FastifyInstance } from 'fastify';
import { requireToken } from '../auth/require-token.ts';
import type { RelayContext } from '../context.ts';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

/**
 * `GET /v1/tenants/{tenantid}/events?after=<offset>&limit=<n>`: a tenant's stored events, oldest
 * first, for tokens with `subscribe` scope over the tenant.
 */
export function registerHistoryRoute(app: FastifyInstance, ctx: RelayContext): void {
  app.get<{ Params: { tenantid: string }; Querystring: Record<string, string | string[] | undefined> }>(
    '/v1/tenants/:tenantid/events',
    { onRequest: requireToken(ctx.tokens, { scope: 'subscribe', tenantInPath: true }) },
    async (request, reply) => {
      const { tenantid } = request.params;
      const after = single(request.query.after, 'after') ?? '0';
      if (!isOffset(after)) {
        throw new ServiceError(
          'TC_ERR_BAD_OFFSET',
          `"after" is "${after.slice(0, 64)}"; pass a stream offset such as 1700000000000-0, or 0 for the start.`,
        );
      }
      const limitText = single(request.query.limit, 'limit') ?? String(DEFAULT_LIMIT);
      const limit = /^\d{1,4}$/.test(limitText) ? Number(limitText) : Number.NaN;
      if (!(limit >= 1 && limit <= MAX_LIMIT)) {
        throw new ServiceError('TC_ERR_BAD_LIMIT', `"limit" is "${limitText.slice(0, 32)}"; pass a whole number from 1 to ${MAX_LIMIT}.`);
      }
      const { entries, more } = await ctx.reader.read(tenantid, after, limit);
      const next = more ? entries[entries.length - 1]!.offset : null;
      // The stored JSON is spliced in as is: no parse and re-serialize per event.
      const events = entries.map((e) => `{"offset":"${e.offset}","event":${e.json}}`).join(',');
      return reply.type('application/json; charset=utf-8').send(`{"events":[${events}],"next":${JSON.stringify(next)}}`);
    },
  );
}

function single(value: string | string[] | undefined, name: string): string | undefined {
  if (Array.isArray(value)) throw new ServiceError('TC_ERR_BAD_REQUEST', `Query parameter "${name}" appears more than once; pass it once.`);
  return value;
}
