import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Accepted, connect, makeEvent, plainUrl, uniqueTenant, until } from '@tenantcast/testkit';
import { useGateway } from '../testing/use-gateway.ts';

// AOF with fsync on every write, so that a restarted Redis still holds the streams. Each test starts
// the gateways it needs on the suite's Redis and key prefix.
const stack = useGateway({ redis: { appendonly: true, fsync: 'always' } });

/** `count` events of `tenant`, numbered in `data.n`. */
function numbered(tenant: string, count: number, from = 0): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => makeEvent(tenant, { data: { n: from + i } }));
}

/** Subscriber count of a tenant's live channel, across every gateway on this Redis. */
async function channelSubscribers(tenant: string): Promise<number> {
  const [, count] = (await stack.writer.redis.pubsub('NUMSUB', `${stack.writer.keyPrefix}{${tenant}}:live`)) as [string, number];
  return Number(count);
}

describe('resume across a gateway restart', () => {
  test('a client of a closed gateway reconnects to a new one with after=<last relayoffset> and gets exactly the missed events, then live ones', async (t) => {
    const tenant = uniqueTenant('restart');
    await stack.writer.publishOne(makeEvent(tenant, { id: 'history' }));
    const g1 = await stack.startGateway(t);
    const before = await connect(t, plainUrl(g1.wsUrl, tenant), { token: stack.token });
    const seen = await stack.writer.publish(numbered(tenant, 5));
    await before.received(5);

    await g1.close();
    const { code } = await before.closedWith();
    assert.equal(code, 1001, 'a gateway going away closes its clients with 1001');

    const missed: Accepted[] = [];
    for (let i = 0; i < 3; i++) missed.push(...(await stack.writer.publish(numbered(tenant, 4, 100 + i * 4))));

    const g2 = await stack.startGateway(t);
    const last = before.events.at(-1)!.relayoffset;
    assert.equal(last, seen.at(-1)!.offset);
    const after = await connect(t, plainUrl(g2.wsUrl, tenant, { after: last }), { token: stack.token });
    await after.received(missed.length);
    const live = await stack.writer.publish(numbered(tenant, 3, 200));
    await after.received(missed.length + live.length);
    assert.deepEqual(
      after.events.map((e) => e.relayoffset),
      [...missed, ...live].map((a) => a.offset),
    );
    // Together, the two connections saw every event once, in order.
    assert.deepEqual(
      [...before.events, ...after.events].map((e) => (e.data as { n: number }).n),
      [0, 1, 2, 3, 4, ...Array.from({ length: 12 }, (_, i) => 100 + i), 200, 201, 202],
    );
  });
});

describe('gateways side by side', () => {
  test('two gateways on one Redis both deliver every event to their clients, in order, with no sticky sessions', async (t) => {
    const tenant = uniqueTenant('pair');
    await stack.writer.publishOne(makeEvent(tenant, { id: 'history' }));
    const g1 = await stack.startGateway(t);
    const g2 = await stack.startGateway(t);
    const clients = [];
    for (const g of [g1, g2, g1, g2, g1, g2]) clients.push(await connect(t, plainUrl(g.wsUrl, tenant), { token: stack.token }));

    const accepted: Accepted[] = [];
    for (let i = 0; i < 10; i++) accepted.push(...(await stack.writer.publish(numbered(tenant, 5, i * 5))));
    for (const client of clients) {
      await client.received(accepted.length);
      assert.deepEqual(
        client.events.map((e) => e.relayoffset),
        accepted.map((a) => a.offset),
      );
    }

    // One channel subscription per tenant per gateway, however many clients it has there.
    assert.equal(await channelSubscribers(tenant), 2);

    // A client that moves to the other gateway resumes there without a gap.
    const moving = clients[0]!;
    moving.ws.close();
    await moving.closedWith();
    const during = await stack.writer.publish(numbered(tenant, 3, 1000));
    const moved = await connect(t, plainUrl(g2.wsUrl, tenant, { after: moving.events.at(-1)!.relayoffset }), { token: stack.token });
    await moved.received(3);
    assert.deepEqual(
      moved.events.map((e) => e.relayoffset),
      during.map((a) => a.offset),
    );
  });

  test("a gateway drops a tenant's channel subscription when its last client of the tenant leaves", async (t) => {
    const tenant = uniqueTenant('drop');
    await stack.writer.publishOne(makeEvent(tenant, { id: 'history' }));
    const g = await stack.startGateway(t);
    const one = await connect(t, plainUrl(g.wsUrl, tenant), { token: stack.token });
    const two = await connect(t, plainUrl(g.wsUrl, tenant), { token: stack.token });
    assert.equal(await channelSubscribers(tenant), 1);
    one.ws.close();
    await one.closedWith();
    // Still one client: still subscribed, still delivering.
    await stack.writer.publishOne(makeEvent(tenant, { id: 'still' }));
    await two.receivedId('still');
    assert.equal(await channelSubscribers(tenant), 1);
    two.ws.close();
    await two.closedWith();
    await until(async () => (await channelSubscribers(tenant)) === 0, 'the channel subscription to be dropped');

    // And a new client brings it back.
    const three = await connect(t, plainUrl(g.wsUrl, tenant), { token: stack.token });
    await stack.writer.publishOne(makeEvent(tenant, { id: 'again' }));
    await three.receivedId('again');
    assert.equal(await channelSubscribers(tenant), 1);
  });
});

describe('Redis restart', () => {
  test('connected clients get, in order and without duplicates, what is published once Redis is back', async (t) => {
    const tenant = uniqueTenant('redis-restart');
    await stack.writer.publishOne(makeEvent(tenant, { id: 'history' }));
    const g = await stack.startGateway(t);
    const client = await connect(t, plainUrl(g.wsUrl, tenant), { token: stack.token });
    const first = await stack.writer.publish(numbered(tenant, 3));
    await client.received(3);

    await stack.redis.kill();
    await stack.redis.restart();
    // The writer and the gateway reconnect by themselves; publish until Redis takes writes again.
    const later: Accepted[] = [];
    await until(
      async () => {
        try {
          later.push(await stack.writer.publishOne(makeEvent(tenant, { id: 'after-restart' })));
          return true;
        } catch {
          return false;
        }
      },
      'Redis to accept writes again',
      15_000,
    );
    // Delivered by itself, not only once a later notification reveals the gap.
    await client.receivedId('after-restart', 15_000);
    later.push(...(await stack.writer.publish(numbered(tenant, 3, 10))));
    await client.received(first.length + later.length, 15_000);
    assert.deepEqual(
      client.events.map((e) => e.relayoffset),
      [...first, ...later].map((a) => a.offset),
    );
  });
});
