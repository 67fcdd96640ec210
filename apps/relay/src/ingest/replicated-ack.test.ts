import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { startRedisServer, uniqueTenant, until } from '@tenantcast/testkit';
import { Redis } from 'ioredis';
import { startRelayWithRedis } from '../testing/use-relay.ts';

// REDIS_WAIT_REPLICAS: a 202 only once that many replicas have the write (Redis WAIT). Checked on
// one redis-server, then with a replica attached to it.

test('with REDIS_WAIT_REPLICAS=1, no replica means 503 TC_ERR_NOT_REPLICATED (stored on the master, retry deduped); with one, 202', async (t) => {
  const { redis: master, relay, token, close } = await startRelayWithRedis({ redisWaitReplicas: 1, redisWaitTimeoutMs: 1000 });
  t.after(close);
  const tenant = uniqueTenant('wait');
  const event = { specversion: '1.0', id: randomUUID(), source: '/tests/wait', type: 'com.example.thing', tenantid: tenant };
  const post = (body: unknown) =>
    fetch(`${relay.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify(body),
    });

  const refused = await post(event);
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get('retry-after'), '1');
  const error = ((await refused.json()) as { error: { code: string; message: string } }).error;
  assert.equal(error.code, 'TC_ERR_NOT_REPLICATED');
  assert.match(error.message, /only 0 of the 1 replicas required \(REDIS_WAIT_REPLICAS\) confirmed them within 1000 ms/);
  const history = await fetch(`${relay.url}/v1/tenants/${tenant}/events?after=0`, { headers: { authorization: `Bearer ${token}` } });
  const stored = ((await history.json()) as { events: Array<{ offset: string; event: { id: string } }> }).events;
  assert.deepEqual(
    stored.map((e) => e.event.id),
    [event.id],
    'the master holds the event once',
  );

  const replica = await startRedisServer();
  t.after(() => replica.stop());
  const replicaClient = new Redis(replica.url);
  t.after(() => replicaClient.disconnect());
  await replicaClient.call('REPLICAOF', '127.0.0.1', String(master.port));
  await until(async () => /master_link_status:up/.test(await replicaClient.info('replication')), 'the replica to sync', 20_000, 50);
  const masterClient = new Redis(master.url);
  t.after(() => masterClient.disconnect());
  await until(
    async () => /slave0:.*state=online/.test(await masterClient.info('replication')),
    'the master to count the replica online',
    20_000,
    50,
  );

  const retried = await post(event);
  assert.equal(retried.status, 202, await retried.clone().text());
  assert.deepEqual(((await retried.json()) as { accepted: unknown[] }).accepted, [
    { id: event.id, source: event.source, offset: stored[0]!.offset, duplicate: true },
  ]);
  const next = { ...event, id: randomUUID() };
  const accepted = await post(next);
  assert.equal(accepted.status, 202);
  // Acknowledged means on the replica already: no wait needed to read it there.
  const onReplica = await replicaClient.xrange(`${relay.config.keyPrefix}{${tenant}}:events`, '-', '+');
  assert.equal(onReplica.length, 2);
});
