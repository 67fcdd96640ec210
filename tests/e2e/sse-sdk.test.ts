import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type SubscribeOptions, type SubscriptionStatus, subscribe, TenantcastError } from '@tenantcast/sdk';
import { until } from '@tenantcast/testkit';
import { onEnd } from '../support/cleanup.ts';
import { publishOffsets, seededTenant, ticks } from '../support/events.ts';
import { useStack } from '../support/stack.ts';
import { ending, reader } from '../support/subscriptions.ts';
import { startProxy } from '../support/tcp-proxies.ts';
import { startUpgradeBlockingProxy } from '../support/upgrade-blocking-proxy.ts';

// The SDK's subscribe() over Server-Sent Events, in Node (fetch), against a real gateway:
// `transport: 'sse'`, and `auto` behind a proxy that blocks WebSocket upgrades. The same in
// Chromium is in sse-browser.test.ts. Tests reach the gateway through a proxy that refuses WebSocket
// upgrades, or one that counts them: what they see came over SSE.

type Ticks = { 'com.example.tick': { n: number } };

const stack = useStack();

function open(
  t: Parameters<typeof onEnd>[0],
  options: Partial<SubscribeOptions<Ticks>> & Pick<SubscribeOptions<Ticks>, 'token' | 'tenantid'>,
) {
  const statuses: SubscriptionStatus[] = [];
  const sub = subscribe<Ticks>({
    url: stack.gateway.wsUrl,
    backoff: { baseMs: 10, maxMs: 50 },
    onStatus: (state) => statuses.push(state),
    ...options,
  });
  onEnd(t, () => sub.close());
  return { sub, statuses };
}

