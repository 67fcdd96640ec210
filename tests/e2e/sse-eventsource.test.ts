import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { until } from '@tenantcast/testkit';
import { EventSource } from 'eventsource';
import { onEnd } from '../support/cleanup.ts';
import { publishOffsets, seededTenant, ticks } from '../support/events.ts';
import { useStack } from '../support/stack.ts';
import { startProxy } from '../support/tcp-proxies.ts';

// The gateway's Server-Sent Events read by a client nobody here wrote: the `eventsource` package
// (WHATWG EventSource on fetch), token in the query as a page's EventSource sends it. Chromium's own
// EventSource is in sse-browser.test.ts; the wire itself in apps/gateway/src/sse/event-streams.test.ts.

const stack = useStack();

type Tick = { relayoffset: string; type: string; tenantid: string; data: { n: number } };

/** An EventSource on the tenant's stream, recording events, `lastEventId`s and error events; closed when the test ends. */
function open(t: Parameters<typeof onEnd>[0], url: string) {
  const source = new EventSource(url);
  onEnd(t, () => source.close());
  const events: Tick[] = [];
  const ids: string[] = [];
  const errors: { error: { code: string; message: string } }[] = [];
  let opens = 0;
  source.onopen = () => opens++;
  source.onmessage = (message) => {
    events.push(JSON.parse(message.data) as Tick);
    ids.push(message.lastEventId);
  };
  // `event: error` is a MessageEvent named error; a connection error is an Event without data.
  source.addEventListener('error', (event) => {
    const data = (event as MessageEvent).data;
    if (typeof data === 'string') errors.push(JSON.parse(data));
  });
  return { source, events, ids, errors, opens: () => opens };
}

function streamUrl(base: string, tenant: string, query: Record<string, string>): string {
  const url = new URL(`/v1/tenants/${encodeURIComponent(tenant)}/events`, base);
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  return url.href;
}

describe('Server-Sent Events with the eventsource package', () => {
  test('live events with filters: data is the structured event, lastEventId its offset', async (t) => {
    const tenant = await seededTenant(stack.relay, 'es-live');
    const token = await stack.relay.token({ scope: 'subscribe', tenants: [tenant] });
    const filters = JSON.stringify([{ suffix: { type: '.keep' } }]);
    const client = open(t, streamUrl(stack.gateway.url, tenant, { token, filters }));
    await until(() => client.opens() === 1, 'the stream to open');
    const offsets = await publishOffsets(stack.relay, tenant, [
      { type: 'com.example.keep', data: { n: 1 } },
      { type: 'com.example.drop', data: { n: 2 } },
      { type: 'com.example.keep', data: { n: 3 } },
    ]);
    await until(() => client.events.length === 2, 'the two matching events');
    assert.deepEqual(
      client.events.map((e) => [e.data.n, e.relayoffset, e.tenantid]),
      [
        [1, offsets[0], tenant],
        [3, offsets[2], tenant],
      ],
    );
    assert.deepEqual(client.ids, [offsets[0], offsets[2]]);
  });

  test('across 10 connections cut by the network, it resumes by Last-Event-ID: every event once, in order', async (t) => {
    const tenant = await seededTenant(stack.relay, 'es-resume');
    const token = await stack.relay.token({ scope: 'subscribe', tenants: [tenant] });
    let resumedWithId = 0;
    const proxy = await startProxy(Number(new URL(stack.gateway.url).port), (chunk, forward) => {
      if (/^last-event-id: \d+-\d+\r$/im.test(chunk.toString('latin1'))) resumedWithId++;
      forward();
    });
    onEnd(t, () => proxy.close());
    const client = open(t, streamUrl(`http://127.0.0.1:${proxy.port}`, tenant, { token }));
    await until(() => client.opens() === 1, 'the stream to open');
    const published: string[] = [];
    for (let round = 0; round < 10; round++) {
      published.push(...(await publishOffsets(stack.relay, tenant, ticks(5, round * 10))));
      await until(() => client.events.length === published.length, `round ${round}: ${published.length} events`, 20_000);
      assert.equal(proxy.cut(), 1, 'one connection cut');
      // Stored while the client is away: it gets them by resuming, not live.
      published.push(...(await publishOffsets(stack.relay, tenant, ticks(3, round * 10 + 5))));
      await until(() => client.opens() === round + 2, `reconnect ${round + 1}`, 20_000);
    }
    await until(() => client.events.length >= published.length, `${published.length} events`, 20_000);
    assert.deepEqual(
      client.events.map((e) => e.relayoffset),
      published,
      'no gap, no duplicate',
    );
    assert.equal(resumedWithId, 10, 'each reconnect sent Last-Event-ID');
  });

  test('at the token’s exp: event: error with TC_ERR_TOKEN_EXPIRED, and the reconnect is refused', async (t) => {
    const tenant = await seededTenant(stack.relay, 'es-expiry');
    const token = await stack.relay.token({ scope: 'subscribe', tenants: [tenant], expiresIn: '2s' });
    const client = open(t, streamUrl(stack.gateway.url, tenant, { token }));
    await until(() => client.errors.length === 1, 'the error event', 15_000);
    assert.equal(client.errors[0]!.error.code, 'TC_ERR_TOKEN_EXPIRED');
    assert.match(client.errors[0]!.error.message, /fresh token/);
    // EventSource reconnects with the same token, which the gateway refuses with 401: it stops for good.
    await until(() => client.source.readyState === EventSource.CLOSED, 'EventSource to give up', 15_000);
  });
});
