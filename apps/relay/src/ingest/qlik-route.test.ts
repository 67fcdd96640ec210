import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { uniqueTenant } from '@tenantcast/testkit';
import { eventsApi, expectAccepted, expectError } from '../testing/events-api.ts';
import { useRelay } from '../testing/use-relay.ts';

const QLIK_SECRET = 'qlik-webhook-secret-for-tests';

/** A relay with the Qlik endpoint on. */
const stack = useRelay({ qlikWebhookSecret: QLIK_SECRET });
const { history } = eventsApi(stack);

/** `Qlik-Signature`: hex HMAC-SHA256 of the raw body. */
function sign(body: string, secret = QLIK_SECRET): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

async function postQlik(body: string, headers: Record<string, string>, url = stack.relay.url): Promise<Response> {
  return fetch(`${url}/v1/qlik/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
}

/** Posts `body` signed as Qlik signs it, and no token. */
const postSigned = (body: string, url?: string) => postQlik(body, { 'qlik-signature': sign(body) }, url);

/** Asserts a 202 for one event; returns its accepted item. */
const expectOneAccepted = async (res: Response) => (await expectAccepted(res, 1))[0]!;

/** A CloudEvents 1.0 body, as Qlik's catalog shows it. */
function cloudEvent(tenantid: string): Record<string, unknown> {
  return {
    id: randomUUID(),
    time: '2026-01-01T12:00:00Z',
    type: 'com.qlik.web-integration.created',
    source: 'com.qlik/my-service',
    specversion: '1.0',
    datacontenttype: 'application/json',
    userid: 'UZhiEfgW2bLd7HgR-jjzAh6VnicipweT',
    tenantid,
    data: { id: 'id123', name: 'Api client 1', validOrigins: ['http://unicorn.com', 'http://foo.example'] },
  };
}

/** Qlik's legacy envelope (cloudEventsVersion 0.1 style). */
function legacyEvent(tenantid: string): Record<string, unknown> {
  return {
    cloudEventsVersion: '0.1',
    source: 'com.qlik/my-service',
    contentType: 'application/json',
    eventId: randomUUID(),
    eventTime: '2026-02-03T04:05:06Z',
    eventTypeVersion: '1.0.0',
    eventType: 'com.qlik.web-integration.updated',
    extensions: {
      tenantId: tenantid,
      userId: 'user-42',
      ownerId: 'owner-7',
      topLevelResourceId: 'res-9',
    },
    data: { id: 'id123', updates: [{ property: 'name', oldValue: 'Web Integration 1', newValue: 'Web Integration 2' }] },
  };
}

describe('POST /v1/qlik/webhook', () => {
  test('accepts a signed CloudEvents body without a Bearer token and stores it as sent', async () => {
    const t = uniqueTenant('qlik-ce');
    const event = cloudEvent(t);
    const body = JSON.stringify(event);
    const item = await expectOneAccepted(await postSigned(body));
    assert.deepEqual(item, { id: event.id, source: event.source, offset: item.offset, duplicate: false });
    assert.deepEqual(await history(t), [{ offset: item.offset, event }]);
  });

  test('accepts the signature in upper-case hex', async () => {
    const t = uniqueTenant('qlik-upper');
    const body = JSON.stringify(cloudEvent(t));
    await expectOneAccepted(await postQlik(body, { 'qlik-signature': sign(body).toUpperCase() }));
    assert.equal((await history(t)).length, 1);
  });

  test('normalizes the legacy envelope to CloudEvents 1.0', async () => {
    const t = uniqueTenant('qlik-legacy');
    const legacy = legacyEvent(t);
    const item = await expectOneAccepted(await postSigned(JSON.stringify(legacy)));
    assert.equal(item.id, legacy.eventId);
    assert.equal(item.source, legacy.source);
    const [stored] = await history(t);
    assert.equal(stored?.offset, item.offset);
    assert.deepEqual(stored?.event, {
      specversion: '1.0',
      id: legacy.eventId,
      source: 'com.qlik/my-service',
      type: 'com.qlik.web-integration.updated',
      time: '2026-02-03T04:05:06Z',
      datacontenttype: 'application/json',
      eventtypeversion: '1.0.0',
      tenantid: t,
      userid: 'user-42',
      ownerid: 'owner-7',
      toplevelresourceid: 'res-9',
      data: legacy.data,
    });
  });

  test('lets the CloudEvents attributes win in a hybrid body', async () => {
    const t = uniqueTenant('qlik-hybrid');
    // The CloudEvents attributes come first and the legacy ones after, so that the legacy ones
    // cannot win merely by being read last.
    const hybrid = {
      specversion: '1.0',
      id: 'ce-id',
      type: 'com.qlik.web-integration.deleted',
      time: '2026-03-04T05:06:07Z',
      datacontenttype: 'application/json',
      tenantid: t,
      source: 'com.qlik/my-service',
      cloudEventsVersion: '0.1',
      eventId: 'legacy-id',
      eventType: 'com.qlik.web-integration.created',
      eventTime: '2020-01-01T00:00:00Z',
      contentType: 'text/plain',
      extensions: { tenantId: 'legacy-tenant-ignored', userId: 'user-42' },
      data: { id: 'id123' },
    };
    const item = await expectOneAccepted(await postSigned(JSON.stringify(hybrid)));
    assert.equal(item.id, 'ce-id');
    const [stored] = await history(t);
    assert.equal(stored?.event.id, 'ce-id');
    assert.equal(stored?.event.type, 'com.qlik.web-integration.deleted');
    assert.equal(stored?.event.time, '2026-03-04T05:06:07Z');
    assert.equal(stored?.event.tenantid, t);
    assert.equal(stored?.event.datacontenttype, 'application/json');
    assert.equal(stored?.event.userid, 'user-42');
    assert.equal(stored?.event.specversion, '1.0');
    for (const legacyName of ['eventId', 'eventType', 'eventTime', 'cloudEventsVersion', 'extensions', 'contentType']) {
      assert.equal(legacyName in (stored?.event ?? {}), false, `${legacyName} is not stored`);
    }
    assert.deepEqual(await history('legacy-tenant-ignored'), []);
  });

  test('dedupes a delivery Qlik retries', async () => {
    const t = uniqueTenant('qlik-retry');
    const body = JSON.stringify(legacyEvent(t));
    const first = await expectOneAccepted(await postSigned(body));
    const again = await expectOneAccepted(await postSigned(body));
    assert.deepEqual(again, { ...first, duplicate: true });
    assert.equal((await history(t)).length, 1);
  });

  test('validates what it ingests as /v1/events does', async () => {
    const t = uniqueTenant('qlik-invalid');
    const legacy = legacyEvent(t);
    legacy.data = { id: 'id123' };
    const error = await expectError(await postSigned(JSON.stringify(legacy)), 400, 'TC_ERR_VALIDATION');
    assert.deepEqual(error.details, [{ path: '/data/updates', message: 'is required' }]);
    await expectError(await postSigned('{"eventId": '), 400, 'TC_ERR_INVALID_JSON');
    assert.deepEqual(await history(t), []);
  });

  test('401 when Qlik-Signature is missing, nothing stored', async () => {
    const t = uniqueTenant('qlik-nosig');
    const res = await postQlik(JSON.stringify(cloudEvent(t)), {});
    assert.equal(res.headers.get('www-authenticate'), null, 'a signature failure asks for no Bearer token');
    const error = await expectError(res, 401, 'TC_ERR_SIGNATURE_INVALID');
    assert.match(error.message, /Qlik-Signature/);
    assert.deepEqual(await history(t), []);
  });

  test('401 when Qlik-Signature does not match, nothing stored', async () => {
    const t = uniqueTenant('qlik-badsig');
    const body = JSON.stringify(cloudEvent(t));
    const tampered = body.replace('Api client 1', 'Api client 2');
    const wrong = [
      sign(body, 'another-secret'),
      sign(tampered),
      sign(body).slice(0, 63),
      `${sign(body)}00`,
      sign(body).replace(/^./, (c) => (c === '0' ? '1' : '0')),
      'not-hex-at-all',
      `sha256=${sign(body)}`,
    ];
    for (const signature of wrong) {
      const error = await expectError(await postQlik(body, { 'qlik-signature': signature }), 401, 'TC_ERR_SIGNATURE_INVALID');
      assert.match(error.message, /QLIK_WEBHOOK_SECRET|Qlik-Signature/);
    }
    // A bearer token does not stand in for the signature.
    const publishToken = await stack.relay.token({ scope: 'publish' });
    await expectError(
      await postQlik(body, { 'qlik-signature': sign(tampered), authorization: `Bearer ${publishToken}` }),
      401,
      'TC_ERR_SIGNATURE_INVALID',
    );
    assert.deepEqual(await history(t), []);
  });

  test('404 TC_ERR_QLIK_DISABLED when the relay has no Qlik secret', async (context) => {
    // A relay without QLIK_WEBHOOK_SECRET: the endpoint is off.
    const disabled = await stack.startRelay(context);
    const t = uniqueTenant('qlik-off');
    const body = JSON.stringify(cloudEvent(t));
    const error = await expectError(await postQlik(body, { 'qlik-signature': sign(body) }, disabled.url), 404, 'TC_ERR_QLIK_DISABLED');
    assert.match(error.message, /QLIK_WEBHOOK_SECRET/);
    const res = await fetch(`${disabled.url}/v1/tenants/${t}/events`, { headers: { authorization: `Bearer ${stack.token}` } });
    assert.deepEqual(((await res.json()) as { events: unknown[] }).events, []);
  });
});
