import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import { sleep, uniqueTenant, until } from '@tenantcast/testkit';
import type { RelayConfig } from '../config.ts';
import { type Draft, publishDrafts } from '../testing/publish-drafts.ts';
import type { TestRelay } from '../testing/start-relay.ts';
import { startRelayWithRedis, useRelay } from '../testing/use-relay.ts';

// The per-tenant webhook endpoint API (POST/GET/DELETE /v1/tenants/{t}/webhooks[/{id}]) and replay.

interface ErrorBody {
  error: { code: string; message: string; details?: Array<{ path: string; message: string }> };
}

interface Endpoint {
  id: string;
  url: string;
  secret?: string;
  filters: unknown[];
  description: string;
  disabled: boolean;
}

/** A receiver on 127.0.0.1 that answers 204 and records what it got. */
async function startReceiver(): Promise<{
  url: string;
  got: Array<{ headers: IncomingHttpHeaders; body: string }>;
  close(): Promise<void>;
}> {
  const got: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    got,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A redis-server and a relay of the test's own; closed relay first, then Redis, even when the test fails. */
async function setup(t: TestContext, overrides: Partial<RelayConfig> = {}): Promise<TestRelay> {
  const { relay, close } = await startRelayWithRedis({ webhookAllowPrivate: true, webhookRetrySchedule: [50, 100, 100], ...overrides });
  t.after(close);
  return relay;
}

async function adminHeaders(relay: TestRelay, tenant: string): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await relay.token({ scope: 'admin', tenants: [tenant] })}` };
}

async function createEndpoint(relay: TestRelay, tenant: string, body: unknown): Promise<Response> {
  return fetch(`${relay.url}/v1/tenants/${tenant}/webhooks`, {
    method: 'POST',
    headers: { ...(await adminHeaders(relay, tenant)), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** Publishes events of `tenant` as one batch; returns their offsets. */
async function publish(relay: TestRelay, tenant: string, drafts: Draft[]): Promise<string[]> {
  return (await publishDrafts(relay, tenant, drafts)).map((a) => a.offset);
}

async function expectError(res: Response, status: number, code: string, message?: RegExp, path?: string): Promise<ErrorBody> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  const body = JSON.parse(text) as ErrorBody;
  assert.equal(body.error.code, code, text);
  if (message !== undefined) assert.match(body.error.message, message);
  if (path !== undefined) {
    assert.ok(
      body.error.details?.some((d) => d.path === path),
      `expected a detail at ${path}, got ${JSON.stringify(body.error.details)}`,
    );
  }
  return body;
}

describe('webhook endpoint API', () => {
  const stack = useRelay({ webhookAllowPrivate: false });
  const tenant = () => uniqueTenant('api');

  test('POST answers 201 with id, url, secret (whsec_ + base64), filters and description', async () => {
    const t = tenant();
    const res = await createEndpoint(stack.relay, t, {
      url: 'https://hooks.example.com/in',
      filters: [{ prefix: { type: 'com.example.' } }],
      description: 'orders',
    });
    assert.equal(res.status, 201, await res.clone().text());
    const body = (await res.json()) as Endpoint;
    assert.match(body.id, /^wh_[0-9a-f]{32}$/);
    assert.equal(body.url, 'https://hooks.example.com/in');
    assert.match(body.secret ?? '', /^whsec_[A-Za-z0-9+/=]+$/);
    assert.ok(Buffer.from(body.secret!.slice(6), 'base64').length >= 24, 'the secret holds at least 24 random bytes');
    assert.deepEqual(body.filters, [{ prefix: { type: 'com.example.' } }]);
    assert.equal(body.description, 'orders');
    assert.equal(body.disabled, false);

    const other = (await (await createEndpoint(stack.relay, t, { url: 'https://hooks.example.com/2' })).json()) as Endpoint;
    assert.notEqual(other.secret, body.secret, 'each endpoint gets a secret of its own');
    assert.deepEqual(other.filters, []);
    assert.equal(other.description, '');
  });

  test('GET lists endpoints without secrets; GET one shows the secret; DELETE answers 204, then 404', async () => {
    const t = tenant();
    const headers = await adminHeaders(stack.relay, t);
    const a = (await (await createEndpoint(stack.relay, t, { url: 'https://a.example.com/' })).json()) as Endpoint;
    const b = (await (await createEndpoint(stack.relay, t, { url: 'https://b.example.com/' })).json()) as Endpoint;

    const list = await fetch(`${stack.relay.url}/v1/tenants/${t}/webhooks`, { headers });
    assert.equal(list.status, 200);
    const { webhooks } = (await list.json()) as { webhooks: Endpoint[] };
    assert.deepEqual(webhooks.map((w) => w.id).sort(), [a.id, b.id].sort());
    for (const w of webhooks) assert.equal('secret' in w, false, `the list shows no secret: ${JSON.stringify(w)}`);
    assert.deepEqual(webhooks.map((w) => w.url).sort(), ['https://a.example.com/', 'https://b.example.com/']);

    const one = await fetch(`${stack.relay.url}/v1/tenants/${t}/webhooks/${a.id}`, { headers });
    assert.equal(one.status, 200);
    const shown = (await one.json()) as Endpoint;
    assert.equal(shown.id, a.id);
    assert.equal(shown.secret, a.secret);

    const del = await fetch(`${stack.relay.url}/v1/tenants/${t}/webhooks/${a.id}`, { method: 'DELETE', headers });
    assert.equal(del.status, 204);
    assert.equal(await del.text(), '');
    await expectError(await fetch(`${stack.relay.url}/v1/tenants/${t}/webhooks/${a.id}`, { headers }), 404, 'TC_ERR_NOT_FOUND');
    await expectError(
      await fetch(`${stack.relay.url}/v1/tenants/${t}/webhooks/${a.id}`, { method: 'DELETE', headers }),
      404,
      'TC_ERR_NOT_FOUND',
    );
    const remaining = (await (await fetch(`${stack.relay.url}/v1/tenants/${t}/webhooks`, { headers })).json()) as { webhooks: Endpoint[] };
    assert.deepEqual(
      remaining.webhooks.map((w) => w.id),
      [b.id],
    );
  });

  test('404 for an unknown id, a malformed id, and another tenant’s endpoint', async () => {
    const t = tenant();
    const u = tenant();
    const headers = await adminHeaders(stack.relay, t);
    await expectError(
      await fetch(`${stack.relay.url}/v1/tenants/${t}/webhooks/wh_${'0'.repeat(32)}`, { headers }),
      404,
      'TC_ERR_NOT_FOUND',
      /has no webhook endpoint/,
    );
    await expectError(await fetch(`${stack.relay.url}/v1/tenants/${t}/webhooks/nope`, { headers }), 404, 'TC_ERR_NOT_FOUND');
    const theirs = (await (await createEndpoint(stack.relay, u, { url: 'https://u.example.com/' })).json()) as Endpoint;
    await expectError(await fetch(`${stack.relay.url}/v1/tenants/${t}/webhooks/${theirs.id}`, { headers }), 404, 'TC_ERR_NOT_FOUND');
    await expectError(
      await fetch(`${stack.relay.url}/v1/tenants/${t}/webhooks/${theirs.id}`, { method: 'DELETE', headers }),
      404,
      'TC_ERR_NOT_FOUND',
    );
    // Still there for its own tenant.
    assert.equal(
      (await fetch(`${stack.relay.url}/v1/tenants/${u}/webhooks/${theirs.id}`, { headers: await adminHeaders(stack.relay, u) })).status,
      200,
    );
  });

  test('401 without a token, 403 without admin scope or for another tenant', async () => {
    const t = tenant();
    const base = `${stack.relay.url}/v1/tenants/${t}/webhooks`;
    const json = { 'content-type': 'application/json' };
    const body = JSON.stringify({ url: 'https://x.example.com/' });

    for (const [method, url] of [
      ['POST', base],
      ['GET', base],
      ['GET', `${base}/wh_${'0'.repeat(32)}`],
      ['DELETE', `${base}/wh_${'0'.repeat(32)}`],
      ['POST', `${base}/wh_${'0'.repeat(32)}/replay`],
    ] as const) {
      const withBody = method === 'POST' ? { headers: json, body } : {};
      const res = await fetch(url, { method, ...withBody });
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/, `${method} ${url}`);
      await expectError(res, 401, 'TC_ERR_UNAUTHORIZED');
    }
    const bad = await fetch(base, { headers: { authorization: 'Bearer not-a-token' } });
    await expectError(bad, 401, 'TC_ERR_TOKEN_INVALID');

    const publisher = await stack.relay.token({ scope: 'publish subscribe', tenants: [t] });
    await expectError(
      await fetch(base, { method: 'POST', headers: { authorization: `Bearer ${publisher}`, ...json }, body }),
      403,
      'TC_ERR_FORBIDDEN_SCOPE',
      /"admin" scope/,
    );
    await expectError(await fetch(base, { headers: { authorization: `Bearer ${publisher}` } }), 403, 'TC_ERR_FORBIDDEN_SCOPE');

    const otherAdmin = await stack.relay.token({ scope: 'admin', tenants: [tenant()] });
    await expectError(
      await fetch(base, { method: 'POST', headers: { authorization: `Bearer ${otherAdmin}`, ...json }, body }),
      403,
      'TC_ERR_FORBIDDEN_TENANT',
      new RegExp(`tenant "${t}"`),
    );
    await expectError(await fetch(base, { headers: { authorization: `Bearer ${otherAdmin}` } }), 403, 'TC_ERR_FORBIDDEN_TENANT');

    // An admin over every tenant may manage any of them.
    const root = await stack.relay.token({ scope: 'admin', tenants: ['*'] });
    const ok = await fetch(base, { method: 'POST', headers: { authorization: `Bearer ${root}`, ...json }, body });
    assert.equal(ok.status, 201);
  });

  test('400 for a bad url, naming what to fix', async () => {
    const t = tenant();
    const cases: Array<[unknown, RegExp]> = [
      [undefined, /"url" must be an http\(s\) URL/],
      ['', /"url" must be an http\(s\) URL/],
      [42, /"url" must be an http\(s\) URL/],
      [`https://x.example.com/${'a'.repeat(2048)}`, /at most 2048 characters/],
      ['not a url', /"url" is not a URL: not a url/],
      ['ftp://files.example.com/x', /"url" must use http or https/],
      ['javascript:alert(1)', /"url" must use http or https/],
      ['file:///etc/passwd', /"url" must use http or https/],
      ['https://user:pass@hooks.example.com/', /must not hold credentials/],
      ['https://user@hooks.example.com/', /must not hold credentials/],
      ['http://127.0.0.1:8080/', /private address \(127\.0\.0\.1\).*WEBHOOK_ALLOW_PRIVATE=true/],
      ['http://10.1.2.3/', /private address \(10\.1\.2\.3\)/],
      ['http://192.168.0.10/', /private address/],
      ['http://172.16.5.5/', /private address/],
      ['http://169.254.169.254/latest/meta-data/', /private address \(169\.254\.169\.254\)/],
      ['http://0.0.0.0/', /private address/],
      ['http://[::1]/', /private address \(::1\)/],
      ['http://[fd00::1]/', /private address/],
      ['http://[fe80::1]/', /private address/],
      // The WHATWG parser rewrites these into the dotted or hex forms the check sees.
      ['http://[::ffff:127.0.0.1]/', /private address/],
      ['http://0x7f000001/', /private address \(127\.0\.0\.1\)/],
      ['http://127.1/', /private address \(127\.0\.0\.1\)/],
      ['http://localhost:3000/', /private address \(localhost\)/],
      ['http://LOCALHOST/', /private address \(localhost\)/],
    ];
    for (const [url, message] of cases) {
      const res = await createEndpoint(stack.relay, t, url === undefined ? {} : { url });
      await expectError(res, 400, 'TC_ERR_VALIDATION', message, '/url');
    }
    const { webhooks } = (await (
      await fetch(`${stack.relay.url}/v1/tenants/${t}/webhooks`, { headers: await adminHeaders(stack.relay, t) })
    ).json()) as {
      webhooks: unknown[];
    };
    assert.equal(webhooks.length, 0, 'nothing was stored');
  });

  test('a literal private address is accepted when webhookAllowPrivate is true', async (t) => {
    const local = await setup(t);
    const res = await createEndpoint(local, 'dev', { url: 'http://127.0.0.1:9/' });
    assert.equal(res.status, 201, await res.clone().text());
    assert.equal(((await res.json()) as Endpoint).url, 'http://127.0.0.1:9/');
  });

  test('400 for bad filters, with JSON paths under /filters', async () => {
    const t = tenant();
    const url = 'https://hooks.example.com/';
    const cases: Array<[unknown, string, RegExp?]> = [
      [{ exact: { type: 'x' } }, '/filters', /Invalid filters/],
      [[{ sql: "type = 'x'" }], '/filters/0/sql', /dialect "sql" is not supported/],
      [[{ exact: { type: 'x' }, prefix: { type: 'y' } }], '/filters/0', /exactly one dialect/],
      [[{ exact: { Type: 'x' } }], '/filters/0/exact/Type', /not a CloudEvents attribute name/],
      [[{ exact: { type: '' } }], '/filters/0/exact/type', /must not be empty/],
      [[{ prefix: { type: 5 } }], '/filters/0/prefix/type', /must be a string/],
      [[{ all: [] }], '/filters/0/all', /non-empty array/],
      [[{ any: [{ exact: { type: 'a' } }, { suffix: {} }] }], '/filters/0/any/1/suffix', /one or more attribute names/],
      [[{ not: 'x' }], '/filters/0/not', /must be a filter object/],
      [null, '/filters'],
    ];
    for (const [filters, path, message] of cases) {
      await expectError(await createEndpoint(stack.relay, t, { url, filters }), 400, 'TC_ERR_VALIDATION', message, path);
    }
  });

  test('400 for unknown fields, a bad description, non-JSON and non-object bodies; 415 for another content type', async () => {
    const t = tenant();
    const headers = await adminHeaders(stack.relay, t);
    const url = `${stack.relay.url}/v1/tenants/${t}/webhooks`;
    await expectError(
      await createEndpoint(stack.relay, t, { url: 'https://hooks.example.com/', secret: 'whsec_mine' }),
      400,
      'TC_ERR_VALIDATION',
      /Unknown field "secret"; an endpoint takes url, filters and description/,
      '/secret',
    );
    await expectError(
      await createEndpoint(stack.relay, t, { url: 'https://hooks.example.com/', description: 7 }),
      400,
      'TC_ERR_VALIDATION',
      /"description" must be a string/,
      '/description',
    );
    await expectError(
      await createEndpoint(stack.relay, t, { url: 'https://hooks.example.com/', description: 'd'.repeat(1025) }),
      400,
      'TC_ERR_VALIDATION',
      /at most 1024 characters/,
    );
    await expectError(
      await fetch(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '{"url": ' }),
      400,
      'TC_ERR_INVALID_JSON',
      /not valid JSON/,
    );
    await expectError(
      await fetch(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '["https://x.example.com/"]' }),
      400,
      'TC_ERR_VALIDATION',
      /must be a JSON object/,
    );
    await expectError(
      await fetch(url, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'text/plain' },
        body: JSON.stringify({ url: 'https://x.example.com/' }),
      }),
      415,
      'TC_ERR_UNSUPPORTED_MEDIA_TYPE',
      /application\/json/,
    );
    await expectError(
      await fetch(url, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'url=https%3A%2F%2Fx.example.com%2F',
      }),
      415,
      'TC_ERR_UNSUPPORTED_MEDIA_TYPE',
    );
    // With parameters, the media type still counts.
    const ok = await fetch(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ url: 'https://x.example.com/' }),
    });
    assert.equal(ok.status, 201);
  });

  test('400 for a malformed tenant id', async () => {
    const root = await stack.relay.token({ scope: 'admin', tenants: ['*'] });
    await expectError(
      await fetch(`${stack.relay.url}/v1/tenants/bad%20tenant/webhooks`, { headers: { authorization: `Bearer ${root}` } }),
      400,
      'TC_ERR_BAD_TENANT_ID',
    );
  });
});

