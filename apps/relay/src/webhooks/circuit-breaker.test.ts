import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import { freePort, sleep, uniqueTenant, until } from '@tenantcast/testkit';
import { publishDrafts } from '../testing/publish-drafts.ts';
import { startRelayWithRedis } from '../testing/use-relay.ts';
import { startReceiver } from '../testing/webhook-receiver.ts';
import { CircuitBreakers } from './circuit-breaker.ts';

describe('CircuitBreakers', () => {
  const options = { failures: 3, cooldownMs: 1000, maxCooldownMs: 3000, probeMs: 500 };

  test('opens after the failures in a row, lets one probe through after the cooldown, doubles it when the probe fails, closes on success', () => {
    const breakers = new CircuitBreakers(options);
    assert.equal(breakers.record('e', 'down', false, 0), undefined);
    assert.equal(breakers.record('e', 'down', false, 0), undefined);
    assert.deepEqual(breakers.check('e', 0), { go: true, probe: false }, 'two failures: still closed');
    assert.equal(breakers.record('e', 'down', false, 0), 'opened');
    assert.deepEqual(breakers.check('e', 400), { go: false, ms: 600 });
    // After the cooldown: one probe; the others wait for it.
    assert.deepEqual(breakers.check('e', 1000), { go: true, probe: true });
    assert.deepEqual(breakers.check('e', 1100), { go: false, ms: 400 });
    // The probe fails: open again, twice as long.
    assert.equal(breakers.record('e', 'down', true, 1200), 'opened');
    assert.deepEqual(breakers.check('e', 2200), { go: false, ms: 1000 });
    assert.deepEqual(breakers.check('e', 3200), { go: true, probe: true });
    assert.equal(breakers.record('e', 'up', true, 3300), 'closed');
    assert.deepEqual(breakers.check('e', 3300), { go: true, probe: false });
  });

  test('answers that show the endpoint is up reset the count; other endpoints are not affected; the cooldown is capped', () => {
    const breakers = new CircuitBreakers(options);
    breakers.record('e', 'down', false, 0);
    breakers.record('e', 'down', false, 0);
    breakers.record('e', 'neutral', false, 0);
    assert.equal(breakers.record('e', 'down', false, 0), undefined, 'a 429 or 4xx in between: not three in a row');
    for (let i = 0; i < 3; i++) breakers.record('f', 'down', false, 0);
    assert.equal(breakers.check('e', 10).go, true);
    assert.equal(breakers.check('f', 10).go, false);
    let now = 1000;
    for (let i = 0; i < 4; i++) {
      assert.equal(breakers.check('f', now).go, true);
      breakers.record('f', 'down', true, now);
      const verdict = breakers.check('f', now);
      assert.ok(!verdict.go && verdict.ms <= options.maxCooldownMs);
      now += options.maxCooldownMs;
    }
  });

  test('a probe that never reports stops holding the others after probeMs', () => {
    const breakers = new CircuitBreakers(options);
    for (let i = 0; i < 3; i++) breakers.record('e', 'down', false, 0);
    assert.deepEqual(breakers.check('e', 1000), { go: true, probe: true });
    assert.deepEqual(breakers.check('e', 1600), { go: true, probe: true });
  });
});

test('a dead endpoint is left alone after WEBHOOK_CIRCUIT_FAILURES attempts, without spending its jobs’ attempts, and gets everything once it is back', async (t) => {
  const port = await freePort();
  const { relay, close } = await startRelayWithRedis({
    webhookAllowPrivate: true,
    // Two attempts per job, 100 ms apart: without the breaker, 20 jobs to a dead endpoint fail for good within a second.
    webhookRetrySchedule: [100],
    webhookCircuitFailures: 3,
    webhookCircuitCooldownMs: 1500,
    webhookTimeoutMs: 1000,
  });
  t.after(close);
  // Nothing listens on the port: each attempt is refused at once.
  let refused = 0;
  const closedPort = createServer((socket) => {
    refused++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => closedPort.listen(port, '127.0.0.1', resolve));
  t.after(() => (closedPort.listening ? new Promise((resolve) => closedPort.close(resolve)) : undefined));
  const tenant = uniqueTenant('breaker');
  const admin = await relay.token({ scope: 'admin', tenants: [tenant] });
  const created = await fetch(`${relay.url}/v1/tenants/${tenant}/webhooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: `http://127.0.0.1:${port}/hook` }),
  });
  assert.equal(created.status, 201);
  const events = await publishDrafts(
    relay,
    tenant,
    Array.from({ length: 20 }, () => ({ type: 'com.example.breaker' })),
    'breaker-test',
  );
  await until(() => refused >= 3, 'the first failed attempts');
  await sleep(800);
  // Open: at most the attempts that were in flight when it opened (WEBHOOK_ENDPOINT_CONCURRENCY, 4) went after the third.
  assert.ok(refused <= 3 + relay.config.webhookEndpointConcurrency, `${refused} attempts to a dead endpoint within the cooldown`);

  // The endpoint comes back on its port: the next probe succeeds, the circuit closes, every event arrives.
  await new Promise<void>((resolve) => closedPort.close(() => resolve()));
  const receiver = await startReceiver(() => ({ status: 204 }), port);
  t.after(() => receiver.close());
  await until(
    () => events.every((e) => receiver.hits.some((hit) => hit.body.includes(e.id))),
    'every event, once the endpoint is back',
    20_000,
  );
});
