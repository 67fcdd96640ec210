import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mintToken } from '@tenantcast/sdk/tokens';
import { assertRefusal, connect, plainUrl, refusal, testToken, uniqueTenant } from '@tenantcast/testkit';
import { startGatewayWithRedis, useGateway } from '../testing/use-gateway.ts';

// A plain GET on a WebSocket endpoint runs the checks of an upgrade there and answers the refusal
// it would get, readable from any origin, or 426 when it would be accepted: how a browser client,
// to which the WebSocket API shows a refused upgrade only as a close (1006), learns why
// (docs/protocol.md, "Refused upgrades").

const stack = useGateway({ gateway: { originPolicy: 'enforce' } });

/** A plain GET of `path` (with `?token=` when given), as a page's fetch sends it. */
async function probe(path: string, token?: string, headers: Record<string, string> = {}, base = stack.gateway.url) {
  const url = new URL(path, base);
  if (token !== undefined) url.searchParams.set('token', token);
  const response = await fetch(url, { headers });
  const body = (await response.json()) as { error: { code: string; message: string } };
  return { status: response.status, headers: response.headers, code: body.error.code, message: body.error.message };
}

/** Asserts what a page of another origin may read: the answer, and its Retry-After. */
function assertReadableAnywhere(headers: Headers): void {
  assert.equal(headers.get('access-control-allow-origin'), '*');
  assert.equal(headers.get('access-control-expose-headers'), 'Retry-After');
  assert.equal(headers.get('access-control-allow-credentials'), null, 'no credentials are involved');
}

describe('a plain GET on a WebSocket endpoint answers as its upgrade would', () => {
  test('/v1/connect: the token refusals, and 426 for a token the upgrade would take', async () => {
    const forged = await mintToken({ sub: 'x', scope: 'subscribe', tenants: ['*'] }, 'another-secret-entirely');
    const expired = await testToken({ expiresIn: -60 });
    const publishOnly = await testToken({ scope: 'publish' });
    for (const [token, status, code, message] of [
      [forged, 401, 'TC_ERR_TOKEN_INVALID', /signature|verif/i],
      [expired, 401, 'TC_ERR_TOKEN_INVALID', /expired/i],
      [undefined, 401, 'TC_ERR_UNAUTHORIZED', /token/i],
      [publishOnly, 403, 'TC_ERR_FORBIDDEN_SCOPE', /scope/i],
    ] as const) {
      const answer = await probe('/v1/connect', token);
      assert.deepEqual([answer.status, answer.code], [status, code]);
      assert.match(answer.message, message);
      assertReadableAnywhere(answer.headers);
      // The upgrade itself gets the same.
      const upgrade = await refusal(`${stack.gateway.wsUrl}/v1/connect${token === undefined ? '' : `?token=${token}`}`, {
        protocols: ['tenantcast.v1'],
      });
      assertRefusal(upgrade, status, code);
    }
    const accepted = await probe('/v1/connect', stack.token);
    assert.equal(accepted.status, 426);
    assert.equal(accepted.headers.get('upgrade'), 'websocket');
    assertReadableAnywhere(accepted.headers);
  });

  test('a plain endpoint: tenant, offset and origin refusals; 426 when it would be accepted', async () => {
    const { tenant, history } = await stack.writer.tenantWithHistory('probe');
    const path = (query: string) => `/v1/tenants/${tenant}/events${query}`;
    const other = await testToken({ tenants: [uniqueTenant('someone-else')] });
    for (const [query, token, headers, status, code] of [
      ['', other, {}, 403, 'TC_ERR_FORBIDDEN_TENANT'],
      ['?after=yesterday', stack.token, {}, 400, 'TC_ERR_BAD_OFFSET'],
      ['?after=9999999999999-0', stack.token, {}, 409, 'TC_ERR_OFFSET_AHEAD'],
      ['?filters=[{"sql":"x"}]', stack.token, {}, 400, 'TC_ERR_BAD_FILTER'],
      ['', stack.token, { origin: 'https://not-listed.example' }, 403, 'TC_ERR_FORBIDDEN_ORIGIN'],
    ] as const) {
      const answer = await probe(path(query), token, headers);
      assert.deepEqual([answer.status, answer.code], [status, code], `${query} ${JSON.stringify(headers)}`);
      assertReadableAnywhere(answer.headers);
    }
    assert.equal((await probe(path(`?after=${history.offset}`), stack.token)).status, 426);
    assert.equal((await probe('/v1/tenants/x/events/more', stack.token)).code, 'TC_ERR_NOT_FOUND');
  });

  test('counts nothing in: probes leave the tenant’s connection limit alone, and get 429 once it is reached', async (t) => {
    const limited = await stack.startGateway(t, { maxConnectionsPerTenant: 1 });
    const tenant = uniqueTenant('probe-limit');
    const path = `/v1/tenants/${tenant}/events`;
    for (let i = 0; i < 3; i++) assert.equal((await probe(path, stack.token, {}, limited.url)).status, 426);
    await connect(t, plainUrl(limited.wsUrl, tenant), { token: stack.token });
    const full = await probe(path, stack.token, {}, limited.url);
    assert.deepEqual([full.status, full.code], [429, 'TC_ERR_TOO_MANY_CONNECTIONS']);
  });
});

test('a request without a valid token costs no Redis call: with Redis down, it still gets 401, and a valid one 503 with Retry-After', async (t) => {
  const own = await startGatewayWithRedis();
  t.after(() => own.close());
  await own.redis.kill();
  const forged = await mintToken({ sub: 'x', scope: 'subscribe', tenants: ['*'] }, 'another-secret-entirely');
  const path = `/v1/tenants/${uniqueTenant('down')}/events?after=0`;
  const unauthenticated = await probe(path, forged, {}, own.gateway.url);
  assert.deepEqual([unauthenticated.status, unauthenticated.code], [401, 'TC_ERR_TOKEN_INVALID']);
  const down = await probe(path, own.token, {}, own.gateway.url);
  assert.deepEqual([down.status, down.code], [503, 'TC_ERR_REDIS_UNAVAILABLE']);
  assert.ok(down.headers.get('retry-after') !== null);
});
