import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { type CloudEvent, type ReceivedEvent, RelayClient, type Subscription, subscribe } from '@tenantcast/sdk';
import { Cluster } from 'ioredis';
import { startClusterStack, tenantsOnEveryShard } from '../support/cluster.ts';
import { startReceiver } from '../support/receiver.ts';
import { until } from '../support/scenarios.ts';

// The product on a Redis Cluster of 3 masters and 3 replicas, with two relays and two gateways:
// the public behaviour the single-Redis suites check, across shards and processes.

const EVENTS_PER_TENANT = 30;

function tick(tenant: string, n: number): CloudEvent {
  return {
    specversion: '1.0',
    id: `${tenant}-${n}-${randomUUID()}`,
    source: 'cluster',
    type: 'com.example.tick',
    tenantid: tenant,
    data: { n },
  };
}

test('two relays and two gateways on 3 shards: each subscriber gets exactly its tenant’s events, in order, whichever relay took them; resume works across gateways', {
  timeout: 120_000,
}, async (t) => {
  const { cluster, relays, gateways, token } = await startClusterStack(t);
  const tenants = [...(await tenantsOnEveryShard(cluster, 2, 'scale')).values()].flat();
  assert.equal(tenants.length, 6);
  const clients = relays.map((relay) => new RelayClient({ url: relay.url, token }));
  for (const client of clients) t.after(() => client.close());

  // A seed event per tenant, so that subscribers resume from a known offset.
  const seeds = new Map<string, string>();
  for (const tenant of tenants) seeds.set(tenant, (await clients[0]!.publish(tick(tenant, -1))).offset);

  const received = new Map<
    Subscription<Record<string, unknown>>,
    { tenant: string; gateway: number; events: ReceivedEvent<Record<string, unknown>>[] }
  >();
  for (const tenant of tenants) {
    for (const [g, gateway] of gateways.entries()) {
      const events: ReceivedEvent<Record<string, unknown>>[] = [];
      const subscription = subscribe<Record<string, unknown>>({
        url: gateway.wsUrl,
        token,
        tenantid: tenant,
        after: seeds.get(tenant),
        onEvent: (event) => events.push(event),
      });
      t.after(() => subscription.close());
      received.set(subscription, { tenant, gateway: g, events });
      await subscription.ready;
    }
  }

  // Each tenant's events go out one after another, alternating between the two relays.
  const published = new Map<string, string[]>();
  await Promise.all(
    tenants.map(async (tenant) => {
      const ids: string[] = [];
      published.set(tenant, ids);
      for (let n = 0; n < EVENTS_PER_TENANT; n++) {
        const event = tick(tenant, n);
        const result = await clients[n % 2]!.publish(event);
        assert.equal(result.duplicate, false);
        ids.push(event.id as string);
      }
    }),
  );

  await until(
    () => [...received.values()].every(({ tenant, events }) => events.length >= published.get(tenant)!.length),
    'every event at every subscriber',
  );
  for (const { tenant, gateway, events } of received.values()) {
    assert.deepEqual(
      events.map((e) => e.id),
      published.get(tenant),
      `subscriber of ${tenant} on gateway ${gateway}: the published events, each once, in order`,
    );
    assert.ok(events.every((e) => e.tenantid === tenant));
  }

  // Resume: a subscriber of gateway 0 stops; events go on; it comes back on gateway 1 after its last offset.
  const tenant = tenants[0]!;
  const [first] = [...received].find(([, r]) => r.tenant === tenant && r.gateway === 0)!;
  const last = received.get(first)!.events.at(-1)!.relayoffset as string;
  first.close();
  const missed: string[] = [];
  for (let n = 100; n < 110; n++) {
    const event = tick(tenant, n);
    await clients[n % 2]!.publish(event);
    missed.push(event.id as string);
  }
  const resumed: string[] = [];
  const again = subscribe<Record<string, unknown>>({
    url: gateways[1].wsUrl,
    token,
    tenantid: tenant,
    after: last,
    onEvent: (event) => {
      resumed.push(event.id as string);
    },
  });
  t.after(() => again.close());
  await until(() => resumed.length >= missed.length, 'the resumed subscriber to catch up');
  const live = tick(tenant, 200);
  await clients[1]!.publish(live);
  await until(() => resumed.length >= missed.length + 1, 'a live event after the catch-up');
  assert.deepEqual(resumed, [...missed, live.id], 'the missed events, then live ones, with no gap and no duplicate');
});

