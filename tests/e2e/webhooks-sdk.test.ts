import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEvent, RelayClient, signWebhook, TenantcastError, verifyWebhook } from '@tenantcast/sdk';
import { Webhook } from 'standardwebhooks';
import { startReceiver } from '../support/receiver.ts';
import { startRelayStack } from '../support/stack.ts';

test('the SDK registers an endpoint, and its verifyWebhook agrees with the standardwebhooks package', async (t) => {
  const { relay, close } = await startRelayStack({ relay: { webhookAllowPrivate: true, webhookRetrySchedule: [50, 50] } });
  t.after(close);
  const receiver = await startReceiver(t);
  const received = receiver.deliveries;

  const token = await relay.token({ scope: 'admin publish', tenants: ['sdk-hooks'] });
  const client = new RelayClient({ url: relay.url, token });
  t.after(() => client.close());
  const endpoint = await client.createWebhook('sdk-hooks', {
    url: receiver.url,
    filters: [{ exact: { type: 'com.qlik.web-integration.deleted' } }],
    description: 'sdk test',
  });
  assert.match(endpoint.secret, /^whsec_/);
  assert.deepEqual(
    (await client.listWebhooks('sdk-hooks')).map((e) => [e.id, 'secret' in e]),
    [[endpoint.id, false]],
  );
  assert.equal((await client.getWebhook('sdk-hooks', endpoint.id)).secret, endpoint.secret);

  const events = ['wi-1', 'wi-2'].map((id) =>
    createEvent('com.qlik.web-integration.deleted', { source: 'sdk-test', tenantid: 'sdk-hooks', data: { id } }),
  );
  await client.publish([
    ...events,
    createEvent('com.qlik.web-integration.created', {
      source: 'sdk-test',
      tenantid: 'sdk-hooks',
      data: { id: 'x', name: 'n', validOrigins: [] },
    }),
  ]);
  for (let i = 0; i < 100 && received.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(received.length, 2, 'only the two matching events are delivered');

  const official = new Webhook(endpoint.secret);
  for (const { headers, body } of received) {
    official.verify(body, headers as Record<string, string>);
    const event = await verifyWebhook(headers, body, endpoint.secret);
    assert.equal(event.type, 'com.qlik.web-integration.deleted');
  }
  assert.deepEqual(received.map((r) => (JSON.parse(r.body) as { id: string }).id).sort(), events.map((e) => e.id).sort());

  // Tampering and stale timestamps are refused.
  const [first] = received;
  await assert.rejects(verifyWebhook(first!.headers, first!.body.replace('wi-', 'wx-'), endpoint.secret), TenantcastError);
  await assert.rejects(
    verifyWebhook(first!.headers, first!.body, 'whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'),
    /No webhook-signature matches/,
  );
  await assert.rejects(verifyWebhook(first!.headers, first!.body, endpoint.secret, { now: Date.now() + 3600_000 }), /more than 300 s/);

  await client.deleteWebhook('sdk-hooks', endpoint.id);
  await assert.rejects(client.getWebhook('sdk-hooks', endpoint.id), (error: TenantcastError) => error.status === 404);
});

test('signWebhook matches the standardwebhooks package', async () => {
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const official = new Webhook(secret);
  const timestamp = new Date(1_700_000_000_000);
  const expected = official.sign('msg_1', timestamp, '{"a":1}');
  assert.equal(await signWebhook('msg_1', 1_700_000_000, '{"a":1}', secret), expected);
});
