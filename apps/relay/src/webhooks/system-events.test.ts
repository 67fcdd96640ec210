import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WebhookEventTypes } from '@tenantcast/sdk';
import { uniqueTenant, until } from '@tenantcast/testkit';
import { publishDrafts } from '../testing/publish-drafts.ts';
import { startRelayWithRedis } from '../testing/use-relay.ts';
import { type Answer, startReceiver } from '../testing/webhook-receiver.ts';

// tenantcast's own events about webhooks go into the tenant's stream: subscribers see them, an
// endpoint gets them only when its filters name com.tenantcast. types, and never those about itself.

test('an exhausted delivery is a com.tenantcast.webhook.delivery.exhausted event in the tenant’s stream, for subscribers and for endpoints that ask', async (t) => {
  const { relay, close } = await startRelayWithRedis({
    webhookAllowPrivate: true,
    webhookRetrySchedule: [50],
    webhookCircuitFailures: 1000,
  });
  t.after(close);
  const respond = (status: number) => (): Answer => ({ status });
  const failing = await startReceiver(respond(500));
  const watcher = await startReceiver(respond(204));
  const plain = await startReceiver(respond(204));
  t.after(() => Promise.all([failing, watcher, plain].map((r) => r.close())));
  const tenant = uniqueTenant('system');
  const admin = await relay.token({ scope: 'admin subscribe', tenants: [tenant] });
  const create = async (url: string, filters?: unknown[]) => {
    const res = await fetch(`${relay.url}/v1/tenants/${tenant}/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url, ...(filters === undefined ? {} : { filters }) }),
    });
    assert.equal(res.status, 201);
    return ((await res.json()) as { id: string }).id;
  };
  // Filters that name tenantcast's types, and the failing endpoint with a catch-all that does too: it
  // still never gets the events about itself.
  const failingId = await create(failing.url, [{ any: [{ prefix: { type: 'com.example.' } }, { prefix: { type: 'com.tenantcast.' } }] }]);
  const watcherId = await create(watcher.url, [{ prefix: { type: 'com.tenantcast.' } }]);
  await create(plain.url);

  const [event] = await publishDrafts(relay, tenant, [{ type: 'com.example.doomed' }], 'system-test');
  const deliveryId = `msg_${tenant}_${event!.offset}`;

  await until(() => watcher.hits.length >= 1, 'the system event at the watching endpoint');
  const told = JSON.parse(watcher.hits[0]!.body) as { type: string; tenantid: string; source: string; data: Record<string, string> };
  assert.equal(told.type, WebhookEventTypes.exhausted);
  assert.equal(told.tenantid, tenant);
  assert.match(told.source, /^\/tenantcast\/relay\//);
  assert.equal(told.data.endpointId, failingId);
  assert.equal(told.data.deliveryId, deliveryId);
  assert.match(String(told.data.reason), /HTTP 500/);

  // Subscribers read it from the stream like any event.
  const history = await fetch(`${relay.url}/v1/tenants/${tenant}/events?after=0`, { headers: { authorization: `Bearer ${admin}` } });
  const { events } = (await history.json()) as { events: Array<{ event: { type: string } }> };
  assert.deepEqual(
    events.map((e) => e.event.type),
    ['com.example.doomed', WebhookEventTypes.exhausted],
  );

  // The plain endpoint got the event and not the system event; the failing one never got a system event about itself.
  await until(() => plain.hits.length >= 1, 'the plain endpoint’s delivery');
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.deepEqual(
    plain.hits.map((hit) => (JSON.parse(hit.body) as { type: string }).type),
    ['com.example.doomed'],
  );
  assert.ok(failing.hits.every((hit) => !hit.body.includes('com.tenantcast.')));

  // Replays apply the same rule: the failing endpoint's replay leaves out the event about itself,
  // the watcher's takes it.
  const replay = async (id: string) => {
    const res = await fetch(`${relay.url}/v1/tenants/${tenant}/webhooks/${id}/replay`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ after: '0' }),
    });
    return ((await res.json()) as { enqueued: number }).enqueued;
  };
  assert.equal(await replay(failingId), 1, 'com.example.doomed alone');
  assert.equal(await replay(watcherId), 1, 'the exhausted event alone');
});

test('deliveries that find their endpoint disabled fail for good without an exhausted event each: the disabled event told it', async (t) => {
  const { relay, close } = await startRelayWithRedis({
    webhookAllowPrivate: true,
    webhookRetrySchedule: [300],
    webhookCircuitFailures: 1000,
  });
  t.after(close);
  const failing = await startReceiver(() => ({ status: 503 }));
  t.after(() => failing.close());
  const tenant = uniqueTenant('system-disabled');
  const admin = await relay.token({ scope: 'admin subscribe', tenants: [tenant] });
  const headers = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
  const created = await fetch(`${relay.url}/v1/tenants/${tenant}/webhooks`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ url: failing.url }),
  });
  const { id } = (await created.json()) as { id: string };
  await publishDrafts(
    relay,
    tenant,
    Array.from({ length: 3 }, () => ({ type: 'com.example.queued' })),
    'system-test',
  );
  await until(() => failing.hits.length >= 3, 'the first attempts');
  // Disabled while the three wait for their retry, which then finds the endpoint disabled.
  const patched = await fetch(`${relay.url}/v1/tenants/${tenant}/webhooks/${id}`, {
    method: 'PATCH',
    headers,
    body: JSON.stringify({ disabled: true }),
  });
  assert.equal(patched.status, 200);
  const types = async () => {
    const history = await fetch(`${relay.url}/v1/tenants/${tenant}/events?after=0`, { headers });
    return ((await history.json()) as { events: Array<{ event: { type: string } }> }).events.map((e) => e.event.type);
  };
  const deliveries = async () => {
    const res = await fetch(`${relay.url}/v1/tenants/${tenant}/webhooks/${id}/deliveries?status=failed`, { headers });
    return ((await res.json()) as { deliveries: unknown[] }).deliveries.length;
  };
  await until(async () => (await deliveries()) === 3, 'the three deliveries to fail for good');
  assert.deepEqual(await types(), ['com.example.queued', 'com.example.queued', 'com.example.queued', WebhookEventTypes.disabled]);
});
