import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { type CloudEvent, compareOffsets, type ReceivedEvent, RelayClient, subscribe } from '@tenantcast/sdk';
import { sleep } from '@tenantcast/testkit';
import { startClusterStack, tenantsOnEveryShard } from '../support/cluster.ts';
import { startReceiver } from '../support/receiver.ts';
import { until } from '../support/scenarios.ts';

// One failover under load: the master of a tenant's shard is SIGKILLed while two relays take a
// steady publish (REDIS_WAIT_REPLICAS=1) and two gateways fan out; its replica is promoted, and the
// killed node comes back as a replica. Every event that got a 202 must reach every subscriber
// exactly once, in order, and every matching webhook endpoint.

const PUBLISH_MS_BEFORE = 1500;
const PUBLISH_MS_AFTER = 2000;

function tick(tenant: string, n: number): CloudEvent {
  return {
    specversion: '1.0',
    id: `${tenant}-${n}-${randomUUID()}`,
    source: 'failover',
    type: 'com.example.tick',
    tenantid: tenant,
    data: { n },
  };
}

test('a master killed under load, with REDIS_WAIT_REPLICAS=1: no acknowledged event is lost, duplicated or reordered', {
  timeout: 180_000,
}, async (t) => {
  const { cluster, relays, gateways, token } = await startClusterStack(t, {
    redisWaitReplicas: 1,
    redisWaitTimeoutMs: 500,
    // When the killed master also holds the delivery queue's slot, the jobs active on it are taken
    // back once their lock lapses (30 s by default).
    webhookLockMs: 2000,
    webhookAllowPrivate: true,
    webhookRetrySchedule: [100, 200, 400, 800, 1600, 3200],
  });
  const tenants = [...(await tenantsOnEveryShard(cluster, 1, 'failover')).values()].flat();
  const victim = tenants[0]!;
  const receiver = await startReceiver(t);
  const clients = relays.map(
    (relay) => new RelayClient({ url: relay.url, token, maxAttempts: 200, backoff: { baseMs: 50, maxMs: 300 }, timeoutMs: 3000 }),
  );
  for (const client of clients) t.after(() => client.close({ abort: true }));
  for (const tenant of tenants)
    await clients[0]!.createWebhook(tenant, { url: receiver.url, filters: [{ exact: { type: 'com.example.tick' } }] });

  const seeds = new Map<string, string>();
  for (const tenant of tenants)
    seeds.set(tenant, (await clients[0]!.publish({ ...tick(tenant, -1), type: 'com.example.seed' } as CloudEvent)).offset);
  const received: Array<{ tenant: string; events: ReceivedEvent<Record<string, unknown>>[] }> = [];
  for (const tenant of tenants) {
    for (const gateway of gateways) {
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
      received.push({ tenant, events });
      await subscription.ready;
    }
  }

  // Each tenant publishes one event at a time, alternating relays, until told to stop.
  const acked = new Map<string, { tenant: string; n: number; offset: string }>();
  let failed = 0;
  let stop = false;
  const publishers = tenants.map(async (tenant) => {
    for (let n = 0; !stop; n++) {
      const event = tick(tenant, n);
      try {
        const result = await clients[n % 2]!.publish(event);
        acked.set(event.id as string, { tenant, n, offset: result.offset });
      } catch {
        failed++;
      }
      await sleep(5);
    }
  });

  await sleep(PUBLISH_MS_BEFORE);
  const before = acked.size;
  const started = Date.now();
  const killed = await cluster.failover(`{${victim}}`);
  const failoverMs = Date.now() - started;
  // Until the killed node is back as a replica, the promoted master has none, and WAIT cannot be met.
  await cluster.restart(killed);
  const backMs = Date.now() - started;
  await sleep(PUBLISH_MS_AFTER);
  stop = true;
  await Promise.all(publishers);

  const victimAcked = [...acked.values()].filter((a) => a.tenant === victim);
  assert.ok(
    victimAcked.some((a) => compareOffsets(a.offset, victimAcked[0]!.offset) > 0 && a.n > 0),
    'the victim tenant published before and after',
  );
  await until(
    () => received.every(({ tenant, events }) => [...acked.values()].filter((a) => a.tenant === tenant).length <= events.length),
    'every acknowledged event at every subscriber',
    30_000,
  );
  let lost = 0;
  for (const { tenant, events } of received) {
    const got = new Set(events.map((e) => e.id));
    for (const [id, a] of acked) if (a.tenant === tenant && !got.has(id)) lost++;
    assert.equal(new Set(events.map((e) => e.relayoffset)).size, events.length, `duplicate offsets at a subscriber of ${tenant}`);
    for (let i = 1; i < events.length; i++) {
      assert.ok(
        compareOffsets(events[i]!.relayoffset as string, events[i - 1]!.relayoffset as string) > 0,
        `offsets out of order at ${tenant}`,
      );
      assert.ok(
        (events[i]!.data as { n: number }).n > (events[i - 1]!.data as { n: number }).n,
        `events out of publish order at ${tenant}`,
      );
    }
    assert.ok(
      events.every((e) => e.tenantid === tenant),
      'an event of another tenant',
    );
  }
  assert.equal(lost, 0, 'acknowledged events missing at subscribers');

  // Webhooks: every acknowledged event reaches the endpoint, whichever shard held the delivery queue.
  const undelivered = () => {
    const delivered = new Set(receiver.deliveries.map((d) => (JSON.parse(d.body) as { id: string }).id));
    return [...acked].filter(([id]) => !delivered.has(id));
  };
  await until(() => undelivered().length === 0, 'every acknowledged event at the webhook receiver', 60_000).catch((error) => {
    const missing = undelivered().map(([, a]) => `${a.tenant === victim ? 'victim' : 'other'} #${a.n} ${a.offset}`);
    throw new Error(
      `${(error as Error).message}; ${missing.length} undelivered (killed at ${started}): ${missing.slice(0, 20).join(', ')}`,
    );
  });
  const deliveries = receiver.deliveries.length;
  console.log(
    `failover: master ${killed} of ${victim}'s shard SIGKILLed; replica promoted in ${failoverMs} ms, old master back as a replica after ${backMs} ms; ` +
      `${acked.size} events acknowledged (${before} before the kill), ${failed} publishes failed after retries, 0 lost; ` +
      `${received.length} subscribers, ${deliveries} webhook deliveries for ${acked.size} events`,
  );
});

