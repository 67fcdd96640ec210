import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RelayClient } from '@tenantcast/sdk';
import { mintToken } from '@tenantcast/sdk/tokens';
import { freePort, sleep, startRedisServer, TEST_SECRET, uniqueKeyPrefix, uniqueTenant } from '@tenantcast/testkit';
import { type AppProcess, spawnApp } from '../support/app-process.ts';
import { history, tick } from '../support/events.ts';
import { figure } from '../support/scenarios.ts';

// Scenario 3: the relay process SIGKILLed in mid-batch. A batch is stored whole or not at all (seen
// through the history endpoint of a restarted relay), and the retry of the same events is deduped.

const BATCH = 300;
const ROUNDS = 5;

test('the relay SIGKILLed in mid-batch: each batch stored whole or not at all; the retry is deduped', { timeout: 180_000 }, async (t) => {
  const redis = await startRedisServer({ appendonly: true, fsync: 'always' });
  t.after(() => redis.stop());
  const port = await freePort();
  const env = {
    REDIS_URL: redis.url,
    TENANTCAST_SECRET: TEST_SECRET,
    REDIS_KEY_PREFIX: uniqueKeyPrefix('chaos'),
    WEBHOOK_DELIVERY: 'off',
    // A batch of 300 padded events (about 480 KB) in one write, over the default cap of 256 KiB.
    RELAY_MAX_BATCH_BYTES: String(1024 * 1024),
  };
  let relay: AppProcess = await spawnApp('relay', env, port);
  t.after(() => relay.kill());
  const token = await mintToken({ sub: 'chaos', scope: 'publish subscribe', tenants: ['*'] }, TEST_SECRET);
  const outcomes = { none: 0, whole: 0 };

  for (let round = 0; round < ROUNDS; round++) {
    const tenant = uniqueTenant(`relay-kill-${round}`);
    // Padding makes the batch big enough to take a while to parse, validate and write.
    const batch = Array.from({ length: BATCH }, (_, n) => ({ ...tick(tenant, n), data: { n, pad: 'x'.repeat(1500) } }));
    const body = JSON.stringify(batch);
    const sent = fetch(`${relay.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/cloudevents-batch+json' },
      body,
    }).then(
      (r) => r.status,
      () => 0,
    );
    // Kill at a different moment each round: before, during and after the write.
    await sleep([0, 5, 15, 30, 60][round] ?? 10);
    await relay.kill('SIGKILL');
    const status = await sent;
    relay = await spawnApp('relay', env, port);
    const stored = (await history(relay.url, token, tenant)).map((e) => e.event.id);
    const ids = new Set(batch.map((e) => e.id));
    const ofBatch = stored.filter((id) => ids.has(id)).length;
    assert.ok(ofBatch === 0 || ofBatch === BATCH, `round ${round}: ${ofBatch} of ${BATCH} events stored: a partial batch`);
    if (status === 202) assert.equal(ofBatch, BATCH, `round ${round}: 202 but not stored`);
    outcomes[ofBatch === 0 ? 'none' : 'whole']++;

    // The client retries the same events: deduped when they were stored, stored once when not.
    const retry = await fetch(`${relay.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/cloudevents-batch+json' },
      body,
    });
    assert.equal(retry.status, 202);
    const accepted = ((await retry.json()) as { accepted: Array<{ duplicate: boolean }> }).accepted;
    assert.ok(
      accepted.every((a) => a.duplicate === (ofBatch === BATCH)),
      `round ${round}: duplicate flags ${ofBatch === BATCH ? 'should all be true' : 'should all be false'}`,
    );
    const after = (await history(relay.url, token, tenant)).map((e) => e.event.id);
    assert.equal(after.length, BATCH, `round ${round}: stored once each after the retry`);
    assert.equal(new Set(after).size, BATCH);
    console.log(
      `relay-kill round ${round}: first attempt answered ${status || 'no response'}, ${ofBatch} of ${BATCH} stored before the retry; after the retry ${after.length}`,
    );
  }

  // The SDK's own retry across a relay crash and restart on the same port.
  const tenant = uniqueTenant('relay-kill-sdk');
  const client = new RelayClient({ url: relay.url, token, maxAttempts: 40, backoff: { baseMs: 100, maxMs: 500 }, timeoutMs: 5000 });
  t.after(() => client.close({ abort: true }));
  const events = Array.from({ length: BATCH }, (_, n) => ({ ...tick(tenant, n), data: { n, pad: 'y'.repeat(1000) } }));
  const publishing = client.publish(events);
  await sleep(10);
  await relay.kill('SIGKILL');
  relay = await spawnApp('relay', env, port);
  const results = await publishing;
  assert.equal(results.length, BATCH);
  const stored = await history(relay.url, token, tenant);
  assert.equal(stored.length, BATCH, 'the SDK retry stored each event once');
  assert.deepEqual(
    stored.map((e) => e.event.id),
    events.map((e) => e.id),
  );
  assert.deepEqual(
    results.map((r) => r.offset),
    stored.map((e) => e.offset),
    'the offsets the client got are those stored',
  );
  console.log(
    `relay-kill: ${ROUNDS + 1} SIGKILLs of the relay; batches stored whole ${outcomes.whole}, not at all ${outcomes.none}, partly 0`,
  );
  figure('relay-kill.kills', ROUNDS + 1);
  figure('relay-kill.partial', 0);
});
