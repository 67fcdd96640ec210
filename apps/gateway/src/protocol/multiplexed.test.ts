import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Accepted, type Cleanup, connect, makeEvent, refusal, type TestClient, testToken, uniqueTenant } from '@tenantcast/testkit';
import type { TestGateway } from '../testing/start-gateway.ts';
import { useGateway } from '../testing/use-gateway.ts';

const stack = useGateway();

type Message = Record<string, unknown> & { op: string; id?: string };
type EventMessage = { op: 'event'; id: string; event: Record<string, unknown> & { relayoffset: string; id: string; tenantid: string } };

/** A multiplexed connection (subprotocol tenantcast.v1). */
function openMux(t: Cleanup, options: { token?: string; gateway?: TestGateway } = {}): Promise<TestClient> {
  return connect(t, `${(options.gateway ?? stack.gateway).wsUrl}/v1/connect`, {
    token: options.token ?? stack.token,
    protocols: ['tenantcast.v1'],
  });
}

/** The messages of a connection, typed. */
const messagesOf = (client: TestClient) => client.messages as Message[];

/** Sends a request and waits for the reply of subscription `id` that is not an event. */
async function request(client: TestClient, message: Record<string, unknown>): Promise<Message> {
  const before = client.messages.length;
  client.send(message);
  const isReply = (m: Message) => m.id === message.id && m.op !== 'event';
  await client.until(() => messagesOf(client).slice(before).some(isReply), `the reply to ${JSON.stringify(message)}`);
  return messagesOf(client).slice(before).find(isReply)!;
}

/** Events delivered to subscription `id`, in arrival order. */
const eventsOf = (client: TestClient, id: string) =>
  messagesOf(client)
    .filter((m): m is Message & EventMessage => m.op === 'event' && m.id === id)
    .map((m) => m.event);

/** Waits until subscription `id` has an event with this CloudEvents id. */
const receivedFor = (client: TestClient, id: string, eventId: string, timeoutMs?: number) =>
  client.until(() => eventsOf(client, id).some((e) => e.id === eventId), `event ${eventId} on subscription ${id}`, timeoutMs);

