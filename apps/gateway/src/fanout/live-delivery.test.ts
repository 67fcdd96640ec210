import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareOffsets } from '@tenantcast/sdk';
import { type Accepted, type Cleanup, connect, makeEvent, plainUrl, type TestClient, uniqueTenant } from '@tenantcast/testkit';
import { useGateway } from '../testing/use-gateway.ts';

/**
 * Live delivery as the hub does it on its fast path: notifications delivered at once when nothing
 * is queued, no offset comparison for subscribers in step with the hub, frames built once per event
 * and written once per connection per turn. What must hold whatever the timing: every subscriber
 * gets the stream's order, gap-free, exactly once, from where it started.
 */

const stack = useGateway();

type EventMessage = { op: 'event'; id: string; event: { relayoffset: string; id: string; type: string } };

function openMux(t: Cleanup): Promise<TestClient> {
  return connect(t, `${stack.gateway.wsUrl}/v1/connect`, { token: stack.token, protocols: ['tenantcast.v1'] });
}

/** The relayoffsets a multiplexed subscription got, in arrival order. */
const muxOffsets = (client: TestClient, id: string) =>
  (client.messages as EventMessage[]).filter((m) => m.op === 'event' && m.id === id).map((m) => m.event.relayoffset);

/** Subscribes and returns where the subscription starts (`after` of the reply). */
async function subscribe(client: TestClient, id: string, tenantid: string, extra: Record<string, unknown> = {}): Promise<string> {
  client.send({ op: 'subscribe', id, tenantid, ...extra });
  await client.until(() => client.messages.some((m) => m.op === 'subscribed' && m.id === id), `subscribed ${id}`);
  return (client.messages.find((m) => m.op === 'subscribed' && m.id === id) as { after: string }).after;
}

const byOffset = (accepted: Accepted[]) => accepted.map((a) => a.offset).sort(compareOffsets);

describe('live delivery', () => {
  test('notifications published concurrently (read together, delivered in one turn) keep stream order for plain, filtered and multiplexed subscribers', async (t) => {
    const tenant = uniqueTenant('burst');
    const plain = await connect(t, plainUrl(stack.gateway.wsUrl, tenant), { token: stack.token });
    const filtered = await connect(t, plainUrl(stack.gateway.wsUrl, tenant, { filters: [{ exact: { type: 'com.example.odd' } }] }), {
      token: stack.token,
    });
    const mux = await openMux(t);
    await subscribe(mux, 'all', tenant);
    await subscribe(mux, 'odd', tenant, { filters: [{ exact: { type: 'com.example.odd' } }] });

    // 20 requests of 25 events in flight at once: many notifications, several in one read of the channel.
    const batches = Array.from({ length: 20 }, (_, batch) =>
      Array.from({ length: 25 }, (_, i) => makeEvent(tenant, { type: (batch + i) % 2 === 1 ? 'com.example.odd' : 'com.example.even' })),
    );
    const oddIds = new Set(
      batches
        .flat()
        .filter((e) => e.type === 'com.example.odd')
        .map((e) => e.id),
    );
    const accepted = (await Promise.all(batches.map((events) => stack.writer.publish(events)))).flat();
    const all = byOffset(accepted);
    const odd = byOffset(accepted.filter((a) => oddIds.has(a.id)));

    await plain.received(all.length);
    await filtered.received(odd.length);
    await mux.until(
      () => muxOffsets(mux, 'all').length === all.length && muxOffsets(mux, 'odd').length === odd.length,
      'both subscriptions',
    );
    assert.deepEqual(
      plain.events.map((e) => e.relayoffset),
      all,
    );
    assert.deepEqual(
      filtered.events.map((e) => e.relayoffset),
      odd,
    );
    assert.ok(filtered.events.every((e) => e.type === 'com.example.odd'));
    assert.deepEqual(muxOffsets(mux, 'all'), all);
    assert.deepEqual(muxOffsets(mux, 'odd'), odd);
  });

  test('subscribers that join while events flow get every event after their start, once, in order', async (t) => {
    const tenant = uniqueTenant('flowing');
    // A first client keeps the tenant's hub alive and sees everything.
    const witness = await connect(t, plainUrl(stack.gateway.wsUrl, tenant), { token: stack.token });
    const accepted: Accepted[] = [];
    let publishing = true;
    // Two publishers, so that a notification is nearly always on its way to the gateway.
    const publishers = [0, 1].map(async () => {
      for (let batch = 0; publishing && batch < 200; batch++) {
        accepted.push(...(await stack.writer.publish(Array.from({ length: 3 }, () => makeEvent(tenant)))));
      }
    });

    // Live-only subscriptions start at the stream's last offset read at subscribe time, which may be
    // ahead of what the hub has handed out yet: the hub must skip, for them, what they start after.
    const mux = await openMux(t);
    const starts: Array<{ id: string; after: string }> = [];
    const plains: TestClient[] = [];
    for (let i = 0; i < 16; i++) {
      starts.push({ id: `s${i}`, after: await subscribe(mux, `s${i}`, tenant) });
      if (i % 2 === 0) plains.push(await connect(t, plainUrl(stack.gateway.wsUrl, tenant), { token: stack.token }));
    }
    // Let a few more batches through, then stop.
    const count = accepted.length;
    await witness.until(() => accepted.length >= count + 9, 'a few more batches', 10_000);
    publishing = false;
    await Promise.all(publishers);

    const all = byOffset(accepted);
    await witness.received(all.length);
    assert.deepEqual(
      witness.events.map((e) => e.relayoffset),
      all,
    );
    for (const { id, after } of starts) {
      const expected = all.filter((offset) => compareOffsets(offset, after) > 0);
      await mux.until(() => muxOffsets(mux, id).length >= expected.length, `${expected.length} events on ${id}`);
      assert.deepEqual(muxOffsets(mux, id), expected, `subscription ${id} (after ${after})`);
    }
    for (const [i, client] of plains.entries()) {
      await client.until(() => client.events.at(-1)?.relayoffset === all.at(-1), `the last event on plain client ${i}`);
      const got = client.events.map((e) => e.relayoffset);
      const from = all.indexOf(got[0]!);
      assert.ok(from >= 0, `plain client ${i} got an event that was stored`);
      assert.deepEqual(got, all.slice(from), `plain client ${i}: a gap-free suffix of the stream`);
    }
  });
});