test('the master of the delivery queue’s slot killed while deliveries are pending: every matching event is still delivered', {
  timeout: 180_000,
}, async (t) => {
  const { cluster, relays, token } = await startClusterStack(t, {
    webhookAllowPrivate: true,
    // Jobs that were active on the killed master are taken back once their lock lapses.
    webhookLockMs: 2000,
    webhookRetrySchedule: [100, 200, 400, 800, 1600, 3200],
  });
  const receiver = await startReceiver(t);
  // The receiver answers slowly, so that jobs are queued, active and retried when the master dies.
  const slow = receiver.server.listeners('request')[0] as (req: unknown, res: unknown) => void;
  receiver.server.removeAllListeners('request');
  receiver.server.on('request', (req, res) => setTimeout(() => slow(req, res), 20));
  const tenants = [...(await tenantsOnEveryShard(cluster, 1, 'queue')).values()].flat();
  const client = new RelayClient({ url: relays[0].url, token, maxAttempts: 200, backoff: { baseMs: 50, maxMs: 300 }, timeoutMs: 3000 });
  t.after(() => client.close({ abort: true }));
  for (const tenant of tenants) await client.createWebhook(tenant, { url: receiver.url });
  const expected = new Set<string>();
  for (let n = 0; n < 40; n++) {
    for (const tenant of tenants) {
      const event = tick(tenant, n);
      await client.publish(event);
      expected.add(event.id as string);
    }
  }
  const queueKey = `${relays[0].config.keyPrefix}{bull}:webhook-deliveries:id`;
  const killed = await cluster.failover(queueKey);
  await cluster.restart(killed);
  for (let n = 40; n < 60; n++) {
    for (const tenant of tenants) {
      const event = tick(tenant, n);
      await client.publish(event);
      expected.add(event.id as string);
    }
  }
  await until(
    () => {
      const delivered = new Set(receiver.deliveries.map((d) => (JSON.parse(d.body) as { id: string }).id));
      return [...expected].every((id) => delivered.has(id));
    },
    'every event at the receiver after the queue’s failover',
    90_000,
  );
  const delivered = receiver.deliveries.map((d) => (JSON.parse(d.body) as { id: string }).id);
  console.log(
    `queue failover: master ${killed} of the {bull} slot SIGKILLed with deliveries pending; ${expected.size} events, ${delivered.length} deliveries (${delivered.length - new Set(delivered).size} repeated, same webhook-id), none missing`,
  );
});
