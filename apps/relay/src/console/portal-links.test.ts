import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RelayClient } from '@tenantcast/sdk';
import { until } from '@tenantcast/testkit';
import type { TestRelay } from '../testing/start-relay.ts';
import { useRelay } from '../testing/use-relay.ts';

// POST /v1/tenants/{t}/portal-links: a console link whose token is admin + subscribe over t alone.

interface PortalLink {
  url: string;
  expiresAt: string;
}

const stack = useRelay();
const adminOf = (relay: TestRelay, tenants = ['acme']) => relay.token({ scope: 'admin', tenants });

async function createLink(relay: TestRelay, tenant: string, body: unknown, token?: string): Promise<Response> {
  return fetch(`${relay.url}/v1/tenants/${tenant}/portal-links`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token ?? (await adminOf(relay, [tenant]))}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** The token in a link's fragment. */
function tokenOf(link: PortalLink): string {
  const match = /#token=([^&]+)$/.exec(link.url);
  assert.ok(match, `the url carries the token in its fragment: ${link.url}`);
  return match[1]!;
}

const get = (relay: TestRelay, path: string, token: string) =>
  fetch(`${relay.url}${path}`, { headers: { authorization: `Bearer ${token}` } });

describe('POST /v1/tenants/{tenantid}/portal-links', () => {
  test('201 with a console url holding the token in its fragment, valid an hour by default', async () => {
    const before = Date.now();
    const res = await createLink(stack.relay, 'acme', undefined);
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const link = (await res.json()) as PortalLink;
    assert.match(link.url, new RegExp(`^${stack.relay.url}/console/#token=[\\w-]+\\.[\\w-]+\\.[\\w-]+$`));
    const expires = Date.parse(link.expiresAt);
    assert.ok(expires >= Math.floor(before / 1000) * 1000 + 3600_000 && expires <= Date.now() + 3600_000, link.expiresAt);
  });

  test('the link’s token is admin and subscribe over its tenant only', async () => {
    const link = (await (await createLink(stack.relay, 'acme', {})).json()) as PortalLink;
    const token = tokenOf(link);
    assert.equal((await get(stack.relay, '/v1/tenants/acme/events', token)).status, 200, 'reads the history');
    assert.equal((await get(stack.relay, '/v1/tenants/acme/webhooks', token)).status, 200, 'lists the webhooks');
    const other = await get(stack.relay, '/v1/tenants/globex/webhooks', token);
    assert.equal(other.status, 403);
    assert.equal(((await other.json()) as { error: { code: string } }).error.code, 'TC_ERR_FORBIDDEN_TENANT');
    assert.equal((await get(stack.relay, '/v1/tenants/globex/events', token)).status, 403);
    const publish = await fetch(`${stack.relay.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({ specversion: '1.0', id: 'p1', source: 's', type: 't', tenantid: 'acme' }),
    });
    assert.equal(publish.status, 403, 'it does not publish');
  });

  test('expiresInSeconds up to a day; more, less than 1, or not a whole number is 400 with what to send', async () => {
    const day = await createLink(stack.relay, 'acme', { expiresInSeconds: 86_400 });
    assert.equal(day.status, 201);
    const expires = Date.parse(((await day.json()) as PortalLink).expiresAt);
    assert.ok(Math.abs(expires - (Date.now() + 86_400_000)) < 5_000);
    for (const bad of [86_401, 0, -5, 1.5, '60', null]) {
      const res = await createLink(stack.relay, 'acme', { expiresInSeconds: bad });
      assert.equal(res.status, 400, `expiresInSeconds ${JSON.stringify(bad)}`);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'TC_ERR_VALIDATION');
      assert.match(body.error.message, /"expiresInSeconds" must be a whole number of seconds from 1 to 86400 \(a day\)/);
    }
    const unknown = await createLink(stack.relay, 'acme', { ttl: 60 });
    assert.equal(unknown.status, 400);
    assert.match(((await unknown.json()) as { error: { message: string } }).error.message, /Unknown field "ttl"/);
  });

  test('401 without a token, 403 for a token without admin or over another tenant', async () => {
    const none = await fetch(`${stack.relay.url}/v1/tenants/acme/portal-links`, { method: 'POST' });
    assert.equal(none.status, 401);
    const subscriber = await createLink(stack.relay, 'acme', {}, await stack.relay.token({ scope: 'subscribe', tenants: ['acme'] }));
    assert.equal(subscriber.status, 403);
    const otherTenant = await createLink(stack.relay, 'acme', {}, await adminOf(stack.relay, ['globex']));
    assert.equal(otherTenant.status, 403);
    assert.equal(((await otherTenant.json()) as { error: { code: string } }).error.code, 'TC_ERR_FORBIDDEN_TENANT');
  });

  test('an expired link’s token is refused with 401', async () => {
    const link = (await (await createLink(stack.relay, 'acme', { expiresInSeconds: 1 })).json()) as PortalLink;
    const token = tokenOf(link);
    assert.equal((await get(stack.relay, '/v1/tenants/acme/webhooks', token)).status, 200);
    let last: Response | undefined;
    await until(
      async () => {
        last = await get(stack.relay, '/v1/tenants/acme/webhooks', token);
        return last.status !== 200;
      },
      'the link to expire',
      5_000,
      100,
    );
    assert.equal(last!.status, 401);
    assert.match(((await last!.json()) as { error: { message: string } }).error.message, /Token expired/);
  });

  test('CONSOLE_URL starts the link; AUTH_ISSUER, AUTH_AUDIENCE and AUTH_MAX_TOKEN_LIFETIME_SECONDS are honoured', async (t) => {
    const relay = await stack.startRelay(t, {
      consoleUrl: 'https://events.example/tc/',
      authIssuer: 'https://issuer.example',
      authAudience: 'tenantcast',
      authMaxTokenLifetimeSeconds: 600,
    });
    const admin = await relay.token({
      scope: 'admin',
      tenants: ['acme'],
      issuer: 'https://issuer.example',
      audience: 'tenantcast',
      expiresIn: 600,
    });
    const res = await createLink(relay, 'acme', undefined, admin);
    assert.equal(res.status, 201);
    const link = (await res.json()) as PortalLink;
    assert.match(link.url, /^https:\/\/events\.example\/tc\/console\/#token=/);
    assert.ok(Date.parse(link.expiresAt) <= Date.now() + 600_000, 'the default hour is cut to the longest lifetime accepted');
    assert.equal((await get(relay, '/v1/tenants/acme/webhooks', tokenOf(link))).status, 200, 'the relay accepts its issuer and audience');
    const tooLong = await createLink(relay, 'acme', { expiresInSeconds: 601 }, admin);
    assert.equal(tooLong.status, 400);
    assert.match(
      ((await tooLong.json()) as { error: { message: string } }).error.message,
      /at most 600 s, AUTH_MAX_TOKEN_LIFETIME_SECONDS/,
    );
  });

  test('the SDK’s createPortalLink makes one', async () => {
    const client = new RelayClient({ url: stack.relay.url, token: await adminOf(stack.relay) });
    const link = await client.createPortalLink('acme', { expiresInSeconds: 120 });
    assert.match(link.url, /\/console\/#token=/);
    assert.ok(Math.abs(Date.parse(link.expiresAt) - (Date.now() + 120_000)) < 5_000);
    assert.equal((await get(stack.relay, '/v1/tenants/acme/events', tokenOf(link))).status, 200);
    await client.close();
  });
});
