import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertRefusal, connect, makeEvent, plainUrl, refusal, testToken, uniqueTenant } from '@tenantcast/testkit';
import { startStack } from '../support/stack.ts';

// Rotating TENANTCAST_SECRET without a flag day: the servers sign with the new secret and accept
// tokens of the previous one (TENANTCAST_SECRET_PREVIOUS) until it is removed.

const OLD = 'the-old-tenantcast-secret-0123456789';
const NEW = 'the-new-tenantcast-secret-0123456789';

test('with TENANTCAST_SECRET_PREVIOUS, the relay and the gateway take tokens of the old secret and the new; a token of neither is refused', async (t) => {
  const stack = await startStack({ relay: { secret: NEW, secretPrevious: OLD }, gateway: { secret: NEW, secretPrevious: OLD } });
  t.after(() => stack.close());
  const tenant = uniqueTenant('rotation');
  for (const secret of [OLD, NEW]) {
    const token = await testToken({ tenants: [tenant] }, secret);
    const res = await fetch(`${stack.relay.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify(makeEvent(tenant)),
    });
    assert.equal(res.status, 202, `the relay took a token of the ${secret === OLD ? 'old' : 'new'} secret`);
    await connect(t, plainUrl(stack.gateway.wsUrl, tenant), { token });
  }
  const neither = await testToken({ tenants: [tenant] }, 'neither-secret-of-this-stack-0123');
  assertRefusal(await refusal(plainUrl(stack.gateway.wsUrl, tenant), { token: neither }), 401, 'TC_ERR_TOKEN_INVALID');
  const refused = await fetch(`${stack.relay.url}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${neither}`, 'content-type': 'application/cloudevents+json' },
    body: JSON.stringify(makeEvent(tenant)),
  });
  assert.equal(refused.status, 401);
});
