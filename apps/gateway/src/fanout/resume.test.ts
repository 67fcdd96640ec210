import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type RedisServer, startGateway, startRedisServer, startRelay, type TestRelay } from '@tenantcast/testkit';
import { Redis } from 'ioredis';
import { type Accepted, connect, eventually, makeEvent, plainUrl, publish, publishOne, tenantOf } from '../testing/clients.ts';

let redis: RedisServer | undefined;
let relay: TestRelay | undefined;
let token: string;
/** A plain client of the suite's Redis, to look at channel subscriptions. */
let inspector: Redis | undefined;

before(async () => {
  // AOF with fsync on every write, so that a restarted Redis still holds the streams.
  redis = await startRedisServer({ appendonly: true, fsync: 'always' });
  relay = await startRelay(redis.url);
  token = await relay.token({});
  inspector = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  inspector.on('error', () => {});
});

after(async () => {
  try {
    inspector?.disconnect();
    await relay?.close();
  } finally {
    await redis?.stop();
  }
});

const startTestGateway = () => startGateway(redis!.url, { keyPrefix: relay!.config.keyPrefix });

/** `count` events of `tenant`, numbered in `data.n`. */
function numbered(tenant: string, count: number, from = 0): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => makeEvent(tenant, { data: { n: from + i } }));
}

/** Subscriber count of a tenant's live channel, across every gateway on this Redis. */
async function channelSubscribers(tenant: string): Promise<number> {
  const [, count] = (await inspector!.pubsub('NUMSUB', `${relay!.config.keyPrefix}{${tenant}}:live`)) as [string, number];
  return Number(count);
}

describe('resume across a gateway restart', () => {
  test('a client of a closed gateway reconnects to a new one with after=<last relayoffset> and gets exactly the missed events, then live ones', async (t) => {
    const tenant = tenantOf('restart');
    await publishOne(relay!.url, token, makeEvent(tenant, { id: 'history' }));
    const g1 = await startTestGateway();
    t.after(() => g1.close());
    const before = await connect(t, plainUrl(g1.wsUrl, tenant), { token });
    const seen = await publish(relay!.url, token, numbered(tenant, 5));
    await before.received(5);

    await g1.close();
    const { code } = await before.closedWith();
    assert.equal(code, 1001, 'a gateway going away closes its clients with 1001');

    const missed: Accepted[] = [];
    for (let i = 0; i < 3; i++) missed.push(...(await publish(relay!.url, token, numbered(tenant, 4, 100 + i * 4))));

    const g2 = await startTestGateway();
    t.after(() => g2.close());
    const last = before.events.at(-1)!.relayoffset;
    assert.equal(last, seen.at(-1)!.offset);
    const after = await connect(t, plainUrl(g2.wsUrl, tenant, { after: last }), { token });
    await after.received(missed.length);
    const live = await publish(relay!.url, token, numbered(tenant, 3, 200));
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
    const tenant = tenantOf('pair');
    await publishOne(relay!.url, token, makeEvent(tenant, { id: 'history' }));
    const g1 = await startTestGateway();
    t.after(() => g1.close());
    const g2 = await startTestGateway();
    t.after(() => g2.close());
    const clients = [];
    for (const g of [g1, g2, g1, g2, g1, g2]) clients.push(await connect(t, plainUrl(g.wsUrl, tenant), { token }));

    const accepted: Accepted[] = [];
    for (let i = 0; i < 10; i++) accepted.push(...(await publish(relay!.url, token, numbered(tenant, 5, i * 5))));
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
    const during = await publish(relay!.url, token, numbered(tenant, 3, 1000));
    const moved = await connect(t, plainUrl(g2.wsUrl, tenant, { after: moving.events.at(-1)!.relayoffset }), { token });
    await moved.received(3);
    assert.deepEqual(
      moved.events.map((e) => e.relayoffset),
      during.map((a) => a.offset),
    );
  });

  test("a gateway drops a tenant's channel subscription when its last client of the tenant leaves", async (t) => {
    const tenant = tenantOf('drop');
    await publishOne(relay!.url, token, makeEvent(tenant, { id: 'history' }));
    const g = await startTestGateway();
    t.after(() => g.close());
    const one = await connect(t, plainUrl(g.wsUrl, tenant), { token });
    const two = await connect(t, plainUrl(g.wsUrl, tenant), { token });
    assert.equal(await channelSubscribers(tenant), 1);
    one.ws.close();
    await one.closedWith();
    // Still one client: still subscribed, still delivering.
    await publishOne(relay!.url, token, makeEvent(tenant, { id: 'still' }));
    await two.receivedId('still');
    assert.equal(await channelSubscribers(tenant), 1);
    two.ws.close();
    await two.closedWith();
    await eventually(async () => (await channelSubscribers(tenant)) === 0, 'the channel subscription to be dropped');

    // And a new client brings it back.
    const three = await connect(t, plainUrl(g.wsUrl, tenant), { token });
    await publishOne(relay!.url, token, makeEvent(tenant, { id: 'again' }));
    await three.receivedId('again');
    assert.equal(await channelSubscribers(tenant), 1);
  });
});

describe('Redis restart', () => {
  test('connected clients get, in order and without duplicates, what is published once Redis is back', async (t) => {
    const tenant = tenantOf('redis-restart');
    await publishOne(relay!.url, token, makeEvent(tenant, { id: 'history' }));
    const g = await startTestGateway();
    t.after(() => g.close());
    const client = await connect(t, plainUrl(g.wsUrl, tenant), { token });
    const first = await publish(relay!.url, token, numbered(tenant, 3));
    await client.received(3);

    await redis!.kill();
    await redis!.restart();
    // The relay and the gateway reconnect by themselves; publish until the relay takes writes again.
    const later: Accepted[] = [];
    await eventually(
      async () => {
        try {
          later.push(await publishOne(relay!.url, token, makeEvent(tenant, { id: 'after-restart' })));
          return true;
        } catch {
          return false;
        }
      },
      'the relay to accept writes again',
      15_000,
    );
    // Delivered by itself, not only once a later notification reveals the gap.
    await client.receivedId('after-restart', 15_000);
    later.push(...(await publish(relay!.url, token, numbered(tenant, 3, 10))));
    await client.received(first.length + later.length, 15_000);
    assert.deepEqual(
      client.events.map((e) => e.relayoffset),
      [...first, ...later].map((a) => a.offset),
    );
  });
});