test('webhook endpoints registered through one relay get every matching event published through the other, once', {
  timeout: 120_000,
}, async (t) => {
  const { cluster, relays, token } = await startClusterStack(t, { webhookAllowPrivate: true, webhookRetrySchedule: [50, 100] });
  const tenants = [...(await tenantsOnEveryShard(cluster, 1, 'hooks')).values()].flat();
  const receiver = await startReceiver(t);
  const admin = new RelayClient({ url: relays[0].url, token });
  const publisher = new RelayClient({ url: relays[1].url, token });
  t.after(() => admin.close());
  t.after(() => publisher.close());
  for (const tenant of tenants) {
    await admin.createWebhook(tenant, { url: receiver.url, filters: [{ exact: { type: 'com.example.tick' } }] });
  }
  const expected = new Set<string>();
  for (const tenant of tenants) {
    const events = Array.from({ length: 20 }, (_, n) => tick(tenant, n));
    await publisher.publish(events);
    for (const event of events) expected.add(event.id as string);
    // Not matched by the filter: must not be delivered.
    await publisher.publish({ ...tick(tenant, -1), type: 'com.example.other' } as CloudEvent);
  }
  await until(() => receiver.deliveries.length >= expected.size, 'every delivery', 30_000);
  // Time for a duplicate or a stray delivery to show up.
  await new Promise((r) => setTimeout(r, 500));
  const delivered = receiver.deliveries.map((d) => (JSON.parse(d.body) as { id: string }).id);
  assert.equal(delivered.length, expected.size, 'no event delivered twice, nothing unmatched delivered');
  assert.deepEqual(new Set(delivered), expected);
  const webhookIds = receiver.deliveries.map((d) => d.headers['webhook-id']);
  assert.equal(new Set(webhookIds).size, webhookIds.length);
});

test('every key a tenant has lives in its hash-tag slot; the only other keys are the queue’s ({bull}-tagged) and the webhook tenant set', {
  timeout: 120_000,
}, async (t) => {
  const { cluster, relays, token } = await startClusterStack(t, { webhookAllowPrivate: true, webhookRetrySchedule: [50] });
  const tenants = [...(await tenantsOnEveryShard(cluster, 1, 'keys')).values()].flat();
  const receiver = await startReceiver(t);
  const client = new RelayClient({ url: relays[0].url, token });
  t.after(() => client.close());
  for (const tenant of tenants) {
    await client.createWebhook(tenant, { url: receiver.url });
    await client.publish([tick(tenant, 0), tick(tenant, 1)]);
  }
  await until(() => receiver.deliveries.length >= tenants.length * 2, 'the deliveries');

  const prefix = relays[0].config.keyPrefix;
  const redis = new Cluster([{ host: '127.0.0.1', port: Number(cluster.nodes[0]!.split(':')[1]) }], { clusterRetryStrategy: () => null });
  redis.on('error', () => {});
  t.after(() => redis.disconnect());
  await new Promise((resolve) => redis.once('ready', resolve));
  const keys: string[] = [];
  for (const node of redis.nodes('master')) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
  }
  assert.ok(keys.length > tenants.length * 3, `keys found: ${keys.length}`);
  const keyslot = async (key: string) => Number(await redis.call('CLUSTER', 'KEYSLOT', key));
  const seen = new Set<string>();
  for (const key of keys) {
    const rest = key.slice(prefix.length);
    if (rest === 'webhook-tenants' || rest.startsWith('{bull}:')) continue;
    const tenant = /^\{([^}]+)\}:/.exec(rest)?.[1];
    assert.ok(tenant !== undefined && tenants.includes(tenant), `key without a tenant's hash tag: ${key}`);
    assert.equal(await keyslot(key), await keyslot(`{${tenant}}`));
    seen.add(tenant);
  }
  assert.deepEqual([...seen].sort(), [...tenants].sort(), 'every tenant has keys');
});
