import { isIP } from 'node:net';
import { compileFilters, type Filter, isTenantId, TenantcastError } from '@tenantcast/sdk';
import { compareOffsets, isOffset, requireScope, requireTenant, ServiceError } from '@tenantcast/server';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RelayContext } from '../context.ts';
import { type DeliveryJob, deliveryJob } from '../delivery/delivery-queue.ts';
import { isPrivateAddress } from '../delivery/ssrf.ts';
import type { WebhookEndpoint } from './webhook-store.ts';

/** Most events one replay enqueues; a larger range is refused with a message to narrow it. */
const MAX_REPLAY = 10_000;

function parseJson(request: FastifyRequest): Record<string, unknown> {
  const body = request.body as Buffer | undefined;
  const media = request.headers['content-type']?.split(';', 1)[0]?.trim().toLowerCase();
  if (body === undefined || body.length === 0) return {};
  if (media !== 'application/json') throw new ServiceError('TC_ERR_UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json.');
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new ServiceError('TC_ERR_INVALID_JSON', `The body is not valid JSON: ${(error as Error).message}.`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ServiceError('TC_ERR_VALIDATION', 'The body must be a JSON object.', { details: [{ path: '', message: 'must be object' }] });
  }
  return value as Record<string, unknown>;
}

/** What the API shows of an endpoint: everything, the secret only where `withSecret`. */
function view(endpoint: WebhookEndpoint, withSecret: boolean): Record<string, unknown> {
  const { secret, ...rest } = endpoint;
  return withSecret ? { ...rest, secret } : rest;
}

/** Validates an endpoint URL: http(s), no credentials, and no literal private address unless allowed. */
function checkUrl(value: unknown, allowPrivate: boolean): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) {
    throw new ServiceError('TC_ERR_VALIDATION', '"url" must be an http(s) URL of at most 2048 characters.', {
      details: [{ path: '/url', message: 'must be a URL' }],
    });
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ServiceError('TC_ERR_VALIDATION', `"url" is not a URL: ${value.slice(0, 200)}.`, {
      details: [{ path: '/url', message: 'must be a URL' }],
    });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ServiceError('TC_ERR_VALIDATION', '"url" must use http or https.', {
      details: [{ path: '/url', message: 'must be http(s)' }],
    });
  }
  if (url.username || url.password) {
    throw new ServiceError('TC_ERR_VALIDATION', '"url" must not hold credentials; the endpoint verifies the webhook signature instead.', {
      details: [{ path: '/url', message: 'must not hold credentials' }],
    });
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!allowPrivate && (host === 'localhost' || (isIP(host) && isPrivateAddress(host)))) {
    throw new ServiceError(
      'TC_ERR_VALIDATION',
      `"url" points at a private address (${host}); webhooks may not reach it unless WEBHOOK_ALLOW_PRIVATE=true.`,
      {
        details: [{ path: '/url', message: 'must be a public address' }],
      },
    );
  }
  return url.href;
}

function checkFilters(value: unknown): Filter[] {
  if (value === undefined) return [];
  try {
    compileFilters(value);
  } catch (error) {
    if (error instanceof TenantcastError) {
      throw new ServiceError('TC_ERR_VALIDATION', error.message, {
        details: error.details.map((d) => ({ path: `/filters${d.path}`, message: d.message })),
      });
    }
    throw error;
  }
  return value as Filter[];
}

/** A replay bound: an offset (`after`), or an RFC 3339 time (`since`, `until`) turned into one. */
function bound(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string')
    throw new ServiceError('TC_ERR_VALIDATION', `"${name}" must be a string.`, {
      details: [{ path: `/${name}`, message: 'must be string' }],
    });
  if (name === 'after') {
    if (!isOffset(value)) throw new ServiceError('TC_ERR_BAD_OFFSET', `"after" is "${value.slice(0, 64)}"; pass a stream offset, or 0.`);
    return value;
  }
  const ms = Date.parse(value);
  if (Number.isNaN(ms) || !/^\d{4}-\d{2}-\d{2}T/.test(value)) {
    throw new ServiceError('TC_ERR_VALIDATION', `"${name}" must be an RFC 3339 time such as 2026-01-01T00:00:00Z.`, {
      details: [{ path: `/${name}`, message: 'must be RFC 3339 date-time' }],
    });
  }
  return String(ms);
}

/**
 * The per-tenant webhook API, for tokens with `admin` scope over the tenant:
 * `POST|GET /v1/tenants/{t}/webhooks`, `GET|DELETE /v1/tenants/{t}/webhooks/{id}`, and
 * `POST /v1/tenants/{t}/webhooks/{id}/replay`.
 */
