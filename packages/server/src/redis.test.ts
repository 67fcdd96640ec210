import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startRedisServer, until } from '@tenantcast/testkit';
import type { Redis } from 'ioredis';
import { closeRedis, createRedis } from './redis.ts';

const logger = { warn() {}, info() {} };

test('a connection that retries for ever resends the command in flight when its connection is cut, instead of dropping it', async (t) => {
  const redis = await startRedisServer();
  t.after(() => redis.stop());
  const client = createRedis({ url: redis.url, clusterNodes: [] }, logger, {
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    commandTimeout: undefined,
  });
  t.after(() => closeRedis(client));
  await client.connect();
  await client.client('SETNAME', 'in-flight');
  let outcome = 'pending';
  client.blpop('nothing-here', 1).then(
    (value) => {
      outcome = `answered ${value}`;
    },
    (error: Error) => {
      outcome = `failed: ${error.message}`;
    },
  );
  const admin = createRedis({ url: redis.url, clusterNodes: [] }, logger);
  t.after(() => closeRedis(admin));
  await admin.connect();
  await until(async () => String(await admin.client('LIST')).includes('cmd=blpop'), 'the BLPOP to block');
  await admin.call('CLIENT', 'KILL', 'SKIPME', 'yes', 'TYPE', 'normal');
  // Resent on the new connection, it times out there after its second: an answer, null.
  await until(() => outcome !== 'pending', 'the BLPOP to settle', 10_000);
  assert.equal(outcome, 'answered null');
});

test('once a client is closed, a duplicate of it (BullMQ makes one for its blocking reads) does not reconnect either', async (t) => {
  const redis = await startRedisServer();
  let stopped = false;
  t.after(() => (stopped ? undefined : redis.stop()));
  const client = createRedis({ url: redis.url, clusterNodes: [] }, logger, { enableOfflineQueue: true, maxRetriesPerRequest: null });
  await client.connect();
  const duplicate = (client as Redis).duplicate();
  duplicate.on('error', () => {});
  t.after(() => duplicate.disconnect());
  await duplicate.ping();
  await closeRedis(client);
  // The duplicate is not closed (BullMQ closes its own, sometimes only in name); Redis goes away.
  await redis.stop();
  stopped = true;
  await until(() => duplicate.status === 'end', 'the duplicate to give up once its connection closed', 10_000);
  assert.equal(client.status, 'end');
});
