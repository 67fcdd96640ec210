import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEvent, RelayClient, TenantcastError } from '@tenantcast/sdk';
import { useRelayStack } from '../support/stack.ts';

const stack = useRelayStack();

test('RelayClient.history pages through a tenant’s stored events oldest first, from after an offset to the end', async (t) => {
  const tenant = 'sdk-history';
  const client = new RelayClient({
    url: stack.relay.url,
    token: await stack.relay.token({ scope: 'publish subscribe', tenants: [tenant] }),
  });
  t.after(() => client.close());
  const ids = Array.from({ length: 7 }, (_, i) => `h-${i}`);
  const published = await client.publish(
    ids.map((id) => createEvent('com.qlik.web-integration.deleted', { id, source: 'sdk-history', tenantid: tenant, data: { id } })),
  );

  const pages: string[][] = [];
  for await (const page of client.history(tenant, { limit: 3 })) pages.push(page.map(({ event }) => event.id));
  assert.deepEqual(pages, [ids.slice(0, 3), ids.slice(3, 6), ids.slice(6)]);

  const after: string[] = [];
  for await (const page of client.history(tenant, { after: published[4]!.offset })) {
    for (const { offset, event } of page) after.push(`${event.id}@${offset}`);
  }
  assert.deepEqual(after, [`h-5@${published[5]!.offset}`, `h-6@${published[6]!.offset}`]);

  const bad = client.history(tenant, { after: 'yesterday' });
  await assert.rejects(bad.next(), (error: TenantcastError) => {
    assert.ok(error instanceof TenantcastError);
    assert.equal(error.status, 400);
    assert.match(error.message, /TC_ERR_BAD_OFFSET/);
    return true;
  });
});
