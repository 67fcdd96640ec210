import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startGateway, type TestGateway } from '@tenantcast/gateway/testing';
import { assertRefusal, connect, makeEvent, plainUrl, publishOne, refusal, uniqueTenant } from '@tenantcast/testkit';
import { useStack } from '../../support/stack.ts';

// The gateway's origin policy at the upgrade, with the allowed origins the relay learns from Qlik's
// web-integration events (created, updated, deleted): it needs both apps.

/** The suite's gateway enforces the origin policy. */
const stack = useStack({ gateway: { originPolicy: 'enforce' } });

/** Publishes a web-integration event (valid per the Qlik schema) for `tenant`. */
async function webIntegration(tenant: string, change: 'created' | 'updated' | 'deleted', data: Record<string, unknown>, core = false) {
  const type = `com.qlik.${core ? 'core.' : ''}web-integration.${change}`;
  await publishOne(
    stack.relay.url,
    stack.token,
    makeEvent(tenant, { type, source: 'com.qlik/web-integrations', datacontenttype: 'application/json', data }),
  );
}

/** Whether a browser upgrade from `origin` is accepted; asserts the refusal's shape when it is not. */
async function accepts(
  gateway: TestGateway,
  tenant: string,
  origin: string | undefined,
  t: { after(fn: () => unknown): void },
): Promise<boolean> {
  const headers: Record<string, string> = origin === undefined ? {} : { origin };
  try {
    const client = await connect(t, plainUrl(gateway.wsUrl, tenant), { token: stack.token, headers });
    client.ws.close();
    return true;
  } catch {
    assertRefusal(await refusal(plainUrl(gateway.wsUrl, tenant), { token: stack.token, headers }), 403, 'TC_ERR_FORBIDDEN_ORIGIN');
    return false;
  }
}

