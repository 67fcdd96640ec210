import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type CloudEvent, RelayClient, subscribe } from '@tenantcast/sdk';
import {
  assertRefusal,
  connect,
  makeEvent,
  plainUrl,
  refusal,
  startIdentityProvider,
  type TestIdentityProvider,
  uniqueTenant,
} from '@tenantcast/testkit';
import { startStack, type TestStack } from '../support/stack.ts';

// Tokens of the user's identity provider (AUTH_JWKS_URLS): the relay, the gateway and the dashboard
// verify them through the one verifier, their claims read through the AUTH_*_CLAIM mapping.

const TENANTS_CLAIM = 'https://qlik.example/tenants';

describe('tokens of an identity provider, end to end', () => {
  let idp: TestIdentityProvider;
  let stack: TestStack;
  before(async () => {
    idp = await startIdentityProvider();
    const auth = {
      authJwksUrls: [idp.jwksUrl],
      authIssuer: idp.issuer,
      authAudience: 'tenantcast',
      authTenantsClaim: TENANTS_CLAIM,
      authScopeClaim: 'permissions',
      authJwksCooldownMs: 0,
    };
    stack = await startStack({ relay: auth, gateway: auth });
  });
  after(async () => {
    await stack?.close();
    await idp?.close();
  });

  /** A token as Auth0 would issue it: a namespaced tenants claim, permissions as an array. */
  const providerToken = (tenant: string, permissions: string[], kid?: string) =>
    idp.sign({ sub: 'auth0|user-1', aud: 'tenantcast', [TENANTS_CLAIM]: [tenant], permissions }, { kid });

  for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
    test(`${alg}: a provider token publishes through the relay and subscribes through the gateway`, async (t) => {
      const kid = await idp.addKey(alg);
      const tenant = uniqueTenant(`idp-${alg.toLowerCase()}`);
      const token = await providerToken(tenant, ['tenantcast:publish', 'tenantcast:subscribe'], kid);
      const client = await connect(t, plainUrl(stack.gateway.wsUrl, tenant), { token });
      const relay = new RelayClient({ url: stack.relay.url, token });
      t.after(() => relay.close());
      const event = makeEvent(tenant) as CloudEvent;
      await relay.publish(event);
      await client.receivedId(event.id);

      const received: string[] = [];
      const sub = subscribe({ url: stack.gateway.wsUrl, tenantid: tenant, token, after: '0' });
      t.after(() => sub.close());
      for await (const e of sub) {
        received.push(e.id);
        break;
      }
      assert.deepEqual(received, [event.id]);
    });
  }

  test('a provider token without a publish permission gets AUTH_DEFAULT_SCOPE (subscribe): publishing is refused with 403', async (t) => {
    await idp.addKey('RS256');
    const tenant = uniqueTenant('idp-default');
    const token = await providerToken(tenant, ['read:reports']);
    await connect(t, plainUrl(stack.gateway.wsUrl, tenant), { token });
    const res = await post(token, tenant);
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'TC_ERR_FORBIDDEN_SCOPE');
  });

  test('refusals: wrong aud, wrong iss, a tenants claim of the wrong type, another tenant', async () => {
    await idp.addKey('ES256');
    const tenant = uniqueTenant('idp-refused');
    const cases: Array<[string, Record<string, unknown>, number, string]> = [
      ['wrong aud', { aud: 'billing', [TENANTS_CLAIM]: [tenant], permissions: ['tenantcast:publish'] }, 401, 'TC_ERR_TOKEN_INVALID'],
      ['wrong iss', { iss: 'https://evil.example', aud: 'tenantcast', [TENANTS_CLAIM]: [tenant] }, 401, 'TC_ERR_TOKEN_INVALID'],
      [
        'tenants of the wrong type',
        { aud: 'tenantcast', [TENANTS_CLAIM]: { id: tenant }, permissions: ['tenantcast:publish'] },
        401,
        'TC_ERR_TOKEN_INVALID',
      ],
      [
        'another tenant',
        { aud: 'tenantcast', [TENANTS_CLAIM]: ['someone-else'], permissions: ['publish', 'subscribe'] },
        403,
        'TC_ERR_FORBIDDEN_TENANT',
      ],
    ];
    for (const [what, claims, status, code] of cases) {
      const token = await idp.sign({ sub: 'u', ...claims });
      const res = await post(token, tenant);
      assert.equal(res.status, status, what);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, code, what);
      assertRefusal(await refusal(plainUrl(stack.gateway.wsUrl, tenant), { token }), status, code);
    }
  });

  test('the dashboard lets in a provider token with tenantcast:admin over "*"; a provider "admin" role is not enough', async () => {
    await idp.addKey('RS256');
    const admin = await idp.sign({ sub: 'ops', aud: 'tenantcast', [TENANTS_CLAIM]: ['*'], permissions: ['tenantcast:admin'] });
    const dashboard = `${stack.relay.url}/admin/queues`;
    assert.equal((await fetch(dashboard, { headers: { authorization: `Bearer ${admin}` } })).status, 200);
    const role = await idp.sign({ sub: 'ops', aud: 'tenantcast', [TENANTS_CLAIM]: ['*'], permissions: ['admin'] });
    assert.equal((await fetch(dashboard, { headers: { authorization: `Bearer ${role}` } })).status, 401);
  });

  function post(token: string, tenant: string): Promise<Response> {
    return fetch(`${stack.relay.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify(makeEvent(tenant)),
    });
  }
});
