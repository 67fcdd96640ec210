import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ReceivedEvent, RelayClient, subscribe } from '@tenantcast/sdk';
import { sleep, TEST_SECRET, uniqueTenant } from '@tenantcast/testkit';
import { spawnApp } from '../support/app-process.ts';
import { offsetAfter, tick } from '../support/events.ts';
import { figure, until } from '../support/scenarios.ts';
import { startRelayStack } from '../support/stack.ts';
import { startRoundRobinProxy } from '../support/tcp-proxies.ts';

// Scenario 2: two gateway processes behind a round-robin TCP proxy; one is SIGKILLed during fan-out.
// Its SDK subscribers reconnect through the proxy to the survivor and resume after their last
// offset: none loses or duplicates an event.

const SUBSCRIBERS = 16;
const EVENTS = 400;

test('a gateway SIGKILLed during fan-out: its subscribers move to the other gateway, nothing lost or duplicated', {
  timeout: 120_000,
}, async (t) => {
  const { redis, relay, close } = await startRelayStack({ redis: { kind: 'single' } });
  t.after(close);
  const env = {
    REDIS_URL: redis.redisUrl,
    TENANTCAST_SECRET: TEST_SECRET,
    REDIS_KEY_PREFIX: relay.config.keyPrefix,
    GATEWAY_HEARTBEAT_MS: '2000',
  };
  const [a, b] = await Promise.all([spawnApp('gateway', env), spawnApp('gateway', env)]);
  assert.ok(a && b);
  t.after(() => a.kill());
  t.after(() => b.kill());
  const proxy = await startRoundRobinProxy([a.port, b.port]);
  t.after(() => proxy.close());

  const token = await relay.token({});
  const tenant = uniqueTenant('gateway-kill');
  const client = new RelayClient({ url: relay.url, token, backoff: { baseMs: 50, maxMs: 400 } });
  t.after(() => client.close({ abort: true }));
  const seed = (await client.publish(tick(tenant, -1))).offset;

  const inboxes: ReceivedEvent<Record<string, unknown>>[][] = [];
  const statuses: string[][] = [];
  for (let i = 0; i < SUBSCRIBERS; i++) {
    const inbox: ReceivedEvent<Record<string, unknown>>[] = [];
    const status: string[] = [];
    const subscription = subscribe<Record<string, unknown>>({
      url: `ws://127.0.0.1:${proxy.port}`,
      token,
      tenantid: tenant,
      after: seed,
      backoff: { baseMs: 50, maxMs: 500 },
      onEvent: (event) => inbox.push(event),
      onStatus: (s) => status.push(s),
    });
    t.after(() => subscription.close());
    await subscription.ready;
    inboxes.push(inbox);
    statuses.push(status);
  }
  assert.equal(proxy.counts.get(a.port), SUBSCRIBERS / 2, 'the proxy spread the subscribers over both gateways');

  const acked: string[] = [];
  const publishing = (async () => {
    for (let n = 0; n < EVENTS; n++) {
      const event = tick(tenant, n);
      await client.publish(event);
      acked.push(event.id);
      if (n % 4 === 0) await sleep(5);
    }
  })();
  await until(() => acked.length >= EVENTS / 3, 'a third of the events published');
  // Kill gateway a in mid fan-out; new connections go to b only.
  proxy.targets = [b.port];
  await a.kill('SIGKILL');
  await publishing;

  await until(() => inboxes.every((inbox) => inbox.length >= EVENTS), 'every subscriber to receive every event', 30_000);
  for (const [i, inbox] of inboxes.entries()) {
    const ids = inbox.map((e) => e.id as string);
    assert.deepEqual(ids, acked, `subscriber ${i} got exactly the acknowledged events, once each, in order`);
    for (let j = 1; j < inbox.length; j++) assert.ok(offsetAfter(inbox[j]?.relayoffset as string, inbox[j - 1]?.relayoffset as string));
  }
  const moved = statuses.filter((s) => s.includes('reconnecting')).length;
  console.log(
    `gateway-kill: 1 gateway SIGKILLed; ${moved} of ${SUBSCRIBERS} subscribers reconnected to the other; ${EVENTS} events each, 0 lost, 0 duplicated`,
  );
  assert.equal(moved, SUBSCRIBERS / 2, 'the killed gateway’s subscribers, and only those, reconnected');
  figure('gateway-kill.kills', 1);
  figure('gateway-kill.moved', moved);
  figure('gateway-kill.lost', 0);
});
