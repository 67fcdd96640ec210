import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Cleanup, connect, makeEvent, plainUrl, scrapeMetric, sleep, type TestClient, testToken } from '@tenantcast/testkit';
import { useGateway } from '../testing/use-gateway.ts';
import { checkRefresh } from './token-refresh.ts';

// Refreshing a multiplexed connection's token in place ({"op":"refresh"}), the warning before it
// expires ({"op":"expiring"}), and the refusals, each closing with its documented code
// (docs/protocol.md, "Refreshing the token"). Against a real gateway and redis-server.

const stack = useGateway();

type Message = Record<string, unknown> & { op: string };

/** The `exp` of a token, read without verifying it. */
const expOf = (token: string): number => (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp;

/** A multiplexed connection with `token`, subscribed to `tenant` (live events). */
async function subscribed(t: Cleanup, token: string, tenant: string): Promise<TestClient> {
  const client = await connect(t, `${stack.gateway.wsUrl}/v1/connect`, { token, protocols: ['tenantcast.v1'] });
  client.send({ op: 'subscribe', id: 's', tenantid: tenant });
  await client.until(() => opsOf(client).includes('subscribed'), 'subscribed');
  return client;
}

const opsOf = (client: TestClient) => (client.messages as Message[]).map((m) => m.op);

/** Sends a refresh and waits for `refreshed`; returns it. */
async function refresh(client: TestClient, token: string): Promise<Message> {
  const before = client.messages.length;
  client.send({ op: 'refresh', token });
  await client.until(() => opsOf(client).slice(before).includes('refreshed'), 'refreshed');
  return (client.messages as Message[]).slice(before).find((m) => m.op === 'refreshed')!;
}

describe('a multiplexed connection refreshes its token', () => {
  test('it is warned with "expiring" before its token expires, then closed with 4001; a plain one gets events only', async (t) => {
    const { tenant } = await stack.writer.tenantWithHistory('warned');
    const token = await testToken({ scope: 'subscribe', tenants: [tenant], expiresIn: 3 });
    const exp = expOf(token);
    const mux = await subscribed(t, token, tenant);
    const plain = await connect(t, plainUrl(stack.gateway.wsUrl, tenant), { token });

    await mux.until(() => opsOf(mux).includes('expiring'), 'the expiring message', 6000);
    const warnedAt = Date.now();
    assert.ok(warnedAt < exp * 1000, `warned ${warnedAt - exp * 1000} ms after exp`);
    const expiring = (mux.messages as Message[]).find((m) => m.op === 'expiring')!;
    assert.equal(expiring.exp, exp);
    assert.equal(typeof expiring.in, 'number');
    // A 3 s token is warned halfway (GATEWAY_TOKEN_EXPIRY_WARNING_SECONDS, 30, is clamped to half its life).
    assert.ok((expiring.in as number) >= 0 && (expiring.in as number) <= 2, JSON.stringify(expiring));
    assert.equal(mux.closeInfo, undefined, 'warned while still open');

    assert.equal((await mux.closedWith(6000)).code, 4001);
    assert.equal((await plain.closedWith(6000)).code, 4001);
    assert.deepEqual(plain.messages, [], 'plain mode sends CloudEvents only');
  });

  test('"refreshed" names the new exp; the connection outlives the old token and goes on delivering', async (t) => {
    const { tenant } = await stack.writer.tenantWithHistory('refreshed');
    const first = await testToken({ scope: 'subscribe', tenants: [tenant], expiresIn: 2 });
    const client = await subscribed(t, first, tenant);
    const next = await testToken({ scope: 'subscribe', tenants: [tenant], expiresIn: 60 });
    assert.deepEqual(await refresh(client, next), { op: 'refreshed', exp: expOf(next) });

    await sleep(Math.max(0, expOf(first) * 1000 - Date.now()) + 700);
    assert.equal(client.closeInfo, undefined, 'still open after the first token expired');
    const accepted = await stack.writer.publishOne(makeEvent(tenant, { id: 'after-first-exp' }));
    await client.until(
      () => (client.messages as Message[]).some((m) => m.op === 'event' && (m.event as { id: string }).id === 'after-first-exp'),
      'the event published after the first token expired',
    );
    const event = (client.messages as Message[]).find((m) => m.op === 'event')!.event as { relayoffset: string };
    assert.equal(event.relayoffset, accepted.offset);
    const refreshes = await scrapeMetric(stack.gateway.metricsUrl, 'tenantcast_gateway_token_refreshes_total', { outcome: 'refreshed' });
    assert.ok((refreshes ?? 0) >= 1, `tenantcast_gateway_token_refreshes_total{outcome="refreshed"} is ${refreshes}`);
  });

  test('subscribes after a refresh are checked against the new token: a tenant it adds is granted, one it drops is refused', async (t) => {
    const { tenant: a } = await stack.writer.tenantWithHistory('kept');
    const { tenant: b } = await stack.writer.tenantWithHistory('added');
    const { tenant: c } = await stack.writer.tenantWithHistory('dropped');
    const client = await subscribed(t, await testToken({ scope: 'subscribe', tenants: [a, c] }), a);
    await refresh(client, await testToken({ scope: 'subscribe', tenants: [a, b] }));

    for (const [id, tenant, expected] of [
      ['b', b, 'subscribed'],
      ['c', c, 'error'],
    ] as const) {
      const before = client.messages.length;
      client.send({ op: 'subscribe', id, tenantid: tenant });
      await client.until(() => (client.messages as Message[]).slice(before).some((m) => m.id === id), `the reply for ${id}`);
      const reply = (client.messages as Message[]).slice(before).find((m) => m.id === id)!;
      assert.equal(reply.op, expected, JSON.stringify(reply));
      if (expected === 'error') assert.equal(reply.code, 'TC_ERR_FORBIDDEN_TENANT');
    }
    assert.equal(client.closeInfo, undefined);
  });
});

describe('a refused refresh closes the connection with its code', () => {
  for (const { name, token, code, outcome, reason } of [
    {
      name: 'a token for other tenants than its open subscriptions',
      token: (tenant: string) => testToken({ scope: 'subscribe', tenants: [`${tenant}-other`] }),
      code: 4004,
      outcome: 'TC_ERR_FORBIDDEN_TENANT',
      reason: /does not grant tenant .* of subscription "s"/,
    },
    {
      name: 'a token for another subject',
      token: (tenant: string) => testToken({ sub: 'someone-else', scope: 'subscribe', tenants: [tenant] }),
      code: 4005,
      outcome: 'TC_ERR_TOKEN_SUBJECT',
      reason: /"sub"/,
    },
    {
      name: 'a token without the subscribe scope',
      token: (tenant: string) => testToken({ scope: 'publish', tenants: [tenant] }),
      code: 4003,
      outcome: 'TC_ERR_FORBIDDEN_SCOPE',
      reason: /subscribe/,
    },
    {
      name: 'a token signed with another secret',
      token: (tenant: string) => testToken({ scope: 'subscribe', tenants: [tenant] }, 'not-the-gateway-secret-0123456789'),
      code: 4002,
      outcome: 'TC_ERR_TOKEN_INVALID',
      reason: /signature/,
    },
    {
      name: 'an expired token',
      token: (tenant: string) => testToken({ scope: 'subscribe', tenants: [tenant], expiresIn: -10 }),
      code: 4002,
      outcome: 'TC_ERR_TOKEN_INVALID',
      reason: /expired/,
    },
    {
      name: 'a token that is not a JWT',
      token: async () => 'not-a-jwt',
      code: 4002,
      outcome: 'TC_ERR_TOKEN_INVALID',
      reason: /JWT/,
    },
  ]) {
    test(`${name}: ${code} (${outcome})`, async (t) => {
      const { tenant } = await stack.writer.tenantWithHistory('refused');
      const client = await subscribed(t, await testToken({ scope: 'subscribe', tenants: [tenant] }), tenant);
      const before = (await scrapeMetric(stack.gateway.metricsUrl, 'tenantcast_gateway_token_refreshes_total', { outcome })) ?? 0;
      client.send({ op: 'refresh', token: await token(tenant) });
      const closed = await client.closedWith();
      assert.equal(closed.code, code, closed.reason);
      assert.match(closed.reason, reason);
      assert.ok(!opsOf(client).includes('refreshed'));
      assert.equal(await scrapeMetric(stack.gateway.metricsUrl, 'tenantcast_gateway_token_refreshes_total', { outcome }), before + 1);
    });
  }

  test('a refresh without a token string closes with 4000', async (t) => {
    const { tenant } = await stack.writer.tenantWithHistory('no-token');
    const client = await subscribed(t, await testToken({ scope: 'subscribe', tenants: [tenant] }), tenant);
    client.send({ op: 'refresh', token: 42 });
    const closed = await client.closedWith();
    assert.equal(closed.code, 4000);
    assert.match(closed.reason, /"token"/);
  });
});

describe('checkRefresh', () => {
  const claims = (sub: string, tenants: string[] | '*', scopes = ['subscribe']) =>
    ({ sub, tenants: tenants === '*' ? '*' : new Set(tenants), scopes: new Set(scopes), exp: undefined, iat: undefined }) as never;

  test('takes the same subject with the subscribe scope and every open tenant, or all tenants', () => {
    checkRefresh(claims('u', ['a']), claims('u', ['a', 'b']), [['s', 'a']]);
    checkRefresh(claims('u', ['a']), claims('u', '*'), [['s', 'a']]);
    checkRefresh(claims('u', ['a']), claims('u', ['b']), []);
  });

  test('refuses another subject, a missing scope, or an open tenant it drops', () => {
    assert.throws(() => checkRefresh(claims('u', ['a']), claims('v', ['a']), []), { code: 'TC_ERR_TOKEN_SUBJECT' });
    assert.throws(() => checkRefresh(claims('u', ['a']), claims('u', ['a'], ['publish']), []), { code: 'TC_ERR_FORBIDDEN_SCOPE' });
    assert.throws(
      () =>
        checkRefresh(claims('u', ['a', 'b']), claims('u', ['a']), [
          ['s1', 'a'],
          ['s2', 'b'],
        ]),
      {
        code: 'TC_ERR_FORBIDDEN_TENANT',
      },
    );
  });
});
