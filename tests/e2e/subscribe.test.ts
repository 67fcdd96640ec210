import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startGateway } from '@tenantcast/gateway/testing';
import {
  type QlikEventMap,
  type ReceivedEvent,
  type SubscribeOptions,
  type SubscriptionStatus,
  subscribe,
  TenantcastError,
} from '@tenantcast/sdk';
import { closeAll, scrapeMetric, sleep, testRedisKind, uniqueTenant, until, within } from '@tenantcast/testkit';
import { onEnd } from '../support/cleanup.ts';
import { publishOffsets, seededTenant, ticks } from '../support/events.ts';
import { useStack } from '../support/stack.ts';
import { ending, reader } from '../support/subscriptions.ts';
import { startProxy } from '../support/tcp-proxies.ts';

// The SDK's subscribe client against a real relay, gateway and redis-server: what a user of the
// SDK sees. Reconnects and restarts are in reconnect.test.ts.

const stack = useStack();

/** A subscription through the shared gateway with a token for `tenant`, closed when the test ends. */
async function open<TMap extends object = QlikEventMap>(
  t: Parameters<typeof onEnd>[0],
  tenant: string,
  options: Partial<SubscribeOptions<TMap>> = {},
) {
  const { relay, gateway } = stack;
  const statuses: SubscriptionStatus[] = [];
  const sub = subscribe<TMap>({
    url: gateway.wsUrl,
    token: await relay.token({ scope: 'subscribe', tenants: [tenant] }),
    tenantid: tenant,
    backoff: { baseMs: 10, maxMs: 50 },
    onStatus: (status) => statuses.push(status),
    ...options,
  });
  onEnd(t, () => sub.close());
  return { sub, statuses };
}

const subscriptions = async (tenant: string) =>
  (await scrapeMetric(stack.gateway.metricsUrl, 'tenantcast_gateway_subscriptions', { tenant })) ?? 0;

