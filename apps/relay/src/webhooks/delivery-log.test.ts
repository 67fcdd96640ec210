import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sleep, uniqueKeyPrefix, uniqueTenant, until, useRedisServer } from '@tenantcast/testkit';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { publishDrafts } from '../testing/publish-drafts.ts';
import { startRelayWithRedis } from '../testing/use-relay.ts';
import { startReceiver } from '../testing/webhook-receiver.ts';
import { DELIVERY_QUEUE, type DeliveryJobData, queuePrefix } from './delivery-job.ts';
import { DeliveryLog, deliveryLogKeys } from './delivery-log.ts';
import { DeliveryLogReader } from './delivery-log-reader.ts';

// The delivery log's own bounds and order (issue #17): it keeps WEBHOOK_LOG_RETENTION_SECONDS and
// at most WEBHOOK_LOG_MAX_PER_ENDPOINT deliveries per endpoint, and its pages neither repeat nor
// skip, even across deliveries written in the same millisecond.

const redisServer = useRedisServer();

describe('the log’s writer and reader', () => {
  test('pages of deliveries queued in one batch (one score) follow each other without repeating or skipping, also when the cursor’s delivery moved', async (t) => {
    const redis = new Redis(redisServer.redis.url);
    t.after(() => redis.disconnect());
    const prefix = uniqueKeyPrefix('dlog');
    const log = new DeliveryLog(redis, prefix, { retentionSeconds: 3600, maxPerEndpoint: 1000 });
    const reader = new DeliveryLogReader(redis, prefix);
    const offsets = Array.from({ length: 25 }, (_, n) => `1700000000000-${n}`);
    await log.queued(
      'acme',
      offsets.map((offset) => ({ endpointId: 'wh_a', offset, eventType: 'com.example.batched' })),
    );
    const seen: string[] = [];
    let page = await reader.page('acme', 'wh_a', 'pending', 4);
    seen.push(...page.deliveries.map((d) => d.offset));
    while (page.next !== null) {
      // The delivery the cursor names succeeds meanwhile: it leaves the pending index.
      if (seen.length === 8)
        await log.attempt('acme', 'wh_a', page.next.offset, undefined, { status: 'failed', lastStatus: null, lastError: 'x' });
      page = await reader.page('acme', 'wh_a', 'pending', 4, page.next);
      seen.push(...page.deliveries.map((d) => d.offset));
    }
    assert.equal(new Set(seen).size, seen.length, 'no delivery twice');
    assert.deepEqual([...seen].sort(), [...offsets].sort(), 'every delivery once');
  });

  test('past the cap per endpoint the oldest deliveries go, hashes and all; another endpoint keeps its own', async (t) => {
    const redis = new Redis(redisServer.redis.url);
    t.after(() => redis.disconnect());
    const prefix = uniqueKeyPrefix('dlog');
    const log = new DeliveryLog(redis, prefix, { retentionSeconds: 3600, maxPerEndpoint: 3 });
    const reader = new DeliveryLogReader(redis, prefix);
    for (let n = 0; n < 5; n++) {
      await log.queued('acme', [{ endpointId: 'wh_a', offset: `${n + 1}-0` }]);
      await sleep(2);
    }
    await log.queued('acme', [{ endpointId: 'wh_b', offset: '1-0' }]);
    const { deliveries } = await reader.page('acme', 'wh_a', undefined, 10);
    assert.deepEqual(
      deliveries.map((d) => d.offset),
      ['5-0', '4-0', '3-0'],
    );
    const keys = deliveryLogKeys(prefix, 'acme', 'wh_a');
    assert.equal(await redis.exists(keys.record('1-0'), keys.record('2-0')), 0, 'the dropped deliveries’ hashes are gone');
    assert.equal(await redis.zcard(keys.pending), 3);
    assert.equal(await reader.get('acme', 'wh_a', '1-0'), undefined);
    // An attempt of a dropped delivery does not bring it back past the cap.
    await log.attempt('acme', 'wh_a', '1-0', undefined, { status: 'failed', lastStatus: null, lastError: 'x' });
    assert.equal(await redis.zcard(keys.all), 3);
    assert.equal((await reader.page('acme', 'wh_b', undefined, 10)).deliveries.length, 1);
  });

  test('an attempt log keeps the last 20 attempts', async (t) => {
    const redis = new Redis(redisServer.redis.url);
    t.after(() => redis.disconnect());
    const prefix = uniqueKeyPrefix('dlog');
    const log = new DeliveryLog(redis, prefix, { retentionSeconds: 3600, maxPerEndpoint: 10 });
    const reader = new DeliveryLogReader(redis, prefix);
    await log.queued('acme', [{ endpointId: 'wh_a', offset: '1-0' }]);
    for (let n = 1; n <= 25; n++) {
      const attempt = { at: new Date().toISOString(), status: 500, durationMs: n, error: `HTTP 500: ${n}`, responseBody: String(n) };
      await log.attempt('acme', 'wh_a', '1-0', attempt, {
        status: 'pending',
        lastStatus: 500,
        lastError: `HTTP 500: ${n}`,
        nextAttemptAt: Date.now(),
      });
    }
    const delivery = await reader.get('acme', 'wh_a', '1-0');
    assert.equal(delivery?.attempts, 25);
    assert.deepEqual(
      delivery?.attemptLog.map((a) => a.durationMs),
      Array.from({ length: 20 }, (_, i) => i + 6),
    );
  });
});

