import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { verifyWebhook } from '@tenantcast/sdk';
import { scrapeMetric, sleep, uniqueTenant, until } from '@tenantcast/testkit';
import { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import type { RelayConfig } from '../config.ts';
import { type Draft, publishDrafts } from '../testing/publish-drafts.ts';
import type { TestRelay } from '../testing/start-relay.ts';
import { startRelayWithRedis } from '../testing/use-relay.ts';
import { type Hit, type Receiver, startReceiver } from '../testing/webhook-receiver.ts';

// Webhook delivery end to end: a real relay, real Redis, real HTTP receivers on loopback.

interface Fixture {
  relay: TestRelay;
  /** Receivers started with `receiver()` are closed after the relay, before Redis. */
  receiver(respond?: Receiver['respond']): Promise<Receiver>;
}

/** A redis-server, a relay and receivers of the test's own, closed after it: the relay, Redis, then the receivers. */
async function setup(t: TestContext, overrides: Partial<RelayConfig> = {}): Promise<Fixture> {
  const { relay, close } = await startRelayWithRedis({ webhookAllowPrivate: true, webhookRetrySchedule: [50, 100, 100], ...overrides });
  const receivers: Receiver[] = [];
  t.after(async () => {
    await close();
    for (const r of receivers) await r.close();
  });
  return {
    relay,
    async receiver(respond) {
      const r = await startReceiver(respond);
      receivers.push(r);
      return r;
    },
  };
}

interface Endpoint {
  id: string;
  url: string;
  secret: string;
  disabled: boolean;
  disabledReason?: string;
  disabledDetail?: string;
}

async function register(relay: TestRelay, tenant: string, url: string, filters?: unknown[]): Promise<Endpoint> {
  const token = await relay.token({ scope: 'admin', tenants: [tenant] });
  const res = await fetch(`${relay.url}/v1/tenants/${tenant}/webhooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url, ...(filters ? { filters } : {}) }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as Endpoint;
}

async function getEndpoint(relay: TestRelay, tenant: string, id: string): Promise<Endpoint> {
  const token = await relay.token({ scope: 'admin', tenants: [tenant] });
  const res = await fetch(`${relay.url}/v1/tenants/${tenant}/webhooks/${id}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  return (await res.json()) as Endpoint;
}

/** Publishes one batch of `tenant`'s events; returns each event's id and offset. */
const publish = (relay: TestRelay, tenant: string, drafts: Draft[]) => publishDrafts(relay, tenant, drafts, 'delivery-test');

/** Verifies a hit with the official Standard Webhooks library; returns the event. */
function verified(hit: Hit, secret: string): Record<string, unknown> {
  const headers = {
    'webhook-id': String(hit.headers['webhook-id']),
    'webhook-timestamp': String(hit.headers['webhook-timestamp']),
    'webhook-signature': String(hit.headers['webhook-signature']),
  };
  return new Webhook(secret).verify(hit.body, headers) as Record<string, unknown>;
}

describe('delivery', () => {
  test('a tenant stream lost with its consumer group (a Redis without persistence restarted, a failover): dispatch goes on for every tenant, and the lost tenant’s new events arrive', async (t) => {
    const { relay, receiver } = await setup(t);
    const hits = await receiver();
    const lost = uniqueTenant('lost');
    const other = uniqueTenant('other');
    await register(relay, lost, hits.url);
    await register(relay, other, hits.url);
    await publish(relay, lost, [{ type: 'com.example.one' }]);
    await publish(relay, other, [{ type: 'com.example.one' }]);
    await until(() => hits.hits.length === 2, 'the first deliveries');

    const redis = new Redis(relay.config.redisUrl);
    t.after(() => redis.disconnect());
    assert.equal(await redis.del(`${relay.config.keyPrefix}{${lost}}:events`), 1);
    const [fromLost] = await publish(relay, lost, [{ type: 'com.example.two' }]);
    const [fromOther] = await publish(relay, other, [{ type: 'com.example.two' }]);
    await until(() => hits.hits.length === 4, 'the deliveries after the loss');
    const ids = hits.hits.slice(2).map((h) => (JSON.parse(h.body) as { id: string }).id);
    assert.deepEqual(ids.sort(), [fromLost!.id, fromOther!.id].sort());
  });

  test('the relay’s Redis connections cut while deliveries run (a network blip, a failover): every event is still delivered', async (t) => {
    // Each cut catches commands in flight. A worker command dropped with its connection left its
    // promise pending for ever, and the worker took no job again; an endpoint lookup that failed
    // fast used up the job's attempts while Redis was away, and the delivery failed for good.
    const { relay, receiver } = await setup(t, { webhookLockMs: 2000 });
    const hits = await receiver(() => ({ status: 204, delayMs: 5 }));
    const tenant = uniqueTenant('blip');
    await register(relay, tenant, hits.url);
    const published: string[] = [];
    const drafts = Array.from({ length: 100 }, () => ({ type: 'com.example.blip' }));
    for (let batch = 0; batch < 3; batch++) published.push(...(await publish(relay, tenant, drafts)).map((e) => e.id));

    const admin = new Redis(relay.config.redisUrl);
    t.after(() => admin.disconnect());
    let cuts = 0;
    for (const after of [20, 50, 80, 110, 140, 170, 200]) {
      await until(() => hits.hits.length >= after, `${after} deliveries`, 30_000);
      cuts += Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'));
    }
    assert.ok(cuts >= 7 * 3, `the relay's connections were cut (${cuts})`);
    const delivered = () => new Set(hits.hits.map((h) => (JSON.parse(h.body) as { id: string }).id));
    await until(() => published.every((id) => delivered().has(id)), 'every event delivered after the cuts', 30_000);
  });

  test('an endpoint gets its tenant’s matching events stored after it was registered, signed, in structured mode', async (t) => {
    const { relay, receiver } = await setup(t);
    const orders = await receiver();
    const all = await receiver();
    const theirs = await receiver();
    const acme = uniqueTenant('acme');
    const globex = uniqueTenant('globex');

    // Stored before any endpoint existed: never delivered.
    const [early] = await publish(relay, acme, [{ type: 'com.example.order.placed', data: { n: 0 } }]);
    const ordersEndpoint = await register(relay, acme, orders.url, [
      { prefix: { type: 'com.example.order.' } },
      { not: { exact: { subject: 'skip' } } },
    ]);
    const globexEndpoint = await register(relay, globex, theirs.url);

    const acmeEvents = await publish(relay, acme, [
      { type: 'com.example.order.placed', subject: 'o-1', data: { n: 1 } },
      { type: 'com.example.user.created', data: { n: 2 } },
      { type: 'com.example.order.placed', subject: 'skip', data: { n: 3 } },
      { type: 'com.example.order.shipped', subject: 'o-1', data: { n: 4, text: 'ünïcödé ✓' } },
    ]);
    const globexEvents = await publish(relay, globex, [
      { type: 'com.example.order.placed', data: { n: 100 } },
      { type: 'com.example.order.shipped', data: { n: 101 } },
    ]);
    await until(() => orders.hits.length >= 2 && theirs.hits.length >= 2, 'the first deliveries');

    // A second endpoint of the same tenant, registered now, gets only what is stored from now on.
    const allEndpoint = await register(relay, acme, all.url);
    await sleep(5);
    const later = await publish(relay, acme, [
      { type: 'com.example.order.placed', subject: 'o-2', data: { n: 5 } },
      { type: 'com.example.misc', data: { n: 6 } },
    ]);
    await until(() => orders.hits.length >= 3 && all.hits.length >= 2, 'the later deliveries');
    await sleep(400);

    const byId = (hits: Hit[]) => hits.map((h) => JSON.parse(h.body).id as string).sort();
    assert.deepEqual(byId(orders.hits), [acmeEvents[0]!.id, acmeEvents[3]!.id, later[0]!.id].sort(), 'filters are honoured');
    assert.deepEqual(byId(all.hits), later.map((e) => e.id).sort(), 'a new endpoint gets no earlier events');
    assert.deepEqual(byId(theirs.hits), globexEvents.map((e) => e.id).sort(), 'no events of another tenant');
    assert.ok(!byId(orders.hits).includes(early!.id), 'an event stored before registration is not delivered');

    const offsets = new Map([...acmeEvents, ...later, ...globexEvents].map((e) => [e.id, e.offset]));
    for (const [receiverOf, endpoint, tenant] of [
      [orders, ordersEndpoint, acme],
      [all, allEndpoint, acme],
      [theirs, globexEndpoint, globex],
    ] as const) {
      for (const hit of receiverOf.hits) {
        assert.equal(hit.method, 'POST');
        assert.match(String(hit.headers['content-type']), /^application\/cloudevents\+json(;|$)/);
        assert.match(String(hit.headers['webhook-signature']), /^v1,[A-Za-z0-9+/=]+$/);
        assert.ok(Math.abs(Number(hit.headers['webhook-timestamp']) - Date.now() / 1000) < 30, 'webhook-timestamp is now, in seconds');
        const event = verified(hit, endpoint.secret);
        assert.equal(event.specversion, '1.0');
        assert.equal(event.tenantid, tenant);
        assert.equal(event.source, 'delivery-test');
        assert.equal(hit.headers['webhook-id'], `msg_${tenant}_${offsets.get(event.id as string)}`);
        // The SDK's own verifier agrees with the official one.
        assert.deepEqual(await verifyWebhook(hit.headers, hit.body, endpoint.secret), event);
        // Another endpoint's secret does not verify.
        assert.throws(() => verified(hit, endpoint === allEndpoint ? ordersEndpoint.secret : allEndpoint.secret));
      }
    }
    const shipped = orders.hits.map((h) => JSON.parse(h.body)).find((e) => e.type === 'com.example.order.shipped');
    assert.deepEqual(shipped.data, { n: 4, text: 'ünïcödé ✓' }, 'the data arrives as published');
    assert.equal(shipped.subject, 'o-1');
  });

  test('a receiver that fails 3 times with 500 gets the event 4 times, the same webhook-id each time, and once successfully', async (t) => {
    const { relay, receiver } = await setup(t);
    const flaky = await receiver((_hit, attempt) => (attempt <= 3 ? { status: 500, body: 'not yet' } : { status: 200, body: 'ok' }));
    const tenant = uniqueTenant('flaky');
    const endpoint = await register(relay, tenant, flaky.url);
    const [event] = await publish(relay, tenant, [{ type: 'com.example.flaky' }]);
    await until(() => flaky.hits.some((h) => h.status === 200), 'a successful delivery');
    await sleep(500);
    assert.deepEqual(
      flaky.hits.map((h) => h.status),
      [500, 500, 500, 200],
    );
    assert.deepEqual(new Set(flaky.hits.map((h) => h.headers['webhook-id'])), new Set([`msg_${tenant}_${event!.offset}`]));
    const bodies = new Set(flaky.hits.map((h) => h.body));
    assert.equal(bodies.size, 1, 'every attempt sends the same body');
    for (const hit of flaky.hits) assert.equal(verified(hit, endpoint.secret).id, event!.id);
    // The retries follow the schedule [50, 100, 100] with ±10% jitter: none comes sooner than 45 ms.
    for (let i = 1; i < flaky.hits.length; i++) {
      const gap = flaky.hits[i]!.at - flaky.hits[i - 1]!.at;
      assert.ok(gap >= 40, `attempt ${i + 1} came ${gap} ms after the one before`);
    }
  });

  test('429 and 503 with Retry-After are retried no sooner than it asks', async (t) => {
    const { relay, receiver } = await setup(t);
    const tooMany = await receiver((_h, attempt) => (attempt === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 204 }));
    const unavailable = await receiver((_h, attempt) =>
      attempt === 1 ? { status: 503, headers: { 'retry-after': '1' }, body: 'maintenance' } : { status: 204 },
    );
    const dated = await receiver((_h, attempt) =>
      attempt === 1 ? { status: 503, headers: { 'retry-after': new Date(Date.now() + 2000).toUTCString() } } : { status: 204 },
    );
    // Without Retry-After, the schedule's first delay (50 ms) applies.
    const plain = await receiver((_h, attempt) => (attempt === 1 ? { status: 503 } : { status: 204 }));
    const tenant = uniqueTenant('retry-after');
    for (const r of [tooMany, unavailable, dated, plain]) await register(relay, tenant, r.url);
    await publish(relay, tenant, [{ type: 'com.example.wait' }]);
    await until(() => [tooMany, unavailable, dated, plain].every((r) => r.hits.length === 2), 'the second attempts', 8000);

    const gap = (r: Receiver) => r.hits[1]!.at - r.hits[0]!.at;
    assert.ok(gap(tooMany) >= 950, `429 Retry-After: 1 was retried after ${gap(tooMany)} ms`);
    assert.ok(gap(tooMany) < 5000, `429 Retry-After: 1 was retried only after ${gap(tooMany)} ms`);
    assert.ok(gap(unavailable) >= 950, `503 Retry-After: 1 was retried after ${gap(unavailable)} ms`);
    assert.ok(gap(unavailable) < 5000, `503 Retry-After: 1 was retried only after ${gap(unavailable)} ms`);
    assert.ok(gap(dated) >= 950, `503 with an HTTP-date Retry-After was retried after ${gap(dated)} ms`);
    assert.ok(gap(plain) < 900, `503 without Retry-After waited ${gap(plain)} ms`);
    for (const r of [tooMany, unavailable, dated, plain]) assert.equal(r.hits[0]!.headers['webhook-id'], r.hits[1]!.headers['webhook-id']);
  });

  test('410 disables the endpoint: no retry, GET shows disabled, later events are not delivered', async (t) => {
    const { relay, receiver } = await setup(t);
    const gone = await receiver(() => ({ status: 410, body: 'gone for good' }));
    const healthy = await receiver();
    const tenant = uniqueTenant('gone');
    const endpoint = await register(relay, tenant, gone.url);
    await register(relay, tenant, healthy.url);
    await publish(relay, tenant, [{ type: 'com.example.first' }]);
    await until(() => gone.hits.length === 1 && healthy.hits.length === 1, 'the first delivery');
    await until(async () => (await getEndpoint(relay, tenant, endpoint.id)).disabled, 'the endpoint to be disabled', 3000);
    const shown = await getEndpoint(relay, tenant, endpoint.id);
    assert.equal(shown.disabled, true);
    assert.equal(shown.disabledReason, 'gone');
    assert.match(shown.disabledDetail ?? '', /410/);

    const token = await relay.token({ scope: 'admin', tenants: [tenant] });
    const list = (await (
      await fetch(`${relay.url}/v1/tenants/${tenant}/webhooks`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as {
      webhooks: Endpoint[];
    };
    assert.equal(list.webhooks.find((w) => w.id === endpoint.id)?.disabled, true);

    // The endpoint cache of the dispatcher lives for 1 s at most; publish after it.
    await sleep(1100);
    await publish(relay, tenant, [{ type: 'com.example.second' }, { type: 'com.example.third' }]);
    await until(() => healthy.hits.length === 3, 'the later deliveries to the healthy endpoint');
    await sleep(500);
    assert.equal(gone.hits.length, 1, 'a disabled endpoint gets neither retries nor later events');
  });

  test('with webhookRetry4xx false a 400 is not retried, while 408 still is', async (t) => {
    const { relay, receiver } = await setup(t, { webhookRetry4xx: false });
    const bad = await receiver(() => ({ status: 400, body: 'bad payload' }));
    const timeout = await receiver((_h, attempt) => (attempt === 1 ? { status: 408 } : { status: 204 }));
    const tenant = uniqueTenant('no-4xx');
    await register(relay, tenant, bad.url);
    await register(relay, tenant, timeout.url);
    await publish(relay, tenant, [{ type: 'com.example.x' }]);
    await until(() => bad.hits.length === 1 && timeout.hits.length === 2, 'the attempts');
    // The whole schedule is 250 ms: a retry would have come by now.
    await sleep(600);
    assert.equal(bad.hits.length, 1);
    assert.equal(timeout.hits.length, 2);
  });

  test('by default a 400 is retried', async (t) => {
    const { relay, receiver } = await setup(t);
    const bad = await receiver((_h, attempt) => (attempt === 1 ? { status: 400 } : { status: 204 }));
    const tenant = uniqueTenant('4xx');
    await register(relay, tenant, bad.url);
    await publish(relay, tenant, [{ type: 'com.example.x' }]);
    await until(() => bad.hits.length === 2, 'the retry');
    assert.deepEqual(
      bad.hits.map((h) => h.status),
      [400, 204],
    );
  });

  test('an answer slower than webhookTimeoutMs counts as a failure and is retried', async (t) => {
    const { relay, receiver } = await setup(t, { webhookTimeoutMs: 300 });
    const slow = await receiver((_h, attempt) => (attempt === 1 ? { status: 204, delayMs: 1500 } : { status: 204 }));
    const tenant = uniqueTenant('timeout');
    await register(relay, tenant, slow.url);
    await publish(relay, tenant, [{ type: 'com.example.x' }]);
    await until(() => slow.hits.length === 2, 'the retry after the timeout', 5000);
    const gap = slow.hits[1]!.at - slow.hits[0]!.at;
    assert.ok(gap >= 280 && gap < 1500, `the retry came ${gap} ms after the first attempt`);
  });

  test('a deleted endpoint gets nothing more', async (t) => {
    const { relay, receiver } = await setup(t);
    const r = await receiver();
    const tenant = uniqueTenant('deleted');
    const endpoint = await register(relay, tenant, r.url);
    await publish(relay, tenant, [{ type: 'com.example.x' }]);
    await until(() => r.hits.length === 1, 'the first delivery');
    const token = await relay.token({ scope: 'admin', tenants: [tenant] });
    const del = await fetch(`${relay.url}/v1/tenants/${tenant}/webhooks/${endpoint.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(del.status, 204);
    await publish(relay, tenant, [{ type: 'com.example.y' }]);
    await sleep(1500);
    assert.equal(r.hits.length, 1);
  });

  test('a slow endpoint gets at most webhookEndpointConcurrency deliveries at once and does not hold others back', async (t) => {
    const { relay, receiver } = await setup(t, { webhookEndpointConcurrency: 2, webhookConcurrency: 8 });
    const slow = await receiver(() => ({ status: 204, delayMs: 150 }));
    const fast = await receiver();
    const tenant = uniqueTenant('slow');
    await register(relay, tenant, slow.url);
    const other = uniqueTenant('fast');
    await register(relay, other, fast.url);
    const started = Date.now();
    await publish(
      relay,
      tenant,
      Array.from({ length: 12 }, (_, i) => ({ type: 'com.example.slow', data: { i } })),
    );
    await publish(
      relay,
      other,
      Array.from({ length: 12 }, (_, i) => ({ type: 'com.example.fast', data: { i } })),
    );
    await until(() => fast.hits.length === 12, 'the fast endpoint’s deliveries');
    const fastDone = Date.now() - started;
    const slowAtFastDone = new Set(slow.hits.map((h) => h.headers['webhook-id'])).size;
    await until(() => new Set(slow.hits.map((h) => h.headers['webhook-id'])).size === 12, 'the slow endpoint’s deliveries', 15_000);
    const slowDone = Date.now() - started;
    assert.ok(slow.maxInFlight <= 2, `the slow endpoint had ${slow.maxInFlight} deliveries at once`);
    // 12 deliveries of 150 ms, two at a time, take at least 900 ms; the other tenant's must not wait for them.
    assert.ok(slowDone >= 850, `the slow endpoint was done after ${slowDone} ms`);
    assert.ok(slowAtFastDone < 12, `the fast endpoint was done only after the slow one (${fastDone} ms, ${slowDone} ms)`);
  });
});

describe('delivery metrics', () => {
  /** Reads one sample of the relay's /metrics, e.g. `tenantcast_relay_deliveries_total`, `{ result: 'failed' }`; undefined when absent. */
  const sample = (relay: TestRelay, name: string, labels?: Record<string, string>) => scrapeMetric(relay.metricsUrl, name, labels);

  test('/metrics counts succeeded, retrying and failed deliveries, their duration, and the queue depth', async (t) => {
    // The broken endpoint's deliveries must run through their attempts: no circuit breaker to hold them.
    const { relay, receiver } = await setup(t, { webhookCircuitFailures: 1000 });
    const ok = await receiver();
    const broken = await receiver(() => ({ status: 500 }));
    const tenant = uniqueTenant('metrics');
    await register(relay, tenant, ok.url);
    await register(relay, tenant, broken.url);
    await publish(relay, tenant, [{ type: 'com.example.a' }, { type: 'com.example.b' }]);
    // ok: 2 successes; broken: 2 events × (3 retries + 1 final failure).
    await until(
      async () => (await sample(relay, 'tenantcast_relay_deliveries_total', { result: 'failed' })) === 2,
      'both deliveries to the broken endpoint to fail for good',
    );
    assert.equal(await sample(relay, 'tenantcast_relay_deliveries_total', { result: 'succeeded' }), 2);
    assert.equal(await sample(relay, 'tenantcast_relay_deliveries_total', { result: 'retrying' }), 6);
    assert.equal(broken.hits.length, 8);
    assert.equal(await sample(relay, 'tenantcast_relay_delivery_duration_seconds_count'), 10);
    const sum = await sample(relay, 'tenantcast_relay_delivery_duration_seconds_sum');
    assert.ok(sum !== undefined && sum > 0 && sum < 10, `duration sum ${sum}`);
    assert.equal(await sample(relay, 'tenantcast_relay_delivery_queue_depth', { state: 'failed' }), 2);
    assert.equal(await sample(relay, 'tenantcast_relay_delivery_queue_depth', { state: 'waiting' }), 0);
    assert.equal(await sample(relay, 'tenantcast_relay_delivery_queue_depth', { state: 'delayed' }), 0);
    assert.equal(await sample(relay, 'tenantcast_relay_delivery_queue_depth', { state: 'active' }), 0);
  });

  test('the queue depth shows deliveries waiting for a retry as delayed', async (t) => {
    const { relay, receiver } = await setup(t, { webhookRetrySchedule: [60_000] });
    const down = await receiver(() => ({ status: 503 }));
    const tenant = uniqueTenant('depth');
    await register(relay, tenant, down.url);
    await publish(relay, tenant, [{ type: 'com.example.a' }, { type: 'com.example.b' }, { type: 'com.example.c' }]);
    await until(
      async () => (await sample(relay, 'tenantcast_relay_delivery_queue_depth', { state: 'delayed' })) === 3,
      'three delayed jobs',
    );
    assert.equal(await sample(relay, 'tenantcast_relay_deliveries_total', { result: 'retrying' }), 3);
  });
});
