import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { scrapeMetric, uniqueTenant } from '@tenantcast/testkit';
import type { TestRelay } from '../testing/start-relay.ts';
import { useRelay } from '../testing/use-relay.ts';

// The cap on a tenant's webhook endpoints (WEBHOOK_MAX_ENDPOINTS_PER_TENANT, default 50; issue #16):
// a create past it is refused with 409 TC_ERR_TOO_MANY_ENDPOINTS, counted in the rejection metric,
// and concurrent creates cannot pass it together.

const stack = useRelay();

async function create(relay: TestRelay, tenant: string, n: number): Promise<Response> {
  return fetch(`${relay.url}/v1/tenants/${tenant}/webhooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await relay.token({ scope: 'admin', tenants: [tenant] })}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: `https://hooks.example.com/${n}` }),
  });
}

async function count(relay: TestRelay, tenant: string): Promise<number> {
  const res = await fetch(`${relay.url}/v1/tenants/${tenant}/webhooks`, {
    headers: { authorization: `Bearer ${await relay.token({ scope: 'admin', tenants: [tenant] })}` },
  });
  return ((await res.json()) as { webhooks: unknown[] }).webhooks.length;
}

describe('endpoints per tenant', () => {
  test('the 51st endpoint of a tenant is refused with 409 naming the limit and counted; after a delete one more fits', async () => {
    const tenant = uniqueTenant('cap');
    const ids: string[] = [];
    for (let n = 0; n < 50; n++) {
      const res = await create(stack.relay, tenant, n);
      assert.equal(res.status, 201, await res.clone().text());
      ids.push(((await res.json()) as { id: string }).id);
    }
    const metric = () =>
      scrapeMetric(stack.relay.metricsUrl, 'tenantcast_relay_requests_rejected_total', { code: 'TC_ERR_TOO_MANY_ENDPOINTS' }).then(
        (v) => v ?? 0,
      );
    const before = await metric();
    const refused = await create(stack.relay, tenant, 50);
    assert.equal(refused.status, 409);
    const { error } = (await refused.json()) as { error: { code: string; message: string } };
    assert.equal(error.code, 'TC_ERR_TOO_MANY_ENDPOINTS');
    assert.match(error.message, /has 50 webhook endpoints, the most it may have \(WEBHOOK_MAX_ENDPOINTS_PER_TENANT\); delete one first/);
    assert.equal(await metric(), before + 1);
    assert.equal(await count(stack.relay, tenant), 50);
    // Another tenant is not limited by this one's endpoints.
    assert.equal((await create(stack.relay, uniqueTenant('other'), 0)).status, 201);

    const deleted = await fetch(`${stack.relay.url}/v1/tenants/${tenant}/webhooks/${ids[0]}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${await stack.relay.token({ scope: 'admin', tenants: [tenant] })}` },
    });
    assert.equal(deleted.status, 204);
    assert.equal((await create(stack.relay, tenant, 51)).status, 201);
  });

  test('concurrent creates on two relays never pass the cap together', async (t) => {
    const a = await stack.startRelay(t, { webhookMaxEndpoints: 3 });
    // The second relay shares the first's key prefix: one deployment, two processes.
    const shared = await stack.startRelay(t, { webhookMaxEndpoints: 3, keyPrefix: a.config.keyPrefix });
    const tenant = uniqueTenant('race');
    const answers = await Promise.all(Array.from({ length: 20 }, (_, n) => create(n % 2 === 0 ? a : shared, tenant, n)));
    const statuses = answers.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 201).length, 3, `statuses ${statuses}`);
    assert.equal(statuses.filter((s) => s === 409).length, 17, `statuses ${statuses}`);
    assert.equal(await count(a, tenant), 3);
  });
});
