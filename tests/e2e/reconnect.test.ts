import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startGateway, type TestGateway } from '@tenantcast/gateway/testing';
import { startRelay } from '@tenantcast/relay/testing';
import { type ReceivedEvent, type SubscriptionStatus, subscribe, TenantcastError } from '@tenantcast/sdk';
import { closeAll, scrapeMetric, sleep, uniqueTenant, until, within } from '@tenantcast/testkit';
import { onEnd } from '../support/cleanup.ts';
import { publishOffsets, seededTenant, ticks } from '../support/events.ts';
import { useRelayStack } from '../support/stack.ts';
import { ending } from '../support/subscriptions.ts';
import { startProxy } from '../support/tcp-proxies.ts';

// The SDK's subscribe client across gateway restarts, shutdowns, slow-consumer closes, token expiry
// and retention, against a real relay, gateways and redis-server. The client must resume from its
// last offset with no gap and no duplicate: each test compares the offsets received with the
// offsets the relay stored, exactly and in order.

type Ticks = { 'com.example.tick': { n: number; pad?: string } };

// Each test starts the gateways it needs, on the suite's Redis and relay.
const stack = useRelayStack();

/** A gateway on the shared relay's streams, closed when the test ends. */
async function gatewayFor(t: Parameters<typeof onEnd>[0], overrides: Parameters<typeof startGateway>[1] = {}): Promise<TestGateway> {
  const { redis, relay } = stack;
  const gateway = await startGateway(redis, { keyPrefix: relay.config.keyPrefix, ...overrides });
  onEnd(t, () => gateway.close());
  return gateway;
}

/** A subscription that records every event (callback form) and status, closed when the test ends. */
async function follow(
  t: Parameters<typeof onEnd>[0],
  url: string,
  tenant: string,
  options: { after?: string; token?: () => Promise<string> } = {},
) {
  const { relay } = stack;
  const events: ReceivedEvent<Ticks>[] = [];
  const statuses: Array<{ status: SubscriptionStatus; code: number | undefined }> = [];
  const token = options.token ?? (await relay.token({ scope: 'subscribe', tenants: [tenant] }));
  const sub = subscribe<Ticks>({
    url,
    token,
    tenantid: tenant,
    after: options.after,
    backoff: { baseMs: 10, maxMs: 50 },
    onEvent: (event) => events.push(event),
    onStatus: (status, detail) => statuses.push({ status, code: detail?.code }),
  });
  onEnd(t, () => sub.close());
  return {
    sub,
    statuses,
    /** Waits until `count` events have arrived, then a little longer to catch any extra one. */
    async settle(count: number, what = `${count} events`): Promise<string[]> {
      await until(() => events.length >= count, what, 15_000);
      await sleep(100);
      return events.map((e) => e.relayoffset);
    },
  };
}

