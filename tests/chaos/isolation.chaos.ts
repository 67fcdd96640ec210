import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { test } from 'node:test';
import { isTenantId, type ReceivedEvent, subscribe } from '@tenantcast/sdk';
import { mintToken } from '@tenantcast/sdk/tokens';
import { sleep, TEST_SECRET } from '@tenantcast/testkit';
import fc from 'fast-check';
import { figure, until } from '../support/scenarios.ts';
import { startStack } from '../support/stack.ts';

// Scenario 6: isolation as a property. Random tenant ids (glob characters, braces, unicode, long,
// empty, `*`): a token for one tenant reaches no other, and no event reaches another tenant's
// subscriber. Expired, forged and wrong-algorithm tokens are refused by the relay and the gateway.

const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 2 ** 31);
const nasty = fc.oneof(
  fc.constantFrom(
    '*',
    '',
    '{a}',
    'a*',
    '?',
    '[ab]',
    'a.b',
    '-',
    '_',
    '..',
    'é',
    '\u{1F600}',
    'a'.repeat(128),
    'a'.repeat(129),
    'A',
    'a\\*',
    '%2A',
  ),
  fc.string({ maxLength: 20 }),
  fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/),
);

function b64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}
function handToken(header: object, claims: object, sign: (input: string) => string): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${sign(input)}`;
}

function upgradeStatus(port: number, path: string, token: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': b64url(randomUUID()).slice(0, 22) + '==',
        authorization: `Bearer ${token}`,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(-1));
    req.end();
  });
}

test(`isolation: random tenant ids never see each other's events; bad tokens refused (seed ${SEED})`, { timeout: 180_000 }, async (t) => {
  const stack = await startStack({ redis: { kind: 'single' } });
  t.after(() => stack.close());
  const { relay, gateway } = stack;
  const port = Number(new URL(gateway.url).port);

  // Property 1: a token granting tenant A refuses publishing to and subscribing to any other id B.
  let refusals = 0;
  await fc.assert(
    fc.asyncProperty(fc.stringMatching(/^[A-Za-z0-9._-]{1,16}$/), nasty, async (a, b) => {
      fc.pre(a !== b);
      const token = await mintToken({ sub: 'iso', scope: 'publish subscribe', tenants: [a] }, TEST_SECRET);
      const publish = await fetch(`${relay.url}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/cloudevents+json' },
        body: JSON.stringify({ specversion: '1.0', id: randomUUID(), source: 'iso', type: 'com.example.iso', tenantid: b }),
      });
      assert.ok([400, 403].includes(publish.status), `publish to ${JSON.stringify(b)} with a token for ${a}: ${publish.status}`);
      const read = await fetch(`${relay.url}/v1/tenants/${encodeURIComponent(b)}/events`, {
        headers: { authorization: `Bearer ${token}` },
      });
      // 404 only for paths too long to be a route at all (a tenant id is at most 128 characters).
      assert.ok([400, 403, 404].includes(read.status), `history of ${JSON.stringify(b)}: ${read.status}`);
      const ws = await upgradeStatus(port, `/v1/tenants/${encodeURIComponent(b)}/events`, token);
      assert.ok([400, 403, 404].includes(ws), `subscribe to ${JSON.stringify(b)}: ${ws}`);
      refusals += 3;
    }),
    { numRuns: 150, seed: SEED },
  );

  // Property 2: events published to random valid tenants reach only that tenant's subscribers.
  const tenants = [...new Set(fc.sample(fc.stringMatching(/^[A-Za-z0-9._-]{1,40}$/), { numRuns: 12, seed: SEED }))];
  tenants.push('a', 'a.b', 'A', '-', '_', '.');
  const unique = [...new Set(tenants)];
  const seedToken = await mintToken({ sub: 'iso', scope: 'publish subscribe', tenants: ['*'] }, TEST_SECRET);
  const inboxes = new Map<string, ReceivedEvent<Record<string, unknown>>[]>();
  for (const tenant of unique) {
    assert.ok(isTenantId(tenant));
    // Seed each stream, then subscribe after it with a token for that tenant alone.
    const r = await fetch(`${relay.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${seedToken}`, 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({ specversion: '1.0', id: randomUUID(), source: 'seed', type: 'com.example.seed', tenantid: tenant }),
    });
    assert.equal(r.status, 202);
    const offset = ((await r.json()) as { accepted: Array<{ offset: string }> }).accepted[0]?.offset;
    const inbox: ReceivedEvent<Record<string, unknown>>[] = [];
    const token = await mintToken({ sub: 'iso', scope: 'subscribe', tenants: [tenant] }, TEST_SECRET);
    const subscription = subscribe<Record<string, unknown>>({
      url: gateway.wsUrl,
      token,
      tenantid: tenant,
      after: offset,
      onEvent: (e) => inbox.push(e),
    });
    t.after(() => subscription.close());
    await subscription.ready;
    inboxes.set(tenant, inbox);
  }
  const perTenant = 20;
  for (let n = 0; n < perTenant; n++) {
    await Promise.all(
      unique.map(async (tenant) => {
        const token = await mintToken({ sub: 'iso', scope: 'publish', tenants: [tenant] }, TEST_SECRET);
        const r = await fetch(`${relay.url}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/cloudevents+json' },
          body: JSON.stringify({
            specversion: '1.0',
            id: randomUUID(),
            source: 'iso',
            type: 'com.example.iso',
            subject: '*',
            tenantid: tenant,
            data: { tenant, n },
          }),
        });
        assert.equal(r.status, 202);
      }),
    );
  }
  await until(() => [...inboxes.values()].every((inbox) => inbox.length >= perTenant), 'every subscriber to get its events');
  await sleep(200);
  let crossTenant = 0;
  for (const [tenant, inbox] of inboxes) {
    assert.equal(inbox.length, perTenant, `${tenant} got exactly its own ${perTenant} events`);
    for (const e of inbox) if (e.tenantid !== tenant || (e.data as { tenant: string }).tenant !== tenant) crossTenant++;
  }
  assert.equal(crossTenant, 0);

  // Bad tokens: expired, forged, alg none, HS512, and garbage, at the relay and at the gateway.
  const claims = { sub: 'iso', scope: 'publish subscribe', tenants: ['*'] };
  const now = Math.floor(Date.now() / 1000);
  const bad: Record<string, string> = {
    expired: handToken({ alg: 'HS256', typ: 'JWT' }, { ...claims, exp: now - 60 }, (i) =>
      createHmac('sha256', TEST_SECRET).update(i).digest('base64url'),
    ),
    forged: handToken({ alg: 'HS256', typ: 'JWT' }, claims, (i) =>
      createHmac('sha256', 'some-other-secret-0123456789').update(i).digest('base64url'),
    ),
    'alg-none': handToken({ alg: 'none', typ: 'JWT' }, claims, () => ''),
    'alg-None-sig': handToken({ alg: 'None', typ: 'JWT' }, claims, (i) => createHmac('sha256', TEST_SECRET).update(i).digest('base64url')),
    hs512: handToken({ alg: 'HS512', typ: 'JWT' }, claims, (i) => createHmac('sha512', TEST_SECRET).update(i).digest('base64url')),
    garbage: 'not.a.token',
  };
  const tenant = unique[0] as string;
  for (const [name, token] of Object.entries(bad)) {
    const publish = await fetch(`${relay.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({ specversion: '1.0', id: randomUUID(), source: 'iso', type: 'com.example.iso', tenantid: tenant }),
    });
    assert.equal(publish.status, 401, `relay, ${name} token`);
    const read = await fetch(`${relay.url}/v1/tenants/${tenant}/events`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(read.status, 401, `relay history, ${name} token`);
    assert.equal(await upgradeStatus(port, `/v1/tenants/${tenant}/events`, token), 401, `gateway, ${name} token`);
    refusals += 3;
  }
  console.log(
    `isolation (seed ${SEED}): ${unique.length} tenants x ${perTenant} events, ${crossTenant} cross-tenant deliveries; ${refusals} forbidden or bad-token requests refused`,
  );
  figure('isolation.cross-tenant', crossTenant);
  figure('isolation.refusals', refusals);
});

test('history of a valid tenant id of 101–128 characters answers 200', async (t) => {
  const stack = await startStack({ redis: { kind: 'single' } });
  t.after(() => stack.close());
  const tenant = 'a'.repeat(128);
  const read = await fetch(`${stack.relay.url}/v1/tenants/${tenant}/events`, { headers: { authorization: `Bearer ${stack.token}` } });
  assert.equal(read.status, 200, await read.text());
});
