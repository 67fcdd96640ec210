import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Accepted, connect, makeEvent, plainUrl, testToken, uniqueTenant } from '@tenantcast/testkit';
import { useGateway } from '../testing/use-gateway.ts';

const stack = useGateway();

/** `count` events of `tenant`, numbered in `data.n`. */
function numbered(tenant: string, count: number, from = 0): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => makeEvent(tenant, { datacontenttype: 'application/json', data: { n: from + i } }));
}

/** Publishes `events` in batches of `size`, one after the other. */
async function publishInBatches(events: Record<string, unknown>[], size: number): Promise<Accepted[]> {
  const accepted: Accepted[] = [];
  for (let i = 0; i < events.length; i += size) accepted.push(...(await stack.writer.publish(events.slice(i, i + size))));
  return accepted;
}

describe('plain CloudEvents mode', () => {
  test('answers with subprotocol cloudevents.json and sends each event as one structured CloudEvent text frame with its relayoffset', async (t) => {
    const { tenant } = await stack.writer.tenantWithHistory('plain');
    const client = await connect(t, plainUrl(stack.gateway.wsUrl, tenant), { token: stack.token });
    assert.equal(client.ws.protocol, 'cloudevents.json');

    const events = [
      makeEvent(tenant, { datacontenttype: 'application/json', data: { hello: 'wörld', nested: { list: [1, 2, 3] } }, subject: 's-1' }),
      makeEvent(tenant, { type: 'com.example.other', data_base64: 'aGVsbG8=' }),
      makeEvent(tenant, { myextension: 42, flag: true }),
    ];
    const accepted = await stack.writer.publish(events);
    await client.received(3);

    assert.equal(client.binaryFrames, 0, 'every frame is a text frame');
    assert.deepEqual(
      client.events.map((e) => e.relayoffset),
      accepted.map((a) => a.offset),
      'relayoffset is the offset the relay answered, in publish order',
    );
    for (const [i, delivered] of client.events.entries()) {
      const { relayoffset, ...event } = delivered;
      assert.equal(typeof relayoffset, 'string');
      assert.deepEqual(event, events[i], 'the delivered event is the published one, attribute for attribute');
    }
  });

  test('offering several subprotocols gets cloudevents.json chosen', async (t) => {
    const tenant = uniqueTenant('choose');
    const client = await connect(t, plainUrl(stack.gateway.wsUrl, tenant), { token: stack.token, protocols: ['mqtt', 'cloudevents.json'] });
    assert.equal(client.ws.protocol, 'cloudevents.json');
  });

  test('a client that offers no subprotocol is served in plain mode without one, as documented', async (t) => {
    const { tenant } = await stack.writer.tenantWithHistory('no-protocol');
    const client = await connect(t, plainUrl(stack.gateway.wsUrl, tenant), { token: stack.token, protocols: [] });
    assert.equal(client.ws.protocol, '');
    const accepted = await stack.writer.publishOne(makeEvent(tenant, { id: 'x' }));
    const received = await client.receivedId('x');
    assert.equal(received.at(-1)!.relayoffset, accepted.offset);
  });

  test('events arrive in publish order across many writes', async (t) => {
    const { tenant } = await stack.writer.tenantWithHistory('order');
    const client = await connect(t, plainUrl(stack.gateway.wsUrl, tenant), { token: stack.token });
    const accepted: Accepted[] = [];
    for (let i = 0; i < 20; i++) accepted.push(...(await stack.writer.publish(numbered(tenant, 5, i * 5))));
    accepted.push(await stack.writer.publishOne(makeEvent(tenant, { data: { n: 100 } })));
    await client.received(accepted.length);
    assert.deepEqual(
      client.events.map((e) => e.relayoffset),
      accepted.map((a) => a.offset),
    );
    assert.deepEqual(
      client.events.map((e) => (e.data as { n: number }).n),
      [...Array.from({ length: 100 }, (_, i) => i), 100],
    );
  });

  test('without after: nothing stored before the upgrade, every event stored after the 101', async (t) => {
    const tenant = uniqueTenant('live');
    await stack.writer.publish(numbered(tenant, 10));

    const client = await connect(t, plainUrl(stack.gateway.wsUrl, tenant), { token: stack.token });
    // Published the moment the socket opens, concurrently: none may fall between the 101 and live delivery.
    const writes = await Promise.all([
      stack.writer.publish(numbered(tenant, 3, 100)),
      stack.writer.publishOne(makeEvent(tenant, { data: { n: 200 } })),
      stack.writer.publish(numbered(tenant, 3, 300)),
    ]);
    const expected = writes
      .flat()
      .map((a) => a.offset)
      .sort(compare);
    const sentinel = await stack.writer.publishOne(makeEvent(tenant, { id: 'sentinel' }));
    const received = await client.receivedId('sentinel');
    assert.deepEqual(
      received.map((e) => e.relayoffset),
      [...expected, sentinel.offset],
    );
  });

  test('a live subscriber of a tenant with no events yet gets the events published right after its 101', async (t) => {
    for (let i = 0; i < 10; i++) {
      const tenant = uniqueTenant('fresh');
      const client = await connect(t, plainUrl(stack.gateway.wsUrl, tenant), { token: stack.token });
      const accepted = await stack.writer.publishOne(makeEvent(tenant, { id: 'first' }));
      const received = await client.receivedId('first', 5000);
      assert.deepEqual(
        received.map((e) => e.relayoffset),
        [accepted.offset],
      );
    }
  });

  test('a second client of a tenant that has one already also gets only what follows its 101', async (t) => {
    const { tenant } = await stack.writer.tenantWithHistory('second');
    const first = await connect(t, plainUrl(stack.gateway.wsUrl, tenant), { token: stack.token });
    const early = await stack.writer.publish(numbered(tenant, 5));
    await first.received(5);
    const second = await connect(t, plainUrl(stack.gateway.wsUrl, tenant), { token: stack.token });
    const late = await stack.writer.publish(numbered(tenant, 5, 5));
    await first.received(10);
    await second.received(5);
    assert.deepEqual(
      first.events.map((e) => e.relayoffset),
      [...early, ...late].map((a) => a.offset),
    );
    assert.deepEqual(
      second.events.map((e) => e.relayoffset),
      late.map((a) => a.offset),
    );
  });

  test('after=<offset>: exactly the stored events after it, then live ones, with no gap and no duplicate while publishing during catch-up', async (t) => {
    // Small pages make the catch-up long enough for live writes to land in the middle of it.
    const paged = await stack.startGateway(t, { catchUpPageSize: 100 });
    const tenant = uniqueTenant('resume');
    const backlog = await publishInBatches(numbered(tenant, 2000), 250);
    const from = backlog[99]!.offset;

    const connecting = connect(t, plainUrl(paged.wsUrl, tenant, { after: from }), { token: stack.token });
    const concurrent: Accepted[] = [];
    for (let i = 0; i < 30; i++) concurrent.push(...(await stack.writer.publish(numbered(tenant, 10, 10_000 + i * 10))));
    const client = await connecting;
    const sentinel = await stack.writer.publishOne(makeEvent(tenant, { id: 'sentinel' }));

    const received = await client.receivedId('sentinel', 20_000);
    const expected = [...backlog.slice(100), ...concurrent, sentinel].map((a) => a.offset);
    assert.equal(received.length, expected.length, 'as many events as were stored after the offset');
    assert.deepEqual(
      received.map((e) => e.relayoffset),
      expected,
    );
    assert.equal(client.messages.length, expected.length, 'nothing after the sentinel either');
  });

  test('retention trimming during a catch-up never skips events in silence: the client gets a gap-free run, then everything or 4010', async (t) => {
    // Streams keep about 300 entries; trimming drops whole stream nodes (100 entries) at the head.
    const trimming = await stack.startWriter(t, { streamMaxLen: 300 });
    // One event per page: the catch-up takes many round trips, while writes trim the stream under it.
    const slow = await stack.startGateway(t, { keyPrefix: trimming.keyPrefix, catchUpPageSize: 1 });
    const tenant = uniqueTenant('trim-race');
    const stored: Accepted[] = [...(await trimming.publish(numbered(tenant, 400)))];
    const outcomes: string[] = [];
    for (let round = 0; round < 4; round++) {
      const from = stored.at(-250)!.offset;
      const client = await connect(t, plainUrl(slow.wsUrl, tenant, { after: from }), { token: stack.token });
      for (let i = 0; i < 5; i++) stored.push(...(await trimming.publish(numbered(tenant, 200))));
      const last = stored.at(-1)!.offset;
      await client.until(
        () => client.closeInfo !== undefined || client.events.some((e) => e.relayoffset === last),
        'everything, or a close',
        20_000,
      );
      const all = stored.map((a) => a.offset);
      const start = all.indexOf(from) + 1;
      const got = client.events.map((e) => e.relayoffset);
      assert.deepEqual(got, all.slice(start, start + got.length), 'a gap-free run right after the offset');
      if (client.closeInfo === undefined) {
        assert.equal(got.length, all.length - start);
        outcomes.push('complete');
      } else {
        assert.equal(client.closeInfo.code, 4010, client.closeInfo.reason);
        outcomes.push('4010');
      }
      client.ws.close();
    }
    t.diagnostic(`outcomes: ${outcomes.join(', ')}`);
  });

  test('after=<offset> on a tenant with no live traffic delivers the backlog and then what comes next', async (t) => {
    const tenant = uniqueTenant('backlog');
    const stored = await stack.writer.publish(numbered(tenant, 50));
    const client = await connect(t, plainUrl(stack.gateway.wsUrl, tenant, { after: stored[9]!.offset }), { token: stack.token });
    await client.received(40);
    const live = await stack.writer.publish(numbered(tenant, 3, 50));
    await client.received(43);
    assert.deepEqual(
      client.events.map((e) => e.relayoffset),
      [...stored.slice(10), ...live].map((a) => a.offset),
    );
  });

  test('after=<the last offset> delivers nothing stored, then live events', async (t) => {
    const tenant = uniqueTenant('at-end');
    const stored = await stack.writer.publish(numbered(tenant, 5));
    const client = await connect(t, plainUrl(stack.gateway.wsUrl, tenant, { after: stored[4]!.offset }), { token: stack.token });
    const live = await stack.writer.publishOne(makeEvent(tenant, { id: 'next' }));
    const received = await client.receivedId('next');
    assert.deepEqual(
      received.map((e) => e.relayoffset),
      [live.offset],
    );
  });

  test('after=0 delivers every retained event', async (t) => {
    const tenant = uniqueTenant('from-zero');
    const stored = await stack.writer.publish(numbered(tenant, 25));
    const client = await connect(t, plainUrl(stack.gateway.wsUrl, tenant, { after: '0' }), { token: stack.token });
    await client.received(25);
    assert.deepEqual(
      client.events.map((e) => e.relayoffset),
      stored.map((a) => a.offset),
    );
  });

  test('after=0 on a tenant with no events yet delivers its first events', async (t) => {
    const tenant = uniqueTenant('empty');
    const client = await connect(t, plainUrl(stack.gateway.wsUrl, tenant, { after: '0' }), { token: stack.token });
    const stored = await stack.writer.publish(numbered(tenant, 2));
    await client.received(2);
    assert.deepEqual(
      client.events.map((e) => e.relayoffset),
      stored.map((a) => a.offset),
    );
  });

  test('the token may come in the Authorization header or in ?token=', async (t) => {
    const { tenant } = await stack.writer.tenantWithHistory('token');
    const subscribeOnly = await testToken({ scope: 'subscribe', tenants: [tenant] });
    const viaHeader = await connect(t, plainUrl(stack.gateway.wsUrl, tenant), { token: subscribeOnly });
    const viaQuery = await connect(t, plainUrl(stack.gateway.wsUrl, tenant, { token: subscribeOnly }));
    const accepted = await stack.writer.publishOne(makeEvent(tenant));
    await viaHeader.received(1);
    await viaQuery.received(1);
    assert.equal(viaHeader.events[0]!.relayoffset, accepted.offset);
    assert.equal(viaQuery.events[0]!.relayoffset, accepted.offset);
  });

  test('duplicates the relay refuses to store are not delivered again', async (t) => {
    const { tenant } = await stack.writer.tenantWithHistory('dupe');
    const client = await connect(t, plainUrl(stack.gateway.wsUrl, tenant), { token: stack.token });
    const event = makeEvent(tenant, { id: 'once' });
    const first = await stack.writer.publishOne(event);
    const again = await stack.writer.publishOne(event);
    assert.equal(again.duplicate, true);
    await stack.writer.publishOne(makeEvent(tenant, { id: 'sentinel' }));
    const received = await client.receivedId('sentinel');
    assert.deepEqual(
      received.map((e) => e.id),
      ['once', 'sentinel'],
    );
    assert.equal(received[0]!.relayoffset, first.offset);
  });
});

/** Orders stream offsets numerically. */
function compare(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
  return am === bm ? Number(as - bs) : am < bm ? -1 : 1;
}