describe('replay', () => {
  async function replay(relay: TestRelay, tenant: string, id: string, body: unknown): Promise<Response> {
    return fetch(`${relay.url}/v1/tenants/${tenant}/webhooks/${id}/replay`, {
      method: 'POST',
      headers: { ...(await adminHeaders(relay, tenant)), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  /** Runs the replay test's fixtures: a relay, a receiver and an endpoint that got `count` events. */
  async function delivered(t: TestContext, count: number, filters?: unknown[]) {
    const relay = await setup(t);
    const receiver = await startReceiver();
    t.after(() => receiver.close());
    const tenant = uniqueTenant('replay');
    const created = await createEndpoint(relay, tenant, { url: receiver.url, ...(filters ? { filters } : {}) });
    assert.equal(created.status, 201);
    const endpoint = (await created.json()) as Endpoint;
    const offsets = await publish(
      relay,
      tenant,
      Array.from({ length: count }, (_, i) => ({ type: i % 2 === 0 ? 'com.example.even' : 'com.example.odd', data: { n: i } })),
    );
    return { relay, receiver, tenant, endpoint, offsets };
  }

  const idsOf = (got: Array<{ headers: IncomingHttpHeaders }>) => got.map((g) => String(g.headers['webhook-id']));

  test('{after} enqueues the stored events after the offset again, with their webhook-ids', async (t) => {
    const { relay, receiver, tenant, endpoint, offsets } = await delivered(t, 5);
    await until(() => receiver.got.length === 5, 'the first deliveries');
    const first = idsOf(receiver.got);
    assert.deepEqual(new Set(first), new Set(offsets.map((o) => `msg_${tenant}_${o}`)));

    const res = await replay(relay, tenant, endpoint.id, { after: offsets[1] });
    assert.equal(res.status, 202, await res.clone().text());
    const body = (await res.json()) as { replay: string; enqueued: number; last: string | null };
    assert.equal(body.enqueued, 3);
    assert.equal(body.last, offsets[4]);
    assert.equal(typeof body.replay, 'string');
    await until(() => receiver.got.length === 8, 'the replayed deliveries');
    await sleep(200);
    assert.equal(receiver.got.length, 8, 'nothing more');
    const again = idsOf(receiver.got.slice(5)).sort();
    assert.deepEqual(
      again,
      offsets
        .slice(2)
        .map((o) => `msg_${tenant}_${o}`)
        .sort(),
      'a replay keeps each event’s webhook-id',
    );

    // {} and {after: "0"} replay everything.
    const all = (await (await replay(relay, tenant, endpoint.id, {})).json()) as { enqueued: number };
    assert.equal(all.enqueued, 5);
    await until(() => receiver.got.length === 13, 'the full replay');
  });

  test('{since, until} enqueues the events stored in that time range; filters still apply', async (t) => {
    const { relay, receiver, tenant, endpoint, offsets } = await delivered(t, 4, [{ exact: { type: 'com.example.even' } }]);
    await until(() => receiver.got.length === 2, 'the first deliveries (even events only)');
    await sleep(30);
    const later = await publish(relay, tenant, [
      { type: 'com.example.even', data: { n: 4 } },
      { type: 'com.example.even', data: { n: 6 } },
    ]);
    await until(() => receiver.got.length === 4, 'the later deliveries');

    const ms = (offset: string) => Number(offset.split('-')[0]);
    const iso = (n: number) => new Date(n).toISOString();
    // A range over the first batch only.
    const res = await replay(relay, tenant, endpoint.id, { since: iso(ms(offsets[0]!)), until: iso(ms(offsets[3]!)) });
    assert.equal(res.status, 202, await res.clone().text());
    assert.equal(((await res.json()) as { enqueued: number }).enqueued, 2);
    await until(() => receiver.got.length === 6, 'the replay of the first batch');
    const replayed = idsOf(receiver.got.slice(4)).sort();
    assert.deepEqual(replayed, [offsets[0]!, offsets[2]!].map((o) => `msg_${tenant}_${o}`).sort());

    // since alone: from the later batch on.
    const res2 = await replay(relay, tenant, endpoint.id, { since: iso(ms(later[0]!)) });
    assert.equal(((await res2.json()) as { enqueued: number }).enqueued, 2);
    await until(() => receiver.got.length === 8, 'the replay since the later batch');
    assert.deepEqual(idsOf(receiver.got.slice(6)).sort(), later.map((o) => `msg_${tenant}_${o}`).sort());

    // A range with nothing in it.
    const empty = await replay(relay, tenant, endpoint.id, { since: '2000-01-01T00:00:00Z', until: '2000-01-02T00:00:00Z' });
    assert.deepEqual(((await empty.json()) as { enqueued: number; last: string | null }).enqueued, 0);
  });

  test('bad bounds get 400; an unknown endpoint 404', async (t) => {
    const relay = await setup(t, { webhookAllowPrivate: true });
    const tenant = 'replay-bad';
    const endpoint = (await (await createEndpoint(relay, tenant, { url: 'http://127.0.0.1:9/' })).json()) as Endpoint;
    const cases: Array<[unknown, string, RegExp]> = [
      [{ after: 'yesterday' }, 'TC_ERR_BAD_OFFSET', /pass a stream offset/],
      [{ after: 12 }, 'TC_ERR_VALIDATION', /"after" must be a string/],
      [{ since: 'last week' }, 'TC_ERR_VALIDATION', /"since" must be an RFC 3339 time/],
      [{ since: '2026-01-01' }, 'TC_ERR_VALIDATION', /"since" must be an RFC 3339 time/],
      [{ until: 1700000000000 }, 'TC_ERR_VALIDATION', /"until" must be a string/],
      [{ until: '2026-13-45T99:00:00Z' }, 'TC_ERR_VALIDATION', /"until" must be an RFC 3339 time/],
    ];
    for (const [body, code, message] of cases) await expectError(await replay(relay, tenant, endpoint.id, body), 400, code, message);
    await expectError(
      await fetch(`${relay.url}/v1/tenants/${tenant}/webhooks/${endpoint.id}/replay`, {
        method: 'POST',
        headers: { ...(await adminHeaders(relay, tenant)), 'content-type': 'application/json' },
        body: '{',
      }),
      400,
      'TC_ERR_INVALID_JSON',
    );
    await expectError(await replay(relay, tenant, `wh_${'1'.repeat(32)}`, {}), 404, 'TC_ERR_NOT_FOUND');
  });

  test('times off the calendar, or before 1970, get 400 naming the bound, not a 500', async (t) => {
    const relay = await setup(t, { webhookAllowPrivate: true });
    const tenant = uniqueTenant('replay-times');
    const endpoint = (await (await createEndpoint(relay, tenant, { url: 'http://127.0.0.1:9/' })).json()) as Endpoint;
    const cases: Array<[unknown, RegExp]> = [
      // Redis answered "ERR Invalid stream ID" to a negative time, and the relay a 500.
      [{ until: '1969-12-31T23:59:59Z' }, /"until" is before 1970-01-01/],
      [{ since: '1900-01-01T00:00:00Z' }, /"since" is before 1970-01-01/],
      [{ until: '1970-01-01T00:00:00+01:00' }, /"until" is before 1970-01-01/],
      // Date.parse rolls these over to a later day; they are not dates.
      [{ since: '2026-02-30T00:00:00Z' }, /"since" must be an RFC 3339 time on a real calendar date.*2026-02-30/],
      [{ until: '2023-02-29T12:00:00Z' }, /"until" must be an RFC 3339 time on a real calendar date/],
      [{ since: '2026-01-01T24:00:00Z' }, /"since" must be an RFC 3339 time/],
      [{ since: '2026-04-31T00:00:00+02:00' }, /"since" must be an RFC 3339 time/],
    ];
    for (const [body, message] of cases)
      await expectError(await replay(relay, tenant, endpoint.id, body), 400, 'TC_ERR_VALIDATION', message);
    // A leap day that exists, and the epoch itself, are fine.
    for (const body of [{ since: '2024-02-29T00:00:00Z' }, { since: '1970-01-01T00:00:00Z', until: '2024-02-29T23:59:59.999+00:00' }]) {
      const res = await replay(relay, tenant, endpoint.id, body);
      assert.equal(res.status, 202, `${JSON.stringify(body)}: ${await res.text()}`);
    }
  });
});

describe('endpoints changed concurrently', () => {
  test('a tenant whose last endpoint is deleted while another is created keeps getting its events', async (t) => {
    const relay = await setup(t);
    const receiver = await startReceiver();
    t.after(() => receiver.close());
    const root = await relay.token({ scope: 'admin', tenants: ['*'] });
    const json = { authorization: `Bearer ${root}`, 'content-type': 'application/json' };
    const tenants = Array.from({ length: 100 }, (_, i) => `race-${i}`);
    // The race loses a tenant in a few percent of tries: 100 tries make it all but certain.
    for (const tenant of tenants) {
      const first = (await (
        await fetch(`${relay.url}/v1/tenants/${tenant}/webhooks`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ url: 'http://127.0.0.1:9/' }),
        })
      ).json()) as Endpoint;
      const [deleted, created] = await Promise.all([
        fetch(`${relay.url}/v1/tenants/${tenant}/webhooks/${first.id}`, {
          method: 'DELETE',
          headers: { authorization: json.authorization },
        }),
        fetch(`${relay.url}/v1/tenants/${tenant}/webhooks`, { method: 'POST', headers: json, body: JSON.stringify({ url: receiver.url }) }),
      ]);
      assert.equal(deleted.status, 204);
      assert.equal(created.status, 201);
    }
    await sleep(1100);
    for (const tenant of tenants) await publish(relay, tenant, [{ type: 'com.example.x' }]);
    const tenantsReached = () => new Set(receiver.got.map((g) => JSON.parse(g.body).tenantid as string));
    await until(() => tenantsReached().size === tenants.length, 'an event at every tenant’s endpoint', 5000).catch(() => {});
    assert.deepEqual(
      tenants.filter((tenant) => !tenantsReached().has(tenant)),
      [],
      'tenants whose events were never delivered',
    );
  });
});
