import type { IncomingMessage } from 'node:http';
import { compileFilters, type EventPredicate, isTenantId, TenantcastError } from '@tenantcast/sdk';
import { ServiceError } from '@tenantcast/server';
import { parseAfter } from '../fanout/resume.ts';

/** Subprotocol of plain CloudEvents mode (CloudEvents WebSocket binding, JSON format). */
export const PLAIN_SUBPROTOCOL = 'cloudevents.json';
/** Subprotocol of tenantcast's multiplexed mode (docs/protocol.md). */
export const MULTIPLEXED_SUBPROTOCOL = 'tenantcast.v1';

/** What an upgrade asks for, once its path and query are read. */
export type UpgradeTarget =
  | { mode: 'plain'; tenant: string; predicate: EventPredicate | undefined; after: string | undefined; subprotocol: string | undefined }
  | { mode: 'multiplexed'; subprotocol: string };

/** The subprotocols a client offers (RFC 6455 §4.1, Sec-WebSocket-Protocol). */
export function offeredSubprotocols(request: IncomingMessage): string[] {
  const header = request.headers['sec-websocket-protocol'];
  if (header === undefined) return [];
  return header
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

function single(query: URLSearchParams, name: string): string | undefined {
  const values = query.getAll(name);
  if (values.length > 1) throw new ServiceError('TC_ERR_BAD_REQUEST', `Query parameter "${name}" appears more than once; pass it once.`);
  return values[0];
}

/** Reads `filters`: a URL-encoded JSON array of Subscriptions API filters, all of which must hold; undefined for none. */
export function parseFilters(text: string | undefined): EventPredicate | undefined {
  if (text === undefined || text === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ServiceError(
      'TC_ERR_BAD_FILTER',
      '"filters" is not JSON: pass a URL-encoded JSON array such as [{"prefix":{"type":"com.qlik."}}].',
    );
  }
  return compileFilter(value);
}

/** Compiles filters, turning their validation error into a 400. */
export function compileFilter(value: unknown): EventPredicate {
  try {
    return compileFilters(value);
  } catch (error) {
    if (error instanceof TenantcastError) {
      throw new ServiceError('TC_ERR_BAD_FILTER', error.message.replace('Invalid filters', 'Invalid "filters"'), {
        details: error.details,
      });
    }
    throw error;
  }
}

/**
 * Reads an upgrade's path and query, and the subprotocols it offers (`offeredSubprotocols`).
 * `/v1/tenants/{tenantid}/events` is plain mode (subprotocol `cloudevents.json`, or none);
 * `/v1/connect` is multiplexed mode (subprotocol `tenantcast.v1`).
 */
export function parseUpgrade(offered: readonly string[], url: URL): UpgradeTarget {
  if (url.pathname === '/v1/connect') {
    if (!offered.includes(MULTIPLEXED_SUBPROTOCOL)) {
      throw new ServiceError(
        'TC_ERR_BAD_SUBPROTOCOL',
        `/v1/connect speaks subprotocol "${MULTIPLEXED_SUBPROTOCOL}"; offer it in Sec-WebSocket-Protocol.`,
      );
    }
    return { mode: 'multiplexed', subprotocol: MULTIPLEXED_SUBPROTOCOL };
  }
  const match = /^\/v1\/tenants\/([^/]*)\/events$/.exec(url.pathname);
  if (match === null) {
    throw new ServiceError(
      'TC_ERR_NOT_FOUND',
      `No WebSocket endpoint at ${url.pathname.slice(0, 200)}; use /v1/tenants/{tenantid}/events or /v1/connect.`,
    );
  }
  let tenant: string;
  try {
    tenant = decodeURIComponent(match[1]!);
  } catch {
    tenant = match[1]!;
  }
  if (!isTenantId(tenant))
    throw new ServiceError('TC_ERR_BAD_TENANT_ID', `Tenant id "${String(tenant).slice(0, 140)}" must match ^[A-Za-z0-9._-]{1,128}$.`);
  if (offered.length > 0 && !offered.includes(PLAIN_SUBPROTOCOL)) {
    throw new ServiceError(
      'TC_ERR_BAD_SUBPROTOCOL',
      `This endpoint speaks subprotocol "${PLAIN_SUBPROTOCOL}" (offered: ${offered.join(', ').slice(0, 200)}); for "${MULTIPLEXED_SUBPROTOCOL}" connect to /v1/connect.`,
    );
  }
  return {
    mode: 'plain',
    tenant,
    predicate: parseFilters(single(url.searchParams, 'filters')),
    after: parseAfter(single(url.searchParams, 'after')),
    subprotocol: offered.length > 0 ? PLAIN_SUBPROTOCOL : undefined,
  };
}