describe('retention and the dashboard, through a relay', () => {
  test('a delivery unchanged for longer than WEBHOOK_LOG_RETENTION_SECONDS leaves the log', async (t) => {
    const { relay, close } = await startRelayWithRedis({ webhookAllowPrivate: true, webhookLogRetentionSeconds: 1 });
    const receiver = await startReceiver();
    t.after(async () => {
      await close();
      await receiver.close();
    });
    const tenant = uniqueTenant('retention');
    const admin = await relay.token({ scope: 'admin', tenants: [tenant] });
    const created = await fetch(`${relay.url}/v1/tenants/${tenant}/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: receiver.url }),
    });
    const endpoint = ((await created.json()) as { id: string }).id;
    const list = async () => {
      const res = await fetch(`${relay.url}/v1/tenants/${tenant}/webhooks/${endpoint}/deliveries`, {
        headers: { authorization: `Bearer ${admin}` },
      });
      return ((await res.json()) as { deliveries: Array<{ offset: string; status: string }> }).deliveries;
    };
    const [old] = await publishDrafts(relay, tenant, [{ type: 'com.example.old' }]);
    await until(async () => (await list()).some((d) => d.status === 'succeeded'), 'the first delivery');
    await sleep(2100);
    const [fresh] = await publishDrafts(relay, tenant, [{ type: 'com.example.fresh' }]);
    await until(async () => (await list()).some((d) => d.offset === fresh!.offset && d.status === 'succeeded'), 'the second delivery');
    assert.deepEqual(
      (await list()).map((d) => d.offset),
      [fresh!.offset],
    );
    const res = await fetch(`${relay.url}/v1/tenants/${tenant}/webhooks/${endpoint}/deliveries/msg_${tenant}_${old!.offset}`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    assert.equal(res.status, 404);
    const redis = new Redis(relay.config.redisUrl);
    t.after(() => redis.disconnect());
    const keys = deliveryLogKeys(relay.config.keyPrefix, tenant, endpoint);
    assert.equal(await redis.exists(keys.record(old!.offset)), 0, 'its hash expired');
    assert.deepEqual(await redis.zrange(keys.all, '0', '-1'), [fresh!.offset], 'and left the index');
  });

  test('a job’s name says tenant, event type and endpoint host; its failure reason is the one-line lastError, without a stack', async (t) => {
    const { relay, close } = await startRelayWithRedis({
      webhookAllowPrivate: true,
      webhookRetrySchedule: [],
      webhookCircuitFailures: 1000,
    });
    const receiver = await startReceiver(() => ({ status: 500, body: 'database\nis down' }));
    t.after(async () => {
      await close();
      await receiver.close();
    });
    const tenant = uniqueTenant('board');
    const admin = await relay.token({ scope: 'admin', tenants: [tenant] });
    await fetch(`${relay.url}/v1/tenants/${tenant}/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: receiver.url }),
    });
    await publishDrafts(relay, tenant, [{ type: 'com.example.named' }]);
    const connection = new Redis(relay.config.redisUrl);
    const queue = new Queue<DeliveryJobData>(DELIVERY_QUEUE, { connection, prefix: queuePrefix(relay.config.keyPrefix) });
    t.after(async () => {
      await queue.close();
      connection.disconnect();
    });
    await until(async () => (await queue.getFailedCount()) === 1, 'the failed job');
    const [job] = await queue.getFailed();
    assert.equal(job!.name, `${tenant} com.example.named → ${new URL(receiver.url).host}`);
    assert.equal(job!.failedReason, 'HTTP 500: database is down');
    assert.deepEqual(job!.stacktrace, []);
  });
});
