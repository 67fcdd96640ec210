import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { RelayClient } from '@tenantcast/sdk';
import { freePort, sleep, uniqueTenant } from '@tenantcast/testkit';
import { tick } from '../support/events.ts';
import { figure, until } from '../support/scenarios.ts';
import { startRelayStack } from '../support/stack.ts';

// Scenario 4: a webhook receiver down for a while (its server closed, then listening again on the
// same port): every event stored meanwhile is delivered once it returns.

const EVENTS = 60;

test('a webhook receiver down for a while gets every event once it listens again', { timeout: 120_000 }, async (t) => {
  const stack = await startRelayStack({
    redis: { kind: 'single' },
    relay: {
      webhookAllowPrivate: true,
      webhookRetrySchedule: [200, 400, 800, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
      // The circuit opens during the outage; its first cooldown is short here, so that the events follow soon after.
      webhookCircuitCooldownMs: 1000,
      webhookTimeoutMs: 2000,
    },
  });
  t.after(stack.close);
  const { relay } = stack;
  const token = await relay.token({ scope: 'publish subscribe admin' });
  const tenant = uniqueTenant('webhook-down');
  const port = await freePort();

  const hits = new Map<string, number>();
  let attempts = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      attempts++;
      const id = String(req.headers['webhook-id']);
      hits.set(id, (hits.get(id) ?? 0) + 1);
      res.writeHead(204).end();
    });
  });
  const listen = () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  await listen();
  t.after(() => (server.listening ? close() : undefined));

  const client = new RelayClient({ url: relay.url, token });
  t.after(() => client.close({ abort: true }));
  await client.createWebhook(tenant, { url: `http://127.0.0.1:${port}/hook` });
  // One event while it is up, to see that the endpoint works at all.
  await client.publish(tick(tenant, -1));
  await until(() => hits.size === 1, 'the first delivery');

  await close();
  const offsets: string[] = [];
  for (let n = 0; n < EVENTS; n++) offsets.push((await client.publish(tick(tenant, n))).offset);
  const down = Date.now();
  await sleep(2500);
  assert.equal(hits.size, 1, 'nothing delivered while the receiver is down');
  await listen();
  const downMs = Date.now() - down;
  await until(() => hits.size === EVENTS + 1, `all ${EVENTS + 1} events delivered`, 30_000);
  for (const offset of offsets) assert.ok(hits.has(`msg_${tenant}_${offset}`), `event ${offset} delivered`);
  const repeats = [...hits.values()].filter((n) => n > 1).length;
  console.log(
    `webhook-down: receiver down ${downMs} ms; ${EVENTS} events stored meanwhile, all delivered after it returned (${attempts} POSTs received, ${repeats} ids seen more than once)`,
  );
  figure('webhook-down.delivered', hits.size);
  figure('webhook-down.lost', 0);
});
