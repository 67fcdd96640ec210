import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { scrapeMetric, uniqueTenant, until } from '@tenantcast/testkit';
import { Redis } from 'ioredis';
import type { RelayConfig } from '../config.ts';
import { createEndpoint } from '../testing/endpoints-api.ts';
import { publishDrafts } from '../testing/publish-drafts.ts';
import type { TestRelay } from '../testing/start-relay.ts';
import { startRelayWithRedis } from '../testing/use-relay.ts';
import { type Answer, type Receiver, startReceiver } from '../testing/webhook-receiver.ts';
import type { ReplayAnswer } from './replay.ts';

// What one tenant's deliveries may cost the Redis every tenant shares (issue #16, finding 3): jobs
// hold references to events, not copies; replays are capped per call and by the tenant's
// deliveries outstanding, and a replay of events already queued for replay merges into it.

interface Stack {
  relay: TestRelay;
  receiver: Receiver;
  redis: Redis;
  tenant: string;
  endpoint: string;
  admin: string;
}

/** A relay on a Redis of the test's own, a receiver answering `respond`, and one endpoint on it. */
async function stack(t: TestContext, config: Partial<RelayConfig>, respond: (attempt: number) => Answer): Promise<Stack> {
  const { relay, close } = await startRelayWithRedis({ webhookAllowPrivate: true, ...config });
  const receiver = await startReceiver((_hit, attempt) => respond(attempt));
  const redis = new Redis(relay.config.redisUrl);
  t.after(async () => {
    redis.disconnect();
    await close();
    await receiver.close();
  });
  const tenant = uniqueTenant('limits');
  const { id: endpointId, admin } = await createEndpoint(relay, tenant, { url: receiver.url });
  return { relay, receiver, redis, tenant, endpoint: endpointId, admin };
}

