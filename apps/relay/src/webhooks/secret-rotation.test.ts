import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RelayClient, verifyWebhook } from '@tenantcast/sdk';
import { sleep, uniqueTenant, until } from '@tenantcast/testkit';
import { Webhook } from 'standardwebhooks';
import { endpointsApi } from '../testing/endpoints-api.ts';
import { publishDrafts } from '../testing/publish-drafts.ts';
import { startRelayWithRedis } from '../testing/use-relay.ts';
import { type Hit, startReceiver } from '../testing/webhook-receiver.ts';

// Rotating an endpoint's secret (issue #17): during the grace every delivery carries a signature
// with each secret, so a receiver verifying with either accepts it (Standard Webhooks allows
// several space-separated signatures); after it, only the new one.

const headers = (hit: Hit) => hit.headers as Record<string, string>;
const verifies = (secret: string, hit: Hit) => {
  try {
    new Webhook(secret).verify(hit.body, headers(hit));
    return true;
  } catch {
    return false;
  }
};

test('a rotation signs with the new and the old secret until the grace ends, then with the new one only', async (t) => {
  const { relay, close } = await startRelayWithRedis({ webhookAllowPrivate: true });
  t.after(close);
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const tenant = uniqueTenant('rotate');
  const admin = await relay.token({ scope: 'admin', tenants: [tenant] });
  const client = new RelayClient({ url: relay.url, token: admin });
  t.after(() => client.close());
  const { id, secret: first } = await client.createWebhook(tenant, { url: receiver.url });

  const deliver = async (type: string) => {
    const [event] = await publishDrafts(relay, tenant, [{ type }]);
    const webhookId = `msg_${tenant}_${event!.offset}`;
    await until(() => receiver.hits.some((hit) => hit.headers['webhook-id'] === webhookId), `the delivery of ${type}`);
    return receiver.hits.find((hit) => hit.headers['webhook-id'] === webhookId)!;
  };

  const before = await deliver('com.example.before');
  assert.equal(headers(before)['webhook-signature']!.split(' ').length, 1);
  assert.ok(verifies(first, before));

  const started = Date.now();
  const { secret: second, previousSecretExpiresAt } = await client.rotateWebhookSecret(tenant, id, { graceSeconds: 2 });
  assert.match(second, /^whsec_/);
  assert.notEqual(second, first);
  const expires = Date.parse(previousSecretExpiresAt);
  assert.ok(expires >= started + 2000 && expires <= Date.now() + 2000, previousSecretExpiresAt);
  const shown = await client.getWebhook(tenant, id);
  assert.equal(shown.secret, second);
  assert.equal(shown.previousSecretExpiresAt, previousSecretExpiresAt);
  assert.equal('previousSecret' in shown, false, 'the previous secret is never shown');

  const during = await deliver('com.example.during');
  const signatures = headers(during)['webhook-signature']!.split(' ');
  assert.equal(signatures.length, 2);
  assert.ok(signatures.every((s) => s.startsWith('v1,')));
  assert.ok(verifies(second, during), 'the new secret verifies during the grace');
  assert.ok(verifies(first, during), 'the old secret verifies during the grace');
  // The SDK's verifier accepts either too.
  await verifyWebhook(headers(during), during.body, first);
  await verifyWebhook(headers(during), during.body, second);

  await sleep(Math.max(0, expires - Date.now() + 50));
  const after = await deliver('com.example.after');
  assert.equal(headers(after)['webhook-signature']!.split(' ').length, 1);
  assert.ok(verifies(second, after), 'the new secret verifies after the grace');
  assert.equal(verifies(first, after), false, 'the old secret no longer verifies after the grace');
});

test('graceSeconds 0 switches at once; the default grace is a day; bad graces are 400, unknown endpoints 404, other tenants 403', async (t) => {
  const { relay, close } = await startRelayWithRedis({ webhookAllowPrivate: true });
  t.after(close);
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const tenant = uniqueTenant('rotate');
  const admin = await relay.token({ scope: 'admin', tenants: [tenant] });
  const api = endpointsApi(relay, tenant, admin);
  const { id, secret: first } = await api.create({ url: receiver.url });

  const rotated = await api.rotate(id);
  assert.equal(rotated.status, 200);
  const expires = Date.parse(rotated.body.previousSecretExpiresAt) - Date.now();
  assert.ok(expires > 86_390_000 && expires <= 86_400_000, `default grace ${expires} ms`);

  const now = await api.rotate(id, { graceSeconds: 0 });
  assert.equal(now.status, 200);
  assert.ok(Date.parse(now.body.previousSecretExpiresAt) <= Date.now());
  const [event] = await publishDrafts(relay, tenant, [{ type: 'com.example.x' }]);
  await until(() => receiver.hits.length === 1, 'the delivery');
  const hit = receiver.hits[0]!;
  assert.equal(hit.headers['webhook-id'], `msg_${tenant}_${event!.offset}`);
  assert.equal(String(hit.headers['webhook-signature']).split(' ').length, 1);
  assert.ok(verifies(now.body.secret, hit));
  assert.equal(verifies(rotated.body.secret, hit), false);
  assert.equal(verifies(first, hit), false);

  for (const graceSeconds of [-1, 1.5, 604_801, '60', null]) {
    const { status, body } = await api.rotate(id, { graceSeconds });
    assert.equal(status, 400, String(graceSeconds));
    assert.match(body.error?.message ?? '', /"graceSeconds" must be a whole number of seconds from 0 \(no overlap\) to 604800/);
  }
  const unknown = await api.rotate(id, { grace: 10 });
  assert.equal(unknown.status, 400);
  assert.match(unknown.body.error?.message ?? '', /Unknown field "grace"; a rotation takes graceSeconds/);
  assert.equal((await api.rotate(`wh_${'f'.repeat(32)}`)).status, 404);
  const other = await relay.token({ scope: 'admin', tenants: ['someone-else'] });
  assert.equal((await api.rotate(id, {}, other)).status, 403);
  assert.equal((await api.get(id)).secret, now.body.secret, 'refused rotations change nothing');
});
