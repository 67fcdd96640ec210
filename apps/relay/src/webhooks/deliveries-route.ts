import { isOffset, ServiceError } from '@tenantcast/server';
import type { FastifyInstance } from 'fastify';
import type { RelayContext } from '../context.ts';
import { DELIVERY_STATUSES, type DeliveryStatus } from './delivery-log.ts';
import { type DeliveryCursor, DeliveryLogReader } from './delivery-log-reader.ts';
import { type RetryDeps, retryDeliveries, retryRoom } from './delivery-retry.ts';
import { endpointOf, requireAdmin } from './endpoint-requests.ts';

type EndpointRoute = { Params: { tenantid: string; id: string }; Querystring: Record<string, string | string[] | undefined> };
type DeliveryRoute = { Params: { tenantid: string; id: string; deliveryId: string } };

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1000;

/** A query parameter given at most once. */
function single(value: string | string[] | undefined, name: string): string | undefined {
  if (Array.isArray(value)) throw new ServiceError('TC_ERR_BAD_REQUEST', `Query parameter "${name}" appears more than once; pass it once.`);
  return value;
}

function parseStatus(value: string | undefined): DeliveryStatus | undefined {
  if (value === undefined || value === '') return undefined;
  if (!DELIVERY_STATUSES.includes(value as DeliveryStatus)) {
    throw new ServiceError(
      'TC_ERR_BAD_REQUEST',
      `"status" is "${value.slice(0, 32)}"; pass one of ${DELIVERY_STATUSES.join(', ')}, or leave it out for every delivery.`,
    );
  }
  return value as DeliveryStatus;
}

function parseLimit(value: string | undefined): number {
  const text = value ?? String(DEFAULT_LIMIT);
  const limit = /^\d{1,4}$/.test(text) ? Number(text) : Number.NaN;
  if (!(limit >= 1 && limit <= MAX_LIMIT)) {
    throw new ServiceError('TC_ERR_BAD_LIMIT', `"limit" is "${text.slice(0, 32)}"; pass a whole number from 1 to ${MAX_LIMIT}.`);
  }
  return limit;
}

/** The `next` of a page: opaque to clients, the position of the page's last delivery. */
export function encodeCursor(cursor: DeliveryCursor): string {
  return Buffer.from(`${cursor.score}.${cursor.offset}`).toString('base64url');
}

function parseCursor(value: string | undefined): DeliveryCursor | undefined {
  if (value === undefined || value === '') return undefined;
  const match = /^(\d{1,16})\.(\d{1,20}-\d{1,20})$/.exec(Buffer.from(value.slice(0, 128), 'base64url').toString('latin1'));
  if (match === null || !isOffset(match[2]!)) {
    throw new ServiceError('TC_ERR_BAD_REQUEST', '"cursor" is not one this API gave; pass the "next" of the previous page as is.');
  }
  return { score: Number(match[1]), offset: match[2]! };
}

/** The offset a delivery id names (`msg_<tenant>_<offset>`), or undefined when it names none of this tenant's. */
function offsetOf(tenant: string, deliveryId: string): string | undefined {
  const prefix = `msg_${tenant}_`;
  if (!deliveryId.startsWith(prefix)) return undefined;
  const offset = deliveryId.slice(prefix.length);
  return /^\d{1,20}-\d{1,20}$/.test(offset) && isOffset(offset) ? offset : undefined;
}

function notFound(tenant: string, endpointId: string, deliveryId: string): ServiceError {
  return new ServiceError(
    'TC_ERR_NOT_FOUND',
    `Webhook endpoint "${endpointId}" of tenant "${tenant}" has no delivery "${deliveryId.slice(0, 200)}" in its log (deliveries are kept WEBHOOK_LOG_RETENTION_SECONDS after their last change); list them with GET …/deliveries.`,
  );
}

/**
 * The delivery log API, for tokens with `admin` scope over the tenant (checked before the body):
 * `GET …/webhooks/{id}/deliveries?status=&limit=&cursor=` (newest first), `GET …/deliveries/{deliveryId}`
 * (with its attempt log), `POST …/deliveries/{deliveryId}/retry` and `POST …/deliveries/retry-failed`
 * (a resend under the same webhook-id, capped as replays are). The log is delivery-log.ts.
 */
export function registerDeliveriesRoutes(app: FastifyInstance, ctx: RelayContext): void {
  const reader = new DeliveryLogReader(ctx.redis, ctx.config.keyPrefix);
  const { queue, outstanding, log } = ctx.delivery;
  const deps: RetryDeps = {
    queue,
    outstanding,
    log,
    limits: { maxEvents: ctx.config.webhookReplayMaxEvents, maxOutstanding: ctx.config.webhookMaxOutstandingPerTenant },
  };
  const onRequest = requireAdmin(ctx);
  const base = '/v1/tenants/:tenantid/webhooks/:id/deliveries';

  app.get<EndpointRoute>(base, { onRequest }, async (request) => {
    const { tenantid, id } = request.params;
    const status = parseStatus(single(request.query.status, 'status'));
    const limit = parseLimit(single(request.query.limit, 'limit'));
    const cursor = parseCursor(single(request.query.cursor, 'cursor'));
    const endpoint = await endpointOf(ctx, tenantid, id);
    const page = await reader.page(tenantid, endpoint.id, status, limit, cursor);
    return { deliveries: page.deliveries, next: page.next === null ? null : encodeCursor(page.next) };
  });

  app.get<DeliveryRoute>(`${base}/:deliveryId`, { onRequest }, async (request) => {
    const { tenantid, id, deliveryId } = request.params;
    const endpoint = await endpointOf(ctx, tenantid, id);
    const offset = offsetOf(tenantid, deliveryId);
    const delivery = offset === undefined ? undefined : await reader.get(tenantid, endpoint.id, offset);
    if (delivery === undefined) throw notFound(tenantid, endpoint.id, deliveryId);
    return delivery;
  });

  app.post<DeliveryRoute>(`${base}/:deliveryId/retry`, { onRequest }, async (request, reply) => {
    const { tenantid, id, deliveryId } = request.params;
    const endpoint = await endpointOf(ctx, tenantid, id);
    const offset = offsetOf(tenantid, deliveryId);
    const delivery = offset === undefined ? undefined : await reader.get(tenantid, endpoint.id, offset);
    if (delivery === undefined) throw notFound(tenantid, endpoint.id, deliveryId);
    await retryRoom(deps, tenantid);
    await retryDeliveries(deps, tenantid, endpoint, [
      {
        endpointId: endpoint.id,
        offset: delivery.offset,
        eventId: delivery.eventId ?? undefined,
        eventType: delivery.eventType ?? undefined,
      },
    ]);
    return reply.code(202).send({ id: delivery.id, status: 'pending' });
  });

  app.post<EndpointRoute>(`${base}/retry-failed`, { onRequest }, async (request, reply) => {
    const { tenantid, id } = request.params;
    const endpoint = await endpointOf(ctx, tenantid, id);
    const room = await retryRoom(deps, tenantid);
    // The newest failed first; a call that stops at the cap leaves the rest failed, for the next call.
    const { deliveries } = await reader.page(tenantid, endpoint.id, 'failed', room);
    const retried = await retryDeliveries(
      deps,
      tenantid,
      endpoint,
      deliveries.map((d) => ({
        endpointId: endpoint.id,
        offset: d.offset,
        eventId: d.eventId ?? undefined,
        eventType: d.eventType ?? undefined,
      })),
    );
    return reply.code(202).send({ retried });
  });
}