async function replay(s: Stack, body: Record<string, unknown>): Promise<Response> {
  return fetch(`${s.relay.url}/v1/tenants/${s.tenant}/webhooks/${s.endpoint}/replay`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function replayed(s: Stack, body: Record<string, unknown>): Promise<ReplayAnswer> {
  const res = await replay(s, body);
  assert.equal(res.status, 202, await res.clone().text());
  return (await res.json()) as ReplayAnswer;
}

const usedMemory = async (redis: Redis) => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);

describe('delivery jobs hold references', () => {
  test('five replays of large events grow Redis by less than the events’ size once; replays of events queued already merge', async (t) => {
    // Every attempt fails and the next is a minute away: every job stays in Redis while we measure.
    // (No circuit breaker: every job's first attempt is made, and then waits a minute for its retry.)
    const s = await stack(t, { webhookRetrySchedule: [60_000], webhookCircuitFailures: 1000 }, () => ({ status: 503 }));
    const big = 'x'.repeat(200 * 1024);
    const offsets: string[] = [];
    for (let n = 0; n < 20; n++) {
      offsets.push(
        ...(await publishDrafts(s.relay, s.tenant, [{ type: 'com.example.big', data: { n, big } }], 'limits-test')).map((e) => e.offset),
      );
    }
    await until(() => s.receiver.hits.length >= 20, 'the first attempts', 20_000);
    const before = await usedMemory(s.redis);

    const first = await replayed(s, { after: '0' });
    assert.deepEqual([first.enqueued, first.merged, first.complete, first.last], [20, 0, true, offsets.at(-1)]);
    for (let n = 0; n < 4; n++) {
      const again = await replayed(s, { after: '0' });
      assert.deepEqual([again.enqueued, again.merged, again.complete], [0, 20, true], 'the same range, queued already: merged');
    }
    const grown = (await usedMemory(s.redis)) - before;
    assert.ok(grown < 20 * big.length, `Redis grew by ${(grown / 1024 / 1024).toFixed(1)} MiB for 20 events of 200 KiB`);
    // The replays are delivered, under the events' webhook-ids, carrying the events read from the stream.
    await until(() => s.receiver.hits.length >= 40, 'the replays’ first attempts', 20_000);
    const bodies = s.receiver.hits.slice(20).map((hit) => JSON.parse(hit.body) as { data: { big: string } });
    assert.ok(bodies.every((event) => event.data.big === big));
  });

  test('an event trimmed before its delivery fails for good as expired, not as a crash', async (t) => {
    const s = await stack(t, { webhookRetrySchedule: [500] }, (attempt) => ({ status: attempt === 1 ? 503 : 204 }));
    await publishDrafts(s.relay, s.tenant, [{ type: 'com.example.trimmed' }], 'limits-test');
    await until(() => s.receiver.hits.length === 1, 'the first attempt');
    // Retention takes the event before the retry.
    await s.redis.xtrim(`${s.relay.config.keyPrefix}{${s.tenant}}:events`, 'MAXLEN', 0);
    await until(
      async () => (await scrapeMetric(s.relay.metricsUrl, 'tenantcast_relay_deliveries_total', { result: 'expired' })) === 1,
      'the delivery to be counted as expired',
    );
    assert.equal(s.receiver.hits.length, 1, 'nothing is sent for an event that is gone');
  });
});

describe('replay caps', () => {
  test('a call queues at most WEBHOOK_REPLAY_MAX_EVENTS and says where to go on; going on skips nothing', async (t) => {
    const s = await stack(t, { webhookReplayMaxEvents: 5 }, () => ({ status: 204 }));
    const events = await publishDrafts(
      s.relay,
      s.tenant,
      Array.from({ length: 12 }, (_, n) => ({ type: 'com.example.capped', data: { n } })),
      'limits-test',
    );
    await until(() => s.receiver.hits.length >= 12, 'the first deliveries');
    const calls: ReplayAnswer[] = [await replayed(s, { after: '0' })];
    while (!calls.at(-1)!.complete) calls.push(await replayed(s, { after: calls.at(-1)!.last }));
    assert.deepEqual(
      calls.map((c) => [c.enqueued, c.last]),
      [
        [5, events[4]!.offset],
        [5, events[9]!.offset],
        [2, events[11]!.offset],
      ],
    );
    await until(() => s.receiver.hits.length >= 24, 'the replays');
    const replayedIds = s.receiver.hits.slice(12).map((hit) => String(hit.headers['webhook-id']));
    assert.deepEqual(new Set(replayedIds), new Set(events.map((e) => `msg_${s.tenant}_${e.offset}`)), 'each event replayed once');
  });

  test('a tenant at its cap of deliveries outstanding: the dispatcher leaves its new events in the stream until some finish', async (t) => {
    // The first attempt of every event fails, the retry 1.5 s later succeeds.
    const s = await stack(
      t,
      { webhookMaxOutstandingPerTenant: 3, webhookRetrySchedule: [1500], webhookCircuitFailures: 1000 },
      (attempt) => ({
        status: attempt === 1 ? 503 : 204,
      }),
    );
    const first = await publishDrafts(
      s.relay,
      s.tenant,
      Array.from({ length: 3 }, () => ({ type: 'com.example.first' })),
      'limits-test',
    );
    await until(() => s.receiver.hits.length >= 3, 'the first three attempts');
    const held = await publishDrafts(
      s.relay,
      s.tenant,
      Array.from({ length: 2 }, () => ({ type: 'com.example.held' })),
      'limits-test',
    );
    const arrivals = (id: string) => s.receiver.hits.filter((hit) => hit.body.includes(id)).map((hit) => hit.at);
    await until(() => held.every((e) => arrivals(e.id).length >= 2), 'the held events, once there is room', 20_000);
    // Not one attempt of the held events came before the first three had finished (their successful retries).
    const roomAt = Math.min(...first.map((e) => arrivals(e.id)[1]!));
    for (const e of held) assert.ok(arrivals(e.id)[0]! >= roomAt, 'a held event was attempted while the tenant was at its cap');
  });

  test('a tenant at its cap of deliveries outstanding gets 429 with Retry-After; another tenant replays', async (t) => {
    const s = await stack(t, { webhookMaxOutstandingPerTenant: 6, webhookRetrySchedule: [60_000], webhookCircuitFailures: 1000 }, () => ({
      status: 503,
    }));
    await publishDrafts(
      s.relay,
      s.tenant,
      Array.from({ length: 6 }, () => ({ type: 'com.example.stuck' })),
      'limits-test',
    );
    await until(() => s.receiver.hits.length >= 6, 'the first attempts');
    const full = await replay(s, { after: '0' });
    assert.equal(full.status, 429);
    assert.ok(Number(full.headers.get('retry-after')) > 0);
    const error = (await full.json()) as { error: { code: string; message: string } };
    assert.equal(error.error.code, 'TC_ERR_TOO_MANY_DELIVERIES');
    assert.match(error.error.message, /WEBHOOK_MAX_OUTSTANDING_PER_TENANT/);
    assert.equal(
      await scrapeMetric(s.relay.metricsUrl, 'tenantcast_relay_requests_rejected_total', { code: 'TC_ERR_TOO_MANY_DELIVERIES' }),
      1,
    );

    // The cap is the tenant's own: another tenant's endpoint on the same relay replays.
    const other = uniqueTenant('limits-other');
    const otherAdmin = await s.relay.token({ scope: 'admin', tenants: [other] });
    const created = await fetch(`${s.relay.url}/v1/tenants/${other}/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${otherAdmin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: s.receiver.url }),
    });
    const otherEndpoint = ((await created.json()) as { id: string }).id;
    await publishDrafts(s.relay, other, [{ type: 'com.example.other' }], 'limits-test');
    const res = await replayed({ ...s, tenant: other, endpoint: otherEndpoint, admin: otherAdmin }, { after: '0' });
    assert.equal(res.enqueued, 1);
  });
});
