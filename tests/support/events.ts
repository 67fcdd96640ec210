import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { type Draft, publishDrafts, type TestRelay } from '@tenantcast/relay/testing';
import type { CloudEvent } from '@tenantcast/sdk';
import { uniqueTenant } from '@tenantcast/testkit';

// Events for the suites that span the apps: publishing through a relay, and reading a tenant's stream back.

/** Publishes a batch of `tenant`'s events through the relay's `POST /v1/events`, all new; returns the stored offsets, in order. */
export async function publishOffsets(relay: TestRelay, tenant: string, drafts: Draft[]): Promise<string[]> {
  const accepted = await publishDrafts(relay, tenant, drafts, 'e2e');
  assert.ok(accepted.every((a) => !a.duplicate));
  return accepted.map((a) => a.offset);
}

/**
 * A tenant of the test's own whose stream exists already: one `com.example.seed` event is stored.
 * A live-only subscription to a tenant with no stream yet can end with a false
 * TC_ERR_OFFSET_EXPIRED when the first event is written while it joins (the bug that
 * subscribe.test.ts reproduces); tests about other things sidestep it this way.
 */
export async function seededTenant(relay: TestRelay, name: string): Promise<string> {
  const tenant = uniqueTenant(name);
  await publishOffsets(relay, tenant, [{ type: 'com.example.seed', data: {} }]);
  return tenant;
}

/** `count` events of type `com.example.tick`, numbered from `from`. */
export function ticks(count: number, from = 0): Draft[] {
  return Array.from({ length: count }, (_, i) => ({ type: 'com.example.tick', data: { n: from + i } }));
}

/** A tick event for `tenant`, numbered `n`. */
export function tick(tenant: string, n: number, source = 'chaos'): CloudEvent {
  return {
    specversion: '1.0',
    id: `${tenant}-${n}-${randomUUID()}`,
    source,
    type: 'com.example.tick',
    tenantid: tenant,
    data: { n },
  } as CloudEvent;
}

/** Every stored event of `tenant`, read through the relay's history endpoint. */
export async function history(
  relayUrl: string,
  token: string,
  tenant: string,
): Promise<Array<{ offset: string; event: { id: string } & Record<string, unknown> }>> {
  const all: Array<{ offset: string; event: { id: string } & Record<string, unknown> }> = [];
  let after = '0';
  for (let page = 0; page < 1000; page++) {
    const response = await fetch(`${relayUrl}/v1/tenants/${encodeURIComponent(tenant)}/events?after=${after}&limit=1000`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (response.status !== 200) throw new Error(`history of ${tenant}: ${response.status} ${await response.text()}`);
    const body = (await response.json()) as { events: typeof all; next: string | null };
    all.push(...body.events);
    if (body.next === null) return all;
    after = body.next;
  }
  throw new Error('history: too many pages');
}

/** Orders stream offsets `<ms>-<seq>`. */
export function offsetAfter(a: string, b: string): boolean {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am > bm || (am === bm && as > bs);
}