describe('subscribe() reconnects and resumes', () => {
  test('across a gateway restart on the same port, with events published during the outage', async (t) => {
    const { redis, relay } = stack;
    const tenant = await seededTenant(relay, 'restart');
    const first = await startGateway(redis, { keyPrefix: relay.config.keyPrefix });
    let second: TestGateway | undefined;
    onEnd(t, () =>
      closeAll(
        () => first.close(),
        () => second?.close(),
      ),
    );
    const { sub, statuses, settle } = await follow(t, first.wsUrl, tenant);
    await within(sub.ready, 'ready');
    const stored = await publishOffsets(relay, tenant, ticks(5));
    await settle(5, 'the events before the restart');

    const closing = first.close();
    stored.push(...(await publishOffsets(relay, tenant, ticks(5, 5))));
    await closing;
    await until(() => statuses.some((s) => s.status === 'reconnecting'), 'reconnecting');
    stored.push(...(await publishOffsets(relay, tenant, ticks(5, 10))));
    assert.notEqual(sub.status, 'open');

    second = await startGateway(redis, { keyPrefix: relay.config.keyPrefix, port: Number(new URL(first.url).port) });
    assert.equal(second.url, first.url);
    await until(() => sub.status === 'open', 'open again');
    stored.push(...(await publishOffsets(relay, tenant, ticks(5, 15))));

    assert.deepEqual(await settle(20), stored);
    assert.equal(statuses.find((s) => s.status === 'reconnecting')?.code, 1001);
    // Consecutive repeats collapsed: a refused connection attempt reports 'reconnecting' again.
    assert.deepEqual(
      statuses.map((s) => s.status).filter((s, i, all) => s !== all[i - 1]),
      ['open', 'reconnecting', 'open'],
    );
  });

  test('after a 1001 from one gateway, through a load balancer, on another gateway', async (t) => {
    const { relay } = stack;
    const tenant = uniqueTenant('balanced');
    const a = await gatewayFor(t);
    const b = await gatewayFor(t);
    const proxy = await startProxy(Number(new URL(a.url).port));
    onEnd(t, () => proxy.close());
    const { sub, statuses, settle } = await follow(t, `ws://127.0.0.1:${proxy.port}`, tenant, { after: '0' });
    const stored = await publishOffsets(relay, tenant, ticks(3));
    await within(sub.ready, 'ready');
    await settle(3);

    proxy.target = Number(new URL(b.url).port);
    const closing = a.close();
    stored.push(...(await publishOffsets(relay, tenant, ticks(3, 3))));
    await closing;
    stored.push(...(await publishOffsets(relay, tenant, ticks(3, 6))));
    await until(
      async () => ((await scrapeMetric(b.metricsUrl, 'tenantcast_gateway_subscriptions', { tenant: tenant })) ?? 0) === 1,
      'b to serve it',
    );
    stored.push(...(await publishOffsets(relay, tenant, ticks(3, 9))));

    assert.deepEqual(await settle(12), stored);
    assert.ok(statuses.some((s) => s.status === 'reconnecting' && s.code === 1001));
    assert.equal(sub.status, 'open');
  });

  test('after a 4008 slow-consumer close', async (t) => {
    const { relay } = stack;
    const tenant = await seededTenant(relay, 'slow');
    const gateway = await gatewayFor(t, { maxBufferedBytes: 65_536 });
    const proxy = await startProxy(Number(new URL(gateway.url).port));
    onEnd(t, () => proxy.close());
    const { sub, statuses, settle } = await follow(t, `ws://127.0.0.1:${proxy.port}`, tenant);
    await within(sub.ready, 'ready');
    const stored = await publishOffsets(relay, tenant, ticks(2));
    await settle(2);

    // The client stops reading: the kernel buffers fill, then the gateway's send buffer overflows.
    proxy.pause();
    const pad = 'x'.repeat(48 * 1024);
    // Five such events a batch: within the relay's 256 KiB a write (RELAY_MAX_BATCH_BYTES).
    let n = 2;
    const started = Date.now();
    while (((await scrapeMetric(gateway.metricsUrl, 'tenantcast_gateway_slow_consumers_total')) ?? 0) === 0) {
      assert.ok(Date.now() - started < 20_000, 'the gateway closes the slow consumer');
      stored.push(
        ...(await publishOffsets(
          relay,
          tenant,
          Array.from({ length: 5 }, () => ({ type: 'com.example.tick', data: { n: n++, pad } })),
        )),
      );
    }
    stored.push(...(await publishOffsets(relay, tenant, ticks(2, n))));
    proxy.resume();
    await until(() => statuses.some((s) => s.status === 'reconnecting' && s.code === 4008), 'the 4008 close');
    stored.push(...(await publishOffsets(relay, tenant, ticks(2, n + 2))));

    assert.deepEqual(await settle(stored.length), stored);
    await until(() => sub.status === 'open', 'open again');
  });

  test('after the token expires (4001) because a refresh got no token, with the token function called again to reconnect', async (t) => {
    const { relay } = stack;
    const tenant = await seededTenant(relay, 'expiry');
    const gateway = await gatewayFor(t);
    let calls = 0;
    const { sub, statuses, settle } = await follow(t, gateway.wsUrl, tenant, {
      // The second call is the refresh the gateway's warning asks for: it fails, so the token expires.
      token: () => {
        calls++;
        if (calls === 2) return Promise.reject(new Error('identity provider unavailable'));
        return relay.token({ scope: 'subscribe', tenants: [tenant], expiresIn: 2 });
      },
    });
    await within(sub.ready, 'ready');
    const stored: string[] = [];
    for (let i = 0; i < 12; i++) {
      stored.push(...(await publishOffsets(relay, tenant, ticks(2, 2 * i))));
      await sleep(250);
    }
    assert.deepEqual(await settle(24), stored);
    assert.ok(
      statuses.some((s) => s.status === 'reconnecting' && s.code === 4001),
      'closed with 4001 at expiry',
    );
    assert.ok(calls >= 3, `the token function is called again on reconnect (called ${calls} times)`);
  });

  test('an expired resume offset ends the iteration with TC_ERR_OFFSET_EXPIRED', async (t) => {
    const { redis } = stack;
    const tenant = uniqueTenant('trimmed');
    const small = await startRelay(redis, { streamMaxLen: 10 });
    onEnd(t, () => small.close());
    const gateway = await startGateway(redis, { keyPrefix: small.config.keyPrefix });
    onEnd(t, () => gateway.close());
    const stored: string[] = [];
    for (let i = 0; i < 3; i++) stored.push(...(await publishOffsets(small, tenant, ticks(100, 100 * i))));
    const statuses: SubscriptionStatus[] = [];
    const sub = subscribe<Ticks>({
      url: gateway.wsUrl,
      token: await small.token({ scope: 'subscribe', tenants: [tenant] }),
      tenantid: tenant,
      after: stored[0],
      backoff: { baseMs: 10, maxMs: 50 },
      onStatus: (status) => statuses.push(status),
    });
    onEnd(t, () => sub.close());
    const error = await ending(sub);
    assert.ok(error instanceof TenantcastError, `ends with a TenantcastError, got ${error}`);
    assert.equal(error.code, 'TC_ERR_OFFSET_EXPIRED');
    assert.equal(sub.status, 'closed');
    assert.equal(statuses.at(-1), 'closed');
  });
});
