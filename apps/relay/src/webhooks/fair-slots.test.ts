import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { uniqueTenant, until } from '@tenantcast/testkit';
import { createEndpoint } from '../testing/endpoints-api.ts';
import { publishDrafts } from '../testing/publish-drafts.ts';
import { startRelayWithRedis } from '../testing/use-relay.ts';
import { startReceiver } from '../testing/webhook-receiver.ts';
import { FairSlots, type Parked } from './fair-slots.ts';

const job = (name: string): Parked & { name: string } => ({ name, wake: async () => {} });
const names = (jobs: ReadonlyArray<Parked | undefined>) => jobs.map((j) => (j as { name?: string } | undefined)?.name);

describe('FairSlots', () => {
  test('each release wakes the next parked job in turn; a tenant left with parked jobs and none in flight is stranded, and wakes its share', () => {
    const slots = new FairSlots({ perTenant: 3, perEndpoint: 2 });
    assert.ok(slots.take('t', 'a') && slots.take('t', 'a') && slots.take('t', 'b'));
    assert.equal(slots.take('t', 'b'), false, 'the tenant is at its cap');
    for (const [endpoint, name] of [
      ['a', 'a1'],
      ['a', 'a2'],
      ['a', 'a3'],
      ['b', 'b1'],
      ['b', 'b2'],
    ] as const) {
      assert.equal(slots.park('t', endpoint, job(name)), undefined);
    }
    assert.deepEqual(slots.stranded(), []);
    // The jobs these releases wake are taken by another process: none comes back here.
    assert.deepEqual(names([slots.release('t', 'a'), slots.release('t', 'a'), slots.release('t', 'b')]), ['a1', 'b1', 'a2']);
    assert.deepEqual(slots.stranded(), ['t']);
    assert.equal(slots.isStranded('t'), true);
    assert.equal(slots.isStranded('other'), false);
    assert.deepEqual(names(slots.wakeable('t')), ['b2', 'a3'], 'in turn: b, whose turn came after a2');
    assert.deepEqual(slots.stranded(), []);
    assert.equal(slots.isStranded('t'), false);
  });
});

test('two delivery processes sharing a tenant’s deliveries deliver them all without waiting for the parked jobs’ fallback', async (t) => {
  // Default WEBHOOK_LOCK_MS: a parked job comes back by itself after 60 s. Jobs woken by one process's
  // releases and taken by the other stranded the rest of the first one's parked jobs until then.
  const { relay, close, startRelay } = await startRelayWithRedis({ webhookAllowPrivate: true, webhookEndpointConcurrency: 2 });
  t.after(close);
  await startRelay(t, { keyPrefix: relay.config.keyPrefix, webhookAllowPrivate: true, webhookEndpointConcurrency: 2 });
  const receiver = await startReceiver(() => ({ status: 204, delayMs: 20 }));
  t.after(() => receiver.close());
  const tenant = uniqueTenant('two-workers');
  await createEndpoint(relay, tenant, { url: receiver.url });
  await publishDrafts(
    relay,
    tenant,
    Array.from({ length: 60 }, () => ({ type: 'com.example.shared' })),
    'fair-slots-test',
  );
  await until(
    () => new Set(receiver.hits.map((hit) => hit.headers['webhook-id'])).size === 60,
    'every delivery, well within the fallback',
    20_000,
  );
});
