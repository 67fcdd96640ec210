import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { uniqueTenant, until } from '@tenantcast/testkit';
import { createdEvent } from '../testing/events-api.ts';
import { openApiContract, openApiPath } from '../testing/openapi-contract.ts';
import { useRelay } from '../testing/use-relay.ts';
import { type Receiver, startReceiver } from '../testing/webhook-receiver.ts';
import { OPERATIONS } from './register-openapi.ts';

// The contract: real requests to every route of a real relay on a real Redis, each answer (success
// and refusal alike) checked against GET /openapi.json with ajv, and the JSON bodies sent checked
// against the document's request bodies. A field the document lacks or gets wrong, a status or a
// TC_ERR code a route answers but does not list, fails here.

const QLIK_SECRET = 'contract-qlik-secret';
const SLOW = 'contract-slow';
const stack = useRelay({
  qlikWebhookSecret: QLIK_SECRET,
  maxBatchEvents: 2,
  bodyLimit: 65_536,
  rateLimitTenants: { [SLOW]: 1 },
  webhookAllowPrivate: true,
  webhookRetrySchedule: [],
  webhookRetry4xx: false,
  webhookMaxEndpoints: 2,
});

let contract: ReturnType<typeof openApiContract>;
let receiver: Receiver;

interface Call {
  token?: string | null;
  /** JSON unless `raw`; checked against the document's request body when `check`. */
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  query?: string;
  /** Check the JSON body against the document's request body (for requests the relay must accept). */
  check?: boolean;
}

/** Calls the route `METHOD /fastify/:url` with `params`, and checks the answer against the document. */
async function call(route: string, params: Record<string, string>, options: Call = {}): Promise<{ status: number; body: any }> {
  const [method, url] = route.split(' ') as [string, string];
  const path = url.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => encodeURIComponent(params[name] ?? ''));
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== null && options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined = options.raw;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
    if (options.check === true) contract.request(method, openApiPath(url), headers['content-type'], options.body);
  }
  const response = await fetch(`${stack.relay.url}${path}${options.query ?? ''}`, { method, headers, body });
  const status = response.status;
  return { status, body: await contract.answer(method, openApiPath(url), response) };
}

const expectCode = (answer: { status: number; body: any }, status: number, code: string) => {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.equal(answer.body?.error?.code, code);
};

