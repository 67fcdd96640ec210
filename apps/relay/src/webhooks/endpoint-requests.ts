import { isIP } from 'node:net';
import { compileFilters, type Filter, TenantcastError } from '@tenantcast/sdk';
import { isOffset, ServiceError } from '@tenantcast/server';
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { IsDateTime } from 'typebox/format';
import { requireToken } from '../auth/require-token.ts';
import type { RelayContext } from '../context.ts';
import type { WebhookEndpoint } from './endpoint-store.ts';
import { addressClass, isPrivateAddress } from './ssrf-guard.ts';

/** What the webhook API reads from a request: the tenant it may act on, the endpoint it names, its JSON body, each field checked. */

export function parseJson(request: FastifyRequest): Record<string, unknown> {
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

/** What the API shows of an endpoint: everything but the previous secret, the secret only where `withSecret`. */
export function view(endpoint: WebhookEndpoint, withSecret: boolean): Record<string, unknown> {
  const { secret, previousSecret: _, ...rest } = endpoint;
  return withSecret ? { ...rest, secret } : rest;
}

/** Validates an endpoint's `description`: a string of at most 1024 characters. */
export function checkDescription(value: unknown): string | undefined {
  if (value !== undefined && (typeof value !== 'string' || value.length > 1024)) {
    throw new ServiceError('TC_ERR_VALIDATION', '"description" must be a string of at most 1024 characters.', {
      details: [{ path: '/description', message: 'must be string' }],
    });
  }
  return value;
}

/** Refuses a body field outside `allowed`, naming what the call takes. */
export function onlyFields(body: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) {
      throw new ServiceError(
        'TC_ERR_VALIDATION',
        `Unknown field "${key}"; ${what} takes ${allowed.slice(0, -1).join(', ')}${allowed.length > 1 ? ' and ' : ''}${allowed.at(-1)}.`,
        {
          details: [{ path: `/${key}`, message: 'is not allowed' }],
        },
      );
    }
  }
}

/** Validates an endpoint URL: http(s), no credentials, and no literal private address unless allowed. */
export function checkUrl(value: unknown, allowPrivate: boolean): string {
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
      `"url" points at a private address (${host}): ${host === 'localhost' ? 'loopback' : addressClass(host)}; webhooks may not reach it unless WEBHOOK_ALLOW_PRIVATE=true.`,
      {
        details: [{ path: '/url', message: 'must be a public address' }],
      },
    );
  }
  return url.href;
}

export function checkFilters(value: unknown): Filter[] {
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
export function bound(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string')
    throw new ServiceError('TC_ERR_VALIDATION', `"${name}" must be a string.`, {
      details: [{ path: `/${name}`, message: 'must be string' }],
    });
  if (name === 'after') {
    if (!isOffset(value)) throw new ServiceError('TC_ERR_BAD_OFFSET', `"after" is "${value.slice(0, 64)}"; pass a stream offset, or 0.`);
    return value;
  }
  // RFC 3339 with real calendar dates (TypeBox's date-time format refuses 2026-02-30), without
  // RFC 9557's [zone] suffix, which Date.parse does not read; a leap second parses to NaN.
  const ms = IsDateTime(value) && !value.includes('[') ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new ServiceError(
      'TC_ERR_VALIDATION',
      `"${name}" must be an RFC 3339 time on a real calendar date, such as 2026-01-01T00:00:00Z; got "${value.slice(0, 64)}".`,
      { details: [{ path: `/${name}`, message: 'must be RFC 3339 date-time' }] },
    );
  }
  // Stream offsets count milliseconds from the epoch: nothing was stored before it.
  if (ms < 0) {
    throw new ServiceError('TC_ERR_VALIDATION', `"${name}" is before 1970-01-01T00:00:00Z; events are stored after it.`, {
      details: [{ path: `/${name}`, message: 'must not be before 1970-01-01T00:00:00Z' }],
    });
  }
  return String(ms);
}

/** The webhook API's token check, before the body is read: `admin` scope over the path's tenant; 400, 401 or 403 otherwise. */
export function requireAdmin(ctx: RelayContext): onRequestAsyncHookHandler {
  return requireToken(ctx.tokens, { scope: 'admin', tenantInPath: true });
}

/** The endpoint a request names; 404 when the tenant has none of that id. */
export async function endpointOf(ctx: RelayContext, tenant: string, id: string): Promise<WebhookEndpoint> {
  const endpoint = /^wh_[0-9a-f]{32}$/.test(id) ? await ctx.delivery.webhooks.get(tenant, id) : undefined;
  if (endpoint === undefined)
    throw new ServiceError('TC_ERR_NOT_FOUND', `Tenant "${tenant}" has no webhook endpoint "${id.slice(0, 80)}".`);
  return endpoint;
}
