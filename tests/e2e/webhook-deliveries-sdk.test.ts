import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEvent, type DeliveryInfo, RelayClient, type TenantcastError } from '@tenantcast/sdk';
import { until } from '@tenantcast/testkit';
import { startReceiver } from '../support/receiver.ts';
import { startRelayStack } from '../support/stack.ts';

test('the SDK lists an endpoint’s deliveries page by page, reads one with its attempts, and retries them under the same webhook-id', async (t) => {
  const { relay, close } = await startRelayStack({
    relay: { webhookAllowPrivate: true, webhookRetry4xx: false, webhookCircuitFailures: 1000 },
  });
  t.after(close);
  let broken = true;
  // While broken, the receiver refuses with 400 (failed at once without 4xx retries); then 204.
  const receiver = await startReceiver(t, () => (broken ? { status: 400, body: 'not yet' } : { status: 204 }));

  const tenant = 'sdk-deliveries';
  const client = new RelayClient({ url: relay.url, token: await relay.token({ scope: 'admin publish', tenants: [tenant] }) });
  t.after(() => client.close());
  const endpoint = await client.createWebhook(tenant, { url: receiver.url });
  const published = await client.publish(
    ['wi-1', 'wi-2', 'wi-3'].map((id) =>
      createEvent('com.qlik.web-integration.deleted', { source: 'sdk-test', tenantid: tenant, data: { id } }),
    ),
  );
  const collect = async (status?: 'pending' | 'succeeded' | 'failed') => {
    const pages: DeliveryInfo[][] = [];
    for await (const page of client.listDeliveries(tenant, endpoint.id, { ...(status ? { status } : {}), limit: 2 })) pages.push(page);
    return pages;
  };
  await until(async () => (await collect('failed')).flat().length === 3, 'three failed deliveries');
  const failed = await collect('failed');
  assert.deepEqual(
    failed.map((page) => page.length),
    [2, 1],
  );
  const ids = published.map((p) => `msg_${tenant}_${p.offset}`);
  assert.deepEqual(
    failed
      .flat()
      .map((d) => d.id)
      .sort(),
    [...ids].sort(),
  );

  const one = await client.getDelivery(tenant, endpoint.id, ids[0]!);
  assert.deepEqual([one.status, one.attempts, one.lastStatus, one.lastError], ['failed', 1, 400, 'HTTP 400: not yet']);
  assert.deepEqual(
    one.attemptLog.map((a) => [a.status, a.responseBody]),
    [[400, 'not yet']],
  );

  broken = false;
  assert.deepEqual(await client.retryDelivery(tenant, endpoint.id, ids[0]!), { id: ids[0], status: 'pending' });
  await until(async () => (await client.getDelivery(tenant, endpoint.id, ids[0]!)).status === 'succeeded', 'the retried delivery');
  assert.deepEqual(await client.retryFailedDeliveries(tenant, endpoint.id), { retried: 2 });
  await until(async () => (await collect('succeeded')).flat().length === 3, 'every delivery succeeded');
  assert.deepEqual(
    receiver.deliveries
      .slice(3)
      .map((d) => String(d.headers['webhook-id']))
      .sort(),
    [...ids].sort(),
    'retried under the webhook-ids the receiver saw fail',
  );

  await assert.rejects(
    client.getDelivery(tenant, endpoint.id, `msg_${tenant}_1-0`),
    (error: TenantcastError) => error.status === 404 && /TC_ERR_NOT_FOUND/.test(error.message),
  );
});
