import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { StreamAppender, StreamReader } from '@tenantcast/server';
import { startRedisServer, uniqueKeyPrefix, until } from '@tenantcast/testkit';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pino from 'pino';
import { createRelayMetrics } from '../ops/metrics.ts';
import { DELIVERY_QUEUE, type DeliveryJobData, queuePrefix } from './delivery-job.ts';
import { DeliveryLog } from './delivery-log.ts';
import { createDeliveryWorker } from './delivery-worker.ts';
import { WebhookStore } from './endpoint-store.ts';
import { HostResolver } from './host-resolver.ts';
import { OutstandingDeliveries } from './outstanding.ts';
import { SystemEvents } from './system-events.ts';

/** A real store whose first lookups fail the way a lost Redis connection fails them. */
class FlakyLookups extends WebhookStore {
  failuresLeft = 3;
  override async get(tenant: string, id: string) {
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      throw new Error('Connection is closed.');
    }
    return super.get(tenant, id);
  }
}

test('an endpoint lookup that fails (Redis, not the endpoint) is tried again without spending a delivery attempt', async (t) => {
  const redis = await startRedisServer();
  t.after(() => redis.stop());
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  t.after(() => connection.disconnect());
  const bodies: string[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      bodies.push(body);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

  const keyPrefix = uniqueKeyPrefix('lookup');
  const prefix = queuePrefix(keyPrefix);
  const tenant = 'acme';
  const webhooks = new FlakyLookups(connection, keyPrefix);
  const endpoint = await webhooks.create(tenant, { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` });
  // Two attempts, the second a minute after the first: had a failed lookup counted as an attempt,
  // the delivery would have waited that minute after the first, and failed for good after the second.
  const worker = createDeliveryWorker({
    connection,
    prefix,
    webhooks,
    events: new StreamReader(connection, { keyPrefix }),
    outstanding: new OutstandingDeliveries(connection, keyPrefix, 60_000),
    systemEvents: new SystemEvents(
      new StreamAppender(connection, {
        keyPrefix,
        streamMaxLen: 0,
        streamMaxAgeSeconds: 0,
        dedupeWindowSeconds: 60,
        rateLimitFor: () => 0,
      }),
      pino({ level: 'silent' }),
    ),
    log: new DeliveryLog(connection, keyPrefix, { retentionSeconds: 60, maxPerEndpoint: 100 }),
    metrics: createRelayMetrics(),
    logger: pino({ level: 'silent' }),
    concurrency: 1,
    endpointConcurrency: 1,
    tenantConcurrency: 1,
    retrySchedule: [60_000],
    retry4xx: true,
    timeoutMs: 2000,
    allowPrivate: true,
    resolver: new HostResolver({ timeoutMs: 1000 }),
    circuit: { failures: 5, cooldownMs: 30_000, maxCooldownMs: 600_000 },
    lockMs: 5000,
    disableAfterMs: 432_000_000,
  });
  t.after(() => worker.close(true));
  const queue = new Queue<DeliveryJobData>(DELIVERY_QUEUE, { connection, prefix });
  t.after(() => queue.close());

  const event = JSON.stringify({ specversion: '1.0', id: 'e-1', source: 'test', type: 'com.example.one', tenantid: tenant });
  const job = await queue.add(
    'deliver',
    { tenantid: tenant, endpointId: endpoint.id, offset: '1-0', webhookId: 'msg_1', event },
    { attempts: 2, backoff: { type: 'webhook' } },
  );
  await until(async () => (await queue.getJobState(job.id as string)) === 'completed', 'the delivery to complete', 15_000);
  assert.equal(webhooks.failuresLeft, 0, 'the first three lookups failed');
  assert.deepEqual(bodies, [event], 'delivered once, as stored');
});