describe("subscribe({ transport: 'sse' })", () => {
  test('gets live events, filtered, and resumes across cut connections with no gap or duplicate', async (t) => {
    const tenant = await seededTenant(stack.relay, 'sdk-sse');
    const token = await stack.relay.token({ scope: 'subscribe', tenants: [tenant] });
    let upgrades = 0;
    let streams = 0;
    const proxy = await startProxy(Number(new URL(stack.gateway.url).port), (chunk, forward) => {
      const text = chunk.toString('latin1');
      if (/^upgrade: websocket/im.test(text)) upgrades++;
      if (/^accept: text\/event-stream/im.test(text)) streams++;
      forward();
    });
    onEnd(t, () => proxy.close());
    const { sub, statuses } = open(t, {
      url: `ws://127.0.0.1:${proxy.port}`,
      token,
      tenantid: tenant,
      transport: 'sse',
      filters: [{ exact: { type: 'com.example.tick' } }],
    });
    await sub.ready;
    const events = reader(sub);
    const published: string[] = [];
    for (let round = 0; round < 3; round++) {
      // Each cut meets a stream: the one before it must have been opened again first.
      await until(() => streams === round + 1, `event stream ${round + 1} opened`);
      published.push(...(await publishOffsets(stack.relay, tenant, ticks(4, round * 10))));
      await publishOffsets(stack.relay, tenant, [{ type: 'com.example.other', data: {} }]);
      proxy.cut();
      published.push(...(await publishOffsets(stack.relay, tenant, ticks(2, round * 10 + 5))));
    }
    const received = await events.take(published.length);
    assert.deepEqual(
      received.map((e) => e.relayoffset),
      published,
    );
    assert.ok(statuses.includes('reconnecting'), 'it reconnected');
    assert.equal(upgrades, 0, 'no WebSocket');
    assert.equal(streams, 4, 'one event stream, and one per cut');
  });

  test('a token that does not verify: ready rejects with TC_ERR_TOKEN_INVALID and 401', async (t) => {
    const tenant = await seededTenant(stack.relay, 'sdk-sse-refused');
    const proxy = await startUpgradeBlockingProxy(t, stack.gateway.url);
    const { sub } = open(t, { url: `ws://127.0.0.1:${proxy.port}`, token: 'not-a-token', tenantid: tenant, transport: 'sse' });
    const error = await sub.ready.then(
      () => assert.fail('ready resolved'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof TenantcastError);
    assert.equal(error.code, 'TC_ERR_TOKEN_INVALID');
    assert.equal(error.status, 401);
  });

  test('a resume offset ahead of the stream ends the iteration with TC_ERR_OFFSET_AHEAD', async (t) => {
    const tenant = await seededTenant(stack.relay, 'sdk-sse-ahead');
    const token = await stack.relay.token({ scope: 'subscribe', tenants: [tenant] });
    const proxy = await startUpgradeBlockingProxy(t, stack.gateway.url);
    const { sub } = open(t, {
      url: `ws://127.0.0.1:${proxy.port}`,
      token,
      tenantid: tenant,
      transport: 'sse',
      after: `${Date.now() + 3_600_000}-0`,
    });
    const error = await ending(sub);
    assert.ok(error instanceof TenantcastError);
    assert.equal(error.code, 'TC_ERR_OFFSET_AHEAD');
  });

  test('when its token expires, a token function gives the next connection a fresh one: no gap', async (t) => {
    const tenant = await seededTenant(stack.relay, 'sdk-sse-expiry');
    let minted = 0;
    const proxy = await startUpgradeBlockingProxy(t, stack.gateway.url);
    const { sub } = open(t, {
      url: `ws://127.0.0.1:${proxy.port}`,
      tenantid: tenant,
      transport: 'sse',
      token: () => {
        minted++;
        return stack.relay.token({ scope: 'subscribe', tenants: [tenant], expiresIn: '2s' });
      },
    });
    await sub.ready;
    const events = reader(sub);
    const first = await publishOffsets(stack.relay, tenant, ticks(3));
    await until(() => minted >= 2, 'a second token after the first expired', 15_000);
    const second = await publishOffsets(stack.relay, tenant, ticks(3, 3));
    const received = await events.take(6);
    assert.deepEqual(
      received.map((e) => e.relayoffset),
      [...first, ...second],
    );
  });
});

describe("subscribe({ transport: 'auto' })", () => {
  test('behind a proxy that refuses WebSocket upgrades with 403, it connects over SSE', async (t) => {
    const tenant = await seededTenant(stack.relay, 'sdk-auto');
    const token = await stack.relay.token({ scope: 'subscribe', tenants: [tenant] });
    const proxy = await startUpgradeBlockingProxy(t, stack.gateway.url);
    const { sub, statuses } = open(t, { url: `ws://127.0.0.1:${proxy.port}`, token, tenantid: tenant, transport: 'auto' });
    await sub.ready;
    assert.equal(sub.status, 'open');
    assert.equal(proxy.refusedUpgrades, 1, 'it tried a WebSocket once');
    assert.deepEqual(proxy.forwarded, [`GET /v1/tenants/${tenant}/events HTTP/1.1`]);
    assert.deepEqual(statuses.slice(0, 2), ['reconnecting', 'open']);
    const published = await publishOffsets(stack.relay, tenant, ticks(3));
    const received = await reader(sub).take(3);
    assert.deepEqual(
      received.map((e) => e.relayoffset),
      published,
    );
  });

  test('without such a proxy it stays on WebSocket; a refusal of the gateway’s own is not a reason to switch', async (t) => {
    const tenant = await seededTenant(stack.relay, 'sdk-auto-ws');
    const token = await stack.relay.token({ scope: 'subscribe', tenants: [tenant] });
    let upgrades = 0;
    let streams = 0;
    const proxy = await startProxy(Number(new URL(stack.gateway.url).port), (chunk, forward) => {
      const text = chunk.toString('latin1');
      if (/^upgrade: websocket/im.test(text)) upgrades++;
      if (/^accept: text\/event-stream/im.test(text)) streams++;
      forward();
    });
    onEnd(t, () => proxy.close());
    const { sub } = open(t, { url: `ws://127.0.0.1:${proxy.port}`, token, tenantid: tenant, transport: 'auto' });
    await sub.ready;
    assert.deepEqual([upgrades, streams], [1, 0]);
    const refused = open(t, { url: `ws://127.0.0.1:${proxy.port}`, token: 'not-a-token', tenantid: tenant, transport: 'auto' });
    const error = await refused.sub.ready.then(
      () => assert.fail('ready resolved'),
      (e: unknown) => e,
    );
    assert.equal((error as TenantcastError).code, 'TC_ERR_TOKEN_INVALID');
    assert.equal(streams, 0, 'no SSE attempt after the gateway refused the token');
  });
});
