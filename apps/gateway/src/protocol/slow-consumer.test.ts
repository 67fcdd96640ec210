import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { describe, test } from 'node:test';
import { type Accepted, connect, makeEvent, metricValue, plainUrl, scrapeMetrics, uniqueTenant } from '@tenantcast/testkit';
import type { TestGateway } from '../testing/start-gateway.ts';
import { useGateway } from '../testing/use-gateway.ts';

// Each test starts the gateway it looks at, on the suite's Redis and key prefix.
const stack = useGateway();

const KIB_16 = 'x'.repeat(16 * 1024);

/** `count` events of about 16 KiB each, numbered in `data.n`. */
function large(tenant: string, count: number, from = 0): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) =>
    makeEvent(tenant, { datacontenttype: 'application/json', data: { n: from + i, pad: KIB_16 } }),
  );
}

const metrics = (gateway: TestGateway): Promise<string> => scrapeMetrics(gateway.metricsUrl);

/** The underlying TCP socket of a ws client (ws keeps it in `_socket`). */
const socketOf = (ws: unknown) => (ws as { _socket: Socket })._socket;

describe('slow consumers', () => {
  test('a client that stops reading is closed with 4008, and resumes after its last relayoffset without a gap', async (t) => {
    const gateway = await stack.startGateway(t, { maxBufferedBytes: 65_536 });
    const tenant = uniqueTenant('slow');
    await stack.writer.publishOne(makeEvent(tenant, { id: 'history' }));
    const slow = await connect(t, plainUrl(gateway.wsUrl, tenant), { token: stack.token });
    socketOf(slow.ws).pause();

    // Publish until the gateway gives up on the client; the kernel's socket buffers take some MiB first.
    const published: Accepted[] = [];
    for (let batch = 0; batch < 80; batch++) {
      published.push(...(await stack.writer.publish(large(tenant, 50, batch * 50))));
      if ((metricValue(await metrics(gateway), 'tenantcast_gateway_slow_consumers_total') ?? 0) >= 1) break;
    }
    assert.equal(metricValue(await metrics(gateway), 'tenantcast_gateway_slow_consumers_total'), 1, 'the gateway counted a slow consumer');

    socketOf(slow.ws).resume();
    const { code } = await slow.closedWith();
    assert.equal(code, 4008);
    assert.ok(slow.events.length < published.length, 'the slow client did not get everything');
    assert.deepEqual(
      slow.events.map((e) => e.relayoffset),
      published.slice(0, slow.events.length).map((a) => a.offset),
      'what it got is a gap-free prefix',
    );

    // It resumes from its last relayoffset and, reading now, gets the rest exactly.
    const resumed = await connect(t, plainUrl(gateway.wsUrl, tenant, { after: slow.events.at(-1)!.relayoffset }), { token: stack.token });
    await resumed.received(published.length - slow.events.length, 20_000);
    assert.deepEqual(
      [...slow.events, ...resumed.events].map((e) => e.relayoffset),
      published.map((a) => a.offset),
    );
  });

  test('a slow client is closed alone: a healthy client of the same tenant gets everything', async (t) => {
    const gateway = await stack.startGateway(t, { maxBufferedBytes: 65_536 });
    const tenant = uniqueTenant('neighbours');
    await stack.writer.publishOne(makeEvent(tenant, { id: 'history' }));
    const slow = await connect(t, plainUrl(gateway.wsUrl, tenant), { token: stack.token });
    const healthy = await connect(t, plainUrl(gateway.wsUrl, tenant), { token: stack.token });
    socketOf(slow.ws).pause();
    const published: Accepted[] = [];
    for (let batch = 0; batch < 80; batch++) {
      published.push(...(await stack.writer.publish(large(tenant, 50, batch * 50))));
      if ((metricValue(await metrics(gateway), 'tenantcast_gateway_slow_consumers_total') ?? 0) >= 1) break;
    }
    await healthy.received(published.length, 20_000);
    assert.equal(healthy.closeInfo, undefined, 'the healthy client is still connected');
    assert.deepEqual(
      healthy.events.map((e) => e.relayoffset),
      published.map((a) => a.offset),
    );
    socketOf(slow.ws).resume();
    assert.equal((await slow.closedWith()).code, 4008);
  });

  test('with the default limit, a healthy client with more than 1 MiB in flight stays connected and gets everything', async (t) => {
    const gateway = await stack.startGateway(t);
    const tenant = uniqueTenant('healthy');
    await stack.writer.publishOne(makeEvent(tenant, { id: 'history' }));
    const client = await connect(t, plainUrl(gateway.wsUrl, tenant), { token: stack.token });
    const published: Accepted[] = [];
    // Each write is one notification of ~1.2 MiB, sent to the client in one go.
    for (let batch = 0; batch < 4; batch++) published.push(...(await stack.writer.publish(large(tenant, 75, batch * 75))));
    await client.received(published.length, 20_000);
    assert.equal(client.closeInfo, undefined);
    assert.deepEqual(
      client.events.map((e) => e.relayoffset),
      published.map((a) => a.offset),
    );
    assert.equal(metricValue(await metrics(gateway), 'tenantcast_gateway_slow_consumers_total'), 0);
  });

  test('with the default limit, a healthy client catching up a large backlog (24 MiB) is not closed as slow', async (t) => {
    const gateway = await stack.startGateway(t);
    const tenant = uniqueTenant('backlog');
    const history = await stack.writer.publishOne(makeEvent(tenant, { id: 'history' }));
    const published: Accepted[] = [];
    for (let batch = 0; batch < 8; batch++) published.push(...(await stack.writer.publish(large(tenant, 190, batch * 190))));

    const client = await connect(t, plainUrl(gateway.wsUrl, tenant, { after: history.offset }), { token: stack.token });
    await client.until(() => client.messages.length >= published.length, `${published.length} events`, 20_000);
    assert.deepEqual(
      client.events.map((e) => e.relayoffset),
      published.map((a) => a.offset),
    );
    assert.equal(client.closeInfo, undefined);
  });
});
