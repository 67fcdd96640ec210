import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { buildConsole } from '../../apps/console/build.ts';
import { launchChromium, needsChromium } from '../support/browser.ts';
import { startStack, type TestStack } from '../support/stack.ts';

// Tokens of the user's identity provider (AUTH_JWKS_URLS): the relay, the gateway and the dashboard
// verify them through the one verifier, their claims read through the AUTH_*_CLAIM mapping.

const TENANTS_CLAIM = 'https://qlik.example/tenants';

describe('tokens of an identity provider, end to end', () => {
  let idp: TestIdentityProvider;
  let stack: TestStack;
  const consoleDir = join(tmpdir(), `tenantcast-idp-console-${process.pid}`);
  const kids: Record<string, string> = {};
  before(async () => {
    idp = await startIdentityProvider();
    // Every key is published before the servers first fetch the JWKS (key rotation is jwks-keys.test's).
    for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) kids[alg] = await idp.addKey(alg);
    await buildConsole(consoleDir);
    const auth = {
      authJwksUrls: [idp.jwksUrl],
      authIssuer: idp.issuer,
      authAudience: 'tenantcast',
      authTenantsClaim: TENANTS_CLAIM,
      authScopeClaim: 'permissions',
    };
    stack = await startStack({ relay: { ...auth, consoleDir }, gateway: auth });
  });
  after(async () => {
    await stack?.close();
    await idp?.close();
    await rm(consoleDir, { recursive: true, force: true });
  });

  /** A token as Auth0 would issue it: a namespaced tenants claim, permissions as an array. */
  const providerToken = (tenant: string, permissions: string[], kid?: string) =>
    idp.sign({ sub: 'auth0|user-1', aud: 'tenantcast', [TENANTS_CLAIM]: [tenant], permissions }, { kid });

  for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
    test(`${alg}: a provider token publishes through the relay and subscribes through the gateway`, async (t) => {
      const kid = kids[alg];
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
    const tenant = uniqueTenant('idp-default');
    const token = await providerToken(tenant, ['read:reports']);
    await connect(t, plainUrl(stack.gateway.wsUrl, tenant), { token });
    const res = await post(token, tenant);
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'TC_ERR_FORBIDDEN_SCOPE');
  });

  test('refusals: wrong aud, wrong iss, a tenants claim of the wrong type, another tenant', async () => {
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
    const admin = await idp.sign({ sub: 'ops', aud: 'tenantcast', [TENANTS_CLAIM]: ['*'], permissions: ['tenantcast:admin'] });
    const dashboard = `${stack.relay.url}/admin/queues`;
    assert.equal((await fetch(dashboard, { headers: { authorization: `Bearer ${admin}` } })).status, 200);
    const role = await idp.sign({ sub: 'ops', aud: 'tenantcast', [TENANTS_CLAIM]: ['*'], permissions: ['admin'] });
    assert.equal((await fetch(dashboard, { headers: { authorization: `Bearer ${role}` } })).status, 401);
  });

  test('GET /v1/whoami answers what the relay grants a provider token, after the claims mapping', async () => {
    const tenant = uniqueTenant('idp-whoami');
    const token = await providerToken(tenant, ['tenantcast:publish', 'openid']);
    const res = await fetch(`${stack.relay.url}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { sub: string; tenants: string[]; scopes: string[]; exp: number };
    assert.deepEqual({ ...body, exp: typeof body.exp }, { sub: 'auth0|user-1', tenants: [tenant], scopes: ['publish'], exp: 'number' });
    assert.equal((await fetch(`${stack.relay.url}/v1/whoami`)).status, 401);
  });

  test('the console signs in with a provider token and shows the tenant its claims map to', needsChromium, async (t) => {
    const tenant = uniqueTenant('idp-console');
    const token = await providerToken(tenant, ['tenantcast:subscribe']);
    const browser = await launchChromium((close) => t.after(close));
    const page = await browser.newPage();
    await page.goto(`${stack.relay.url}/console/#token=${token}`);
    await page.getByText(`Tenant: ${tenant}`).waitFor({ timeout: 10_000 });
    const refused = await idp.sign({ sub: 'u', aud: 'billing', [TENANTS_CLAIM]: [tenant] });
    await page.goto(`${stack.relay.url}/console/#token=${refused}`);
    await page.getByText(/"aud" claim/).waitFor({ timeout: 10_000 });
  });

  function post(token: string, tenant: string): Promise<Response> {
    return fetch(`${stack.relay.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify(makeEvent(tenant)),
    });
  }
});
