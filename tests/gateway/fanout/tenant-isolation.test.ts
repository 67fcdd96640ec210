import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connect, makeEvent, plainUrl, publishOne } from '@tenantcast/testkit';
import { useStack } from '../../support/stack.ts';

// Tenant isolation through the relay and the gateway together (the gateway's own tests store events
// without a relay: apps/gateway/src/fanout/tenant-isolation.test.ts).

const stack = useStack();

describe('tenant isolation', () => {
  // The relay once answered 500 for them.
  test('tenants named like Object.prototype members can publish and subscribe', async (t) => {
    const publisher = await stack.relay.token({ scope: 'publish', tenants: ['*'] });
    const star = await stack.relay.token({ scope: 'subscribe', tenants: ['*'] });
    for (const tenant of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      await publishOne(stack.relay.url, publisher, makeEvent(tenant, { id: 'history' }));
      const client = await connect(t, plainUrl(stack.gateway.wsUrl, tenant), { token: star });
      const accepted = await publishOne(stack.relay.url, publisher, makeEvent(tenant, { id: `only-${tenant}` }));
      const received = await client.receivedId(`only-${tenant}`, 3000);
      assert.deepEqual(
        received.map((e) => [e.tenantid, e.relayoffset]),
        [[tenant, accepted.offset]],
      );
    }
  });
});
