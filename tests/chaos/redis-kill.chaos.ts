import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ReceivedEvent, RelayClient, type Subscription, subscribe } from '@tenantcast/sdk';
import { sleep, uniqueTenant } from '@tenantcast/testkit';
import { offsetAfter, tick } from '../support/events.ts';
import { figure, until } from '../support/scenarios.ts';
import { startStack } from '../support/stack.ts';

// Scenario 1: redis-server SIGKILLed and restarted (AOF on) during a steady publish through the SDK's
// RelayClient and subscribe through the SDK's subscribe(). Every event that got a 202 reaches each
// subscriber exactly once, in order per tenant. With appendfsync always, nothing acknowledged may be
// lost; with everysec the loss is measured and reported, not asserted.

const TENANTS = 2;
const SUBSCRIBERS_PER_TENANT = 2;
const EVENTS_PER_TENANT = 240;
const KILLS = 2;

async function run(t: import('node:test').TestContext, fsync: 'always' | 'everysec'): Promise<{ acked: number; lost: number }> {
  const stack = await startStack({ redis: { kind: 'single', appendonly: true, fsync } });
  t.after(stack.close);
  const { relay, gateway } = stack;
  const redis = stack.redis.server!;
  const token = await relay.token({});
  const tenants = Array.from({ length: TENANTS }, (_, i) => uniqueTenant(`redis-kill-${fsync}-${i}`));

  // Each tenant's stream exists before anyone subscribes (see tests/support/events.ts seededTenant).
  const client = new RelayClient({ url: relay.url, token, maxAttempts: 40, backoff: { baseMs: 50, maxMs: 400 }, timeoutMs: 3000 });
  t.after(() => client.close({ abort: true }));
  const seeds = new Map<string, string>();
  for (const tenant of tenants) seeds.set(tenant, (await client.publish(tick(tenant, -1))).offset);

  const received = new Map<Subscription<Record<string, unknown>>, { tenant: string; events: ReceivedEvent<Record<string, unknown>>[] }>();
  for (const tenant of tenants) {
    for (let i = 0; i < SUBSCRIBERS_PER_TENANT; i++) {
      const events: ReceivedEvent<Record<string, unknown>>[] = [];
      const subscription = subscribe<Record<string, unknown>>({
        url: gateway.wsUrl,
        token,
        tenantid: tenant,
        after: seeds.get(tenant),
        backoff: { baseMs: 50, maxMs: 500 },
        onEvent: (event) => events.push(event),
      });
      t.after(() => subscription.close());
      received.set(subscription, { tenant, events });
      await subscription.ready;
    }
  }

  // Publish steadily: one event per tenant every few ms, each awaited in its own promise.
  const acked = new Map<string, { tenant: string; n: number; offset: string }>();
  let failures = 0;
  const inFlight: Promise<void>[] = [];
  const publishing = (async () => {
    for (let n = 0; n < EVENTS_PER_TENANT; n++) {
      for (const tenant of tenants) {
        const event = tick(tenant, n);
        inFlight.push(
          client.publish(event).then(
            (result) => {
              acked.set(event.id, { tenant, n, offset: result.offset });
            },
            () => {
              failures++;
            },
          ),
        );
      }
      await sleep(8);
    }
  })();
  // Kill Redis twice in the middle of it.
  for (let k = 0; k < KILLS; k++) {
    await sleep(600);
    await redis.kill();
    await sleep(300);
    await redis.restart();
  }
  await publishing;
  await Promise.all(inFlight);

  // Lost = acknowledged but absent from the stream after recovery (read by the subscribers, which
  // also get everything the stream holds).
  const ackedIds = new Set(acked.keys());
  const stored = new Set<string>();
  let lost = 0;
  await until(
    () => {
      for (const { tenant, events } of received.values()) {
        const got = new Set(events.map((e) => e.id as string));
        for (const [id, a] of acked) if (a.tenant === tenant && !got.has(id)) return false;
      }
      return true;
    },
    'every acknowledged event at every subscriber',
    fsync === 'always' ? 30_000 : 8_000,
  ).catch((error) => {
    if (fsync === 'always') throw error;
  });
  for (const { tenant, events } of received.values()) {
    // Exactly once: no offset and no id twice.
    const offsets = events.map((e) => e.relayoffset);
    assert.equal(new Set(offsets).size, offsets.length, `duplicate offsets at a subscriber of ${tenant}`);
    assert.equal(new Set(events.map((e) => e.id)).size, events.length, `duplicate ids at a subscriber of ${tenant}`);
    // In order: offsets increase, and so do the publish numbers (the client keeps a tenant's order).
    for (let i = 1; i < events.length; i++) {
      assert.ok(
        offsetAfter(offsets[i] as string, offsets[i - 1] as string),
        `offsets out of order at ${tenant}: ${offsets[i - 1]} then ${offsets[i]}`,
      );
      const a = (events[i - 1]?.data as { n: number } | undefined)?.n ?? -2;
      const b = (events[i]?.data as { n: number } | undefined)?.n ?? -2;
      assert.ok(b > a, `events out of publish order at ${tenant}: ${a} then ${b}`);
    }
    for (const e of events) {
      assert.equal(e.tenantid, tenant, 'an event of another tenant');
      stored.add(e.id as string);
    }
  }
  for (const id of ackedIds) if (!stored.has(id)) lost++;
  for (const { tenant, events } of received.values()) {
    const got = new Set(events.map((e) => e.id as string));
    const missing = [...acked].filter(([id, a]) => a.tenant === tenant && !got.has(id) && stored.has(id)).length;
    assert.equal(missing, 0, `a subscriber of ${tenant} misses ${missing} events another subscriber got`);
  }
  const attempted = TENANTS * EVENTS_PER_TENANT;
  console.log(
    `redis-kill fsync=${fsync}: ${KILLS} SIGKILLs of redis-server; ${attempted} published, ${acked.size} acknowledged (202), ${failures} failed after retries, ${lost} acknowledged lost; ${received.size} subscribers`,
  );
  figure(`redis-kill.${fsync}.kills`, KILLS);
  figure(`redis-kill.${fsync}.acknowledged`, acked.size);
  figure(`redis-kill.${fsync}.lost`, lost);
  return { acked: acked.size, lost };
}

test('redis SIGKILLed under steady publish/subscribe, appendfsync always: no acknowledged event lost or duplicated', {
  timeout: 120_000,
}, async (t) => {
  const { acked, lost } = await run(t, 'always');
  assert.ok(acked > 0);
  assert.equal(lost, 0);
});

test('redis SIGKILLed under steady publish/subscribe, appendfsync everysec: loss measured and reported', {
  timeout: 120_000,
}, async (t) => {
  const { acked } = await run(t, 'everysec');
  assert.ok(acked > 0);
});