describe('multiplexed mode', () => {
  test('answers with subprotocol tenantcast.v1', async (t) => {
    const client = await openMux(t);
    assert.equal(client.ws.protocol, 'tenantcast.v1');
  });

  test('two subscriptions with different tenants, filters and after each get their own events, tagged with their id', async (t) => {
    const { tenant: a } = await stack.writer.tenantWithHistory('mux-a');
    const { tenant: b } = await stack.writer.tenantWithHistory('mux-b');
    const backlog = await stack.writer.publish([
      makeEvent(a, { id: 'a0', type: 'com.example.keep' }),
      makeEvent(a, { id: 'a1', type: 'com.example.keep' }),
      makeEvent(a, { id: 'a2', type: 'com.example.drop' }),
      makeEvent(a, { id: 'a3', type: 'com.example.keep' }),
    ]);
    const lastOfB = (await stack.writer.publishOne(makeEvent(b, { id: 'b-old' }))).offset;

    const client = await openMux(t);
    const s1 = await request(client, {
      op: 'subscribe',
      id: 'one',
      tenantid: a,
      filters: [{ exact: { type: 'com.example.keep' } }],
      after: backlog[0]!.offset,
    });
    assert.deepEqual(s1, { op: 'subscribed', id: 'one', tenantid: a, after: backlog[0]!.offset });
    const s2 = await request(client, { op: 'subscribe', id: 'two', tenantid: b });
    assert.deepEqual(s2, { op: 'subscribed', id: 'two', tenantid: b, after: lastOfB }, 'a live subscription starts at the last offset');

    const liveA = await stack.writer.publish([
      makeEvent(a, { id: 'a4', type: 'com.example.drop' }),
      makeEvent(a, { id: 'a5', type: 'com.example.keep' }),
    ]);
    const liveB = await stack.writer.publish([makeEvent(b, { id: 'b1' }), makeEvent(b, { id: 'b2' })]);
    await receivedFor(client, 'one', 'a5');
    await receivedFor(client, 'two', 'b2');

    assert.deepEqual(
      eventsOf(client, 'one').map((e) => [e.id, e.relayoffset]),
      [
        ['a1', backlog[1]!.offset],
        ['a3', backlog[3]!.offset],
        ['a5', liveA[1]!.offset],
      ],
    );
    assert.deepEqual(
      eventsOf(client, 'two').map((e) => [e.id, e.relayoffset, e.tenantid]),
      [
        ['b1', liveB[0]!.offset, b],
        ['b2', liveB[1]!.offset, b],
      ],
    );
    for (const m of messagesOf(client)) assert.ok(['subscribed', 'event'].includes(m.op), JSON.stringify(m));
  });

  test('after "0" gets every retained event of the tenant', async (t) => {
    const { tenant, history } = await stack.writer.tenantWithHistory('mux-zero');
    const more = await stack.writer.publish([makeEvent(tenant, { id: 'e1' }), makeEvent(tenant, { id: 'e2' })]);
    const client = await openMux(t);
    assert.equal((await request(client, { op: 'subscribe', id: 'z', tenantid: tenant, after: '0' })).after, '0');
    await receivedFor(client, 'z', 'e2');
    assert.deepEqual(
      eventsOf(client, 'z').map((e) => e.relayoffset),
      [history, ...more].map((a) => a.offset),
    );
  });

  test('unsubscribe is acknowledged and stops delivery; the other subscription goes on', async (t) => {
    const { tenant } = await stack.writer.tenantWithHistory('mux-unsub');
    const client = await openMux(t);
    await request(client, { op: 'subscribe', id: 'stay', tenantid: tenant });
    await request(client, { op: 'subscribe', id: 'leave', tenantid: tenant });
    await stack.writer.publishOne(makeEvent(tenant, { id: 'both' }));
    await receivedFor(client, 'leave', 'both');
    await receivedFor(client, 'stay', 'both');

    assert.deepEqual(await request(client, { op: 'unsubscribe', id: 'leave' }), { op: 'unsubscribed', id: 'leave' });
    await stack.writer.publishOne(makeEvent(tenant, { id: 'only-stay' }));
    // Both subscriptions share the tenant's fan-out and the connection: a copy for "leave" would come in order.
    await receivedFor(client, 'stay', 'only-stay');
    assert.deepEqual(
      eventsOf(client, 'leave').map((e) => e.id),
      ['both'],
    );
    assert.deepEqual(
      eventsOf(client, 'stay').map((e) => e.id),
      ['both', 'only-stay'],
    );

    // The id can be used again, and an unknown id is acknowledged too.
    assert.equal((await request(client, { op: 'subscribe', id: 'leave', tenantid: tenant })).op, 'subscribed');
    assert.deepEqual(await request(client, { op: 'unsubscribe', id: 'never' }), { op: 'unsubscribed', id: 'never' });
  });

  test('refused subscriptions get an error message and leave the connection open', async (t) => {
    const { tenant } = await stack.writer.tenantWithHistory('mux-errors');
    const acmeOnly = await testToken({ scope: 'subscribe', tenants: [tenant] });
    const client = await openMux(t, { token: acmeOnly });
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ tenantid: 'someone-else' }, 'TC_ERR_FORBIDDEN_TENANT'],
      [{ tenantid: 'a*b' }, 'TC_ERR_BAD_TENANT_ID'],
      [{ tenantid: 7 }, 'TC_ERR_BAD_TENANT_ID'],
      [{}, 'TC_ERR_BAD_TENANT_ID'],
      [{ tenantid: tenant, filters: [{ sql: "type = 'x'" }] }, 'TC_ERR_BAD_FILTER'],
      [{ tenantid: tenant, filters: { exact: { type: 'x' } } }, 'TC_ERR_BAD_FILTER'],
      [{ tenantid: tenant, filters: '[{"exact":{"type":"x"}}]' }, 'TC_ERR_BAD_FILTER'],
      [{ tenantid: tenant, after: 'abc' }, 'TC_ERR_BAD_OFFSET'],
      [{ tenantid: tenant, after: 5 }, 'TC_ERR_BAD_OFFSET'],
      [{ tenantid: tenant, after: '18446744073709551616-0' }, 'TC_ERR_BAD_OFFSET'],
    ];
    for (const [i, [fields, code]] of cases.entries()) {
      const reply = await request(client, { op: 'subscribe', id: `bad-${i}`, ...fields });
      assert.equal(reply.op, 'error', JSON.stringify(reply));
      assert.equal(reply.code, code, JSON.stringify(fields));
      assert.equal(typeof reply.message, 'string');
      assert.ok((reply.message as string).length > 0);
    }
    // Still open, and still serving.
    assert.equal(client.closeInfo, undefined);
    assert.equal((await request(client, { op: 'subscribe', id: 'good', tenantid: tenant })).op, 'subscribed');
  });

  test('a subscription id in use is refused (TC_ERR_BAD_REQUEST) and the subscription holding it goes on', async (t) => {
    const { tenant } = await stack.writer.tenantWithHistory('mux-dup');
    const client = await openMux(t);
    await request(client, { op: 'subscribe', id: 'dup', tenantid: tenant });
    const again = await request(client, { op: 'subscribe', id: 'dup', tenantid: tenant });
    assert.equal(again.op, 'error');
    assert.equal(again.code, 'TC_ERR_BAD_REQUEST');
    const accepted = await stack.writer.publishOne(makeEvent(tenant, { id: 'after-dup' }));
    await receivedFor(client, 'dup', 'after-dup', 3000);
    assert.deepEqual(
      eventsOf(client, 'dup').map((e) => e.relayoffset),
      [accepted.offset],
    );
  });

  test('two subscribe requests with one id, sent back to back, make one subscription', async (t) => {
    const { tenant } = await stack.writer.tenantWithHistory('mux-race');
    const client = await openMux(t);
    client.send({ op: 'subscribe', id: 'same', tenantid: tenant });
    client.send({ op: 'subscribe', id: 'same', tenantid: tenant });
    await client.until(() => messagesOf(client).filter((m) => m.id === 'same').length >= 2, 'two replies');
    assert.deepEqual(
      messagesOf(client)
        .map((m) => m.op)
        .sort(),
      ['error', 'subscribed'],
    );
    await stack.writer.publishOne(makeEvent(tenant, { id: 'once' }));
    await stack.writer.publishOne(makeEvent(tenant, { id: 'end' }));
    await receivedFor(client, 'same', 'end');
    // A second subscription under the id would have sent its copy of "once" before any "end".
    assert.deepEqual(
      eventsOf(client, 'same').map((e) => e.id),
      ['once', 'end'],
    );
  });

  test('closing a connection frees the per-tenant places of all its subscriptions, even of two requested back to back with one id', async (t) => {
    const limited = await stack.startGateway(t, { maxConnectionsPerTenant: 2 });
    const { tenant } = await stack.writer.tenantWithHistory('mux-orphan');
    const client = await openMux(t, { gateway: limited });
    client.send({ op: 'subscribe', id: 'same', tenantid: tenant });
    client.send({ op: 'subscribe', id: 'same', tenantid: tenant });
    await client.until(() => messagesOf(client).filter((m) => m.id === 'same').length >= 2, 'two replies');
    client.ws.close();
    await client.closedWith();
    const deadline = Date.now() + 3000;
    const other = await openMux(t, { gateway: limited });
    const replies: Message[] = [];
    for (const id of ['x', 'y']) {
      for (;;) {
        const reply = await request(other, { op: 'subscribe', id, tenantid: tenant });
        if (reply.op === 'subscribed' || Date.now() > deadline) {
          replies.push(reply);
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    assert.deepEqual(
      replies.map((r) => r.op),
      ['subscribed', 'subscribed'],
    );
  });

  for (const [label, frame] of [
    ['text that is not JSON', '{"op":'],
    ['a JSON value that is not an object', '42'],
    ['null', 'null'],
    ['an unknown op', JSON.stringify({ op: 'publish', id: 'x' })],
    ['no op', JSON.stringify({ id: 'x', tenantid: 'acme' })],
    ['no id', JSON.stringify({ op: 'subscribe', tenantid: 'acme' })],
    ['an id with bad characters', JSON.stringify({ op: 'subscribe', id: 'a b', tenantid: 'acme' })],
    ['an id of 65 characters', JSON.stringify({ op: 'subscribe', id: 'x'.repeat(65), tenantid: 'acme' })],
    ['a binary frame', Buffer.from(JSON.stringify({ op: 'subscribe', id: 'x', tenantid: 'acme' }))],
  ] as const) {
    test(`${label} closes the connection with 4000`, async (t) => {
      const client = await openMux(t);
      client.ws.send(frame);
      const { code, reason } = await client.closedWith();
      assert.equal(code, 4000, reason);
      assert.ok(reason.length > 0, 'the reason says what is wrong');
    });
  }

  test('closing the connection ends its subscriptions', async (t) => {
    const limited = await stack.startGateway(t, { maxConnectionsPerTenant: 2 });
    const { tenant } = await stack.writer.tenantWithHistory('mux-close');
    const first = await openMux(t, { gateway: limited });
    await request(first, { op: 'subscribe', id: 's1', tenantid: tenant });
    await request(first, { op: 'subscribe', id: 's2', tenantid: tenant });
    const second = await openMux(t, { gateway: limited });
    assert.equal((await request(second, { op: 'subscribe', id: 's3', tenantid: tenant })).code, 'TC_ERR_TOO_MANY_CONNECTIONS');
    first.ws.close();
    await first.closedWith();
    const deadline = Date.now() + 5000;
    let reply: Message;
    for (;;) {
      reply = await request(second, { op: 'subscribe', id: 's4', tenantid: tenant });
      if (reply.op !== 'error' || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(reply.op, 'subscribed');
  });

  test('subscriptions count against the per-tenant limit, and unsubscribing frees the place', async (t) => {
    const limited = await stack.startGateway(t, { maxConnectionsPerTenant: 2 });
    const { tenant } = await stack.writer.tenantWithHistory('mux-limit');
    const client = await openMux(t, { gateway: limited });
    await request(client, { op: 'subscribe', id: 'a', tenantid: tenant });
    await request(client, { op: 'subscribe', id: 'b', tenantid: tenant });
    const third = await request(client, { op: 'subscribe', id: 'c', tenantid: tenant });
    assert.equal(third.op, 'error');
    assert.equal(third.code, 'TC_ERR_TOO_MANY_CONNECTIONS');
    // Plain connections count too.
    assert.equal((await refusal(`${limited.wsUrl}/v1/tenants/${tenant}/events`, { token: stack.token })).status, 429);
    await request(client, { op: 'unsubscribe', id: 'a' });
    assert.equal((await request(client, { op: 'subscribe', id: 'c', tenantid: tenant })).op, 'subscribed');
  });

  test('a connection holds at most maxSubscriptionsPerConnection subscriptions', async (t) => {
    const limited = await stack.startGateway(t, { maxSubscriptionsPerConnection: 2 });
    const { tenant } = await stack.writer.tenantWithHistory('mux-per-conn');
    const client = await openMux(t, { gateway: limited });
    await request(client, { op: 'subscribe', id: 'a', tenantid: tenant });
    await request(client, { op: 'subscribe', id: 'b', tenantid: tenant });
    const third = await request(client, { op: 'subscribe', id: 'c', tenantid: tenant });
    assert.equal(third.code, 'TC_ERR_TOO_MANY_CONNECTIONS');
    const other = await openMux(t, { gateway: limited });
    assert.equal((await request(other, { op: 'subscribe', id: 'c', tenantid: tenant })).op, 'subscribed');
  });

  test('an after whose events were trimmed gets TC_ERR_OFFSET_EXPIRED; the connection goes on', async (t) => {
    const trimming = await stack.startWriter(t, { streamMaxLen: 10 });
    const gw = await stack.startGateway(t, { keyPrefix: trimming.keyPrefix });
    const tenant = uniqueTenant('mux-expired');
    const accepted: Accepted[] = [];
    for (let i = 0; i < 6; i++) {
      accepted.push(...(await trimming.publish(Array.from({ length: 50 }, () => makeEvent(tenant)))));
    }
    const client = await openMux(t, { gateway: gw });
    client.send({ op: 'subscribe', id: 'old', tenantid: tenant, after: accepted[0]!.offset });
    await client.until(() => messagesOf(client).some((m) => m.op === 'error' && m.id === 'old'), 'the error of "old"');
    const error = messagesOf(client).find((m) => m.op === 'error')!;
    assert.equal(error.code, 'TC_ERR_OFFSET_EXPIRED');
    assert.equal(eventsOf(client, 'old').length, 0, 'no event of an expired subscription');

    const fresh = await request(client, { op: 'subscribe', id: 'fresh', tenantid: tenant, after: accepted.at(-1)!.offset });
    assert.equal(fresh.op, 'subscribed');
    assert.equal(client.closeInfo, undefined);
  });

  test('an after past the stream’s last offset gets TC_ERR_OFFSET_AHEAD instead of subscribed; at the last offset it is subscribed', async (t) => {
    const { tenant, history } = await stack.writer.tenantWithHistory('mux-ahead');
    const client = await openMux(t);
    const ahead = await request(client, { op: 'subscribe', id: 'ahead', tenantid: tenant, after: '9999999999999-0' });
    assert.equal(ahead.op, 'error');
    assert.equal(ahead.code, 'TC_ERR_OFFSET_AHEAD');
    assert.match(String(ahead.message), /after=0/);
    const nobody = await request(client, { op: 'subscribe', id: 'nobody', tenantid: uniqueTenant('mux-no-stream'), after: '1-0' });
    assert.equal(nobody.code, 'TC_ERR_OFFSET_AHEAD', 'a tenant with no stream ends at 0-0');
    assert.deepEqual(
      messagesOf(client).map((m) => m.op),
      ['error', 'error'],
      'no subscribed before the error',
    );

    const atLast = await request(client, { op: 'subscribe', id: 'last', tenantid: tenant, after: history.offset });
    assert.deepEqual(atLast, { op: 'subscribed', id: 'last', tenantid: tenant, after: history.offset });
    await stack.writer.publishOne(makeEvent(tenant, { id: 'after-last' }));
    await receivedFor(client, 'last', 'after-last');
    assert.equal(client.closeInfo, undefined);
  });
});