describe('origin policy, enforced', () => {
  test('created, updated and deleted web-integration events decide which browser origins may connect', async (t) => {
    const tenant = uniqueTenant('web');
    await webIntegration(tenant, 'created', { id: 'wi-1', name: 'Web app', validOrigins: ['https://app.example'] });

    assert.equal(await accepts(stack.gateway, tenant, 'https://app.example', t), true);
    const refused = await refusal(plainUrl(stack.gateway.wsUrl, tenant), {
      token: stack.token,
      headers: { origin: 'https://evil.example' },
    });
    assertRefusal(refused, 403, 'TC_ERR_FORBIDDEN_ORIGIN');
    assert.match(refused.body.error.message, /validOrigins|web integration/);
    assert.equal(await accepts(stack.gateway, tenant, undefined, t), true, 'a client without Origin (not a browser) is not subject to it');

    await webIntegration(tenant, 'updated', {
      id: 'wi-1',
      updates: [{ property: 'validOrigins', oldValue: '["https://app.example"]', newValue: '["https://new.example"]' }],
    });
    assert.equal(await accepts(stack.gateway, tenant, 'https://new.example', t), true);
    assert.equal(await accepts(stack.gateway, tenant, 'https://app.example', t), false);

    await webIntegration(tenant, 'deleted', { id: 'wi-1' });
    assert.equal(await accepts(stack.gateway, tenant, 'https://new.example', t), false);
    assert.equal(await accepts(stack.gateway, tenant, undefined, t), true);
  });

  test("a tenant's allowed origins are the union of its integrations; deleting one keeps the others", async (t) => {
    const tenant = uniqueTenant('union');
    await webIntegration(tenant, 'created', { id: 'wi-1', name: 'One', validOrigins: ['https://one.example'] });
    await webIntegration(tenant, 'created', { id: 'wi-2', name: 'Two', validOrigins: ['two.example'] }, true);
    assert.equal(await accepts(stack.gateway, tenant, 'https://one.example', t), true);
    assert.equal(await accepts(stack.gateway, tenant, 'http://two.example:8080', t), true, 'a bare host name, any scheme and port');
    await webIntegration(tenant, 'deleted', { id: 'wi-1' }, true);
    assert.equal(await accepts(stack.gateway, tenant, 'https://one.example', t), false);
    assert.equal(await accepts(stack.gateway, tenant, 'https://two.example', t), true);
  });

  test("another tenant's integrations allow nothing here, and a tenant with none refuses every browser", async (t) => {
    const owner = uniqueTenant('owner');
    const stranger = uniqueTenant('stranger');
    await webIntegration(owner, 'created', { id: 'wi-1', name: 'Owner', validOrigins: ['https://owner.example'] });
    await publishOne(stack.relay.url, stack.token, makeEvent(stranger, { id: 'history' }));
    assert.equal(await accepts(stack.gateway, owner, 'https://owner.example', t), true);
    assert.equal(await accepts(stack.gateway, stranger, 'https://owner.example', t), false);
    assert.equal(await accepts(stack.gateway, stranger, undefined, t), true);
  });

  test('an updated event that carries validOrigins directly, or a comma-separated newValue, sets them', async (t) => {
    const tenant = uniqueTenant('update-forms');
    await webIntegration(tenant, 'created', { id: 'wi-1', name: 'Web', validOrigins: ['https://a.example'] });
    await webIntegration(tenant, 'updated', {
      id: 'wi-1',
      updates: [{ property: 'validOrigins', newValue: 'https://b.example, c.example' }],
    });
    assert.equal(await accepts(stack.gateway, tenant, 'https://a.example', t), false);
    assert.equal(await accepts(stack.gateway, tenant, 'https://b.example', t), true);
    assert.equal(await accepts(stack.gateway, tenant, 'https://c.example', t), true);
    // An update of another property leaves the origins alone.
    await webIntegration(tenant, 'updated', { id: 'wi-1', updates: [{ property: 'name', oldValue: 'Web', newValue: 'Web 2' }] });
    assert.equal(await accepts(stack.gateway, tenant, 'https://b.example', t), true);
  });

  test('multiplexed mode applies the policy to each subscription', async (t) => {
    const tenant = uniqueTenant('mux-origin');
    await webIntegration(tenant, 'created', { id: 'wi-1', name: 'Web', validOrigins: ['https://app.example'] });
    const other = uniqueTenant('mux-other');
    await webIntegration(other, 'created', { id: 'wi-9', name: 'Other', validOrigins: ['https://elsewhere.example'] });
    const client = await connect(t, `${stack.gateway.wsUrl}/v1/connect`, {
      token: stack.token,
      protocols: ['tenantcast.v1'],
      headers: { origin: 'https://app.example' },
    });
    client.send({ op: 'subscribe', id: 'allowed', tenantid: tenant });
    await client.until(() => client.messages.some((m) => m.id === 'allowed'), 'the reply to "allowed"');
    client.send({ op: 'subscribe', id: 'refused', tenantid: other });
    await client.until(() => client.messages.some((m) => m.id === 'refused'), 'the reply to "refused"');
    assert.deepEqual(
      client.messages.map((m) => [m.op, m.id, m.code]),
      [
        ['subscribed', 'allowed', undefined],
        ['error', 'refused', 'TC_ERR_FORBIDDEN_ORIGIN'],
      ],
    );
  });
});

describe('origin policy, off', () => {
  test('any origin connects', async (t) => {
    const open = await startGateway(stack.redis, { keyPrefix: stack.relay.config.keyPrefix, originPolicy: 'off' });
    t.after(() => open.close());
    const tenant = uniqueTenant('open');
    await webIntegration(tenant, 'created', { id: 'wi-1', name: 'Web', validOrigins: ['https://app.example'] });
    for (const origin of ['https://evil.example', 'null', 'https://app.example']) {
      const client = await connect(t, plainUrl(open.wsUrl, tenant), { token: stack.token, headers: { origin } });
      client.ws.close();
    }
    assert.equal(open.config.originPolicy, 'off');
  });
});