export function registerWebhooksRoutes(app: FastifyInstance, ctx: RelayContext): void {
  const { webhooks, queue } = ctx.delivery;

  async function admin(request: FastifyRequest<{ Params: { tenantid: string } }>): Promise<string> {
    const claims = await ctx.tokens.authenticate(request.headers);
    const { tenantid } = request.params;
    if (!isTenantId(tenantid))
      throw new ServiceError('TC_ERR_BAD_TENANT_ID', `Tenant id "${String(tenantid).slice(0, 140)}" must match ^[A-Za-z0-9._-]{1,128}$.`);
    requireScope(claims, 'admin');
    requireTenant(claims, tenantid);
    return tenantid;
  }

  async function endpointOf(tenant: string, id: string): Promise<WebhookEndpoint> {
    const endpoint = /^wh_[0-9a-f]{32}$/.test(id) ? await webhooks.get(tenant, id) : undefined;
    if (endpoint === undefined)
      throw new ServiceError('TC_ERR_NOT_FOUND', `Tenant "${tenant}" has no webhook endpoint "${id.slice(0, 80)}".`);
    return endpoint;
  }

  app.post<{ Params: { tenantid: string } }>('/v1/tenants/:tenantid/webhooks', async (request, reply) => {
    const tenant = await admin(request);
    const body = parseJson(request);
    for (const key of Object.keys(body)) {
      if (!['url', 'filters', 'description'].includes(key)) {
        throw new ServiceError('TC_ERR_VALIDATION', `Unknown field "${key}"; an endpoint takes url, filters and description.`, {
          details: [{ path: `/${key}`, message: 'is not allowed' }],
        });
      }
    }
    const url = checkUrl(body.url, ctx.config.webhookAllowPrivate);
    const filters = checkFilters(body.filters);
    if (body.description !== undefined && (typeof body.description !== 'string' || body.description.length > 1024)) {
      throw new ServiceError('TC_ERR_VALIDATION', '"description" must be a string of at most 1024 characters.', {
        details: [{ path: '/description', message: 'must be string' }],
      });
    }
    if ((await webhooks.list(tenant)).length >= 100) {
      throw new ServiceError('TC_ERR_VALIDATION', `Tenant "${tenant}" has 100 endpoints, the most allowed; delete one first.`);
    }
    const endpoint = await webhooks.create(tenant, { url, filters, description: body.description as string | undefined });
    return reply.code(201).send(view(endpoint, true));
  });

  app.get<{ Params: { tenantid: string } }>('/v1/tenants/:tenantid/webhooks', async (request) => {
    const tenant = await admin(request);
    return { webhooks: (await webhooks.list(tenant)).map((e) => view(e, false)) };
  });

  app.get<{ Params: { tenantid: string; id: string } }>('/v1/tenants/:tenantid/webhooks/:id', async (request) => {
    const tenant = await admin(request);
    return view(await endpointOf(tenant, request.params.id), true);
  });

  app.delete<{ Params: { tenantid: string; id: string } }>('/v1/tenants/:tenantid/webhooks/:id', async (request, reply) => {
    const tenant = await admin(request);
    await endpointOf(tenant, request.params.id);
    await webhooks.delete(tenant, request.params.id);
    return reply.code(204).send();
  });

  app.post<{ Params: { tenantid: string; id: string } }>('/v1/tenants/:tenantid/webhooks/:id/replay', async (request, reply) => {
    const tenant = await admin(request);
    const endpoint = await endpointOf(tenant, request.params.id);
    const body = parseJson(request);
    const after = bound(body.after, 'after');
    const since = bound(body.since, 'since');
    const until = bound(body.until, 'until');
    // Stream ids start with their time in ms, so a time bound is an id bound.
    let cursor = after ?? (since === undefined ? '0' : `${Math.max(0, Number(since) - 1)}-18446744073709551615`);
    const end = until === undefined ? '+' : `${until}-18446744073709551615`;
    const replay = globalThis.crypto.randomUUID().slice(0, 8);
    const matches = compileFilters(endpoint.filters);
    let enqueued = 0;
    while (enqueued < MAX_REPLAY) {
      const page = await ctx.reader.read(tenant, cursor, 500, end);
      const jobs: DeliveryJob[] = [];
      for (const entry of page.entries) {
        if (compareOffsets(entry.offset, cursor) <= 0) continue;
        cursor = entry.offset;
        if (!matches(JSON.parse(entry.json))) continue;
        jobs.push(deliveryJob(tenant, endpoint.id, entry.offset, entry.json, replay));
      }
      if (jobs.length > 0) await queue.addBulk(jobs.slice(0, MAX_REPLAY - enqueued));
      enqueued += Math.min(jobs.length, MAX_REPLAY - enqueued);
      if (!page.more) break;
    }
    return reply.code(202).send({ replay, enqueued, last: cursor === '0' ? null : cursor });
  });
}