describe('subscribe() end to end', () => {
  test('the iterator yields Qlik events narrowed by type', async (t) => {
    const { relay } = stack;
    const tenant = await seededTenant(relay, 'typed');
    const { sub } = await open(t, tenant);
    await within(sub.ready, 'ready');
    const offsets = await publishOffsets(relay, tenant, [
      { type: 'com.qlik.web-integration.created', data: { id: 'wi-1', name: 'Portal', validOrigins: ['https://portal.example'] } },
      {
        type: 'com.qlik.web-integration.updated',
        data: { id: 'wi-1', updates: [{ property: 'name', oldValue: 'Portal', newValue: 'Hub' }] },
      },
      { type: 'com.qlik.web-integration.deleted', data: { id: 'wi-1' } },
    ]);
    const seen: string[] = [];
    for await (const event of sub) {
      assert.equal(event.tenantid, tenant);
      assert.equal(event.relayoffset, offsets[seen.length]);
      switch (event.type) {
        case 'com.qlik.web-integration.created': {
          const origins: string[] = event.data.validOrigins;
          assert.deepEqual(origins, ['https://portal.example']);
          assert.equal(event.data.name, 'Portal');
          break;
        }
        case 'com.qlik.web-integration.updated':
          assert.equal(event.data.updates[0]?.newValue, 'Hub');
          // @ts-expect-error `validOrigins` belongs to created events, not updated ones
          assert.equal(event.data.validOrigins, undefined);
          break;
        case 'com.qlik.web-integration.deleted':
          assert.deepEqual(event.data, { id: 'wi-1' });
          // @ts-expect-error `name` belongs to created events, not deleted ones
          assert.equal(event.data.name, undefined);
          break;
        default:
          assert.fail(`unexpected type ${event.type}`);
      }
      seen.push(event.type);
      if (seen.length === 3) break;
    }
    assert.deepEqual(seen, ['com.qlik.web-integration.created', 'com.qlik.web-integration.updated', 'com.qlik.web-integration.deleted']);
  });

  test('a map of its own types narrows events too', async (t) => {
    type Orders = { 'com.example.order.placed': { orderId: string; total: number }; 'com.example.order.shipped': { carrier: string } };
    const { relay } = stack;
    const tenant = await seededTenant(relay, 'orders');
    const { sub } = await open<Orders>(t, tenant);
    await within(sub.ready, 'ready');
    const offsets = await publishOffsets(relay, tenant, [
      { type: 'com.example.order.placed', data: { orderId: 'o-1', total: 12 } },
      { type: 'com.example.order.shipped', data: { carrier: 'post' } },
    ]);
    const [placed, shipped] = await reader(sub).take(2);
    assert.ok(placed !== undefined && shipped !== undefined);
    if (placed.type !== 'com.example.order.placed') assert.fail('first is placed');
    const total: number = placed.data.total;
    assert.equal(total, 12);
    // @ts-expect-error `carrier` belongs to shipped events
    assert.equal(placed.data.carrier, undefined);
    if (shipped.type !== 'com.example.order.shipped') assert.fail('second is shipped');
    assert.equal(shipped.data.carrier, 'post');
    // @ts-expect-error `orderId` belongs to placed events
    assert.equal(shipped.data.orderId, undefined);
    assert.deepEqual([placed.relayoffset, shipped.relayoffset], offsets);
  });

  test('the callback form gets every event with its offset', async (t) => {
    const { relay } = stack;
    const tenant = await seededTenant(relay, 'callback');
    const received: ReceivedEvent<{ 'com.example.tick': { n: number } }>[] = [];
    const { sub } = await open<{ 'com.example.tick': { n: number } }>(t, tenant, { onEvent: (event) => received.push(event) });
    await within(sub.ready, 'ready');
    const offsets = await publishOffsets(relay, tenant, ticks(5));
    await until(() => received.length >= 5, '5 callbacks');
    await sleep(50);
    assert.deepEqual(
      received.map((e) => e.relayoffset),
      offsets,
    );
    assert.deepEqual(
      received.map((e) => e.data.n),
      [0, 1, 2, 3, 4],
    );
    assert.equal(sub.offset, offsets.at(-1));
  });

  test('filters: only events that match all of them arrive', async (t) => {
    const { relay } = stack;
    const tenant = await seededTenant(relay, 'filters');
    const { sub } = await open(t, tenant, {
      filters: [
        { prefix: { type: 'com.example.order.' } },
        { not: { exact: { subject: 'skip' } } },
        { any: [{ suffix: { type: '.placed' } }, { suffix: { type: '.shipped' } }] },
      ],
    });
    await within(sub.ready, 'ready');
    const drafts = [
      { type: 'com.example.order.placed', data: { i: 0 } },
      { type: 'com.example.order.placed', subject: 'skip', data: { i: 1 } },
      { type: 'com.example.invoice.placed', data: { i: 2 } },
      { type: 'com.example.order.shipped', subject: 'keep', data: { i: 3 } },
      { type: 'com.example.order.cancelled', data: { i: 4 } },
      { type: 'com.example.order.placed', data: { i: 5 } },
    ];
    const offsets = await publishOffsets(relay, tenant, drafts);
    const events = await reader(sub).take(3);
    assert.deepEqual(
      events.map((e) => e.relayoffset),
      [offsets[0], offsets[3], offsets[5]],
    );
    // A marker that matches proves nothing else was queued in between.
    const [marker] = await publishOffsets(relay, tenant, [{ type: 'com.example.order.placed', data: { i: 6 } }]);
    assert.equal((await reader(sub).take(1))[0]?.relayoffset, marker);
  });

  test('after: resumes with the stored events after that offset, then live ones, with no gap and no duplicate', async (t) => {
    const { relay } = stack;
    const tenant = uniqueTenant('after');
    const stored = await publishOffsets(relay, tenant, ticks(5));
    const { sub } = await open(t, tenant, { after: stored[1] });
    const events = reader(sub);
    assert.deepEqual(
      (await events.take(3)).map((e) => e.relayoffset),
      stored.slice(2),
    );
    const live = await publishOffsets(relay, tenant, ticks(2, 5));
    assert.deepEqual(
      (await events.take(2)).map((e) => e.relayoffset),
      live,
    );
    assert.equal(sub.offset, live[1]);
  });

  test("after: '0' replays every retained event", async (t) => {
    const { relay } = stack;
    const tenant = uniqueTenant('zero');
    const stored = await publishOffsets(relay, tenant, ticks(4));
    const { sub } = await open(t, tenant, { after: '0' });
    assert.deepEqual(
      (await reader(sub).take(4)).map((e) => e.relayoffset),
      stored,
    );
  });

  test('without after: live events only, from the moment it is ready', async (t) => {
    const { relay } = stack;
    const tenant = uniqueTenant('live');
    const old = await publishOffsets(relay, tenant, ticks(3));
    const received: string[] = [];
    const { sub } = await open(t, tenant, { onEvent: (event) => received.push(event.relayoffset) });
    await within(sub.ready, 'ready');
    assert.equal(sub.offset, old.at(-1), 'starts at the last stored offset');
    const live = await publishOffsets(relay, tenant, ticks(2, 3));
    assert.deepEqual(
      (await reader(sub).take(2)).map((e) => e.relayoffset),
      live,
    );
    await sleep(50);
    assert.deepEqual(received, live);
  });

  // The proxy stands between the gateway and one redis-server; a cluster client would go around it.
  const oneServer = { skip: testRedisKind() === 'cluster' ? 'needs one redis-server to proxy' : false };
  test('without after, on a tenant with no stream yet: the first events, written as it joins, arrive', oneServer, async (t) => {
    // The gateway reaches Redis through a proxy that holds the gateway's next command after its
    // catch-up read of the new tenant (XRANGE from "(0-0"), until the relay has written the
    // tenant's first events: the interleaving that happens by chance when a client subscribes
    // to a new tenant just as its first event is published.
    const { relay } = stack;
    const { server } = stack.redis;
    assert.ok(server !== undefined);
    const tenant = uniqueTenant('fresh');
    let holding: object | undefined;
    const held: Array<() => void> = [];
    let readSeen!: () => void;
    const seen = new Promise<void>((resolve) => (readSeen = resolve));
    const redisProxy = await startProxy(server.port, (chunk, forward, connection) => {
      if (connection === holding) return void held.push(forward);
      const text = chunk.toString('latin1');
      if (holding === undefined && text.includes(`{${tenant}}:events`) && text.includes('(0-0')) {
        holding = connection;
        readSeen();
      }
      forward();
    });
    const release = () => {
      holding = {};
      for (const forward of held.splice(0)) forward();
    };
    const gateway = await startGateway(`redis://127.0.0.1:${redisProxy.port}`, { keyPrefix: relay.config.keyPrefix });
    onEnd(t, () =>
      closeAll(
        release,
        () => gateway.close(),
        () => redisProxy.close(),
      ),
    );
    const sub = subscribe({
      url: gateway.wsUrl,
      token: await relay.token({ scope: 'subscribe', tenants: [tenant] }),
      tenantid: tenant,
      backoff: { baseMs: 10, maxMs: 50 },
    });
    onEnd(t, () => sub.close());
    await within(seen, 'the gateway to read the new tenant');
    const stored = await publishOffsets(relay, tenant, ticks(2));
    release();
    assert.deepEqual(
      (await reader(sub).take(2)).map((e) => e.relayoffset),
      stored,
    );
    assert.equal(sub.status, 'open');
  });

  test('status goes from connecting to open, and close() ends the iteration and the gateway subscription', async (t) => {
    const tenant = uniqueTenant('close');
    const { sub, statuses } = await open(t, tenant);
    assert.equal(sub.status, 'connecting');
    await within(sub.ready, 'ready');
    assert.equal(sub.status, 'open');
    // The gateway acknowledges before its hub has counted the subscription in.
    await until(async () => (await subscriptions(tenant)) === 1, 'the gateway to count the subscription');
    const pending = sub[Symbol.asyncIterator]().next();
    sub.close();
    assert.deepEqual(await within(pending, 'the end'), { value: undefined, done: true });
    assert.equal(sub.status, 'closed');
    assert.deepEqual(statuses, ['open', 'closed']);
    await until(async () => (await subscriptions(tenant)) === 0, 'the gateway to drop the subscription');
  });

  test('break out of for-await ends the subscription', async (t) => {
    const { relay } = stack;
    const tenant = uniqueTenant('break');
    const { sub } = await open(t, tenant, { after: '0' });
    await publishOffsets(relay, tenant, ticks(3));
    let count = 0;
    for await (const _ of sub) {
      count++;
      if (count === 2) break;
    }
    assert.equal(count, 2);
    assert.equal(sub.status, 'closed');
    assert.equal(await ending(sub), undefined);
    await until(async () => (await subscriptions(tenant)) === 0, 'the gateway to drop the subscription');
  });

  test('a tenant not granted by the token ends it with TC_ERR_FORBIDDEN_TENANT', async (t) => {
    const { relay, gateway } = stack;
    const granted = uniqueTenant('granted');
    const other = uniqueTenant('other');
    const statuses: SubscriptionStatus[] = [];
    const sub = subscribe({
      url: gateway.wsUrl,
      token: await relay.token({ scope: 'subscribe', tenants: [granted] }),
      tenantid: other,
      backoff: { baseMs: 10, maxMs: 50 },
      onStatus: (status) => statuses.push(status),
    });
    onEnd(t, () => sub.close());
    await publishOffsets(relay, other, ticks(1));
    await assert.rejects(within(sub.ready, 'ready'), { name: 'TenantcastError', code: 'TC_ERR_FORBIDDEN_TENANT' });
    const error = await ending(sub);
    assert.ok(error instanceof TenantcastError);
    assert.equal(error.code, 'TC_ERR_FORBIDDEN_TENANT');
    assert.match(error.message, new RegExp(other));
    assert.equal(sub.status, 'closed');
    assert.deepEqual(statuses, ['closed']);
  });

  test('an upgrade refused with 403 (no subscribe scope) ends it at once with TC_ERR_FORBIDDEN_SCOPE: one attempt, one token', async (t) => {
    // A refusal that needs a change from the caller is not retried (subscribe-refusals.test.ts has each code).
    const { relay, gateway } = stack;
    const tenant = uniqueTenant('scope');
    const statuses: Array<{ status: SubscriptionStatus; code: number | undefined }> = [];
    let calls = 0;
    const token = await relay.token({ scope: 'publish', tenants: [tenant] });
    const sub = subscribe({
      url: gateway.wsUrl,
      token: () => {
        calls++;
        return token;
      },
      tenantid: tenant,
      backoff: { baseMs: 10, maxMs: 50 },
      onStatus: (status, detail) => statuses.push({ status, code: detail?.code }),
    });
    onEnd(t, () => sub.close());
    const before =
      (await scrapeMetric(gateway.metricsUrl, 'tenantcast_gateway_upgrades_refused_total', { code: 'TC_ERR_FORBIDDEN_SCOPE' })) ?? 0;
    await assert.rejects(within(sub.ready, 'ready'), { name: 'TenantcastError', code: 'TC_ERR_FORBIDDEN_SCOPE', status: 403 });
    assert.deepEqual(statuses, [{ status: 'closed', code: undefined }]);
    assert.equal(calls, 1, 'asks for a token once: there is no second attempt');
    await sleep(100);
    const after =
      (await scrapeMetric(gateway.metricsUrl, 'tenantcast_gateway_upgrades_refused_total', { code: 'TC_ERR_FORBIDDEN_SCOPE' })) ?? 0;
    assert.ok(after - before <= 1, `one refused upgrade, counted ${after - before}`);
  });
});
