import assert from 'node:assert/strict';
import type { TestRelay } from './start-relay.ts';

// A tenant's webhook API as lifecycle tests call it: each call answers the status and the JSON.

/** An endpoint as the API shows it. */
export interface EndpointView {
  id: string;
  url: string;
  secret?: string;
  filters: unknown[];
  description: string;
  createdAt: string;
  disabled: boolean;
  disabledReason: 'gone' | 'failing' | 'manual' | null;
  disabledDetail: string | null;
  stoppedAt: string | null;
  failingSince: string | null;
  previousSecretExpiresAt: string | null;
  resumed?: { from: string | null; enqueued: number; merged: number; complete: boolean; last: string | null };
}

/** One answer: status and parsed body (an error body on 4xx). */
export interface Answered<T> {
  status: number;
  body: T & { error?: { code: string; message: string; details?: Array<{ path: string; message: string }> } };
}

/** Calls on `tenant`'s endpoints through `relay` with `token` (admin scope over the tenant). */
export function endpointsApi(relay: TestRelay, tenant: string, token: string) {
  const call = async <T>(method: string, path: string, body?: unknown, auth = token): Promise<Answered<T>> => {
    const res = await fetch(`${relay.url}/v1/tenants/${tenant}/webhooks${path}`, {
      method,
      headers: { authorization: `Bearer ${auth}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Answered<T>['body'] };
  };
  return {
    call,
    async create(input: { url: string; filters?: unknown[]; description?: string }): Promise<EndpointView & { secret: string }> {
      const { status, body } = await call<EndpointView & { secret: string }>('POST', '', input);
      assert.equal(status, 201, JSON.stringify(body));
      return body;
    },
    async get(id: string): Promise<EndpointView & { secret: string }> {
      const { status, body } = await call<EndpointView & { secret: string }>('GET', `/${id}`);
      assert.equal(status, 200, JSON.stringify(body));
      return body;
    },
    patch: (id: string, patch: unknown, auth?: string) => call<EndpointView>('PATCH', `/${id}`, patch, auth),
    /** A PATCH that must answer 200. */
    async patched(id: string, patch: unknown): Promise<EndpointView> {
      const { status, body } = await call<EndpointView>('PATCH', `/${id}`, patch);
      assert.equal(status, 200, JSON.stringify(body));
      return body;
    },
    rotate: (id: string, body?: unknown, auth?: string) =>
      call<{ secret: string; previousSecretExpiresAt: string }>('POST', `/${id}/secret/rotate`, body, auth),
    /** The tenant's stored events, as a subscriber reads its history. */
    async history(): Promise<Array<{ offset: string; event: { type: string; data?: Record<string, unknown> } }>> {
      const res = await fetch(`${relay.url}/v1/tenants/${tenant}/events?after=0&limit=1000`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(res.status, 200);
      return ((await res.json()) as { events: Array<{ offset: string; event: { type: string; data?: Record<string, unknown> } }> }).events;
    },
  };
}

/** Registers an endpoint for `tenant` with an admin token of its own; answers its id and secret, and the token. */
export async function createEndpoint(
  relay: TestRelay,
  tenant: string,
  endpoint: { url: string; filters?: unknown[]; description?: string },
): Promise<{ id: string; secret: string; admin: string }> {
  const admin = await relay.token({ scope: 'admin', tenants: [tenant] });
  const created = await fetch(`${relay.url}/v1/tenants/${tenant}/webhooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify(endpoint),
  });
  assert.equal(created.status, 201, await created.clone().text());
  const { id, secret } = (await created.json()) as { id: string; secret: string };
  return { id, secret, admin };
}