describe('the relay answers as its OpenAPI document says', () => {
  before(async () => {
    contract = openApiContract(await (await fetch(`${stack.relay.url}/openapi.json`)).json());
    receiver = await startReceiver(() => ({ status: 500, body: 'down for the test' }));
  });
  after(() => receiver?.close());

  test('POST /v1/events: every mode, and the refusals a request can cause', async () => {
    const tenant = uniqueTenant('contract');
    const token = await stack.relay.token({ scope: 'publish', tenants: [tenant] });
    const route = 'POST /v1/events';
    const structured = { 'content-type': 'application/cloudevents+json' };
    for (const [media, body] of [
      ['application/cloudevents+json', createdEvent(tenant)],
      ['application/json', createdEvent(tenant)],
      ['application/cloudevents-batch+json', [createdEvent(tenant), createdEvent(tenant)]],
    ] as const) {
      const answer = await call(route, {}, { token, body, headers: { 'content-type': media }, check: true });
      assert.equal(answer.status, 202, JSON.stringify(answer.body));
    }
    const binary = { 'ce-specversion': '1.0', 'ce-id': 'b-1', 'ce-source': '/contract', 'ce-type': 'com.example.x', 'ce-tenantid': tenant };
    assert.equal((await call(route, {}, { token, raw: 'hello', headers: { ...binary, 'content-type': 'text/plain' } })).status, 202);

    expectCode(await call(route, {}, { token: null, body: createdEvent(tenant), headers: structured }), 401, 'TC_ERR_UNAUTHORIZED');
    expectCode(await call(route, {}, { token: 'not.a.jwt', body: createdEvent(tenant), headers: structured }), 401, 'TC_ERR_TOKEN_INVALID');
    const reader = await stack.relay.token({ scope: 'subscribe', tenants: [tenant] });
    expectCode(await call(route, {}, { token: reader, body: createdEvent(tenant), headers: structured }), 403, 'TC_ERR_FORBIDDEN_SCOPE');
    expectCode(await call(route, {}, { token, body: createdEvent('someone-else'), headers: structured }), 403, 'TC_ERR_FORBIDDEN_TENANT');
    expectCode(await call(route, {}, { token, raw: '{"id":', headers: structured }), 400, 'TC_ERR_INVALID_JSON');
    expectCode(await call(route, {}, { token, body: { ...createdEvent(tenant), id: 1 }, headers: structured }), 400, 'TC_ERR_VALIDATION');
    const all = await stack.relay.token({ scope: 'publish' });
    const mixed = [createdEvent(tenant), createdEvent(`${tenant}-2`)];
    expectCode(
      await call(route, {}, { token: all, body: mixed, headers: { 'content-type': 'application/cloudevents-batch+json' } }),
      400,
      'TC_ERR_MIXED_TENANTS',
    );
    const three = [createdEvent(tenant), createdEvent(tenant), createdEvent(tenant)];
    expectCode(
      await call(route, {}, { token, body: three, headers: { 'content-type': 'application/cloudevents-batch+json' } }),
      413,
      'TC_ERR_BATCH_TOO_LARGE',
    );
    expectCode(await call(route, {}, { token, raw: 'x'.repeat(70_000), headers: structured }), 413, 'TC_ERR_PAYLOAD_TOO_LARGE');
    expectCode(
      await call(route, {}, { token, raw: 'hello', headers: { 'content-type': 'text/plain' } }),
      415,
      'TC_ERR_UNSUPPORTED_MEDIA_TYPE',
    );
    const slow = await stack.relay.token({ scope: 'publish', tenants: [SLOW] });
    let limited: { status: number; body: any } | undefined;
    for (let i = 0; i < 10 && limited?.status !== 429; i++)
      limited = await call(route, {}, { token: slow, body: createdEvent(SLOW), headers: structured });
    expectCode(limited!, 429, 'TC_ERR_RATE_LIMITED');
  });

  test('GET /v1/tenants/{tenantid}/events: both directions and every offset refusal', async () => {
    const tenant = uniqueTenant('contract');
    const publisher = await stack.relay.token({ scope: 'publish', tenants: [tenant] });
    await call(
      'POST /v1/events',
      {},
      {
        token: publisher,
        body: [createdEvent(tenant), createdEvent(tenant)],
        headers: { 'content-type': 'application/cloudevents-batch+json' },
      },
    );
    const token = await stack.relay.token({ scope: 'subscribe', tenants: [tenant] });
    const route = 'GET /v1/tenants/:tenantid/events';
    const forward = await call(route, { tenantid: tenant }, { token, query: '?after=0&limit=1' });
    assert.equal(forward.status, 200);
    assert.equal(forward.body.events.length, 1);
    assert.equal(typeof forward.body.next, 'string');
    const back = await call(route, { tenantid: tenant }, { token, query: '?before=end' });
    assert.equal(back.status, 200);
    assert.equal(back.body.previous, null);
    expectCode(await call(route, { tenantid: tenant }, { token, query: '?after=yesterday' }), 400, 'TC_ERR_BAD_OFFSET');
    expectCode(await call(route, { tenantid: tenant }, { token, query: '?limit=0' }), 400, 'TC_ERR_BAD_LIMIT');
    expectCode(await call(route, { tenantid: tenant }, { token, query: '?after=0&before=end' }), 400, 'TC_ERR_BAD_REQUEST');
    expectCode(await call(route, { tenantid: tenant }, { token, query: '?after=99999999999999-0' }), 409, 'TC_ERR_OFFSET_AHEAD');
    expectCode(await call(route, { tenantid: 'bad!id' }, { token }), 400, 'TC_ERR_BAD_TENANT_ID');
    expectCode(await call(route, { tenantid: 'another' }, { token }), 403, 'TC_ERR_FORBIDDEN_TENANT');
    expectCode(await call(route, { tenantid: tenant }, { token: null }), 401, 'TC_ERR_UNAUTHORIZED');
  });

  test('GET /v1/whoami: what a token grants; no token, a bad one', async () => {
    const tenant = uniqueTenant('contract');
    const token = await stack.relay.token({ scope: 'subscribe', tenants: [tenant] });
    const answer = await call('GET /v1/whoami', {}, { token });
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body.tenants, [tenant]);
    expectCode(await call('GET /v1/whoami', {}, { token: null }), 401, 'TC_ERR_UNAUTHORIZED');
    expectCode(await call('GET /v1/whoami', {}, { token: 'not.a.jwt' }), 401, 'TC_ERR_TOKEN_INVALID');
  });

  test('POST /v1/qlik/webhook: the document’s own examples are accepted; a bad signature, or no secret, is refused', async (t) => {
    const route = 'POST /v1/qlik/webhook';
    const doc = await (await fetch(`${stack.relay.url}/openapi.json`)).json();
    const media: Record<string, { value: object }> = doc.paths['/v1/qlik/webhook'].post.requestBody.content['application/json'].examples;
    assert.equal(Object.keys(media).length, 3);
    for (const { value } of Object.values(media)) {
      const raw = JSON.stringify(value);
      const signature = createHmac('sha256', QLIK_SECRET).update(raw).digest('hex');
      contract.request('POST', '/v1/qlik/webhook', 'application/json', value);
      const answer = await call(route, {}, { raw, headers: { 'content-type': 'application/json', 'qlik-signature': signature } });
      assert.equal(answer.status, 202, JSON.stringify(answer.body));
    }
    const raw = JSON.stringify(Object.values(media)[0]!.value);
    expectCode(
      await call(route, {}, { raw, headers: { 'content-type': 'application/json', 'qlik-signature': '00'.repeat(32) } }),
      401,
      'TC_ERR_SIGNATURE_INVALID',
    );
    const off = await stack.startRelay(t, {});
    const response = await fetch(`${off.url}/v1/qlik/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: raw,
    });
    const body = await contract.answer('POST', '/v1/qlik/webhook', response);
    assert.equal(body.error.code, 'TC_ERR_QLIK_DISABLED');
  });

  test('the webhook API and the delivery log, through an endpoint’s whole life', async () => {
    const tenant = uniqueTenant('contract');
    const token = await stack.relay.token({ scope: 'admin', tenants: [tenant] });
    const base = '/v1/tenants/:tenantid/webhooks';
    const p = { tenantid: tenant };
    const input = { url: receiver.url, filters: [{ prefix: { type: 'com.qlik.' } }], description: 'contract' };
    const created = await call(`POST ${base}`, p, { token, body: input, check: true });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const e = { ...p, id: created.body.id as string };
    assert.equal((await call(`GET ${base}`, p, { token })).status, 200);
    assert.equal((await call(`GET ${base}/:id`, e, { token })).status, 200);

    // A delivery that fails for good (the receiver answers 500, no retries).
    const publisher = await stack.relay.token({ scope: 'publish', tenants: [tenant] });
    await call(
      'POST /v1/events',
      {},
      { token: publisher, body: createdEvent(tenant), headers: { 'content-type': 'application/cloudevents+json' } },
    );
    const deliveries = `${base}/:id/deliveries`;
    let page: any;
    await until(async () => {
      page = (await call(`GET ${deliveries}`, e, { token, query: '?status=failed' })).body;
      return page.deliveries.length === 1;
    }, 'a failed delivery');
    const d = { ...e, deliveryId: page.deliveries[0].id as string };
    const one = await call(`GET ${deliveries}/:deliveryId`, d, { token });
    assert.equal(one.status, 200);
    assert.ok(one.body.attemptLog.length >= 1);
    assert.equal((await call(`POST ${deliveries}/:deliveryId/retry`, d, { token })).status, 202);
    assert.equal((await call(`POST ${deliveries}/retry-failed`, e, { token })).status, 202);
    expectCode(await call(`GET ${deliveries}/:deliveryId`, { ...e, deliveryId: `msg_${tenant}_1-0` }, { token }), 404, 'TC_ERR_NOT_FOUND');
    expectCode(await call(`GET ${deliveries}`, e, { token, query: '?limit=5000' }), 400, 'TC_ERR_BAD_LIMIT');
    expectCode(await call(`GET ${deliveries}`, e, { token, query: '?status=lost' }), 400, 'TC_ERR_BAD_REQUEST');

    const patch = `PATCH ${base}/:id`;
    assert.equal((await call(patch, e, { token, body: { description: 'changed' }, check: true })).status, 200);
    assert.equal((await call(patch, e, { token, body: { disabled: true }, check: true })).body.disabledReason, 'manual');
    const enabled = await call(patch, e, { token, body: { disabled: false }, check: true });
    assert.equal(enabled.status, 200);
    assert.equal(typeof enabled.body.resumed?.enqueued, 'number');
    expectCode(await call(patch, e, { token, body: { disabled: 'yes' } }), 400, 'TC_ERR_VALIDATION');

    const rotated = await call(`POST ${base}/:id/secret/rotate`, e, { token, body: { graceSeconds: 60 }, check: true });
    assert.equal(rotated.status, 200);
    const replay = `POST ${base}/:id/replay`;
    assert.equal((await call(replay, e, { token, body: { after: '0' }, check: true })).status, 202);
    assert.equal((await call(replay, e, { token, body: { since: '2026-01-01T00:00:00Z' }, check: true })).status, 202);
    expectCode(await call(replay, e, { token, body: { after: 'start' } }), 400, 'TC_ERR_BAD_OFFSET');
    expectCode(await call(replay, e, { token, body: { until: 'tomorrow' } }), 400, 'TC_ERR_VALIDATION');

    expectCode(await call(`POST ${base}`, p, { token, body: { url: 'ftp://x.example' } }), 400, 'TC_ERR_VALIDATION');
    expectCode(
      await call(`POST ${base}`, p, { token, raw: '{', headers: { 'content-type': 'application/json' } }),
      400,
      'TC_ERR_INVALID_JSON',
    );
    expectCode(
      await call(`POST ${base}`, p, { token, raw: 'url', headers: { 'content-type': 'text/plain' } }),
      415,
      'TC_ERR_UNSUPPORTED_MEDIA_TYPE',
    );
    assert.equal((await call(`POST ${base}`, p, { token, body: { url: receiver.url } })).status, 201);
    expectCode(await call(`POST ${base}`, p, { token, body: { url: receiver.url } }), 409, 'TC_ERR_TOO_MANY_ENDPOINTS');
    expectCode(
      await call(`GET ${base}`, p, { token: await stack.relay.token({ scope: 'publish', tenants: [tenant] }) }),
      403,
      'TC_ERR_FORBIDDEN_SCOPE',
    );

    assert.equal((await call(`DELETE ${base}/:id`, e, { token })).status, 204);
    expectCode(await call(`GET ${base}/:id`, e, { token }), 404, 'TC_ERR_NOT_FOUND');
  });

  test('portal links, the console’s configuration, health, readiness and the document itself', async () => {
    const tenant = uniqueTenant('contract');
    const token = await stack.relay.token({ scope: 'admin', tenants: [tenant] });
    const route = 'POST /v1/tenants/:tenantid/portal-links';
    assert.equal((await call(route, { tenantid: tenant }, { token, body: { expiresInSeconds: 600 }, check: true })).status, 201);
    expectCode(await call(route, { tenantid: tenant }, { token, body: { expiresInSeconds: 0 } }), 400, 'TC_ERR_VALIDATION');
    for (const path of ['GET /console/config.json', 'GET /healthz', 'GET /readyz', 'GET /openapi.json']) {
      assert.equal((await call(path, {})).status, 200, path);
    }
  });

  test('every documented operation was answered with success above', () => {
    const succeeded = new Set(contract.checked.filter((c) => c.status < 300).map((c) => `${c.method} ${c.path}`));
    const missing = Object.keys(OPERATIONS).filter((key) => {
      const [method, url] = key.split(' ') as [string, string];
      return !succeeded.has(`${method} ${openApiPath(url)}`);
    });
    assert.deepEqual(missing, []);
  });
});
