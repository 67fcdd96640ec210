import { isOffset, ServiceError } from '@tenantcast/server';
import type { FastifyInstance } from 'fastify';
import { requireToken } from '../auth/require-token.ts';
import type { RelayContext } from '../context.ts';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

/**
 * `GET /v1/tenants/{tenantid}/events?after=<offset>&limit=<n>`: a tenant's stored events, oldest
 * first, and `next` to page forward. `?before=<offset>` (or `before=end`) pages back instead: the
 * events just before it, still oldest first, and `previous`, the `before` of the next older page.
 * For tokens with `subscribe` scope over the tenant.
 */
export function registerHistoryRoute(app: FastifyInstance, ctx: RelayContext): void {
  app.get<{ Params: { tenantid: string }; Querystring: Record<string, string | string[] | undefined> }>(
    '/v1/tenants/:tenantid/events',
    { onRequest: requireToken(ctx.tokens, { scope: 'subscribe', tenantInPath: true }) },
    async (request, reply) => {
      const { tenantid } = request.params;
      const limit = parseLimit(single(request.query.limit, 'limit'));
      const before = single(request.query.before, 'before');
      if (before !== undefined) {
        if (request.query.after !== undefined) {
          throw new ServiceError('TC_ERR_BAD_REQUEST', 'Pass "after" to page forward or "before" to page back, not both.');
        }
        if (before !== 'end' && (!isOffset(before) || before === '0')) {
          throw new ServiceError(
            'TC_ERR_BAD_OFFSET',
            `"before" is "${before.slice(0, 64)}"; pass a stream offset such as 1700000000000-0, or end for the latest events.`,
          );
        }
        const { entries, more } = await ctx.reader.readBefore(tenantid, before, limit);
        const previous = more ? entries[0]!.offset : null;
        return reply
          .type('application/json; charset=utf-8')
          .send(`{"events":[${spliced(entries)}],"previous":${JSON.stringify(previous)}}`);
      }
      const after = single(request.query.after, 'after') ?? '0';
      if (!isOffset(after)) {
        throw new ServiceError(
          'TC_ERR_BAD_OFFSET',
          `"after" is "${after.slice(0, 64)}"; pass a stream offset such as 1700000000000-0, or 0 for the start.`,
        );
      }
      const { entries, more } = await ctx.reader.read(tenantid, after, limit);
      const next = more ? entries[entries.length - 1]!.offset : null;
      return reply.type('application/json; charset=utf-8').send(`{"events":[${spliced(entries)}],"next":${JSON.stringify(next)}}`);
    },
  );
}

/** The stored JSON spliced in as is: no parse and re-serialize per event. */
function spliced(entries: ReadonlyArray<{ offset: string; json: string }>): string {
  return entries.map((e) => `{"offset":"${e.offset}","event":${e.json}}`).join(',');
}

function parseLimit(text = String(DEFAULT_LIMIT)): number {
  const limit = /^\d{1,4}$/.test(text) ? Number(text) : Number.NaN;
  if (!(limit >= 1 && limit <= MAX_LIMIT)) {
    throw new ServiceError('TC_ERR_BAD_LIMIT', `"limit" is "${text.slice(0, 32)}"; pass a whole number from 1 to ${MAX_LIMIT}.`);
  }
  return limit;
}

function single(value: string | string[] | undefined, name: string): string | undefined {
  if (Array.isArray(value)) throw new ServiceError('TC_ERR_BAD_REQUEST', `Query parameter "${name}" appears more than once; pass it once.`);
  return value;
}
